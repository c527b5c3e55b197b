/*
 * attach.c - the patient's threads under ptrace.
 *
 * PTRACE_SEIZE attaches without stopping anything; threads are stopped only
 * when the doctor needs them (PTRACE_INTERRUPT, then a wait for that
 * thread's stop), so the patient runs while the patch is prepared and
 * stops for as short a time as possible.  A signal that arrives meanwhile
 * shows up as a signal-delivery-stop: it is remembered and delivered when
 * the thread resumes.  A thread that exits meanwhile is marked gone.  A
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
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

static volatile sig_atomic_t wait_expired;

static void on_wait_alarm(int sig)
{
	(void)sig;
	wait_expired = 1;
}

/* A one-shot timer that interrupts waitpid (no SA_RESTART). */
static void wait_timer_ms(int ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	if (ms) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_wait_alarm;
		sigaction(SIGALRM, &sa, NULL);
		wait_expired = 0;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static void wait_timer(int seconds)
{
	wait_timer_ms(seconds * 1000);
}

/* Why PTRACE_SEIZE said EPERM: 1 we trace the thread already (born while
 * PTRACE_O_TRACECLONE was set, the breakpoint wait, it was attached by the
 * kernel), 0 it is exiting or gone (nothing to stop), -1 something else. */
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
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
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
	ts->t[ts->n] = (struct lc_thread){ tid, stopped, 0, 0, 0, 0 };
	return &ts->t[ts->n++];
}

struct lc_thread *lc_threads_find(struct lc_threads *ts, pid_t tid)
{
	return thread_find(ts, tid);
}

int lc_threads_wait_any(struct lc_threads *ts, int ms, pid_t *tid, int *status)
{
	(void)ts;
	if (ms <= 0)
		return 1;
	wait_timer_ms(ms);
	for (;;) {
		pid_t r = waitpid(-1, status, __WALL);
		if (r > 0) {
			wait_timer(0);
			*tid = r;
			return 0;
		}
		if (errno == EINTR && !wait_expired)
			continue;
		wait_timer(0);
		return 1;
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

/* Waits for the stop of a thread we interrupted or single-stepped. */
int lc_thread_wait(struct lc_threads *ts, struct lc_thread *th, int *status)
{
	int st;
	wait_timer(WAIT_TIMEOUT_S);
	for (;;) {
		pid_t r = waitpid(th->tid, &st, __WALL);
		if (r < 0 && errno == EINTR && wait_expired) {
			wait_timer(0);
			th->timed_out = 1;
			return lc_error("process %d: thread %d did not stop within %d s", (int)ts->pid,
					(int)th->tid, WAIT_TIMEOUT_S);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			wait_timer(0);
			lc_debug("process %d: thread %d exited", (int)ts->pid, (int)th->tid);
			th->gone = 1;
			th->stopped = 0;
			return -1;
		}
		if (WIFSTOPPED(st))
			break;
	}
	wait_timer(0);
	th->stopped = 1;
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

static void thread_note_signal(struct lc_thread *th, int st)
{
	/* A signal-delivery-stop (no event): the signal would be lost if the
	 * thread resumed without it.  A SIGTRAP made by the kernel comes from
	 * the doctor's own int3 or single-step; one sent by a process is kept. */
	if ((st >> 16) == 0 && (WSTOPSIG(st) != SIGTRAP || lc_sigtrap_sent(th->tid)))
		th->sig = WSTOPSIG(st);
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
	thread_note_signal(th, st);
	return 0;
}

int lc_thread_resume(struct lc_threads *ts, struct lc_thread *th)
{
	if (!th->stopped || th->gone)
		return 0;
	if (th->group_stop)
		return 0;       /* the process is stopped: it stays so until the detach */
	if (ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)th->sig) != 0) {
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
	ts->stop_us = lc_now_us();
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
		if (lc_thread_wait(ts, th, &st) == 0)
			thread_note_signal(th, st);
		else if (th->timed_out)
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

void lc_threads_resume_all(struct lc_threads *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		lc_thread_resume(ts, &ts->t[i]);
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
		if (ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)th->sig) != 0 && errno != ESRCH)
			lc_warn("process %d: cannot detach from thread %d: %s", (int)ts->pid,
				(int)th->tid, strerror(errno));
		th->stopped = 0;
		th->sig = 0;
	}
	ts->resume_us = lc_now_us();
	sigprocmask(SIG_SETMASK, &ts->saved_mask, NULL);
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

int lc_thread_step(struct lc_threads *ts, struct lc_thread *th)
{
	uint64_t mask, all = ~0ull;
	int st, masked = lc_thread_sigmask(th, &all, &mask) == 0;
	int rc = -1, group_stop = th->group_stop;
	if (ptrace(PTRACE_SINGLESTEP, th->tid, NULL, NULL) == 0) {
		th->stopped = 0;
		rc = lc_thread_wait(ts, th, &st);
	}
	if (masked && !th->gone)
		lc_thread_sigmask(th, &mask, NULL);
	if (rc == 0)
		lc_thread_drain_trap(ts, th);
	th->group_stop = group_stop;
	return rc;
}

/* The thread's private pending signals (SigPnd of /proc/PID/task/TID/status). */
static uint64_t thread_pending(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	uint64_t set = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "SigPnd:", 7) == 0) {
			set = strtoull(line + 7, NULL, 16);
			break;
		}
	fclose(f);
	return set;
}

int lc_thread_drain_trap(struct lc_threads *ts, struct lc_thread *th)
{
	for (int tries = 0; tries < 4; tries++) {
		int st;
		if (!th->stopped || th->gone ||
		    !(thread_pending(ts->pid, th->tid) & (1ull << (SIGTRAP - 1))))
			return 0;
		/* Resumed, it takes the pending signal before running a single
		 * instruction: a signal-delivery-stop we then swallow. */
		if (ptrace(PTRACE_CONT, th->tid, NULL, NULL) != 0)
			return -1;
		th->stopped = 0;
		if (lc_thread_wait(ts, th, &st) != 0)
			return -1;
		if ((st >> 16) == 0 && (WSTOPSIG(st) != SIGTRAP || lc_sigtrap_sent(th->tid)) &&
		    !th->sig)
			th->sig = WSTOPSIG(st);
		lc_debug("process %d: thread %d: pending SIGTRAP of the doctor taken out", (int)ts->pid,
			 (int)th->tid);
	}
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
