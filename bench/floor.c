/*
 * floor - the least any doctor must do, for bench/run to compare the doctor
 * with (issue 16).  No LibCare code.
 *
 * usage: floor stop PID
 *   Seize every thread of PID (before the clock starts, as the doctor
 *   does), then: PTRACE_INTERRUPT every thread, wait for each to stop, read
 *   each one's registers (PTRACE_GETREGS), PTRACE_CONT them all.  Prints
 *   "floor PID: N thread(s), patient stopped for US us (from T0 to T1 s,
 *   CLOCK_MONOTONIC)", the time from the first interrupt to the last
 *   resume, as libcare-doctor reports its own (bench/profile uses T0, T1).
 *   Then stops each thread again and detaches (outside the window, as the
 *   doctor's detach is).  Like the doctor it runs at nice -20 while it holds
 *   the threads (root may): a busy machine then delays both alike.
 *
 * usage: floor maps
 *   Open and read /proc/PID/maps of every process on the machine (what
 *   `libcare-doctor -p all` must do at least).  Prints "floor maps: N
 *   process(es) read in US us".
 *
 * One-line error and exit 1 on failure; a patient is never left stopped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 4096

struct thread {
	pid_t tid;
	int sig;		/* signal to pass on when resuming */
	int gone;
};

static struct thread threads[MAX_THREADS];
static size_t nthreads;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int known(pid_t tid)
{
	for (size_t i = 0; i < nthreads; i++)
		if (threads[i].tid == tid)
			return 1;
	return 0;
}

/* Seize the threads of PID not seized yet; the number seized, -1 on error. */
static int seize_new(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "floor: error: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		pid_t tid;

		if (!numeric(e->d_name))
			continue;
		tid = (pid_t)atoi(e->d_name);
		if (known(tid))
			continue;
		if (nthreads == MAX_THREADS) {
			fprintf(stderr, "floor: error: process %d has more than %d threads\n",
				(int)pid, MAX_THREADS);
			closedir(d);
			return -1;
		}
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
			if (errno == ESRCH)
				continue;
			fprintf(stderr, "floor: error: cannot seize thread %d: %s\n", (int)tid,
				strerror(errno));
			closedir(d);
			return -1;
		}
		threads[nthreads++] = (struct thread){ .tid = tid };
		n++;
	}
	closedir(d);
	return n;
}

/* Wait until T is in a stop; 0, or -1 if it is gone. */
static int wait_stop(struct thread *t)
{
	int st;

	for (;;) {
		if (waitpid(t->tid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			t->gone = 1;
			return -1;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			t->gone = 1;
			return -1;
		}
		if (WIFSTOPPED(st)) {
			/* A signal-delivery stop instead of the interrupt's
			 * event stop: keep the signal for the resume. */
			if ((st >> 16) != PTRACE_EVENT_STOP && WSTOPSIG(st) != SIGTRAP)
				t->sig = WSTOPSIG(st);
			return 0;
		}
	}
}

static int do_stop(pid_t pid)
{
	struct user_regs_struct regs;
	uint64_t t0, t1;
	int n, err = 0;

	while ((n = seize_new(pid)) > 0)
		;
	if (n < 0 || nthreads == 0) {
		if (n == 0)
			fprintf(stderr, "floor: error: process %d has no threads\n", (int)pid);
		for (size_t i = 0; i < nthreads; i++)
			ptrace(PTRACE_DETACH, threads[i].tid, NULL, NULL);
		return 1;
	}

	setpriority(PRIO_PROCESS, 0, -20);	/* as the doctor does; failure is harmless */
	t0 = now_us();
	for (size_t i = 0; i < nthreads; i++)
		if (ptrace(PTRACE_INTERRUPT, threads[i].tid, NULL, NULL) != 0)
			threads[i].gone = 1;
	for (size_t i = 0; i < nthreads; i++) {
		if (threads[i].gone || wait_stop(&threads[i]) != 0)
			continue;
		if (ptrace(PTRACE_GETREGS, threads[i].tid, NULL, &regs) != 0 && errno != ESRCH)
			err = errno;
	}
	for (size_t i = 0; i < nthreads; i++)
		if (!threads[i].gone &&
		    ptrace(PTRACE_CONT, threads[i].tid, NULL, (void *)(long)threads[i].sig) == 0)
			threads[i].sig = 0;
	t1 = now_us();

	/* Detach: a seized thread must be stopped for PTRACE_DETACH. */
	for (size_t i = 0; i < nthreads; i++)
		if (!threads[i].gone && ptrace(PTRACE_INTERRUPT, threads[i].tid, NULL, NULL) != 0)
			threads[i].gone = 1;
	for (size_t i = 0; i < nthreads; i++)
		if (!threads[i].gone && wait_stop(&threads[i]) == 0)
			ptrace(PTRACE_DETACH, threads[i].tid, NULL, (void *)(long)threads[i].sig);

	if (err) {
		fprintf(stderr, "floor: error: PTRACE_GETREGS on process %d: %s\n", (int)pid,
			strerror(err));
		return 1;
	}
	printf("floor %d: %zu thread(s), patient stopped for %llu us (from %llu.%06llu to %llu.%06llu s, "
	       "CLOCK_MONOTONIC)\n", (int)pid, nthreads, (unsigned long long)(t1 - t0),
	       (unsigned long long)(t0 / 1000000), (unsigned long long)(t0 % 1000000),
	       (unsigned long long)(t1 / 1000000), (unsigned long long)(t1 % 1000000));
	return 0;
}

static int do_maps(void)
{
	static char buf[65536];
	char path[sizeof(((struct dirent *)0)->d_name) + 16];
	DIR *d;
	struct dirent *e;
	unsigned long count = 0;
	uint64_t t0 = now_us(), t1;

	d = opendir("/proc");
	if (!d) {
		fprintf(stderr, "floor: error: cannot open /proc: %s\n", strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		int fd;
		ssize_t r;

		if (!numeric(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* exited meanwhile */
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		close(fd);
		if (r == 0)
			count++;
	}
	closedir(d);
	t1 = now_us();
	printf("floor maps: %lu process(es) read in %llu us\n", count,
	       (unsigned long long)(t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "stop") == 0 && numeric(argv[2]))
		return do_stop((pid_t)atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "maps") == 0)
		return do_maps();
	fprintf(stderr, "usage: floor stop PID | floor maps\n");
	return 2;
}
