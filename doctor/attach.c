/*
 * attach.c - the patient's threads under ptrace.
 *
 * PTRACE_SEIZE attaches without stopping anything; threads are stopped only
 * when the doctor needs them (PTRACE_INTERRUPT, then a wait for that
 * thread's stop), so the patient runs while the patch is prepared and
 * stops for as short a time as possible.  A signal that arrives meanwhile
 * shows up as a signal-delivery-stop, the signal already taken off the
 * queue by the kernel: it is delivered at once, never kept for later
 * (thread_settle).  A thread that exits meanwhile is marked gone.  A
 * thread of a stopped process (group-stop) is never resumed: it stays in
 * its ptrace-stop until the detach, which puts it back in the group-stop
 * (or lets it run if SIGCONT came meanwhile).
 *
 * While threads are seized the doctor does not let SIGINT, SIGTERM, SIGHUP
 * or SIGQUIT kill it halfway through a change, and no wait for a thread
 * blocks forever: a thread that does not stop within WAIT_TIMEOUT_S (stuck
 * in uninterruptible sleep, say) fails the operation, which is undone.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

uint64_t lc_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define WAIT_TIMEOUT_S 3

/*
 * The doctor's own waiting is measured in slices: each slice counts for
 * what it really lasted, but never more than SLICE_SLACK_US past its
 * nominal length (a loaded machine oversleeps by milliseconds, not by
 * seconds).  A
 * doctor that was itself stopped (SIGSTOP, a paused terminal) or not
 * scheduled for seconds thus does not take that time for the patient's:
 * it does not report "did not stop within 3 s" for a thread that stopped
 * at once, nor give up a wait it did not do.  SIGCHLD (which the kernel
 * sends the tracer for every stop of a tracee) is blocked while threads
 * are seized, and sigtimedwait() sleeps until one arrives or the slice
 * ends; no timer, no signal handler.
 */
#define SLICE_SLACK_US 20000u

uint64_t lc_slice_wait(uint64_t slice_us)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec tmo = { (time_t)(slice_us / 1000000u), (long)(slice_us % 1000000u) * 1000 };
	uint64_t t0 = lc_now_us();
	sigtimedwait(&chld, NULL, &tmo);
	uint64_t took = lc_now_us() - t0;
	return took < slice_us + SLICE_SLACK_US ? took : slice_us + SLICE_SLACK_US;
}


/* Why PTRACE_SEIZE said EPERM: 1 we trace the thread already (born while
 * seized: PTRACE_O_TRACECLONE, it was attached by the kernel), 0 it is exiting or gone (nothing to stop), -1 something else. */
static int thread_eperm_why(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	int why = 0, tracer = -1;
	char state = 'X';
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "State:", 6) == 0)
			sscanf(line + 6, " %c", &state);
		else if (strncmp(line, "TracerPid:", 10) == 0)
			tracer = atoi(line + 10);
	}
	fclose(f);
	if (tracer == (int)getpid())
		why = 1;
	else if (state == 'Z' || state == 'X')
		why = 0;
	else
		why = -1;
	return why;
}

/* A signal-delivery-stop for a signal of the patient's (the kernel has
 * taken it off the queue: the thread must leave this very stop with it, or
 * it is lost).  A SIGTRAP made by the kernel is the doctor's own int3 or
 * single-step; a syscall stop (SIGTRAP | 0x80) is no signal. */
static int stop_is_signal(pid_t tid, int st)
{
	if (!WIFSTOPPED(st) || (st >> 16) != 0)
		return 0;
	int sig = WSTOPSIG(st);
	return sig != (SIGTRAP | 0x80) && (sig != SIGTRAP || lc_sigtrap_sent(tid));
}

static struct lc_thread *thread_find(struct lc_threads *ts, pid_t tid)
{
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].tid == tid)
			return &ts->t[i];
	return NULL;
}

/* Seizes the tids of /proc/PID/task not seized yet; returns how many were
 * new, or -1.  New threads are stopped too if `stop` (world stopped). */
static int threads_scan(struct lc_threads *ts, int stop)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)ts->pid);
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return lc_error("no process with PID %d (no such process)", (int)ts->pid);
		return lc_error("cannot read %s: %s", path, strerror(errno));
	}
	int added = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || thread_find(ts, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)LC_TRACE_OPTIONS) != 0) {
			if (errno == ESRCH)
				continue;        /* exited meanwhile */
			if (errno == EPERM) {
				int why = thread_eperm_why(ts->pid, tid);
				if (why == 1)
					goto add;
				if (why == 0)
					continue;        /* exiting */
				errno = EPERM;
			}
			int err = errno;
			closedir(d);
			return lc_error("cannot attach to process %d thread %d: %s", (int)ts->pid,
					(int)tid, strerror(err));
		}
add:
		lc_threads_add(ts, tid, 0);
		lc_debug("process %d: seized thread %d", (int)ts->pid, (int)tid);
		added++;
		if (stop && lc_thread_stop(ts, &ts->t[ts->n - 1]) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return added;
}

struct lc_thread *lc_threads_add(struct lc_threads *ts, pid_t tid, int stopped)
{
	ts->t = lc_xrealloc(ts->t, (ts->n + 1) * sizeof(*ts->t));
	ts->t[ts->n] = (struct lc_thread){ .tid = tid, .stopped = stopped };
	return &ts->t[ts->n++];
}

struct lc_thread *lc_threads_find(struct lc_threads *ts, pid_t tid)
{
	return thread_find(ts, tid);
}

void lc_threads_reap(struct lc_threads *ts)
{
	for (;;) {
		int st;
		pid_t tid = waitpid(-1, &st, __WALL | WNOHANG);
		if (tid <= 0)
			return;
		struct lc_thread *th = thread_find(ts, tid);
		if (!th && WIFSTOPPED(st)) {
			/* born meanwhile, attached by the kernel: its first stop */
			th = lc_threads_add(ts, tid, 1);
			lc_debug("process %d: thread %d born while running", (int)ts->pid, (int)tid);
			lc_thread_resume(ts, th);
			continue;
		}
		if (!th)
			continue;
		if (!WIFSTOPPED(st)) {
			th->gone = 1;
			th->stopped = 0;
			continue;
		}
		th->stopped = 1;
		th->st = st;
		int event = st >> 16, sig = WSTOPSIG(st);
		th->group_stop = event == PTRACE_EVENT_STOP && (sig == SIGSTOP || sig == SIGTSTP ||
								sig == SIGTTIN || sig == SIGTTOU);
		if (th->group_stop)
			continue;       /* it stays stopped */
		/* A signal arrived: delivered now (the thread is running anyway).
		 * A SIGTRAP the kernel made is a late one of the doctor's step. */
		if (stop_is_signal(tid, st))
			th->sig = sig;
		lc_thread_resume(ts, th);
	}
}

int lc_threads_seize(struct lc_threads *ts, pid_t pid)
{
	sigset_t block;
	memset(ts, 0, sizeof(*ts));
	ts->pid = pid;
	ts->seized = 1;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);     /* lc_slice_wait */
	sigprocmask(SIG_BLOCK, &block, &ts->saved_mask);
	int n;
	while ((n = threads_scan(ts, 0)) > 0)
		;
	if (n < 0) {
		lc_threads_detach(ts);
		return -1;
	}
	if (ts->n == 0)
		return lc_error("process %d has no threads left", (int)pid);
	return 0;
}

/* Waits for the stop of a thread we interrupted or single-stepped, up to
 * WAIT_TIMEOUT_S of the doctor's own waiting (lc_slice_wait). */
int lc_thread_wait(struct lc_threads *ts, struct lc_thread *th, int *status)
{
	int st, spins = 0;
	uint64_t waited = 0;
	for (;;) {
		pid_t r = waitpid(th->tid, &st, __WALL | WNOHANG);
		if (r == 0) {
			if (waited >= (uint64_t)WAIT_TIMEOUT_S * 1000000u) {
				th->timed_out = 1;
				return lc_error("process %d: thread %d did not stop within %d s",
						(int)ts->pid, (int)th->tid, WAIT_TIMEOUT_S);
			}
			/* A stop comes within microseconds: asked for first without
			 * sleeping (the doctor stays on its CPU, so the windows in
			 * which a thread is stopped or has foreign registers are not
			 * stretched by the scheduler), then in slices. */
			if (++spins < 20)
				continue;
			waited += lc_slice_wait(waited < 10000 ? 200 : 10000);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			lc_debug("process %d: thread %d exited", (int)ts->pid, (int)th->tid);
			th->gone = 1;
			th->stopped = 0;
			return -1;
		}
		/* Stopped inside clone() for PTRACE_O_TRACECLONE: not a place to
		 * change registers (the syscall is not finished).  It goes on and
		 * is interrupted again (that stop took the interrupt it was sent). */
		if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_CLONE) {
			if (ptrace(PTRACE_CONT, th->tid, NULL, NULL) == 0 &&
			    ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) == 0)
				continue;
		}
		if (WIFSTOPPED(st))
			break;
	}
	th->stopped = 1;
	th->st = st;
	int sig = WSTOPSIG(st);
	th->group_stop = (st >> 16) == PTRACE_EVENT_STOP &&
			 (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU);
	lc_debug("process %d: thread %d stopped: signal %d, event %d%s", (int)ts->pid,
		 (int)th->tid, sig, st >> 16, th->group_stop ? " (group-stop)" : "");
	if (status)
		*status = st;
	return 0;
}

int lc_sigtrap_sent(pid_t tid)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) != 0)
		return 0;
	return si.si_code <= 0;         /* SI_USER, SI_TKILL, SI_QUEUE... */
}

/*
 * A thread the doctor interrupted may stop for a signal first.  The signal
 * is delivered now: PTRACE_INTERRUPT while it is in that stop (another trap
 * is then certain to follow), PTRACE_CONT with the signal (its handler's
 * frame is set up, or its default action taken), and the wait for the
 * interrupt stop, which the kernel takes before dequeuing another signal.
 * Keeping the signal to pass it at the resume instead loses it whenever the
 * thread leaves this stop first (an injected syscall, a repark) or the
 * doctor dies: a restarting ptrace request gives a signal only from a
 * signal-delivery-stop, and the kernel has already dequeued it.  The thread
 * then sits at its handler's first instruction, the interrupted code in the
 * signal frame on its stack (where the busy check finds it).  -1 on error
 * (logged); a thread the signal killed is marked gone.
 */
static int thread_settle(struct lc_threads *ts, struct lc_thread *th, int *st)
{
	for (int n = 0; stop_is_signal(th->tid, *st); n++) {
		int sig = WSTOPSIG(*st);
		if (n == 64)
			return lc_error("process %d: thread %d keeps stopping for signal %d",
					(int)ts->pid, (int)th->tid, sig);
		lc_debug("process %d: thread %d: signal %d delivered", (int)ts->pid, (int)th->tid,
			 sig);
		if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0 ||
		    ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig) != 0) {
			if (errno == ESRCH) {
				th->gone = 1;
				th->stopped = 0;
				return 0;
			}
			return lc_error("process %d: cannot deliver signal %d to thread %d: %s",
					(int)ts->pid, sig, (int)th->tid, strerror(errno));
		}
		th->stopped = 0;
		if (lc_thread_wait(ts, th, st) != 0)
			return th->timed_out ? -1 : 0;
	}
	return 0;
}

void lc_thread_keep_signal(struct lc_thread *th, int sig)
{
	if (sig <= 0 || sig > 64 || sig == th->sig)
		return;
	if (!th->sig)
		th->sig = sig;
	else
		th->deferred |= 1ull << (sig - 1);
}

/* Before a stopped thread leaves its stop: a kept signal it cannot be given
 * there (not a signal-delivery-stop) and the deferred ones are queued again
 * (tgkill), in the order of their numbers, to be delivered as it runs.
 * Returns the signal to pass to the restarting request. */
static int thread_signals_out(struct lc_threads *ts, struct lc_thread *th)
{
	int sd_stop = WIFSTOPPED(th->st) && (th->st >> 16) == 0 &&
		      WSTOPSIG(th->st) != (SIGTRAP | 0x80);
	if (th->sig && !sd_stop) {
		th->deferred |= 1ull << (th->sig - 1);
		th->sig = 0;
	}
	for (int sig = 1; sig <= 64 && th->deferred; sig++) {
		if (!(th->deferred & (1ull << (sig - 1))))
			continue;
		th->deferred &= ~(1ull << (sig - 1));
		lc_debug("process %d: thread %d: signal %d queued again", (int)ts->pid,
			 (int)th->tid, sig);
		if (syscall(SYS_tgkill, (int)ts->pid, (int)th->tid, sig) != 0 && errno != ESRCH)
			lc_warn("process %d: cannot queue signal %d for thread %d again: %s",
				(int)ts->pid, sig, (int)th->tid, strerror(errno));
	}
	return th->sig;
}

int lc_thread_stop(struct lc_threads *ts, struct lc_thread *th)
{
	int st;
	if (th->stopped || th->gone)
		return 0;
	if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0) {
		if (errno != ESRCH)
			return lc_error("process %d: cannot interrupt thread %d: %s", (int)ts->pid,
					(int)th->tid, strerror(errno));
	}
	if (lc_thread_wait(ts, th, &st) != 0)
		return th->timed_out ? -1 : 0;   /* gone: nothing to stop */
	return thread_settle(ts, th, &st);
}

int lc_thread_resume(struct lc_threads *ts, struct lc_thread *th)
{
	if (!th->stopped || th->gone)
		return 0;
	if (th->group_stop)
		return 0;       /* the process is stopped: it stays so until the detach */
	int sig = thread_signals_out(ts, th);
	if (ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig) != 0) {
		if (errno == ESRCH) {
			th->gone = 1;
			return 0;
		}
		return lc_error("process %d: cannot resume thread %d: %s", (int)ts->pid,
				(int)th->tid, strerror(errno));
	}
	th->sig = 0;
	th->stopped = 0;
	return 0;
}

int lc_threads_stop_all(struct lc_threads *ts)
{
	if (!ts->world_stopped) {
		ts->stop_us = lc_now_us();
		ts->world_stopped = 1;
		ts->nstops++;
	}
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		if (!th->stopped && !th->gone && ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0 &&
		    errno != ESRCH)
			return lc_error("process %d: cannot interrupt thread %d: %s", (int)ts->pid,
					(int)th->tid, strerror(errno));
	}
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		int st;
		if (th->stopped || th->gone)
			continue;
		if (lc_thread_wait(ts, th, &st) == 0) {
			if (thread_settle(ts, th, &st) != 0)
				return -1;
		} else if (th->timed_out)
			return -1;
	}
	/* Threads born before their parent stopped are not seized yet. */
	int n;
	while ((n = threads_scan(ts, 1)) > 0)
		;
	if (n < 0)
		return -1;
	for (size_t i = 0; i < ts->n; i++)
		if (!ts->t[i].gone)
			return 0;
	return lc_error("process %d exited", (int)ts->pid);
}

/* The end of a stop-the-world window: its length is added to what the
 * patient was stopped for in this operation. */
static void threads_window_end(struct lc_threads *ts)
{
	if (!ts->world_stopped)
		return;
	ts->world_stopped = 0;
	ts->stopped_us += lc_now_us() - ts->stop_us;
}

void lc_threads_resume_all(struct lc_threads *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		lc_thread_resume(ts, &ts->t[i]);
	threads_window_end(ts);
}

void lc_threads_detach(struct lc_threads *ts)
{
	if (!ts->seized)
		return;
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		if (th->gone || th->timed_out)
			continue;        /* a stuck thread is detached when we exit */
		if (!th->stopped)
			lc_thread_stop(ts, th);
		if (th->gone || !th->stopped)
			continue;
		int sig = thread_signals_out(ts, th);
		if (ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)sig) != 0 && errno != ESRCH)
			lc_warn("process %d: cannot detach from thread %d: %s", (int)ts->pid,
				(int)th->tid, strerror(errno));
		th->stopped = 0;
		th->sig = 0;
	}
	threads_window_end(ts);
	sigprocmask(SIG_SETMASK, &ts->saved_mask, NULL);
	lc_stub_release(ts->pid);       /* no thread is borrowed any more */
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
	ts->seized = 0;
}

int lc_thread_sigmask(struct lc_thread *th, const uint64_t *set, uint64_t *old)
{
	if (old && ptrace(PTRACE_GETSIGMASK, th->tid, (void *)sizeof(*old), old) != 0)
		return -1;
	return ptrace(PTRACE_SETSIGMASK, th->tid, (void *)sizeof(*set), (void *)set) == 0 ? 0 : -1;
}


int lc_thread_repark(struct lc_threads *ts, struct lc_thread *th)
{
	int st;
	if (!th->stopped || th->gone)
		return 0;
	/* The interrupt is taken before the thread runs a single instruction
	 * (the kernel checks traps before signals and before returning). */
	if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0 ||
	    ptrace(PTRACE_CONT, th->tid, NULL, NULL) != 0)
		return -1;
	th->stopped = 0;
	if (lc_thread_wait(ts, th, &st) != 0 || thread_settle(ts, th, &st) != 0)
		return -1;
	/* Signals met on the doctor's code: queued again now that the
	 * thread's own registers and mask are back. */
	if (th->sig || th->deferred)
		thread_signals_out(ts, th);
	return 0;
}


struct lc_thread *lc_threads_pick(struct lc_threads *ts)
{
	struct lc_thread *main = thread_find(ts, ts->pid);
	if (main && !main->gone && !main->timed_out)
		return main;
	for (size_t i = 0; i < ts->n; i++)
		if (!ts->t[i].gone && !ts->t[i].timed_out && ts->t[i].stopped)
			return &ts->t[i];
	for (size_t i = 0; i < ts->n; i++)
		if (!ts->t[i].gone && !ts->t[i].timed_out)
			return &ts->t[i];
	return NULL;
}
