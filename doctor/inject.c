/*
 * inject.c - a system call executed by a stopped thread of the patient:
 * the only way to change its address space (mmap, mprotect, munmap).
 *
 * The thread's registers are saved, rip is pointed at a `syscall`
 * instruction with the arguments loaded, and the thread is run with
 * PTRACE_SYSCALL to the syscall's entry stop and again to its exit stop;
 * then every register is restored.  No single-step: a doctor killed while
 * a thread sits in the signal-delivery-stop of a single-step's SIGTRAP
 * would have the kernel deliver that SIGTRAP on detach and kill the
 * patient; syscall stops deliver nothing.  orig_rax = -1 while it runs, so
 * the kernel's syscall-restart logic leaves it alone; the saved orig_rax and
 * rax (e.g. -ERESTART_RESTARTBLOCK of an interrupted nanosleep) are put
 * back at the exit stop and the thread is moved to an interrupt stop
 * (lc_thread_repark), from which it restarts the interrupted call as if
 * nothing had happened when it resumes.
 *
 * The window that stays: from the first PTRACE_SETREGS to the last (the
 * syscall itself and four ptrace calls, some microseconds) the thread has
 * foreign registers and every signal blocked; a doctor killed then leaves
 * it to run on at the instruction after that `syscall` with them.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "libcare/log.h"
#include "doctor.h"

int lc_inject_syscall(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      long nr, const long args[6], long *ret)
{
	struct user_regs_struct saved, r;

	if (!th->stopped || th->gone)
		return lc_error("process %d: thread %d is not stopped", (int)ts->pid, (int)th->tid);
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &saved) != 0)
		return lc_error("process %d: cannot read the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
	r = saved;
	r.rip = insn;
	r.rax = (unsigned long long)nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = (unsigned long long)args[0];
	r.rsi = (unsigned long long)args[1];
	r.rdx = (unsigned long long)args[2];
	r.r10 = (unsigned long long)args[3];
	r.r8 = (unsigned long long)args[4];
	r.r9 = (unsigned long long)args[5];

	/* Under seccomp the thread's filter is suspended for this one call
	 * (guard.c says why and when that is allowed); the options the doctor
	 * keeps otherwise are LC_TRACE_OPTIONS, put back after. */
	int unfiltered = lc_guard_seccomp(ts->pid, th->tid) != 0;
	if (unfiltered && ptrace(PTRACE_SETOPTIONS, th->tid, NULL,
				 (void *)(long)(PTRACE_O_SUSPEND_SECCOMP | LC_TRACE_OPTIONS)) != 0) {
		int err = errno;
		ptrace(PTRACE_SETREGS, th->tid, NULL, &saved);
		return lc_error("process %d: cannot suspend the seccomp filter of thread %d for "
				"system call %ld: %s", (int)ts->pid, (int)th->tid, nr, strerror(err));
	}

	/* All signals blocked while it steps: one arriving now stays pending
	 * in the kernel (delivered after the doctor, in order) instead of
	 * interrupting the step.  The mask goes on before the foreign
	 * registers and comes off right after they are restored: the window in
	 * which a doctor killed would leave the thread with foreign registers
	 * (or every signal blocked) is the syscall and its two stops. */
	uint64_t mask, all = ~0ull;
	int masked = lc_thread_sigmask(th, &all, &mask) == 0;
	if (ptrace(PTRACE_SETREGS, th->tid, NULL, &r) != 0) {
		if (masked)
			lc_thread_sigmask(th, &mask, NULL);
		return lc_error("process %d: cannot set the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
	}
	/* To the entry stop, then to the exit stop.  A signal-delivery-stop
	 * met on the way (SIGKILL and SIGSTOP cannot be blocked) is kept for
	 * delivery and the thread goes on. */
	int done = 0, entered = 0, group_stop = th->group_stop;
	for (int tries = 0; tries < 16 && !done; tries++) {
		int st;
		if (ptrace(PTRACE_SYSCALL, th->tid, NULL, NULL) != 0)
			break;
		th->stopped = 0;
		if (lc_thread_wait(ts, th, &st) != 0)
			return lc_error("process %d: thread %d %s while running system call %ld",
					(int)ts->pid, (int)th->tid,
					th->timed_out ? "did not come back" : "exited", nr);
		if (WSTOPSIG(st) == (SIGTRAP | 0x80) && (st >> 16) == 0) {
			if (!entered)
				entered = 1;
			else if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) == 0)
				done = 1;
			else
				break;
		} else if ((st >> 16) == 0) {
			lc_thread_keep_signal(th, WSTOPSIG(st));  /* delivered later */
		}
	}
	int restored = ptrace(PTRACE_SETREGS, th->tid, NULL, &saved) == 0;
	int err = errno;
	if (masked)
		lc_thread_sigmask(th, &mask, NULL);
	if (unfiltered)
		ptrace(PTRACE_SETOPTIONS, th->tid, NULL, (void *)(long)LC_TRACE_OPTIONS);
	lc_thread_repark(ts, th);
	th->group_stop = group_stop;    /* the syscall stops were not group-stops */
	if (!restored)
		return lc_error("process %d: cannot restore the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(err));
	if (!done)
		return lc_error("process %d: thread %d did not run system call %ld", (int)ts->pid,
				(int)th->tid, nr);
	*ret = (long)r.rax;
	lc_debug("process %d: thread %d ran syscall %ld -> %ld", (int)ts->pid, (int)th->tid,
		 nr, *ret);
	return 0;
}
