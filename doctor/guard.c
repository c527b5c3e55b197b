/*
 * guard.c - what the status of a process's threads (/proc/PID/task/TID/
 * status) says about touching it, read before anything is touched.
 *
 * Another tracer (strace, gdb, a debugger attached to one thread): ptrace
 * allows one tracer per thread, so the doctor could not attach to every
 * thread, and changing code under somebody else's breakpoints is wrong
 * anyway.  Refused, naming the tracer.
 *
 * A seccomp filter (or strict mode): the doctor changes the address space
 * with system calls run in the patient (mmap, mprotect, munmap; inject.c),
 * and a filter may kill the process for them (SECCOMP_RET_KILL_PROCESS) or
 * fail them (systemd's MemoryDenyWriteExecute returns EPERM for an
 * executable mmap).  The kernel lets a tracer with CAP_SYS_ADMIN suspend a
 * tracee's filter (PTRACE_O_SUSPEND_SECCOMP); the doctor does so on the
 * one thread that runs an injected call, for that call only (set before
 * the single-step and cleared after it: the patient's own system calls are
 * never unfiltered, even while the doctor waits for a safe point).  Without
 * CAP_SYS_ADMIN the process is refused here, before it is touched.
 *
 * A shadow stack (x86 CET, Linux 6.6 and later with a glibc that enables
 * it; `x86_Thread_features: shstk` in the status): the CPU checks every
 * return against a second stack the doctor does not write.  A call into
 * the patient (call.c) returns to the doctor's stub through an address
 * that stack does not hold, and a trampoline replaces a return address
 * (trampoline.c): either would fault, killing the patient.  Refused, naming
 * the thread.  (No machine the doctor was tested on has the feature: the
 * status line's reading is what doctor.guard_status_lines checks.)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define CAP_SYS_ADMIN_BIT 21

struct task_status {
	int tracer;             /* TracerPid */
	int seccomp;            /* Seccomp: 0 none, 1 strict, 2 filter */
	unsigned long long cap_eff;
	int shstk;              /* x86_Thread_features names shstk */
};

#define FEATURES "x86_Thread_features:"

int lc_guard_line_shstk(const char *line)
{
	if (strncmp(line, FEATURES, strlen(FEATURES)) != 0)
		return 0;       /* x86_Thread_features_locked: too */
	for (const char *p = line + strlen(FEATURES);;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t\n");
		if (n == 0)
			return 0;
		if (n == 5 && strncmp(p, "shstk", 5) == 0)
			return 1;
		p += n;
	}
}

static int status_read(const char *path, struct task_status *s)
{
	char line[256];
	FILE *f = fopen(path, "re");
	memset(s, 0, sizeof(*s));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "TracerPid:", 10) == 0)
			s->tracer = atoi(line + 10);
		else if (strncmp(line, "Seccomp:", 8) == 0)
			s->seccomp = atoi(line + 8);
		else if (strncmp(line, "CapEff:", 7) == 0)
			s->cap_eff = strtoull(line + 7, NULL, 16);
		else if (lc_guard_line_shstk(line))
			s->shstk = 1;
	}
	fclose(f);
	return 0;
}

int lc_guard_seccomp(pid_t pid, pid_t tid)
{
	char path[64];
	struct task_status s;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	return status_read(path, &s) == 0 ? s.seccomp : 0;
}

/* Can the doctor suspend a tracee's filter?  The kernel wants CAP_SYS_ADMIN
 * and a tracer that is not under seccomp itself. */
static int can_suspend_seccomp(void)
{
	struct task_status self;
	if (status_read("/proc/self/status", &self) != 0)
		return 0;
	return self.seccomp == 0 && (self.cap_eff >> CAP_SYS_ADMIN_BIT & 1);
}

static void comm_of(int pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	FILE *f = fopen(path, "re");
	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	if (!buf[0])
		snprintf(buf, len, "?");
}

int lc_guard_check(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;       /* gone: the caller's next look says so */
	struct dirent *de;
	int rc = 0, seccomp = 0;
	pid_t seccomp_tid = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);
		struct task_status s;
		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
		if (status_read(path, &s) != 0)
			continue;       /* exited meanwhile */
		if (s.tracer && s.tracer != (int)getpid()) {
			char comm[64], who[32] = "";
			comm_of(s.tracer, comm, sizeof(comm));
			if (tid != pid)
				snprintf(who, sizeof(who), " thread %d", (int)tid);
			rc = lc_error("process %d%s is traced by process %d (%s); not touching it "
				      "while another tracer is attached", (int)pid, who, s.tracer, comm);
		}
		if (!rc && s.shstk)
			rc = lc_error("process %d: thread %d runs with a shadow stack (x86 CET, "
				      "x86_Thread_features: shstk): a call into it or a trampoline of "
				      "the doctor's would fault on it; not touching it", (int)pid,
				      (int)tid);
		if (s.seccomp && !seccomp) {
			seccomp = s.seccomp;
			seccomp_tid = tid;
		}
	}
	closedir(d);
	if (rc || !seccomp)
		return rc;
	if (!can_suspend_seccomp())
		return lc_error("process %d: thread %d runs under seccomp (%s); suspending it for "
				"the doctor's system calls needs CAP_SYS_ADMIN "
				"(PTRACE_O_SUSPEND_SECCOMP); not touching it", (int)pid,
				(int)seccomp_tid, seccomp == 1 ? "strict mode" : "a filter");
	lc_info("process %d: thread %d runs under seccomp (%s): suspended around each system "
		"call the doctor runs in the process", (int)pid, (int)seccomp_tid,
		seccomp == 1 ? "strict mode" : "a filter");
	return 0;
}
