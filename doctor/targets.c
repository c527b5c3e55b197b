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
	if (!d)
		return lc_error("cannot read /proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char link[64], exe[8];
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		/* Kernel threads have no executable. */
		snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
		if (readlink(link, exe, sizeof(exe)) <= 0)
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
