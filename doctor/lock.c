/*
 * lock.c - one writer per process: a doctor that changes a process (patch,
 * unpatch) holds a POSIX byte-range lock on byte PID of one lock file
 * (/run/libcare/doctor.lock, or in $LIBCARE_LOCK_DIR) for
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
#define LOCK_DIR_DEFAULT "/run/libcare"

static int lock_fd = -1;

/*
 * The lock file is root's alone: in a directory the doctor's user owns and
 * nobody else can write (created 0700 if missing, refused otherwise), opened
 * without following a symlink.  A world-writable /run/lock or /tmp would let
 * a user plant a symlink (root then creates or truncates any file) or a file
 * of their own (its byte locks block every doctor).
 */
static int lock_open(void)
{
	char path[4096];
	struct stat st;
	const char *env = getenv("LIBCARE_LOCK_DIR");
	const char *dir = env && *env ? env : LOCK_DIR_DEFAULT;
	if (lock_fd >= 0)
		return 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return lc_error("cannot create the lock directory %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0)
		return lc_error("cannot use the lock directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return lc_error("the lock directory %s is %s owned by uid %u with mode %04o: it must "
				"be a directory of uid %u that nobody else can write (not a symlink)",
				dir, S_ISDIR(st.st_mode) ? "a directory" : S_ISLNK(st.st_mode) ?
				"a symbolic link" : "not a directory,", (unsigned)st.st_uid,
				(unsigned)(st.st_mode & 07777), (unsigned)geteuid());
	snprintf(path, sizeof(path), "%s/doctor.lock", dir);
	lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return lc_error("cannot open the lock file %s: %s", path,
				errno == ELOOP ? "it is a symbolic link (not followed)" : strerror(errno));
	if (fstat(lock_fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(lock_fd);
		lock_fd = -1;
		return lc_error("the lock file %s is not a regular file of uid %u with mode 0600: "
				"refused", path, (unsigned)geteuid());
	}
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
