/*
 * lc-corpus-stop.c - LD_PRELOAD'ed into a corpus workload: a process that
 * maps one of the target objects stops itself at start (its libraries are
 * mapped, main has not run), a helper child patches it with libcare-doctor
 * and continues it; the workload then runs patched from its first line.
 *
 *	LC_CORPUS_PATCHES=DIR      the <BuildID>.kpatch files (libcare-doctor patch -p PID DIR)
 *	LC_CORPUS_DOCTOR=PATH      libcare-doctor
 *	LC_CORPUS_TARGETS=a.so:b   act only in a process that maps an object of one of
 *	                           these base names (or runs an executable of that name)
 *	LC_CORPUS_LOG=FILE         one line per process: "PID EXE applied|failed STATUS"
 *
 * If the doctor fails, the process exits with status 99 before main: the
 * workload's results show it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *targets;
static int found;

static int base_is_target(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	for (const char *t = targets; *t;) {
		size_t m = strcspn(t, ":");
		if (m && m <= n && strncmp(b, t, m) == 0 && (b[m] == 0 || b[m] == '.'))
			return 1;
		t += m + (t[m] == ':');
	}
	return 0;
}

static int one_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (info->dlpi_name && *info->dlpi_name && base_is_target(info->dlpi_name))
		found = 1;
	return found;
}

static char state_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void logline(const char *log, pid_t pid, const char *what, int st)
{
	char exe[512] = "?";
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		return;
	char line[700];
	int len = snprintf(line, sizeof(line), "%d %s %s %d\n", (int)pid, exe, what, st);
	if (len > 0)
		(void)!write(fd, line, (size_t)len);
	close(fd);
}

__attribute__((constructor)) static void lc_corpus_stop(void)
{
	const char *dir = getenv("LC_CORPUS_PATCHES"), *doctor = getenv("LC_CORPUS_DOCTOR");
	const char *log = getenv("LC_CORPUS_LOG");
	char exe[512];
	targets = getenv("LC_CORPUS_TARGETS");
	if (!dir || !doctor || !targets)
		return;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	dl_iterate_phdr(one_object, NULL);
	if (!found && !base_is_target(exe))
		return;
	pid_t me = getpid(), helper = fork();
	if (helper < 0)
		return;
	if (helper == 0) {
		/* wait for the stop, patch, continue */
		for (int i = 0; i < 20000 && state_of(me) != 'T'; i++)
			usleep(500);
		unsetenv("LD_PRELOAD");
		pid_t d = fork();
		if (d == 0) {
			char spid[16];
			int null = open("/dev/null", O_WRONLY);
			if (null >= 0 && !getenv("LC_CORPUS_VERBOSE"))
				dup2(null, 1);
			snprintf(spid, sizeof(spid), "%d", (int)me);
			execl(doctor, doctor, "patch", "-p", spid, dir, (char *)NULL);
			_exit(127);
		}
		int st = 0;
		waitpid(d, &st, 0);
		int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (log)
			logline(log, me, ok ? "applied" : "failed", WIFEXITED(st) ? WEXITSTATUS(st) : 128);
		kill(me, SIGCONT);
		_exit(ok ? 0 : 1);
	}
	raise(SIGSTOP);
	int st = 0;
	while (waitpid(helper, &st, 0) < 0)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "lc-corpus-stop: libcare-doctor could not patch process %d\n", (int)me);
		_exit(99);
	}
}
