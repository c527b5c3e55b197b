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
	if (th->vfork_child || th->vchild)     /* inside vfork(), or another process */
		return lc_error("process %d: thread %d is in vfork(): it cannot run the doctor's code",
				(int)ts->pid, (int)th->tid);
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &saved) != 0)
		return lc_error("process %d: cannot read the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
	/* The stub and its frame, with the thread's own mask (the frame first:
	 * nothing of the thread's changes before it is there). */
	uint64_t stub = lc_stub_get(ts->pid, insn), frame = 0, mask = 0, all = ~0ull;
	int have_mask = ptrace(PTRACE_GETSIGMASK, th->tid, (void *)sizeof(mask), &mask) == 0;
	if (stub && (!have_mask || lc_stub_frame(th->tid, &saved, mask, &frame) != 0)) {
		lc_debug("process %d: no restore frame for thread %d (rsp 0x%llx): a bare syscall",
			 (int)ts->pid, (int)th->tid, (unsigned long long)saved.rsp);
		frame = 0;
	}
	r = saved;
	r.rip = insn;
	if (frame)
		r.rsp = frame;
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

	/* All signals blocked while it runs: one arriving now stays pending
	 * in the kernel (delivered after the doctor, in order) instead of
	 * interrupting the call.  The mask goes on after the stub's registers
	 * (a kill between: the stub restores the mask anyway) and comes off
	 * before the thread's own are back (a kill between: the stub sets it
	 * again), so a dead doctor never leaves every signal blocked. */
	if (ptrace(PTRACE_SETREGS, th->tid, NULL, &r) != 0) {
		int err = errno;
		if (unfiltered)
			ptrace(PTRACE_SETOPTIONS, th->tid, NULL, (void *)(long)LC_TRACE_OPTIONS);
		return lc_error("process %d: cannot set the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(err));
	}
	int masked = have_mask && lc_thread_sigmask(th, &all, NULL) == 0;
	/* To the entry stop, then to the exit stop.  A signal-delivery-stop
	 * met on the way (SIGKILL and SIGSTOP cannot be blocked) is kept for
	 * delivery and the thread goes on. */
	int done = 0, entered = 0, group_stop = th->group_stop;
	for (int tries = 0; tries < 16 && !done; tries++) {
		int st;
		if (ptrace(PTRACE_SYSCALL, th->tid, NULL, NULL) != 0)
			break;
		th->stopped = 0;
		if (lc_thread_wait(ts, th, &st) != 0) {
			lc_stub_keep(ts->pid);
			return lc_error("process %d: thread %d %s while running system call %ld",
					(int)ts->pid, (int)th->tid,
					th->timed_out ? "did not come back" : "exited", nr);
		}
		if (WSTOPSIG(st) == (SIGTRAP | 0x80) && (st >> 16) == 0) {
			if (!entered) {
				entered = 1;
				lc_test_pause("inject");
			} else if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) == 0)
				done = 1;
			else
				break;
		} else if ((st >> 16) == 0) {
			lc_thread_keep_signal(th, WSTOPSIG(st));  /* delivered later */
		}
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
				(int)th->tid, nr);
	*ret = (long)r.rax;
	lc_debug("process %d: thread %d ran syscall %ld -> %ld", (int)ts->pid, (int)th->tid,
		 nr, *ret);
	return 0;
}
