/*
 * targets.c - which processes a command acts on: one PID, or with
 * `-p all` every process of the system but the doctor itself and kernel
 * threads.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

int lc_parse_pid(const char *s, pid_t *pid)
{
	char *end;
	if (strcmp(s, "all") == 0) {
		*pid = LC_PID_ALL;
		return 0;
	}
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v <= 0 || v > 0x3fffffff)
		return lc_error("'%s' is not a PID (nor 'all')", s);
	*pid = (pid_t)v;
	return 0;
}

static int pid_order(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int lc_pids_listed(pid_t **out, size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (lc_select_load() != 0) {            /* select.c: --user, exclude, PID 1 */
		if (d)
			closedir(d);
		return -1;
	}
	if (!d)
		return lc_error("cannot read /proc: %s", strerror(errno));
	pid_t self = getpid();
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == self)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			*out = lc_xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = pid;
	}
	closedir(d);
	qsort(*out, *n, sizeof(**out), pid_order);
	return 0;
}

int lc_pid_select(pid_t pid, char *why, size_t len)
{
	char link[64], exe[8];
	if (pid == 1 && lc_select_why(pid, why, len) != 0)     /* never -p all's, whatever it runs */
		return 1;
	/* Kernel threads have no executable (nor has the zombie main
	 * thread of a process that runs on in other threads). */
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (readlink(link, exe, sizeof(exe)) <= 0) {
		pid_t task = lc_proc_task(pid);
		snprintf(link, sizeof(link), "/proc/%d/exe", (int)task);
		if (task == pid || readlink(link, exe, sizeof(exe)) <= 0)
			return 2;
	}
	int rc = lc_select_why(pid, why, len);
	return rc > 0 ? 1 : rc < 0 ? 2 : 0;
}

int lc_pids_all(pid_t **out, size_t *n)
{
	pid_t *all;
	size_t nall;
	char why[LC_WORK_NOTE];
	*out = NULL;
	*n = 0;
	if (lc_pids_listed(&all, &nall) != 0)
		return -1;
	for (size_t i = 0; i < nall; i++) {
		int rc = lc_pid_select(all[i], why, sizeof(why));
		if (rc == 1)
			lc_select_record(all[i], why);
		if (rc == 0)
			all[(*n)++] = all[i];
	}
	*out = all;
	return 0;
}

int lc_parse_timeout(const char *s, int *ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v >= 0) || v > 3600)
		return lc_error("--timeout '%s' is not a number of seconds (0 to 3600)", s);
	*ms = (int)(v * 1000 + 0.5);
	return 0;
}

int lc_pid_alive(pid_t pid)
{
	return lc_proc_alive(pid);
}

/* stderr goes to a memory file until released: the messages about a
 * process that turns out to have exited meanwhile can be dropped.  -p all
 * holds it two or three times (nested) for every process, so the files are
 * made once, one per nesting depth, and emptied for each use. */
#define HOLD_DEPTH 8
static int hold_fds[HOLD_DEPTH];        /* fd + 1; 0: not made yet, -1: cannot */
static int hold_depth;
static pid_t hold_owner;                /* who made them: a forked worker makes its own */

void lc_stderr_hold(struct lc_stderr_held *h)
{
	fflush(stderr);
	h->tmp = NULL;
	h->fd = -1;
	if (hold_owner != getpid()) {
		for (int i = 0; i < HOLD_DEPTH; i++) {
			if (hold_fds[i] > 0)
				close(hold_fds[i] - 1);
			hold_fds[i] = 0;
		}
		hold_owner = getpid();
	}
	if (hold_depth < HOLD_DEPTH) {
		int *slot = &hold_fds[hold_depth];
		if (*slot == 0) {
			int fd = memfd_create("libcare-doctor-stderr", MFD_CLOEXEC);
			*slot = fd >= 0 ? fd + 1 : -1;
		}
		if (*slot > 0 && ftruncate(*slot - 1, 0) == 0 && lseek(*slot - 1, 0, SEEK_SET) == 0)
			h->fd = *slot - 1;
	}
	if (h->fd < 0) {
		h->tmp = tmpfile();
		h->fd = h->tmp ? fileno(h->tmp) : -1;
	}
	hold_depth++;
	h->saved = h->fd >= 0 ? fcntl(2, F_DUPFD_CLOEXEC, 3) : -1;
	if (h->saved >= 0)
		dup2(h->fd, 2);
}

void lc_stderr_release(struct lc_stderr_held *h, int show)
{
	char buf[4096];
	fflush(stderr);
	hold_depth--;
	if (h->saved >= 0) {
		dup2(h->saved, 2);
		close(h->saved);
	}
	if (h->fd < 0)
		return;
	off_t end = lseek(h->fd, 0, SEEK_CUR);
	for (off_t at = 0; show && at < end;) {
		ssize_t n = pread(h->fd, buf, sizeof(buf), at);
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stderr);
		at += n;
	}
	fflush(stderr);
	if (h->tmp)
		fclose(h->tmp);
}
