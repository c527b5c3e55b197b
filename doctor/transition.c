/*
 * transition.c - one change of a patient's code (patch or unpatch) as a
 * sequence of explicit steps, each with one undo, undone in reverse order
 * (the model is the kernel's livepatch transition):
 *
 *   step       what it does                              its undo
 *   ATTACHED   PTRACE_SEIZE every thread (nothing stops)  detach
 *   PREPARED   one thread stopped: the command maps and   the command's unprepare
 *              fills what it needs (patch: its region),   (unmap), from one
 *              the unwinder is warmed; it runs on         stopped thread
 *   STOPPED    every thread stopped                       resume every thread
 *   CHECKED    no thread busy; while one is, trampolines  trampolines put back
 *              on its way out (trampoline.c), the world   (trampoline.c)
 *              runs, the doctor polls their counters
 *   SWITCHED   the command's writes (journalled)          none: the point of no
 *                                                         return (a failed write
 *                                                         undoes itself)
 *   RESUMED    every thread runs; the command's finish
 *              (old regions go), trampolines unmapped,
 *              detach
 *
 * patch.c and unpatch.c fill in struct lc_transition_ops; the threads,
 * the waiting, the timers and the accounting of stops are all here.
 * "Stopped for" is the sum of every stop-the-world window of the operation
 * (threads stopped alone for an injected syscall are counted apart).  The
 * timeout counts the doctor's own waiting in slices (lc_slice_wait), so a
 * doctor that was itself stopped does not give up a wait it did not do.
 *
 * When the patient dies halfway, the messages of the steps that failed on
 * the way (a thread gone, a write refused) are dropped and one line says
 * what happened (without -v they are held until the end for that).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define SLICE_US 1000u                  /* how often the counters are read */
#define GAP_MAX_US 250000u              /* the longest the world runs between looks */
#define GAP_TAKEN_MAX_US 32000u         /* below a trampoline's 50 ms hold */

static const char *step_name(enum lc_step s)
{
	switch (s) {
	case LC_STEP_NONE: return "attaching";
	case LC_STEP_ATTACHED: return "preparing";
	case LC_STEP_PREPARED: return "stopping the threads";
	case LC_STEP_STOPPED: return "waiting for a safe point";
	case LC_STEP_CHECKED: return "writing";
	case LC_STEP_SWITCHED: return "resuming";
	case LC_STEP_RESUMED: return "cleaning up";
	}
	return "?";
}

/* Test-only: LIBCARE_TEST_PAUSE=NAME makes the doctor sleep 300 ms at the
 * point NAME (a fixed moment for kill and stop tests), LIBCARE_TEST_PAUSE_MS
 * overrides the length; with LIBCARE_TEST_PAUSE_UNTIL=FILE it waits instead
 * until FILE exists (a test's handshake; 60 s at most).  One getenv per
 * point, nothing else. */
void lc_test_pause(const char *point)
{
	const char *want = getenv("LIBCARE_TEST_PAUSE");
	if (!want || strcmp(want, point) != 0)
		return;
	const char *ms = getenv("LIBCARE_TEST_PAUSE_MS");
	const char *until = getenv("LIBCARE_TEST_PAUSE_UNTIL");
	fprintf(stderr, "libcare-doctor: test pause at %s\n", point);
	if (until && *until) {
		for (int i = 0; i < 6000 && access(until, F_OK) != 0; i++)
			usleep(10000);
		return;
	}
	usleep((useconds_t)(ms ? atoi(ms) : 300) * 1000u);
}

#define WARM_THREADS 4                  /* other threads unwound before the stop */

/*
 * The unwinder learns each return address's CFI rule once (unwind.c); in
 * the stop that costs 1-5 us a new address, and a patient's threads stand
 * on few addresses but not the same as the one thread the prepare
 * unwound (its main thread in read(), workers in their loop).  A few more
 * threads are each stopped alone and unwound now, with the world running:
 * then the stop finds their rules made.  Threads in uninterruptible sleep
 * (they would make this wait), vfork children and the threads held for
 * them are left out.  Nothing is decided here: the stop unwinds again.
 */
static int transition_warm(struct lc_transition *t, const struct lc_thread *done)
{
	pid_t tids[WARM_THREADS];
	size_t n = 0;
	for (size_t i = 0; i < t->ts.n && n < WARM_THREADS; i++) {
		const struct lc_thread *th = &t->ts.t[i];
		if (th == done || th->gone || th->timed_out || th->vchild || th->vfork_child ||
		    th->group_stop || lc_thread_state(t->pid, th->tid) == 'D')
			continue;
		tids[n++] = th->tid;
	}
	for (size_t i = 0; i < n; i++) {
		/* by tid: a stop may add threads (born meanwhile) and move ts.t */
		struct lc_thread *th = lc_threads_find(&t->ts, tids[i]);
		uint64_t pcs[64];
		if (!th || lc_thread_stop(&t->ts, th) != 0)
			return -1;
		if (!th->gone)
			lc_unwind_thread(t->unwind, th->tid, pcs, 64);
		if (lc_thread_resume(&t->ts, th) != 0)
			return -1;
	}
	return 0;
}

/* One stopped thread for the command's prepare, or for the unwinder. */
static int transition_prepare(struct lc_transition *t)
{
	struct lc_thread *th = lc_threads_pick(&t->ts);
	uint64_t t0 = lc_now_us();
	if (!th || lc_thread_stop(&t->ts, th) != 0 || th->gone)
		return lc_error("process %d: no thread to prepare the %s in", (int)t->pid,
				t->ops->what);
	int rc = t->ops->prepare ? t->ops->prepare(t, th) : 0;
	t->step = LC_STEP_PREPARED;     /* the undo may be needed even if it failed */
	/* Unwinding this thread now loads the CFI of the objects on its stack
	 * outside the stop-the-world window. */
	if (rc == 0) {
		uint64_t pcs[64];
		if (!t->unwind)         /* the prepare may have begun it */
			t->unwind = lc_unwind_begin(t->pid);
		if (t->unwind)
			lc_unwind_thread(t->unwind, th->tid, pcs, 64);
	}
	if (lc_thread_resume(&t->ts, th) != 0)
		rc = -1;
	if (rc == 0 && t->unwind && transition_warm(t, th) != 0)
		rc = -1;
	t->thread_stop_us += lc_now_us() - t0;
	return rc;
}

/* The doctor's own stack, as deep as the stop goes and more (the stack
 * check's and the unwinder's frame arrays are 4-8 KiB each): its pages
 * are touched now, so that the stop takes no page fault there (a fault is
 * a microsecond or more of the patient's stop; the unpatch stop took
 * three, in lc_stack_check, lc_unwind_stack_regs and unwind_memory_read). */
static __attribute__((noinline)) void transition_stack_touch(void)
{
	volatile unsigned char pages[128 << 10];
	for (size_t i = 0; i < sizeof(pages); i += 4096)
		pages[i] = 0;
}

/* Threads ran meanwhile: bookkeeping of their stops, signals delivered. */
static void transition_reap(struct lc_transition *t)
{
	lc_threads_reap(&t->ts);
}

/* World stopped on entry and on return: 0 no thread is busy, 1 gave up
 * (reason in t->why), -1 error. */
static int transition_wait_safe(struct lc_transition *t)
{
	uint64_t waited = 0, gap = SLICE_US, timeout = (uint64_t)t->timeout_ms * 1000u;
	uint64_t gap_unknown = 2 * SLICE_US;
	struct lc_exits ex;
	for (;;) {
		lc_tramps_normalize(t->tramps, &t->ts, 1);
		uint64_t c0 = lc_now_us();
		int rc = lc_stack_check(&t->ts, t->unwind, t->busy, t->nbusy, &ex, t->why,
					sizeof(t->why));
		if (rc == 0 && t->coroutine_scan) {
			rc = lc_coroutines_check(&t->ts, t->busy, t->nbusy, t->why, sizeof(t->why));
			ex.unknown = 1;         /* a coroutine leaves when it is resumed */
		}
		t->check_us = lc_now_us() - c0;
		if (rc <= 0)
			return rc;
		if (waited >= timeout)
			return 1;
		lc_test_pause("wait");
		/* The trampolines' area is mapped with the world running (one
		 * thread stopped alone), then the world is stopped and looked at
		 * again: two short stops instead of one with two injected calls. */
		int known = 0;
		for (size_t i = 0; i < ex.n; i++)
			known |= ex.slot[i] != 0;
		if (known && !lc_tramps_ready(t->tramps)) {
			lc_threads_resume_all(&t->ts);
			uint64_t m0 = lc_now_us();
			lc_tramps_map(t->tramps, &t->ts, t->insn);
			t->thread_stop_us += lc_now_us() - m0;
			if (lc_threads_stop_all(&t->ts) != 0)
				return -1;
			continue;
		}
		/* Trampolines on the ways out; a way out with no known slot (no
		 * CFI, a coroutine) is waited for by looking again later. */
		int unknown = ex.unknown;
		for (size_t i = 0; i < ex.n; i++)
			if (!ex.slot[i] || lc_tramps_plant(t->tramps, &t->ts, t->insn, ex.tid[i],
							   ex.slot[i], ex.addr[i]) < 0)
				unknown = 1;
		lc_tramps_taken(t->tramps);     /* counts from now */
		lc_threads_resume_all(&t->ts);
		/* The world runs for at least `gap` (doubling from 1 to 32 ms: a
		 * function hot in other threads costs a few stops, not one per
		 * call; a thread that returned is held meanwhile) and is stopped
		 * again once a trampoline was taken, or after 250 ms anyway (a
		 * longjmp or an exception leaves too).  An unknown way out is
		 * looked at after 2, 4, ... 250 ms. */
		uint64_t since = 0;
		for (;;) {
			uint64_t d = lc_slice_wait(SLICE_US);
			since += d;
			waited += d;
			transition_reap(t);
			if (waited >= timeout || since >= GAP_MAX_US)
				break;
			if (unknown ? since >= gap_unknown : since >= gap && lc_tramps_taken(t->tramps))
				break;
		}
		if (unknown)
			gap_unknown = gap_unknown * 2 < GAP_MAX_US ? gap_unknown * 2 : GAP_MAX_US;
		else
			gap = gap * 2 < GAP_TAKEN_MAX_US ? gap * 2 : GAP_TAKEN_MAX_US;
		if (lc_threads_stop_all(&t->ts) != 0)
			return -1;
	}
}

/* The undo of every step reached, in reverse order. */
static void transition_undo(struct lc_transition *t)
{
	if (t->step >= LC_STEP_PREPARED) {
		/* The trampolines' undo needs the world stopped; left in place
		 * they stay harmless (and their area mapped). */
		if (t->tramps_used && lc_threads_stop_all(&t->ts) == 0)
			lc_tramps_restore(t->tramps, &t->ts);
		lc_threads_resume_all(&t->ts);
	}
	if (t->step >= LC_STEP_PREPARED && t->ops->unprepare) {
		struct lc_thread *th = lc_threads_pick(&t->ts);
		if (th && lc_thread_stop(&t->ts, th) == 0 && !th->gone)
			t->ops->unprepare(t, th);
		else
			t->ops->unprepare(t, NULL);
	}
	lc_tramps_free(t->tramps, &t->ts, t->insn);
	t->tramps = NULL;
	lc_threads_detach(&t->ts);
}

static int transition_steps(struct lc_transition *t)
{
	uint64_t t0 = lc_now_us();
	t->coroutine_scan = lc_coroutines_possible(t->pr);     /* reads files: not while stopped */
	if (lc_threads_seize(&t->ts, t->pid) != 0)
		return -1;
	t->step = LC_STEP_ATTACHED;
	lc_test_pause("attached");
	uint64_t t1 = lc_now_us();
	t->attach_us = t1 - t0;
	if (transition_prepare(t) != 0)
		return -1;
	transition_reap(t);             /* threads born meanwhile wait at birth */
	lc_test_pause("prepared");
	t->tramps = lc_tramps_new(t->pr, t->unwind);
	lc_unwind_tramps(t->unwind, t->tramps);
	/* threads born meanwhile too; the reference proof reads the stacks
	 * up to their ends (a thread's TLS is at the top of its stack) */
	lc_unwind_reserve(t->unwind, t->ts.n + 16, t->refs_scan ? 16384 : 4096);
	if (t->refs_scan)
		lc_proof_ready(&t->proof, t->pid);
	transition_stack_touch();
	uint64_t t2 = lc_now_us();
	t->prepare_us = t2 - t1;
	if (lc_threads_stop_all(&t->ts) != 0)
		return -1;
	t->step = LC_STEP_STOPPED;
	int rc = transition_wait_safe(t);
	/* Returns since the counters were last read (a last round that ended
	 * on a look, not on a counter) count too. */
	if (t->tramps)
		lc_tramps_taken(t->tramps);
	t->tramps_used = lc_tramps_count(t->tramps, &t->planted, &t->taken);
	if (rc > 0)
		return lc_error("process %d: %s%s; gave up after %d ms", (int)t->pid, t->why,
				t->why_suffix ? t->why_suffix : "", t->timeout_ms);
	if (rc < 0)
		return -1;
	t->step = LC_STEP_CHECKED;
	uint64_t t3 = lc_now_us();
	t->wait_us = t3 - t2;
	if (t->ops->do_switch(t) != 0)
		return -1;
	t->step = LC_STEP_SWITCHED;
	uint64_t t4 = lc_now_us();
	t->switch_us = t4 - t3;
	/* The check's cleanup, while the world is still stopped. */
	if (t->tramps_used)
		lc_tramps_restore(t->tramps, &t->ts);
	t->tramps_used = 0;
	lc_threads_resume_all(&t->ts);
	t->step = LC_STEP_RESUMED;
	t->stopped_us = t->ts.stopped_us;
	t->stops = t->ts.nstops;
	if (t->ops->finish) {
		struct lc_thread *th = lc_threads_pick(&t->ts);
		if (th && (lc_thread_stop(&t->ts, th) != 0 || th->gone))
			th = NULL;
		t->ops->finish(t, th);
	}
	lc_tramps_free(t->tramps, &t->ts, t->insn);
	t->tramps = NULL;
	lc_threads_detach(&t->ts);
	t->cleanup_us = lc_now_us() - t4;
	return 0;
}

int lc_transition_run(struct lc_transition *t)
{
	struct lc_stderr_held held;
	int hold = lc_log_level() == 0;
	/* While it holds the patient's threads the doctor runs before other
	 * work of the machine (root may; failure is harmless): its stops and
	 * the microseconds of an injected syscall are not stretched by load. */
	errno = 0;
	int nice_was = getpriority(PRIO_PROCESS, 0);
	int reniced = errno == 0 && setpriority(PRIO_PROCESS, 0, -20) == 0;
	if (hold)
		lc_stderr_hold(&held);
	int rc = transition_steps(t);
	enum lc_step reached = t->step;
	if (rc != 0)
		transition_undo(t);
	t->stopped_us = t->ts.stopped_us;
	t->stops = t->ts.nstops;
	int dead = rc != 0 && !lc_pid_alive(t->pid);
	if (hold)
		lc_stderr_release(&held, !dead);
	if (dead)
		lc_error("process %d exited while the doctor was %s (%s)", (int)t->pid,
			 step_name(reached), t->ops->what);
	lc_unwind_end(t->unwind);
	t->unwind = NULL;
	lc_proof_end(&t->proof);
	if (reniced)
		setpriority(PRIO_PROCESS, 0, nice_was);
	return rc;
}
