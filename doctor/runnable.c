/*
 * runnable.c - is a thread the doctor waits for on its way, or not coming?
 *
 * PTRACE_INTERRUPT makes a thread trap at its next return to user mode, and
 * an injected syscall or call comes back when the code has run: a thread
 * running or waiting for a CPU (state R in /proc/PID/task/TID/stat) gets
 * there as soon as the scheduler lets it, which on a loaded machine can
 * take seconds.  So can a thread asleep on what another thread of the
 * process holds while that one waits for a CPU: an injected
 * __register_frame_info waits for libgcc's lock while a thread being
 * cancelled unwinds with it.  A thread asleep while no thread of its
 * process can run (state D: stuck I/O; a lock whose holder sleeps too)
 * may never come.  The wait for a stop (attach.c) gives up on the last
 * kind after LC_STOP_WAIT_S and waits for the others up to
 * LC_STOP_WAIT_RUNNABLE_S - except while the world is stopped, where
 * every other thread would wait too: there 3 s is the limit.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "doctor.h"

int lc_stat_state(const char *path, char *state, unsigned *flags)
{
	/* one read(2) (the kernel makes the line at once): no stdio stream,
	 * whose fstat and read to the end were two more system calls at each
	 * of the several times the doctor asks this of a process */
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *p = strrchr(buf, ')');      /* after "pid (comm)": comm may hold ')' */
	unsigned fl;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", state, &fl) != 2)
		return -1;
	if (flags)
		*flags = fl;
	return 0;
}

char lc_thread_state(pid_t pid, pid_t tid)
{
	char path[64], state;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return lc_stat_state(path, &state, NULL) == 0 ? state : 0;
}

int lc_thread_progress(pid_t pid, pid_t tid)
{
	if (lc_thread_state(pid, tid) == 'R')
		return 1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *de;
	int any = 0;
	while (d && !any && (de = readdir(d)) != NULL) {
		pid_t t = (pid_t)atoi(de->d_name);
		any = t > 0 && t != tid && lc_thread_state(pid, t) == 'R';
	}
	if (d)
		closedir(d);
	return any;
}

int lc_stop_wait_more(uint64_t waited_us, int progress)
{
	if (waited_us < (uint64_t)LC_STOP_WAIT_S * 1000000u)
		return 1;
	return progress && waited_us < (uint64_t)LC_STOP_WAIT_RUNNABLE_S * 1000000u;
}
