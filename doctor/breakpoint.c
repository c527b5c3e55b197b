/*
 * breakpoint.c - letting busy threads run until they leave the functions
 * about to change, instead of polling.
 *
 * The busy check (stack.c) gives, for each busy thread, the return address
 * of its outermost busy frame: the first instruction it runs once it is out.
 * With the world stopped an int3 goes on each of them; everybody resumes;
 * the first thread that hits one (a SIGTRAP stop at address + 1) ends the
 * wait, or a time slice does.  Then the world is stopped again, every int3
 * is taken out and each thread that hit one is put back on the instruction
 * (rip - 1), so it runs the original instruction when it resumes and never
 * sees the trap (a SIGTRAP still pending because an interrupt was reported
 * first is taken out: lc_thread_drain_trap).  A thread that was standing right after a breakpoint
 * address when the int3 would go in gets no breakpoint there (it could not
 * be told from one that hit it); one standing on it is single-stepped over
 * it first (it would trap at once).
 *
 * While int3s are in place every thread must be traced, since an untraced
 * thread hitting one would kill the process with SIGTRAP: PTRACE_O_TRACECLONE
 * makes the kernel attach threads born meanwhile, and the option is cleared
 * again before the function returns.  Signals that arrive meanwhile are
 * delivered at once (the thread is running anyway); a SIGTRAP another
 * process sent is delivered too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define BP_MAX 64

struct bp {
	uint64_t addr;
	uint8_t orig;
	int set;
};

static int bp_find(const struct bp *b, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (b[i].set && b[i].addr == addr)
			return 1;
	return 0;
}

static void threads_set_options(struct lc_threads *ts, long opts)
{
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].stopped && !ts->t[i].gone)
			ptrace(PTRACE_SETOPTIONS, ts->t[i].tid, NULL, (void *)opts);
}

/* A stopped thread standing just after a breakpoint hit it: back onto the
 * instruction.  Returns 1 if it did. */
static int thread_rewind(struct lc_thread *th, const struct bp *b, size_t n)
{
	struct user_regs_struct regs;
	if (!th->stopped || th->gone || ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0)
		return 0;
	if (!bp_find(b, n, regs.rip - 1))
		return 0;
	regs.rip--;
	return ptrace(PTRACE_SETREGS, th->tid, NULL, &regs) == 0;
}

/* One stop or exit reported while the threads run; 1 if it was a hit. */
static int bp_event(struct lc_threads *ts, const struct bp *b, size_t n, pid_t tid, int st)
{
	struct lc_thread *th = lc_threads_find(ts, tid);
	if (!th) {
		/* born meanwhile and attached by the kernel: its first stop */
		if (!WIFSTOPPED(st))
			return 0;
		th = lc_threads_add(ts, tid, 1);
		lc_debug("process %d: thread %d born while waiting", (int)ts->pid, (int)tid);
		lc_thread_resume(ts, th);
		return 0;
	}
	if (!WIFSTOPPED(st)) {
		th->gone = 1;
		th->stopped = 0;
		return 0;
	}
	th->stopped = 1;
	int event = st >> 16, sig = WSTOPSIG(st);
	th->group_stop = event == PTRACE_EVENT_STOP && (sig == SIGSTOP || sig == SIGTSTP ||
							sig == SIGTTIN || sig == SIGTTOU);
	if (th->group_stop)
		return 0;       /* it stays stopped */
	if (event == 0 && sig == SIGTRAP) {
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) == 0 && bp_find(b, n, regs.rip - 1)) {
			lc_debug("process %d: thread %d left the busy code at 0x%llx", (int)ts->pid,
				 (int)tid, (unsigned long long)regs.rip - 1);
			return 1;   /* stays stopped; rewound after the stop */
		}
		/* Sent by a process: delivered.  Made by the kernel but at no
		 * breakpoint of this round: a late one of the doctor's, dropped. */
		if (lc_sigtrap_sent(tid))
			th->sig = SIGTRAP;
	} else if (event == 0) {
		th->sig = sig;          /* delivered now */
	}
	lc_thread_resume(ts, th);
	return 0;
}

int lc_breakpoints_run(struct lc_threads *ts, const uint64_t *addr, size_t n, int ms)
{
	struct bp b[BP_MAX];
	size_t nb = 0;
	char path[64];
	int hits = 0, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)lc_proc_task(ts->pid));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return lc_error("process %d: cannot open %s: %s", (int)ts->pid, path, strerror(errno));
	for (size_t i = 0; i < n && nb < BP_MAX; i++) {
		int clash = 0;
		for (size_t k = 0; k < ts->n; k++) {
			struct user_regs_struct regs;
			struct lc_thread *th = &ts->t[k];
			if (!th->stopped || th->gone ||
			    ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0)
				continue;
			if (regs.rip == addr[i] + 1)
				clash = 1;
			/* One that came out here last time: one step on, or it
			 * would trap at once. */
			if (regs.rip == addr[i] && lc_thread_step(ts, th) != 0 && th->timed_out) {
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
		b[nb] = (struct bp){ addr[i], 0, 0 };
		static const uint8_t int3 = 0xcc;
		if (clash || pread(fd, &b[nb].orig, 1, (off_t)addr[i]) != 1 ||
		    pwrite(fd, &int3, 1, (off_t)addr[i]) != 1)
			continue;
		b[nb++].set = 1;
		lc_debug("process %d: breakpoint at 0x%llx", (int)ts->pid, (unsigned long long)addr[i]);
	}
	uint64_t deadline = lc_now_us() + (uint64_t)ms * 1000u;
	if (rc == 0) {
		threads_set_options(ts, PTRACE_O_TRACECLONE);
		lc_threads_resume_all(ts);
	}
	while (rc == 0 && !hits) {
		uint64_t now = lc_now_us();
		if (now >= deadline)
			break;
		pid_t tid;
		int st;
		if (lc_threads_wait_any(ts, (int)((deadline - now + 999) / 1000), &tid, &st) != 0)
			break;
		hits += bp_event(ts, b, nb, tid, st);
	}

	/* The world stops again (threads that hit a breakpoint are stopped
	 * already; those that hit one meanwhile report it in their stop). */
	if (lc_threads_stop_all(ts) != 0)
		rc = -1;
	for (size_t i = 0; i < nb; i++)
		if (pwrite(fd, &b[i].orig, 1, (off_t)b[i].addr) != 1)
			rc = lc_error("process %d: cannot remove the breakpoint at 0x%llx: %s",
				      (int)ts->pid, (unsigned long long)b[i].addr, strerror(errno));
	int rewound = 0;
	for (size_t i = 0; i < ts->n; i++) {
		if (!thread_rewind(&ts->t[i], b, nb))
			continue;
		rewound++;
		/* stopped by an interrupt before it took the int3's SIGTRAP */
		lc_thread_drain_trap(ts, &ts->t[i]);
	}
	threads_set_options(ts, 0);
	close(fd);
	lc_debug("process %d: %zu breakpoint(s), %d thread(s) came out", (int)ts->pid, nb, rewound);
	return rc < 0 ? -1 : rewound;
}
