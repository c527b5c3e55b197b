/*
 * targets.c - which processes a command acts on: one PID, or with
 * `-p all` every process of the system but the doctor itself and kernel
 * threads.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int lc_pids_all(pid_t **out, size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	*out = NULL;
	*n = 0;
	if (lc_select_load() != 0) {            /* select.c: --user, exclude, PID 1 */
		if (d)
			closedir(d);
		return -1;
	}
	if (!d)
		return lc_error("cannot read /proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char link[64], exe[8];
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		if (pid == 1 && lc_select_skip(pid))    /* never -p all's, whatever it runs */
			continue;
		/* Kernel threads have no executable (nor has the zombie main
		 * thread of a process that runs on in other threads). */
		snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
		if (readlink(link, exe, sizeof(exe)) <= 0) {
			pid_t task = lc_proc_task(pid);
			snprintf(link, sizeof(link), "/proc/%d/exe", (int)task);
			if (task == pid || readlink(link, exe, sizeof(exe)) <= 0)
				continue;
		}
		if (lc_select_skip(pid))
			continue;
		*out = lc_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = pid;
	}
	closedir(d);
	qsort(*out, *n, sizeof(**out), pid_order);
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

/* stderr goes to a temporary file until released: the messages about a
 * process that turns out to have exited meanwhile can be dropped. */
void lc_stderr_hold(struct lc_stderr_held *h)
{
	fflush(stderr);
	h->tmp = tmpfile();
	h->saved = h->tmp ? dup(2) : -1;
	if (h->saved >= 0)
		dup2(fileno(h->tmp), 2);
}

void lc_stderr_release(struct lc_stderr_held *h, int show)
{
	char buf[4096];
	size_t n;
	fflush(stderr);
	if (h->saved >= 0) {
		dup2(h->saved, 2);
		close(h->saved);
	}
	if (!h->tmp)
		return;
	rewind(h->tmp);
	while (show && (n = fread(buf, 1, sizeof(buf), h->tmp)) > 0)
		fwrite(buf, 1, n, stderr);
	fflush(stderr);
	fclose(h->tmp);
}
