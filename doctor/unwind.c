/*
 * unwind.c - the return addresses on a stopped thread's stack, from the
 * CFI (.eh_frame/.debug_frame) of the objects it runs in, with elfutils'
 * libdwfl.  The doctor already holds the threads stopped under ptrace, so
 * libdwfl is given callbacks (registers by PTRACE_GETREGS, memory through
 * /proc/PID/mem) instead of attaching itself.
 *
 * The world is stopped while this runs, for every thread, so its cost is
 * the patient's: each thread's registers are read once, and the top of its
 * stack with one process_vm_readv into a local snapshot that serves the
 * unwinder's word reads (a read of 4 KiB costs about what one pread of 8
 * bytes does); only words outside it are read one by one.  Whether a pc
 * has CFI is remembered for the run: the threads of a process mostly
 * stand on the same return addresses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define UNWIND_SNAP_FIRST 4096u      /* bytes of stack read at first */
#define UNWIND_SNAP_MAX (64u << 10)    /* at most, then word by word */
#define UNWIND_CFI_CACHE 256

struct lc_unwind {
	Dwfl *dwfl;
	pid_t pid;
	int memfd;
	const struct lc_tramps *tramps; /* return addresses redirected while waiting */
	pid_t tid;                      /* the thread being unwound */
	/* rsp and rbp in each frame of the last lc_unwind_stack (0: unknown),
	 * for patch frames, which cfi_unwind.c unwinds with the region's CFI */
	uint64_t sp[LC_UNWIND_REGS_MAX], bp[LC_UNWIND_REGS_MAX];
	int nregs;
	struct user_regs_struct regs;   /* of the thread being unwound */
	/* its stack from rsp: snap_len bytes at snap_lo (grown on a miss) */
	uint64_t snap_lo;
	size_t snap_len;
	int snap_full;                  /* nothing more to read from there */
	uint8_t snap[UNWIND_SNAP_MAX];
	/* pc -> has CFI (1) or not (0), for unwind_has_cfi; 0 pc: empty */
	uint64_t cfi_pc[UNWIND_CFI_CACHE];
	uint8_t cfi_has[UNWIND_CFI_CACHE];
};

void lc_unwind_tramps(struct lc_unwind *u, const struct lc_tramps *t)
{
	if (u)
		u->tramps = t;
}

static pid_t unwind_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;        /* threads are named by the caller: get_thread */
}

static bool unwind_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct lc_unwind *u = arg;
	(void)dwfl;
	u->tid = tid;
	*thread_argp = u;
	return true;
}

/* Reads more of the stack into the snapshot, up to `need` bytes of it. */
static void unwind_snap_grow(struct lc_unwind *u, size_t need)
{
	size_t want = u->snap_len ? u->snap_len * 2 : UNWIND_SNAP_FIRST;
	while (want < need)
		want *= 2;
	if (want > sizeof(u->snap))
		want = sizeof(u->snap);
	size_t ask = want - u->snap_len;
	struct iovec local = { u->snap + u->snap_len, ask };
	struct iovec remote = { (void *)(uintptr_t)(u->snap_lo + u->snap_len), ask };
	/* a short read: the stack's mapping ends there */
	ssize_t got = process_vm_readv(u->tid, &local, 1, &remote, 1, 0);
	if (got > 0)
		u->snap_len += (size_t)got;
	if (got < (ssize_t)ask || u->snap_len == sizeof(u->snap))
		u->snap_full = 1;
}

static bool unwind_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct lc_unwind *u = arg;
	(void)dwfl;
	if (addr >= u->snap_lo && addr - u->snap_lo + sizeof(*result) > u->snap_len &&
	    !u->snap_full && addr - u->snap_lo + sizeof(*result) <= sizeof(u->snap))
		unwind_snap_grow(u, (size_t)(addr - u->snap_lo) + sizeof(*result));
	if (addr >= u->snap_lo && addr - u->snap_lo + sizeof(*result) <= u->snap_len)
		memcpy(result, u->snap + (addr - u->snap_lo), sizeof(*result));
	else if (pread(u->memfd, result, sizeof(*result), (off_t)addr) != sizeof(*result))
		return false;
	/* A return address redirected to a trampoline reads as the real one
	 * (trampoline.c): unwinding goes on past it. */
	*result = lc_tramps_translate(u->tramps, *result);
	return true;
}

/* DWARF numbering of x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
static bool unwind_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct lc_unwind *u = thread_arg;
	struct user_regs_struct r = u->regs;     /* read by lc_unwind_stack_regs */
	/* A thread held in a trampoline stands, for unwinding, at the real
	 * return address (lc_tramps_normalize put its other registers back as
	 * they were there). */
	r.rip = lc_tramps_translate(u->tramps, r.rip);
	Dwarf_Word regs[17] = {
		r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip,
	};
	if (!dwfl_thread_state_registers(thread, 0, 17, regs))
		return false;
	dwfl_thread_state_register_pc(thread, r.rip);
	return true;
}

static const Dwfl_Thread_Callbacks unwind_thread_callbacks = {
	.next_thread = unwind_next_thread,
	.get_thread = unwind_get_thread,
	.memory_read = unwind_memory_read,
	.set_initial_registers = unwind_initial_registers,
};

static char *debuginfo_path;
static const Dwfl_Callbacks unwind_proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

struct lc_unwind *lc_unwind_begin(pid_t pid)
{
	char path[64];
	struct lc_unwind *u = lc_xcalloc(1, sizeof(*u));
	pid_t task = lc_proc_task(pid);        /* the main thread may have exited */
	u->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)task);
	u->memfd = open(path, O_RDONLY | O_CLOEXEC);
	u->dwfl = dwfl_begin(&unwind_proc_callbacks);
	/* Code the process did not map from a file (a patch region with CFI of
	 * its own) is reported as a module between these two calls: both the
	 * unwinding and unwind_has_cfi then see it. */
	if (u->memfd < 0 || !u->dwfl || dwfl_linux_proc_report(u->dwfl, task) != 0 ||
	    dwfl_report_end(u->dwfl, NULL, NULL) != 0 ||
	    !dwfl_attach_state(u->dwfl, NULL, task, &unwind_thread_callbacks, u)) {
		lc_debug("process %d: no stack unwinding (%s); checking rip only", (int)pid,
			 dwfl_errmsg(-1));
		lc_unwind_end(u);
		return NULL;
	}
	return u;
}

void lc_unwind_end(struct lc_unwind *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	if (u->memfd >= 0)
		close(u->memfd);
	free(u);
}

struct unwind_frames {
	Dwfl *dwfl;
	uint64_t *pcs;
	uint64_t *sps;           /* may be NULL */
	int n, max;
	int first_guess;        /* first frame without CFI, -1: none */
	struct lc_unwind *u;
};

/* Does CFI cover pc?  libdwfl unwinds a frame with its module's
 * .eh_frame, else its .debug_frame, else guesses from the frame pointer
 * (ebl_unwind); what it found above a guessed frame is not to be trusted. */
static int unwind_has_cfi_lookup(Dwfl *dwfl, Dwarf_Addr pc)
{
	Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
	if (!m)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		Dwarf_Addr bias;
		Dwarf_Frame *fr;
		Dwarf_CFI *cfi = pass == 0 ? dwfl_module_eh_cfi(m, &bias) : dwfl_module_dwarf_cfi(m, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
			free(fr);
			return 1;
		}
	}
	return 0;
}

static int unwind_has_cfi(struct lc_unwind *u, Dwarf_Addr pc)
{
	size_t k = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 56) % UNWIND_CFI_CACHE;
	if (pc && u->cfi_pc[k] == pc)
		return u->cfi_has[k];
	int has = unwind_has_cfi_lookup(u->dwfl, pc);
	u->cfi_pc[k] = pc;
	u->cfi_has[k] = (uint8_t)has;
	return has;
}

static int unwind_frame(Dwfl_Frame *state, void *arg)
{
	struct unwind_frames *f = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address points after its call: pc - 1 is in the caller. */
	uint64_t at = activation ? pc : pc - 1;
	if (f->sps) {
		Dwarf_Word sp = 0;
		/* DWARF register 7 is rsp: for an outer frame, the CFA of the
		 * frame inside it, so its return address lies at sp - 8. */
		f->sps[f->n] = dwfl_frame_reg(state, 7, &sp) == 0 ? sp : 0;
	}
	Dwarf_Word sp, bp;
	if (f->u->nregs < LC_UNWIND_REGS_MAX) {
		int ok = dwfl_frame_reg(state, 7, &sp) == 0 && dwfl_frame_reg(state, 6, &bp) == 0;
		f->u->sp[f->u->nregs] = ok ? sp : 0;
		f->u->bp[f->u->nregs++] = ok ? bp : 0;
	}
	f->pcs[f->n++] = at;
	if (f->first_guess < 0 && !unwind_has_cfi(f->u, at))
		f->first_guess = f->n - 1;
	return f->n < f->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int lc_unwind_stack(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max, int *reliable)
{
	return lc_unwind_stack_sp(u, tid, pcs, NULL, max, reliable);
}

int lc_unwind_stack_sp(struct lc_unwind *u, pid_t tid, uint64_t *pcs, uint64_t *sps, int max,
		       int *reliable)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0) {
		*reliable = 0;
		lc_debug("process %d: thread %d: no registers to unwind from: %s", (int)u->pid,
			 (int)tid, strerror(errno));
		return -1;
	}
	return lc_unwind_stack_regs(u, tid, &r, pcs, sps, max, reliable);
}

int lc_unwind_stack_regs(struct lc_unwind *u, pid_t tid, const struct user_regs_struct *regs,
			 uint64_t *pcs, uint64_t *sps, int max, int *reliable)
{
	struct unwind_frames f = { u->dwfl, pcs, sps, 0, max, -1, u };
	u->nregs = 0;
	u->regs = *regs;
	u->tid = tid;
	/* The snapshot of this thread's stack: taken now, the thread stopped. */
	u->snap_lo = regs->rsp & ~(uint64_t)7;
	u->snap_len = 0;
	u->snap_full = 0;
	unwind_snap_grow(u, UNWIND_SNAP_FIRST);
	/* 0: unwinding ended where the CFI says there is no caller (_start,
	 * clone): the whole stack.  -1: an error (no CFI, no module, memory
	 * unreadable), or our callback stopped it (too many frames). */
	int rc = dwfl_getthread_frames(u->dwfl, tid, unwind_frame, &f);
	*reliable = f.first_guess >= 0 ? f.first_guess + 1 : f.n;
	if (rc != 0 || f.first_guess >= 0) {
		lc_debug("process %d: thread %d: %d frame(s), %d from CFI; not unwound to its "
			 "start: %s", (int)u->pid, (int)tid, f.n, *reliable,
			 rc > 0 ? "too many frames" : f.first_guess >= 0 ? "a frame without CFI"
			 : dwfl_errmsg(-1));
		return -1 - f.n;
	}
	return f.n;
}

int lc_unwind_thread(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max)
{
	int reliable, n = lc_unwind_stack(u, tid, pcs, max, &reliable);
	return n >= 0 ? n : -1 - n;
}

int lc_unwind_frame_regs(const struct lc_unwind *u, int i, uint64_t *sp, uint64_t *bp)
{
	if (!u || i < 0 || i >= u->nregs || !u->sp[i])
		return -1;
	*sp = u->sp[i];
	*bp = u->bp[i];
	return 0;
}
