/*
 * lock.c - one writer per process: a doctor that changes a process (patch,
 * unpatch) holds a POSIX byte-range lock on byte PID of one lock file for
 * the whole operation, from reading the applied patches to detaching.  A
 * second doctor for the same process waits up to LOCK_WAIT_MS, then refuses
 * naming the holder.  The kernel drops the lock when its holder exits, even
 * if it was killed, so a stale lock cannot block anybody.
 *
 * (ptrace allows one tracer per thread too, but two doctors could otherwise
 * both read the same "nothing applied" state before either attached.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define LOCK_WAIT_MS 3000
#define LOCK_DIR_DEFAULT "/run/lock"

static int lock_fd = -1;

static int lock_open(void)
{
	char path[4096];
	const char *dir = getenv("LIBCARE_LOCK_DIR");
	if (lock_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/libcare-doctor.lock",
		 dir && *dir ? dir : LOCK_DIR_DEFAULT);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 && !(dir && *dir)) {
		/* no /run/lock: the temporary directory is shared by all doctors too */
		snprintf(path, sizeof(path), "/tmp/libcare-doctor.lock");
		lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (lock_fd < 0)
		return lc_error("cannot open the lock file %s: %s", path, strerror(errno));
	return 0;
}

static struct flock lock_range(pid_t pid, short type)
{
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)pid;
	fl.l_len = 1;
	return fl;
}

int lc_lock_acquire(pid_t pid)
{
	if (lock_open() != 0)
		return -1;
	uint64_t deadline = lc_now_us() + LOCK_WAIT_MS * 1000u;
	int waited = 0;
	for (;;) {
		struct flock fl = lock_range(pid, F_WRLCK);
		if (fcntl(lock_fd, F_SETLK, &fl) == 0) {
			if (waited)
				lc_info("process %d: the other doctor is done", (int)pid);
			return 0;
		}
		if (errno != EACCES && errno != EAGAIN)
			return lc_error("process %d: cannot lock it for the doctor: %s", (int)pid,
					strerror(errno));
		if (lc_now_us() >= deadline) {
			struct flock who = lock_range(pid, F_WRLCK);
			if (fcntl(lock_fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK)
				return lc_error("process %d is being changed by another libcare-doctor "
						"(PID %d); gave up after %d ms", (int)pid,
						(int)who.l_pid, LOCK_WAIT_MS);
			continue;        /* released just now */
		}
		if (!waited)
			lc_info("process %d: another libcare-doctor is changing it; waiting", (int)pid);
		waited = 1;
		usleep(20000);
	}
}

void lc_lock_release(pid_t pid)
{
	if (lock_fd < 0)
		return;
	struct flock fl = lock_range(pid, F_UNLCK);
	fcntl(lock_fd, F_SETLK, &fl);
}
