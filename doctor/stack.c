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

int lc_stack_check(struct lc_threads *ts, struct lc_unwind *u, const struct lc_range *r,
		   size_t n, char *why, size_t why_len)
{
	uint64_t pcs[MAX_FRAMES];
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct regs;
		const struct lc_range *hit;
		if (th->gone || !th->stopped)
			continue;
		if (ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0) {
			if (errno == ESRCH)
				continue;
			return lc_error("process %d: cannot read the registers of thread %d: %s",
					(int)ts->pid, (int)th->tid, strerror(errno));
		}
		if ((hit = range_of(r, n, regs.rip)) != NULL) {
			snprintf(why, why_len, "thread %d is executing '%s' (rip 0x%llx)",
				 (int)th->tid, hit->name, (unsigned long long)regs.rip);
			lc_debug("process %d: %s", (int)ts->pid, why);
			return 1;
		}
		int nf = u ? lc_unwind_thread(u, th->tid, pcs, MAX_FRAMES) : 0;
		for (int f = 1; f < nf; f++) {
			if ((hit = range_of(r, n, pcs[f])) != NULL) {
				snprintf(why, why_len, "thread %d has '%s' on its stack (frame %d, return "
					 "address 0x%llx)", (int)th->tid, hit->name, f,
					 (unsigned long long)pcs[f] + 1);
				lc_debug("process %d: %s", (int)ts->pid, why);
				return 1;
			}
		}
		lc_debug("process %d: thread %d: rip 0x%llx, %d frame(s) unwound", (int)ts->pid,
			 (int)th->tid, (unsigned long long)regs.rip, nf);
	}
	return 0;
}

int lc_stack_wait_safe(struct lc_threads *ts, struct lc_unwind *given, const struct lc_range *r,
		       size_t n, int timeout_ms, char *why, size_t why_len)
{
	uint64_t deadline = lc_now_us() + (uint64_t)timeout_ms * 1000u;
	struct lc_unwind *u = given ? given : lc_unwind_begin(ts->pid);
	int rc;
	for (;;) {
		if (lc_threads_stop_all(ts) != 0) {
			rc = -1;
			break;
		}
		rc = lc_stack_check(ts, u, r, n, why, why_len);
		if (rc <= 0 || lc_now_us() >= deadline)
			break;
		lc_threads_resume_all(ts);
		usleep(10000);
	}
	if (!given)
		lc_unwind_end(u);
	return rc;
}
