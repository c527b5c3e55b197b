/*
 * call.c - a function called in the patient by one of its stopped threads,
 * as the SysV x86-64 ABI calls it: the way to run code the patient already
 * has (an IFUNC resolver, libgcc's __register_frame_info) without writing
 * any code into it.
 *
 * The thread's general registers and its whole extended state (x87, SSE,
 * AVX... through PTRACE_GETREGSET NT_X86_XSTATE) are saved.  Then:
 *
 *	rsp = ((saved rsp - 128 red zone - 128) & ~15) - 8, *rsp = 0
 *	rip = fn, rdi.. = args, rax = 0, DF clear, orig_rax = -1
 *
 * so the function starts as if `call`ed with a return address of 0: its
 * `ret` jumps to 0 and the fetch faults.  The doctor sees that SIGSEGV
 * (rip 0, rsp one word above the pushed one) before it is delivered,
 * swallows it, reads rax and restores everything.  orig_rax = -1 keeps the
 * kernel's syscall restart away from the borrowed registers, as in
 * inject.c.  Every asynchronous signal is blocked while the function runs
 * (pending ones are delivered after the doctor, in order); the synchronous
 * ones (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) are not, because the
 * kernel resets the handler of a blocked fault signal to SIG_DFL.
 *
 * The one window: a doctor killed while the function runs leaves the
 * thread to fault at 0 without a tracer (it dies of SIGSEGV).  It lasts as
 * long as the function, microseconds for the functions called here.
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
	uint64_t mask, block;

	if (nargs > 6)
		return lc_error("process %d: a call with %d arguments", (int)ts->pid, nargs);
	if (!th->stopped || th->gone)
		return lc_error("process %d: thread %d is not stopped", (int)ts->pid, (int)th->tid);
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &saved) != 0)
		return lc_error("process %d: cannot read the registers of thread %d: %s",
				(int)ts->pid, (int)th->tid, strerror(errno));
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

	uint64_t sp = ((saved.rsp - 256) & ~15ull) - 8;
	long zero = 0;
	if (ptrace(PTRACE_POKEDATA, th->tid, (void *)sp, (void *)zero) != 0) {
		free(xs.iov_base);
		return lc_error("process %d: cannot write the stack of thread %d at 0x%llx",
				(int)ts->pid, (int)th->tid, (unsigned long long)sp);
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

	block = ~(sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) | sigbit(SIGFPE) |
		  sigbit(SIGTRAP));
	int masked = lc_thread_sigmask(th, &block, &mask) == 0;
	int group_stop = th->group_stop;
	const char *why = "did not return";
	for (int stops = 0; stops < 64 && !done; stops++) {
		int st;
		if (ptrace(PTRACE_CONT, th->tid, NULL, NULL) != 0) {
			why = "could not be resumed";
			break;
		}
		th->stopped = 0;
		if (lc_thread_wait(ts, th, &st) != 0) {
			free(xs.iov_base);
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
		if (WSTOPSIG(st) == SIGSEGV && r.rip == 0 && r.rsp == sp + 8) {
			done = 1;
			break;
		}
		if (WSTOPSIG(st) == SIGSEGV || WSTOPSIG(st) == SIGBUS || WSTOPSIG(st) == SIGILL ||
		    WSTOPSIG(st) == SIGFPE || (WSTOPSIG(st) == SIGTRAP && !lc_sigtrap_sent(th->tid))) {
			why = "faulted";
			break;  /* the signal is not delivered: the registers go back */
		}
		lc_thread_keep_signal(th, WSTOPSIG(st));   /* sent meanwhile: delivered later */
	}
	if (masked)
		lc_thread_sigmask(th, &mask, NULL);
	th->group_stop = group_stop;
	if (ptrace(PTRACE_SETREGS, th->tid, NULL, &saved) != 0 ||
	    (have_xstate ? ptrace(PTRACE_SETREGSET, th->tid, (void *)NT_X86_XSTATE, &xs)
			 : ptrace(PTRACE_SETFPREGS, th->tid, NULL, xs.iov_base)) != 0)
		lc_error("process %d: cannot restore the registers of thread %d: %s", (int)ts->pid,
			 (int)th->tid, strerror(errno));
	else if (!done)
		lc_error("process %d: the call of 0x%llx in thread %d %s (at 0x%llx)", (int)ts->pid,
			 (unsigned long long)fn, (int)th->tid, why, (unsigned long long)r.rip);
	else
		rc = 0;
	free(xs.iov_base);
	if (rc == 0) {
		*ret = r.rax;
		lc_debug("process %d: thread %d called 0x%llx -> 0x%llx", (int)ts->pid,
			 (int)th->tid, (unsigned long long)fn, (unsigned long long)*ret);
	}
	return rc;
}
