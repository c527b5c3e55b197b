/*
 * call.c - a function called in the patient by one of its stopped threads,
 * as the SysV x86-64 ABI calls it: the way to run code the patient already
 * has (an IFUNC resolver, libgcc's __register_frame_info) without writing
 * any code into it but the doctor's stub (stub.c).
 *
 * The thread's general registers and its whole extended state (x87, SSE,
 * AVX... through PTRACE_GETREGSET NT_X86_XSTATE) are saved.  The stub's
 * restore frame goes below the thread's red zone, the extended state below
 * it (64-byte aligned, in the format xrstor reads), and then
 *
 *	rsp = ((that - 16) & ~15) - 8: [rsp] = stub + LC_STUB_RET,
 *	      [rsp + 8] = the frame, [rsp + 16] = the extended state
 *	rip = fn, rdi.. = args, rax = 0, DF clear, orig_rax = -1
 *
 * so the function starts as if `call`ed from the stub, and its `ret` lands
 * in the stub, which restores the extended state (xrstor), the signal mask
 * (an rt_sigprocmask), every general register, the flags, rsp and rip: the
 * thread resumes its own code whether or not a doctor is still there.  The
 * doctor runs the thread with PTRACE_SYSCALL and takes the entry stop of
 * that rt_sigprocmask (rip just after it in the stub, rsp on the frame; the
 * function's own system calls stop too and go on) as the return, with the
 * function's rax in r8; at its exit stop it puts everything back itself.
 * orig_rax = -1 keeps the kernel's syscall restart away from the borrowed
 * registers, as in inject.c.  Every asynchronous signal is blocked while
 * the function runs (pending ones are delivered after the doctor, in
 * order); the synchronous ones (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP)
 * are not, because the kernel resets the handler of a blocked fault
 * signal.
 *
 * A doctor killed at any instant leaves the thread to finish the function
 * and return through the stub.  What the stub does not restore: the
 * extended state when it could not be written to the thread's stack (the
 * debug line says so; the function may have changed caller-saved vector
 * registers), and what the function did (a registration, see cfi.c).
 * Without a stub (no slack for it in the patient, stub.c) the return
 * address is 0 as before: the doctor sees the SIGSEGV at 0 before it is
 * delivered and swallows it, and a doctor killed meanwhile leaves the
 * thread to die of it.
 *
 * What the function may do is the caller's concern: it runs on one thread
 * while the others may be stopped, so it must not wait for a lock another
 * thread could hold (callers check the thread's stack first when it
 * matters, see cfi.c).
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define CALL_XSTATE_MAX (64 * 1024)

static uint64_t sigbit(int sig)
{
	return 1ull << (sig - 1);
}

int lc_call_function(struct lc_threads *ts, struct lc_thread *th, uint64_t fn,
		     const uint64_t *args, int nargs, uint64_t *ret)
{
	struct user_regs_struct saved, r;
	struct iovec xs = { NULL, CALL_XSTATE_MAX };
	int have_xstate = 0, rc = -1, done = 0;
	uint64_t mask, block, result = 0;

	if (nargs > 6)
		return lc_error("process %d: a call with %d arguments", (int)ts->pid, nargs);
	if (!th->stopped || th->gone)
		return lc_error("process %d: thread %d is not stopped", (int)ts->pid, (int)th->tid);
	if (th->vfork_child || th->vchild)     /* inside vfork(), or another process */
		return lc_error("process %d: thread %d is in vfork(): it cannot run the doctor's code",
				(int)ts->pid, (int)th->tid);
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &saved) != 0)
		return lc_error("process %d: cannot read the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
	lc_wait_restart(&saved);                               /* attach.c */
	if (lc_rseq_abort(ts->pid, th->tid, &saved) != 0)      /* rseq.c */
		return -1;
	xs.iov_base = lc_xmalloc(CALL_XSTATE_MAX);
	if (ptrace(PTRACE_GETREGSET, th->tid, (void *)NT_X86_XSTATE, &xs) == 0)
		have_xstate = 1;
	else {
		xs.iov_len = sizeof(struct user_fpregs_struct);
		if (ptrace(PTRACE_GETFPREGS, th->tid, NULL, xs.iov_base) != 0) {
			free(xs.iov_base);
			return lc_error("process %d: cannot read the FPU state of thread %d: %s",
					(int)ts->pid, (int)th->tid, strerror(errno));
		}
	}

	/* With the stub (stub.c): the thread's restore frame below its red
	 * zone, its extended state below that (64-byte aligned, for xrstor),
	 * and the function's stack below both, with the stub's return entry
	 * as return address and the two addresses it pops above it.  Without
	 * it: a return address of 0. */
	uint64_t stub = lc_stub_get(ts->pid, 0), frame = 0, xarea = 0, base, sp;
	uint64_t own_mask = 0;
	int have_mask = ptrace(PTRACE_GETSIGMASK, th->tid, (void *)sizeof(own_mask), &own_mask) == 0;
	if (stub && (!have_mask || lc_stub_frame(th->tid, &saved, own_mask, &frame) != 0))
		stub = 0;
	if (stub && have_xstate) {
		xarea = (frame - xs.iov_len) & ~63ull;
		struct iovec remote = { (void *)xarea, xs.iov_len };
		if (process_vm_writev(th->tid, &xs, 1, &remote, 1, 0) != (ssize_t)xs.iov_len)
			xarea = 0;      /* the general registers only (said in the debug line) */
	}
	if (stub) {
		base = xarea ? xarea : frame;
		sp = ((base - 16) & ~15ull) - 8;
		const uint64_t words[3] = { stub + LC_STUB_RET, frame, xarea };
		struct iovec local = { (void *)words, sizeof(words) };
		struct iovec remote = { (void *)sp, sizeof(words) };
		if (process_vm_writev(th->tid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(words))
			stub = 0;
		else
			lc_debug("process %d: thread %d calls 0x%llx returning to the stub at 0x%llx "
				 "(frame 0x%llx, extended state %s)", (int)ts->pid, (int)th->tid,
				 (unsigned long long)fn, (unsigned long long)stub,
				 (unsigned long long)frame, xarea ? "saved" : "not saved");
	}
	if (!stub) {
		sp = ((saved.rsp - 256) & ~15ull) - 8;
		long zero = 0;
		if (ptrace(PTRACE_POKEDATA, th->tid, (void *)sp, (void *)zero) != 0) {
			free(xs.iov_base);
			return lc_error("process %d: cannot write the stack of thread %d at 0x%llx",
					(int)ts->pid, (int)th->tid, (unsigned long long)sp);
		}
	}
	r = saved;
	r.rip = fn;
	r.rsp = sp;
	r.rax = 0;
	r.orig_rax = (unsigned long long)-1;
	r.eflags &= ~0x400ull;          /* DF: clear on entry, says the ABI */
	unsigned long long *regs[6] = { &r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9 };
	for (int i = 0; i < 6; i++)
		*regs[i] = i < nargs ? args[i] : 0;
	if (ptrace(PTRACE_SETREGS, th->tid, NULL, &r) != 0) {
		free(xs.iov_base);
		return lc_error("process %d: cannot set the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
	}

	/* The mask after the registers, so a kill between leaves the stub to
	 * restore it (as in inject.c). */
	block = ~(sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) | sigbit(SIGFPE) |
		  sigbit(SIGTRAP));
	int masked = lc_thread_sigmask(th, &block, &mask) == 0;
	int group_stop = th->group_stop, returned = 0;
	const char *why = "did not return";
	/* With the stub the return is the entry stop of the stub's
	 * rt_sigprocmask (under PTRACE_SYSCALL: the function's own syscalls
	 * stop too and go on), then its exit stop; without it, the fault at 0. */
	for (int stops = 0; stops < 4096 && !done; stops++) {
		int st;
		if (ptrace(stub ? PTRACE_SYSCALL : PTRACE_CONT, th->tid, NULL, NULL) != 0) {
			why = "could not be resumed";
			break;
		}
		th->stopped = 0;
		if (stops == 0)
			lc_test_pause("call");
		if (lc_thread_wait(ts, th, &st) != 0) {
			free(xs.iov_base);
			lc_stub_keep(ts->pid);
			return lc_error("process %d: thread %d %s while calling 0x%llx", (int)ts->pid,
					(int)th->tid, th->timed_out ? "did not come back" : "exited",
					(unsigned long long)fn);
		}
		if ((st >> 16) != 0)
			continue;       /* an event or group stop: it goes on */
		if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) != 0) {
			why = "could not be read back";
			break;
		}
		if (stub && WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			if (returned) {
				done = 1;               /* the exit stop: the mask is set */
				r.rax = r.r8;
			} else if (r.rip == stub + LC_STUB_TAIL_SYSCALL && r.rsp == frame) {
				returned = 1;
				result = r.r8;
			}
			continue;
		}
		if (!stub && WSTOPSIG(st) == SIGSEGV && r.rip == 0 && r.rsp == sp + 8) {
			done = 1;
			result = r.rax;
			break;
		}
		/* A fault of the function (made by the kernel); the same signal
		 * sent by a process (kill, tgkill: si_code <= 0) is the
		 * patient's, kept like any other. */
		if ((WSTOPSIG(st) == SIGSEGV || WSTOPSIG(st) == SIGBUS || WSTOPSIG(st) == SIGILL ||
		     WSTOPSIG(st) == SIGFPE || WSTOPSIG(st) == SIGTRAP) && !lc_sigtrap_sent(th->tid)) {
			why = "faulted";
			break;  /* the signal is not delivered: the registers go back */
		}
		lc_thread_keep_signal(th, WSTOPSIG(st));   /* sent meanwhile: delivered later */
	}
	if (masked)
		lc_thread_sigmask(th, &mask, NULL);
	th->group_stop = group_stop;
	/* The extended state before the general registers: a kill between
	 * leaves the thread in the stub, which restores the rest. */
	if ((have_xstate ? ptrace(PTRACE_SETREGSET, th->tid, (void *)NT_X86_XSTATE, &xs)
			 : ptrace(PTRACE_SETFPREGS, th->tid, NULL, xs.iov_base)) != 0 ||
	    ptrace(PTRACE_SETREGS, th->tid, NULL, &saved) != 0) {
		lc_stub_keep(ts->pid);
		lc_error("process %d: cannot restore the registers of thread %d: %s", (int)ts->pid,
			 (int)th->tid, strerror(errno));
	} else if (!done)
		lc_error("process %d: the call of 0x%llx in thread %d %s (at 0x%llx)", (int)ts->pid,
			 (unsigned long long)fn, (int)th->tid, why, (unsigned long long)r.rip);
	else
		rc = 0;
	free(xs.iov_base);
	if (rc == 0) {
		*ret = result;
		lc_debug("process %d: thread %d called 0x%llx -> 0x%llx", (int)ts->pid,
			 (int)th->tid, (unsigned long long)fn, (unsigned long long)*ret);
	}
	return rc;
}
