/*
 * stack.c - the safety check before code changes under the patient's
 * threads: no stopped thread may be executing a function about to be
 * replaced (patch) or a replacement about to vanish (unpatch), nor have one
 * on its stack to return into.
 *
 * Each thread's rip is checked, then the return addresses found by
 * unwinding its stack (unwind.c).  If the stacks cannot be unwound (no CFI)
 * the check falls back to rip alone.  A busy thread is given time: the world
 * resumes for 10 ms and is stopped again, up to a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define MAX_FRAMES 256

static const struct lc_range *range_of(const struct lc_range *r, size_t n, uint64_t pc)
{
	for (size_t k = 0; k < n; k++)
		if (pc >= r[k].lo && pc < r[k].hi)
			return &r[k];
	return NULL;
}

#define GUESS_WORDS 1024

/* No CFI for the outermost busy frame (patch code has none): the way out
 * is guessed as the first word above the stack pointer (above the return
 * address into the busy frame if it is not the innermost) that is a return
 * address out of the busy code (it follows a call instruction).  Only a
 * breakpoint goes there: a wrong guess costs a time slice, never safety,
 * which the next check decides with real unwinding. */
static uint64_t exit_guess(int memfd, uint64_t rsp, uint64_t into, const struct lc_range *r,
			   size_t n)
{
	uint64_t w[GUESS_WORDS];
	ssize_t got = memfd < 0 ? -1 : pread(memfd, w, sizeof(w), (off_t)rsp);
	ssize_t i = 0;
	/* The busy frame is not the innermost: its own return address is
	 * above the slot where its callee's return address into it was pushed. */
	if (into) {
		while (i < got / 8 && w[i] != into)
			i++;
		if (i == got / 8)
			return 0;
		i++;
	}
	for (; i < got / 8; i++)
		if (w[i] > 4096 && !range_of(r, n, w[i] - 1) && lc_code_after_call(memfd, w[i]))
			return w[i];
	return 0;
}

/* The way out of the busy functions for one thread: the return address of
 * its outermost busy frame (pcs[] hold return addresses minus 1). */
static void exits_add(struct lc_exits *ex, const uint64_t *pcs, int nf, int outer, uint64_t guess)
{
	if (!ex)
		return;
	uint64_t a = outer + 1 < nf ? pcs[outer + 1] + 1 : guess;
	if (!a) {
		ex->unknown = 1;
		return;
	}
	for (size_t i = 0; i < ex->n; i++)
		if (ex->addr[i] == a)
			return;
	if (ex->n < sizeof(ex->addr) / sizeof(ex->addr[0]))
		ex->addr[ex->n++] = a;
	else
		ex->unknown = 1;
}

int lc_stack_check(struct lc_threads *ts, struct lc_unwind *u, const struct lc_range *r,
		   size_t n, struct lc_exits *ex, char *why, size_t why_len)
{
	uint64_t pcs[MAX_FRAMES];
	int busy = 0, memfd = -1;
	if (ex)
		memset(ex, 0, sizeof(*ex));
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct regs;
		const struct lc_range *hit;
		char msg[256];
		if (th->gone || !th->stopped)
			continue;
		if (ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0) {
			if (errno == ESRCH)
				continue;
			if (memfd >= 0)
				close(memfd);
			return lc_error("process %d: cannot read the registers of thread %d: %s",
					(int)ts->pid, (int)th->tid, strerror(errno));
		}
		int nf = u ? lc_unwind_thread(u, th->tid, pcs, MAX_FRAMES) : 0;
		if (nf == 0)
			pcs[nf++] = regs.rip;
		int outer = -1;
		msg[0] = '\0';
		if ((hit = range_of(r, n, regs.rip)) != NULL) {
			outer = 0;
			snprintf(msg, sizeof(msg), "thread %d is executing '%s' (rip 0x%llx)",
				 (int)th->tid, hit->name, (unsigned long long)regs.rip);
		}
		for (int f = 1; f < nf; f++) {
			if ((hit = range_of(r, n, pcs[f])) == NULL)
				continue;
			if (!msg[0])
				snprintf(msg, sizeof(msg), "thread %d has '%s' on its stack (frame %d, "
					 "return address 0x%llx)", (int)th->tid, hit->name, f,
					 (unsigned long long)pcs[f] + 1);
			outer = f;
		}
		lc_debug("process %d: thread %d: rip 0x%llx, %d frame(s) unwound%s%s", (int)ts->pid,
			 (int)th->tid, (unsigned long long)regs.rip, u ? nf : 0, msg[0] ? ": " : "",
			 msg);
		if (outer < 0)
			continue;
		if (!busy)
			snprintf(why, why_len, "%s", msg);
		busy = 1;
		int known = u && outer + 1 < nf;
		uint64_t guess = 0;
		if (ex && !known) {
			if (memfd < 0) {
				char path[64];
				snprintf(path, sizeof(path), "/proc/%d/mem", (int)lc_proc_task(ts->pid));
				memfd = open(path, O_RDONLY | O_CLOEXEC);
			}
			guess = exit_guess(memfd, regs.rsp, outer > 0 ? pcs[outer] + 1 : 0, r, n);
			lc_debug("process %d: thread %d: no unwinding out of the busy frame; way out "
				 "guessed 0x%llx", (int)ts->pid, (int)th->tid, (unsigned long long)guess);
		}
		exits_add(ex, pcs, known ? nf : 0, outer, guess);
	}
	if (memfd >= 0)
		close(memfd);
	return busy;
}

int lc_stack_wait_safe(struct lc_threads *ts, struct lc_unwind *given, const struct lc_range *r,
		       size_t n, int timeout_ms, struct lc_safe_stats *st, char *why,
		       size_t why_len)
{
	uint64_t deadline = lc_now_us() + (uint64_t)timeout_ms * 1000u;
	struct lc_unwind *u = given ? given : lc_unwind_begin(ts->pid);
	struct lc_exits ex;
	int rc, stopped = 0;
	for (;;) {
		if (!stopped && lc_threads_stop_all(ts) != 0) {
			rc = -1;
			break;
		}
		st->stops++;
		uint64_t t = lc_now_us();
		rc = lc_stack_check(ts, u, r, n, &ex, why, why_len);
		if (rc == 0 && ts->coroutine_scan) {
			rc = lc_coroutines_check(ts, r, n, why, why_len);
			ex.unknown = 1;         /* a coroutine leaves when it is resumed */
		}
		uint64_t now = lc_now_us();
		st->last_check_us = now - t;
		if (rc <= 0 || now >= deadline)
			break;
		int left_ms = (int)((deadline - now + 999) / 1000);
		if (!ex.unknown && ex.n > 0) {
			/* Wake up when a busy thread leaves; look again at least
			 * every 250 ms (a longjmp or an exception leaves too). */
			int hits = lc_breakpoints_run(ts, ex.addr, ex.n, left_ms < 250 ? left_ms : 250);
			if (hits < 0) {
				rc = -1;
				break;
			}
			st->bp_hits += hits;
			stopped = 1;
			continue;
		}
		lc_threads_resume_all(ts);
		stopped = 0;
		usleep(left_ms < 10 ? (useconds_t)left_ms * 1000 : 10000);
	}
	if (!given)
		lc_unwind_end(u);
	return rc;
}
