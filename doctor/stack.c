/*
 * stack.c - the safety check before code changes under the patient's
 * threads: no stopped thread may be executing a function about to be
 * replaced (patch) or a replacement about to vanish (unpatch).
 *
 * For now only each thread's rip is checked; unwinding every stack (a
 * caller suspended inside a replaced function) is the next step and
 * belongs here, behind lc_stack_check.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

int lc_stack_check(struct lc_threads *ts, const struct lc_range *r, size_t n,
		   char *why, size_t why_len)
{
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct regs;
		if (th->gone || !th->stopped)
			continue;
		if (ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0) {
			if (errno == ESRCH)
				continue;
			return lc_error("process %d: cannot read the registers of thread %d: %s",
					(int)ts->pid, (int)th->tid, strerror(errno));
		}
		for (size_t k = 0; k < n; k++) {
			if (regs.rip >= r[k].lo && regs.rip < r[k].hi) {
				snprintf(why, why_len, "thread %d is executing '%s' (rip 0x%llx)",
					 (int)th->tid, r[k].name, (unsigned long long)regs.rip);
				lc_debug("process %d: %s", (int)ts->pid, why);
				return 1;
			}
		}
	}
	return 0;
}

int lc_stack_wait_safe(struct lc_threads *ts, const struct lc_range *r, size_t n,
		       int timeout_ms, char *why, size_t why_len)
{
	uint64_t deadline = lc_now_us() + (uint64_t)timeout_ms * 1000u;
	for (;;) {
		if (lc_threads_stop_all(ts) != 0)
			return -1;
		int rc = lc_stack_check(ts, r, n, why, why_len);
		if (rc <= 0 || lc_now_us() >= deadline)
			return rc;
		lc_threads_resume_all(ts);
		usleep(10000);
	}
}
