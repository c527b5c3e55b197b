/*
 * inject.c - a system call executed by a stopped thread of the patient:
 * the only way to change its address space (mmap, mprotect, munmap).
 *
 * The thread's registers are saved, a restore frame is written below its
 * red zone and rsp pointed at it, rip at the `syscall` of the doctor's
 * stub (stub.c) with the arguments loaded, and the thread is run with
 * PTRACE_SYSCALL to the syscall's entry stop and again to its exit stop;
 * there the doctor puts its signal mask and every register back itself.
 * No single-step: a doctor killed while a thread sits in the
 * signal-delivery-stop of a single-step's SIGTRAP would have the kernel
 * deliver that SIGTRAP on detach and kill the patient; syscall stops
 * deliver nothing.  orig_rax = -1 while it runs, so the kernel's
 * syscall-restart logic leaves it alone; the saved orig_rax and rax (e.g.
 * -ERESTART_RESTARTBLOCK of an interrupted nanosleep) are put back at the
 * exit stop and the thread is moved to an interrupt stop
 * (lc_thread_repark), from which it restarts the interrupted call as if
 * nothing had happened when it resumes.
 *
 * A doctor killed at any instant: before the registers are set, nothing
 * has changed; after, the thread finishes the call (or is already past
 * it) and runs the stub's tail, which restores its mask, registers, flags,
 * rsp and rip from the frame (restarting an interrupted call as the kernel
 * would), and goes on with its own code.  Between the mask and the
 * registers (both orders below are chosen so) a kill leaves nothing wrong.
 * What stays: a killed doctor's mmap is done (an anonymous mapping is
 * left: a leak, never executed, found by no later doctor), and a process
 * with no slack for the stub (stub.c) gets the bare `syscall` of
 * lc_proc_syscall_insn: killed then, the thread runs on after that
 * instruction with foreign registers (it crashes).
 *
 * Several calls in a row (lc_inject_syscalls: the region's mmap and its
 * two mprotects) go from one call's exit stop straight to the next with
 * the next one's registers, at the same `syscall` and frame: the thread is
 * saved, restored and moved to an interrupt stop once for all of them.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "libcare/log.h"
#include "doctor.h"

/* One call of a chain, from an interrupt stop or the exit stop of the call
 * before: to its entry stop, then to its exit stop (r then holds its
 * registers there).  A signal-delivery-stop met on the way (SIGKILL and
 * SIGSTOP cannot be blocked) is kept for delivery and the thread goes on.
 * 1 done, 0 not run to its end, -1 the thread is gone. */
static int inject_one(struct lc_threads *ts, struct lc_thread *th, struct user_regs_struct *r)
{
	int entered = 0;
	for (int tries = 0; tries < 16; tries++) {
		int st;
		if (ptrace(PTRACE_SYSCALL, th->tid, NULL, NULL) != 0)
			return 0;
		th->stopped = 0;
		if (lc_thread_wait(ts, th, &st) != 0)
			return -1;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80) && (st >> 16) == 0) {
			if (!entered) {
				entered = 1;
				lc_test_pause("inject");
			} else {
				return ptrace(PTRACE_GETREGS, th->tid, NULL, r) == 0;
			}
		} else if ((st >> 16) == 0) {
			lc_thread_keep_signal(th, WSTOPSIG(st));  /* delivered later */
		}
	}
	return 0;
}

int lc_inject_syscalls(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		       const struct lc_syscall *calls, size_t n, long *rets, size_t *ran)
{
	struct user_regs_struct saved, r;

	*ran = 0;
	if (!th->stopped || th->gone)
		return lc_error("process %d: thread %d is not stopped", (int)ts->pid, (int)th->tid);
	if (th->vfork_child || th->vchild)     /* inside vfork(), or another process */
		return lc_error("process %d: thread %d is in vfork(): it cannot run the doctor's code",
				(int)ts->pid, (int)th->tid);
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &saved) != 0)
		return lc_error("process %d: cannot read the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
	/* Put back (and in the frame) with an untimed wait the stop ended to
	 * start again (attach.c), at its abort handler if it was stopped
	 * inside a restartable sequence (rseq.c) */
	lc_wait_restart(&saved);
	if (lc_rseq_abort(ts->pid, th->tid, &saved) != 0)
		return -1;
	/* The stub and its frame, with the thread's own mask (the frame first:
	 * nothing of the thread's changes before it is there). */
	uint64_t stub = lc_stub_get(ts->pid, insn), frame = 0, mask = 0, all = ~0ull;
	int have_mask = ptrace(PTRACE_GETSIGMASK, th->tid, (void *)sizeof(mask), &mask) == 0;
	if (stub && (!have_mask || lc_stub_frame(th->tid, &saved, mask, &frame) != 0)) {
		lc_debug("process %d: no restore frame for thread %d (rsp 0x%llx): a bare syscall",
			 (int)ts->pid, (int)th->tid, (unsigned long long)saved.rsp);
		frame = 0;
	}

	/* Under seccomp the thread's filter is suspended for these calls
	 * (guard.c says why and when that is allowed); the options the doctor
	 * keeps otherwise are LC_TRACE_OPTIONS, put back after. */
	int unfiltered = lc_guard_seccomp(ts->pid, th->tid) != 0;
	if (unfiltered && ptrace(PTRACE_SETOPTIONS, th->tid, NULL,
				 (void *)(long)(PTRACE_O_SUSPEND_SECCOMP | LC_TRACE_OPTIONS)) != 0) {
		int err = errno;
		ptrace(PTRACE_SETREGS, th->tid, NULL, &saved);
		return lc_error("process %d: cannot suspend the seccomp filter of thread %d for "
				"system call %ld: %s", (int)ts->pid, (int)th->tid, calls[0].nr,
				strerror(err));
	}

	/* All signals blocked while they run: one arriving now stays pending
	 * in the kernel (delivered after the doctor, in order) instead of
	 * interrupting a call.  The mask goes on after the stub's registers
	 * (a kill between: the stub restores the mask anyway) and comes off
	 * before the thread's own are back (a kill between: the stub sets it
	 * again), so a dead doctor never leaves every signal blocked.  From a
	 * call's exit stop the next one starts with its own registers, at the
	 * same `syscall` and frame (a kill between: the thread runs that call
	 * and the stub's tail, as it would a single one); the thread is put
	 * back in an interrupt stop once, after the last. */
	int masked = 0, done = 1, group_stop = th->group_stop;
	long failed_nr = calls[0].nr;
	for (size_t c = 0; c < n && done; c++) {
		r = saved;
		r.rip = insn;
		if (frame)
			r.rsp = frame;
		r.rax = (unsigned long long)calls[c].nr;
		r.orig_rax = (unsigned long long)-1;
		r.rdi = (unsigned long long)calls[c].args[0];
		r.rsi = (unsigned long long)calls[c].args[1];
		r.rdx = (unsigned long long)calls[c].args[2];
		r.r10 = (unsigned long long)calls[c].args[3];
		r.r8 = (unsigned long long)calls[c].args[4];
		r.r9 = (unsigned long long)calls[c].args[5];
		failed_nr = calls[c].nr;
		if (ptrace(PTRACE_SETREGS, th->tid, NULL, &r) != 0) {
			int err = errno;
			if (c == 0) {
				if (unfiltered)
					ptrace(PTRACE_SETOPTIONS, th->tid, NULL,
					       (void *)(long)LC_TRACE_OPTIONS);
				return lc_error("process %d: cannot set the registers of thread %d: %s",
						(int)ts->pid, (int)th->tid, strerror(err));
			}
			done = 0;
			break;
		}
		if (c == 0)
			masked = have_mask && lc_thread_sigmask(th, &all, NULL) == 0;
		int one = inject_one(ts, th, &r);
		if (one < 0) {
			lc_stub_keep(ts->pid);
			return lc_error("process %d: thread %d %s while running system call %ld",
					(int)ts->pid, (int)th->tid,
					th->timed_out ? "did not come back" : "exited", calls[c].nr);
		}
		done = one;
		if (!done)
			break;
		rets[c] = (long)r.rax;
		(*ran)++;
		lc_debug("process %d: thread %d ran syscall %ld -> %ld", (int)ts->pid, (int)th->tid,
			 calls[c].nr, rets[c]);
		if (calls[c].check && rets[c] != calls[c].expect)
			break;          /* the next ones count on this one */
	}
	if (masked)
		lc_thread_sigmask(th, &mask, NULL);
	int restored = ptrace(PTRACE_SETREGS, th->tid, NULL, &saved) == 0;
	int err = errno;
	if (!restored)
		lc_stub_keep(ts->pid);
	if (unfiltered)
		ptrace(PTRACE_SETOPTIONS, th->tid, NULL, (void *)(long)LC_TRACE_OPTIONS);
	lc_thread_repark(ts, th);
	th->group_stop = group_stop;    /* the syscall stops were not group-stops */
	if (!restored)
		return lc_error("process %d: cannot restore the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(err));
	if (!done)
		return lc_error("process %d: thread %d did not run system call %ld", (int)ts->pid,
				(int)th->tid, failed_nr);
	return 0;
}

int lc_inject_syscall(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      long nr, const long args[6], long *ret)
{
	struct lc_syscall call = { nr, { args[0], args[1], args[2], args[3], args[4], args[5] },
				   0, 0 };
	size_t ran;
	return lc_inject_syscalls(ts, th, insn, &call, 1, ret, &ran);
}
