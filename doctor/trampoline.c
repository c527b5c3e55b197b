/*
 * trampoline.c - ways out of busy frames that stay harmless if the doctor
 * vanishes (the way uretprobes work).
 *
 * While the doctor waits for a thread to leave a function about to change,
 * the return address of the thread's outermost busy frame (a slot on its
 * stack) is redirected to a trampoline in a small area of the patient:
 *
 *   rw- part: struct tramp_header (with `hold` and a 50 ms timespec, where
 *             each trampoline starts), one 64-bit counter per trampoline,
 *             libgcc's object, the unwind information (a CIE and an FDE per
 *             trampoline window, then an LSDA per window: tramp_cfi.c)
 *   r-x part: TRAMP_MAX windows of TRAMP_WIN bytes; trampoline i at
 *             TRAMP_WIN * i + start[i], where start[i] is how far its real
 *             return address is into its caller's FDE:
 *     0  pushfq; lock incq counter_i(%rip)
 *     9  cmpl $0, hold(%rip); je 67
 *    18  push rax, rdx, rdi, rsi, r10, rcx, r11
 *    27  futex(&hold, FUTEX_WAIT_PRIVATE, 1, &hold_time)
 *    58  pop them again
 *    67  popfq; jmp *74(%rip)
 *    74  <8 bytes: the real return address>
 *
 * A thread returning through it counts the return, waits at most 50 ms
 * while `hold` is set (so that the doctor finds it out of the function and
 * can look for a moment when every busy thread is; the breakpoints this
 * replaces held it stopped), and goes on where it would have gone with
 * every register and the flags as they were (the ABI would let a return
 * address clobber rcx, rsi, ..., but GCC's -fipa-ra callers rely on what
 * a callee in the same unit leaves alone).  Whether or not a doctor still exists: a doctor killed
 * at any instant leaves only trampolines that cost a returning thread 50
 * ms at most, once, and a child forked meanwhile inherits them with the
 * area.  The doctor reads the counters (no stop of the patient per call of
 * a hot function) and stops the world again to look only when one moved;
 * a thread found held in a trampoline is checked as standing at the real
 * return address (its registers are put back as they were there) and is
 * held again for up to HOLD_MAX_US in all.  With a seccomp filter in the
 * patient (which might forbid futex) nothing is held.
 *
 * The unwind information makes a trampoline look, to the patient's own
 * unwinder (a C++ exception, pthread_cancel, backtrace()), like the real
 * return address: each window has an FDE, registered with libgcc_s once
 * when the area is mapped (__register_frame_info, from the one thread
 * stopped then, the others running), whose rows and LSDA are copied from
 * the caller's when the trampoline is written (tramp_cfi.c).  A return
 * address whose caller's unwind information cannot be copied faithfully
 * gets no trampoline (the doctor looks again later instead).  The area is
 * deregistered before it is unmapped; one left mapped stays registered.
 *
 * Before the world resumes at the end (success or give-up) every slot that
 * still holds its trampoline's address gets the real return address back
 * (a slot already popped is left alone); a thread standing on a trampoline
 * is moved to the real return address.  The area is unmapped once no
 * thread can be in it or return into it: no slot holds one of its
 * addresses and no word between a thread's stack pointer and its highest
 * redirected slot (signal frames pushed while it ran a trampoline) nor in
 * the 16 KiB above its stack pointer points into it; else it stays mapped
 * (harmless) and a later doctor finds it by its magic, translates its
 * addresses for unwinding (lc_tramps_translate) and unmaps it when it can.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define TRAMP_MAGIC "LCTRAMPS"
#define TRAMP_SIZE LC_TRAMP_BYTES
#define TRAMP_MAX 42
#define TRAMP_WIN (64 * 1024)           /* a window: a call up to 64 KiB into its caller */
#define TRAMP_COUNTERS 256              /* offset of counter 0 in the rw- part */
#define TRAMP_OBJECT 1024               /* libgcc's struct object (128 bytes) */
#define TRAMP_EH LC_PAGE_SIZE           /* CIE, FDE of window 0, 1, ...; 0 */
#define TRAMP_EH_PAIR (LC_TRAMP_CIE_SIZE + LC_TRAMP_FDE_SIZE)
#define TRAMP_LSDA (TRAMP_EH + TRAMP_MAX * TRAMP_EH_PAIR + 16)
#define TRAMP_DATA ((TRAMP_LSDA + TRAMP_MAX * LC_TRAMP_LSDA_SIZE + LC_PAGE_SIZE - 1) / \
		    LC_PAGE_SIZE * LC_PAGE_SIZE)
#define TRAMP_CODE (TRAMP_MAX * TRAMP_WIN)
#define TRAMP_AREA (TRAMP_DATA + TRAMP_CODE)
#define TRAMP_V1_MAX (LC_PAGE_SIZE / TRAMP_SIZE)  /* version 1: one page each, no CFI */
#define TRAMP_TARGET 74                 /* offset of the real return address */
#define SCAN_ABOVE_SP (16 * 1024)
#define HOLD_NS 50000000                /* one futex wait in a trampoline */
#define HOLD_MAX_US 200000u
#define REGISTER_TRIES 8                /* looks for a quiet thread to register from */             /* a thread held again up to this, in all */

struct tramp_header {
	char magic[8];
	uint32_t version;                /* 2 (1: a page of data, a page of code) */
	uint32_t n;                      /* trampolines written */
	uint32_t doctor;                 /* PID of the doctor that made it */
	uint32_t hold;                   /* 1: returning threads wait (futex) */
	int64_t hold_time[2];            /* struct timespec: HOLD_NS */
	uint32_t data_size, code_size;   /* the rw- part, the r-x part after it */
	uint32_t win;                    /* bytes per window */
	uint32_t reserved[3];
	uint32_t start[TRAMP_MAX];       /* trampoline k: code + k * win + start[k] */
};
_Static_assert(sizeof(struct tramp_header) <= TRAMP_COUNTERS, "trampoline header");
_Static_assert(TRAMP_COUNTERS + 8 * TRAMP_MAX <= TRAMP_OBJECT, "trampoline counters");
_Static_assert(TRAMP_V1_MAX <= TRAMP_MAX, "trampolines");

struct tramp_area {
	uint64_t addr;                   /* the rw- part */
	uint64_t code;                   /* the r-x part */
	uint64_t size;                   /* both */
	uint32_t version;
	uint32_t n;
	uint64_t start[TRAMP_MAX];       /* where each trampoline is */
	uint64_t target[TRAMP_MAX];      /* real return address of each trampoline */
	uint64_t seen[TRAMP_MAX];        /* counters as last read */
	int own;                         /* mapped by this doctor run */
	int keep;                        /* a reference may remain: stays mapped */
	int cfi;                         /* its unwind information is registered */
};

struct tramp_slot {
	pid_t tid;
	uint64_t slot, ret, tramp;
};

struct tramp_held {
	pid_t tid;
	uint64_t since;                  /* first found held */
};

struct lc_tramps {
	struct lc_proc *pr;
	struct tramp_area *areas;        /* [0..nareas): own last, if any */
	size_t nareas;
	struct tramp_area *own;
	uint64_t where;                  /* chosen for our area (free guard pages around) */
	struct tramp_slot *slots;
	size_t nslots;
	struct tramp_held *held;
	size_t nheld;
	int no_hold;                     /* a seccomp filter: never hold */
	struct lc_unwind *u;             /* for the libgcc_s check of a call */
	uint64_t reg;                    /* __register_frame_info; 0: no libgcc_s */
	int reg_tries;
	int planted, taken, restored, popped;
};

/* What a thread at offset `from` of a trampoline has pushed (words), in
 * the order they go: flags, rax, rdx, rdi, rsi, r10, rcx, r11. */
static const uint8_t tramp_pushes[][2] = {
	{ 0, 0 }, { 1, 1 }, { 19, 2 }, { 20, 3 }, { 21, 4 }, { 22, 5 }, { 24, 6 },
	{ 25, 7 }, { 27, 8 }, { 60, 7 }, { 61, 6 }, { 63, 5 }, { 64, 4 }, { 65, 3 },
	{ 66, 2 }, { 67, 1 }, { 68, 0 },
};

/* The area and index of a trampoline address (any byte of it), or NULL. */
static struct tramp_area *tramp_of(const struct lc_tramps *t, uint64_t addr, uint32_t *idx)
{
	for (size_t i = 0; t && i < t->nareas; i++) {
		struct tramp_area *a = &t->areas[i];
		if (addr < a->code || addr >= a->addr + a->size)
			continue;
		for (uint32_t k = 0; k < a->n; k++)
			if (addr >= a->start[k] && addr < a->start[k] + TRAMP_SIZE) {
				if (idx)
					*idx = k;
				return a;
			}
	}
	return NULL;
}

static int in_any_area(const struct lc_tramps *t, uint64_t w)
{
	for (size_t i = 0; i < t->nareas; i++)
		if (w >= t->areas[i].addr && w < t->areas[i].addr + t->areas[i].size)
			return 1;
	return 0;
}

/* Where window k's unwind information goes. */
static struct lc_tramp_cfi_place tramp_place(const struct tramp_area *a, uint32_t k)
{
	struct lc_tramp_cfi_place w;
	w.win = a->code + (uint64_t)k * TRAMP_WIN;
	w.win_size = TRAMP_WIN;
	w.cie_at = a->addr + TRAMP_EH + (uint64_t)k * TRAMP_EH_PAIR;
	w.fde_at = w.cie_at + LC_TRAMP_CIE_SIZE;
	w.lsda_at = a->addr + TRAMP_LSDA + (uint64_t)k * LC_TRAMP_LSDA_SIZE;
	return w;
}

/* Areas earlier doctor runs left (killed while waiting): found by magic in
 * an anonymous rw-p mapping followed by its r-x part, of the sizes the
 * header says (version 1: a page each). */
static void tramps_scan(struct lc_tramps *t)
{
	struct lc_proc *pr = t->pr;
	for (size_t i = 0; i + 1 < pr->nmaps; i++) {
		const struct lc_map *m = &pr->maps[i], *c = &pr->maps[i + 1];
		struct tramp_header h;
		if (m->path || strcmp(m->perms, "rw-p") != 0 || c->start != m->end || c->path ||
		    strcmp(c->perms, "r-xp") != 0 || m->end - m->start < LC_PAGE_SIZE ||
		    lc_mem_read(pr, m->start, &h, sizeof(h)) != 0 ||
		    memcmp(h.magic, TRAMP_MAGIC, 8) != 0)
			continue;
		uint64_t data = LC_PAGE_SIZE, code = LC_PAGE_SIZE, win = TRAMP_SIZE;
		uint32_t max = TRAMP_V1_MAX;
		if (h.version == 2) {
			data = h.data_size, code = h.code_size, win = h.win, max = TRAMP_MAX;
			if (!win || code / win < max)
				continue;
		} else if (h.version != 1) {
			continue;
		}
		if (m->end - m->start != data || c->end - c->start != code || h.n > max)
			continue;
		t->areas = lc_xrealloc(t->areas, (t->nareas + 1) * sizeof(*t->areas));
		struct tramp_area *a = &t->areas[t->nareas++];
		memset(a, 0, sizeof(*a));
		a->addr = m->start;
		a->code = c->start;
		a->size = data + code;
		a->version = h.version;
		a->n = h.n;
		a->keep = 1;            /* until a scan of the stacks proves it unused */
		for (uint32_t k = 0; k < a->n; k++) {
			a->start[k] = a->code + k * win + (h.version == 2 ? h.start[k] : 0);
			if (a->start[k] + TRAMP_SIZE > a->addr + a->size ||
			    lc_mem_read(pr, a->start[k] + TRAMP_TARGET, &a->target[k], 8) != 0)
				a->target[k] = 0;
		}
		uint64_t obj = 0;
		if (h.version == 2 && lc_mem_read(pr, a->addr + TRAMP_OBJECT, &obj, 8) == 0 && obj)
			a->cfi = 1;
		/* Nobody is waiting for its threads any more: let them go. */
		uint32_t zero = 0;
		lc_mem_write(pr, a->addr + offsetof(struct tramp_header, hold), &zero, sizeof(zero));
		lc_info("process %d: trampolines left by an earlier doctor at 0x%llx (%u)%s",
			(int)pr->pid, (unsigned long long)a->addr, a->n,
			a->cfi ? ", their unwind information registered: they stay" : "");
	}
}

struct lc_tramps *lc_tramps_new(struct lc_proc *pr, struct lc_unwind *u)
{
	struct lc_tramps *t = lc_xcalloc(1, sizeof(*t));
	struct lc_import reg, dereg;
	t->pr = pr;
	t->u = u;
	if (lc_symbols_lookup(pr, "__register_frame_info", NULL, &reg) == 1 && !reg.ifunc &&
	    lc_symbols_lookup(pr, "__deregister_frame_info", NULL, &dereg) == 1 && !dereg.ifunc)
		t->reg = reg.addr;
	t->no_hold = lc_guard_seccomp(pr->pid, lc_proc_task(pr->pid)) == 2;
	int maps = lc_mem_open(pr) == 0 && lc_proc_reload_maps(pr) == 0;
	if (maps)
		tramps_scan(t);
	/* Chosen now, while nothing is stopped, in the maps just read (the
	 * mmap refuses an address taken meanwhile: MAP_FIXED_NOREPLACE); a
	 * free page on each side keeps the kernel from merging it with a
	 * neighbour (a later doctor finds it by its exact shape). */
	if (!maps || !pr->nobjs || lc_region_choose(pr, &pr->objs[0], TRAMP_AREA, 0, &t->where) != 0)
		t->where = 0;
	return t;
}

size_t lc_tramps_found(const struct lc_tramps *t, uint64_t *addr, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; t && i < t->nareas; i++)
		if (!t->areas[i].own && n < max)
			addr[n++] = t->areas[i].addr;
	return n;
}

uint64_t lc_tramps_translate(const struct lc_tramps *t, uint64_t addr)
{
	uint32_t k;
	struct tramp_area *a = tramp_of(t, addr, &k);
	return a && a->target[k] ? a->target[k] : addr;
}

/* Maps our area from a stopped thread, the others running (they may hold
 * libgcc's lock the registration takes): data rw-, the windows r-x, every
 * window's FDE (the unwinder ends there until a trampoline is written),
 * then registered with libgcc_s. */
static int tramps_map(struct lc_tramps *t, struct lc_threads *ts, struct lc_thread *th,
		      uint64_t insn)
{
	long ret;
	const long mm[6] = { (long)t->where, TRAMP_AREA, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0 };
	if (!t->where || !th || !th->stopped ||
	    lc_inject_syscall(ts, th, insn, SYS_mmap, mm, &ret) != 0)
		return -1;
	if (ret < 0 && ret > -4096) {
		t->where = 0;
		lc_info("process %d: mmap of the trampolines failed in the patient: %s; polling "
			"instead", (int)ts->pid, strerror((int)-ret));
		return -1;
	}
	if ((uint64_t)ret != t->where) {
		const long um[6] = { ret, TRAMP_AREA, 0, 0, 0, 0 };
		long ignored;
		lc_inject_syscall(ts, th, insn, SYS_munmap, um, &ignored);
		lc_info("process %d: mmap(0x%llx) of the trampolines returned 0x%lx; polling instead",
			(int)ts->pid, (unsigned long long)t->where, ret);
		t->where = 0;
		return -1;
	}
	t->where = 0;           /* one try */
	struct tramp_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, TRAMP_MAGIC, 8);
	h.version = 2;
	h.doctor = (uint32_t)getpid();
	h.hold = !t->no_hold;
	h.hold_time[1] = HOLD_NS;
	h.data_size = TRAMP_DATA;
	h.code_size = TRAMP_CODE;
	h.win = TRAMP_WIN;
	const long mp[6] = { ret + TRAMP_DATA, TRAMP_CODE, PROT_READ | PROT_EXEC, 0, 0, 0 };
	long ret2;
	t->areas = lc_xrealloc(t->areas, (t->nareas + 1) * sizeof(*t->areas));
	struct tramp_area *a = &t->areas[t->nareas++];
	memset(a, 0, sizeof(*a));
	a->addr = (uint64_t)ret;
	a->code = a->addr + TRAMP_DATA;
	a->size = TRAMP_AREA;
	a->version = 2;
	a->own = 1;
	t->own = a;
	uint8_t *eh = lc_xcalloc(1, TRAMP_MAX * TRAMP_EH_PAIR + 4);
	for (uint32_t k = 0; k < TRAMP_MAX; k++) {
		struct lc_tramp_cfi_place w = tramp_place(a, k);
		lc_tramp_cfi_blank(&w, eh + k * TRAMP_EH_PAIR, eh + k * TRAMP_EH_PAIR + LC_TRAMP_CIE_SIZE);
	}
	int rc = lc_mem_write(t->pr, a->addr, &h, sizeof(h)) != 0 ||
		 lc_mem_write(t->pr, a->addr + TRAMP_EH, eh, TRAMP_MAX * TRAMP_EH_PAIR + 4) != 0 ||
		 lc_inject_syscall(ts, th, insn, SYS_mprotect, mp, &ret2) != 0 || ret2 != 0;
	free(eh);
	if (rc) {
		t->own = NULL;          /* unmapped at the end, never used */
		lc_info("process %d: cannot set up the trampolines at 0x%llx; polling instead",
			(int)ts->pid, (unsigned long long)a->addr);
		return -1;
	}
	lc_debug("process %d: trampolines at 0x%llx", (int)ts->pid, (unsigned long long)a->addr);
	return 0;
}

/* System calls a thread holds none of the locks in while it waits in them
 * (as far as libgcc's registration and another thread's unwinding go: not
 * libgcc's object_mutex - checked on its stack -, not malloc's arena locks,
 * which malloc holds around mmap, brk, munmap, madvise and a contended
 * futex).  A thread the doctor stopped in a sleep before is in its restart.  An unwinding thread holds object_mutex while it mallocs, so a
 * registration from a thread interrupted inside malloc deadlocks both. */
static int tramps_call_safe(pid_t tid)
{
	static const long quiet[] = {
		SYS_nanosleep, SYS_clock_nanosleep, SYS_pause, SYS_poll, SYS_ppoll, SYS_select,
		SYS_pselect6, SYS_epoll_wait, SYS_epoll_pwait, SYS_read, SYS_readv, SYS_recvfrom,
		SYS_recvmsg, SYS_accept, SYS_accept4, SYS_wait4, SYS_waitid, SYS_rt_sigtimedwait,
		SYS_rt_sigsuspend,
		SYS_restart_syscall,    /* a sleep or poll interrupted before (a futex
					 * restarts so only with a timeout, which
					 * malloc's locks have none of) */
	};
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0)
		return 0;
	if ((long long)r.orig_rax < 0)
		return 0;
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if ((long)r.orig_rax == quiet[i])
			return 1;
	return 0;
}

/* Our area's unwind information registered with libgcc_s from `th`, the
 * others running; tried at most REGISTER_TRIES times (a thread found in a
 * quiet system call). */
static void tramps_register(struct lc_tramps *t, struct lc_threads *ts, struct lc_thread *th)
{
	struct tramp_area *a = t->own;
	if (!a || a->cfi || !t->reg || t->reg_tries >= REGISTER_TRIES)
		return;
	t->reg_tries++;
	if (!tramps_call_safe(th->tid)) {
		lc_debug("process %d: thread %d is not waiting in a quiet system call: the trampolines' "
			 "unwind information is registered later", (int)ts->pid, (int)th->tid);
	} else if (lc_cfi_register_at(t->pr, ts, th, t->u, t->reg, a->addr + TRAMP_EH,
				      a->addr + TRAMP_OBJECT) == 0) {
		a->cfi = 1;
		lc_debug("process %d: the trampolines' unwind information registered", (int)ts->pid);
		return;
	}
	if (t->reg_tries == REGISTER_TRIES)
		lc_info("process %d: the trampolines' unwind information is not registered: busy "
			"frames are looked at again instead", (int)ts->pid);
}

/* The trampoline to `ret` in our area, written if new; 0 if none.  Its
 * unwind information first (when the process has an unwinder), then the
 * code, then where it is, then the count that makes it known to a later
 * doctor. */
static uint64_t tramps_get(struct lc_tramps *t, uint64_t ret)
{
	struct tramp_area *a = t->own;
	for (uint32_t k = 0; k < a->n; k++)
		if (a->target[k] == ret)
			return a->start[k];
	if (a->n == TRAMP_MAX)
		return 0;
	uint32_t k = a->n, off = 16;
	struct lc_tramp_cfi_place w = tramp_place(a, k);
	if (a->cfi) {
		uint8_t *cfi = lc_xmalloc(TRAMP_EH_PAIR + LC_TRAMP_LSDA_SIZE);
		int rc = lc_tramp_cfi_make(t->pr, ret, &w, tramp_pushes,
					   sizeof(tramp_pushes) / sizeof(tramp_pushes[0]), &off, cfi,
					   cfi + LC_TRAMP_CIE_SIZE, cfi + TRAMP_EH_PAIR);
		if (rc == 0 && (lc_mem_write(t->pr, w.lsda_at, cfi + TRAMP_EH_PAIR,
					     LC_TRAMP_LSDA_SIZE) != 0 ||
				lc_mem_write(t->pr, w.cie_at, cfi, TRAMP_EH_PAIR) != 0))
			rc = -1;
		free(cfi);
		if (rc != 0)
			return 0;
	} else if (t->reg) {
		return 0;       /* an unwinder that would stop at it: no trampoline */
	}
	uint64_t at = w.win + off;
	uint64_t counter = a->addr + TRAMP_COUNTERS + 8u * k;
	uint64_t hold = a->addr + offsetof(struct tramp_header, hold);
	uint64_t hold_time = a->addr + offsetof(struct tramp_header, hold_time);
	uint8_t code[TRAMP_SIZE];
	int32_t rel;
	memset(code, 0xcc, sizeof(code));
	code[0] = 0x9c;                                         /* pushfq */
	memcpy(code + 1, "\xf0\x48\xff\x05", 4);             /* lock incq counter(%rip) */
	rel = (int32_t)(int64_t)(counter - (at + 9));
	memcpy(code + 5, &rel, 4);
	memcpy(code + 9, "\x83\x3d", 2);                       /* cmpl $0, hold(%rip) */
	rel = (int32_t)(int64_t)(hold - (at + 16));
	memcpy(code + 11, &rel, 4);
	code[15] = 0;
	memcpy(code + 16, "\x74\x31", 2);                      /* je 67 */
	/* push rax, rdx, rdi, rsi, r10, rcx, r11 */
	memcpy(code + 18, "\x50\x52\x57\x56\x41\x52\x51\x41\x53", 9);
	memcpy(code + 27, "\xb8\xca\x00\x00\x00", 5);         /* mov $SYS_futex, %eax */
	memcpy(code + 32, "\x48\x8d\x3d", 3);                 /* lea hold(%rip), %rdi */
	rel = (int32_t)(int64_t)(hold - (at + 39));
	memcpy(code + 35, &rel, 4);
	memcpy(code + 39, "\xbe\x80\x00\x00\x00", 5);         /* mov $FUTEX_WAIT_PRIVATE, %esi */
	memcpy(code + 44, "\xba\x01\x00\x00\x00", 5);         /* mov $1, %edx */
	memcpy(code + 49, "\x4c\x8d\x15", 3);                 /* lea hold_time(%rip), %r10 */
	rel = (int32_t)(int64_t)(hold_time - (at + 56));
	memcpy(code + 52, &rel, 4);
	memcpy(code + 56, "\x0f\x05", 2);                      /* syscall */
	/* pop r11, rcx, r10, rsi, rdi, rdx, rax */
	memcpy(code + 58, "\x41\x5b\x59\x41\x5a\x5e\x5f\x5a\x58", 9);
	code[67] = 0x9d;                                        /* popfq */
	memcpy(code + 68, "\xff\x25\x00\x00\x00\x00", 6);     /* jmp *74(%rip) */
	memcpy(code + TRAMP_TARGET, &ret, 8);
	uint32_t n = k + 1;
	if (lc_mem_write(t->pr, at, code, sizeof(code)) != 0 ||
	    lc_mem_write(t->pr, a->addr + offsetof(struct tramp_header, start) + 4u * k, &off,
			 sizeof(off)) != 0 ||
	    lc_mem_write(t->pr, a->addr + offsetof(struct tramp_header, n), &n, sizeof(n)) != 0)
		return 0;
	a->start[k] = at;
	a->target[k] = ret;
	a->seen[k] = 0;
	a->n = n;
	return at;
}

int lc_tramps_ready(const struct lc_tramps *t)
{
	if (t && t->own)
		return t->own->cfi || !t->reg || t->reg_tries >= REGISTER_TRIES;
	return t && !t->where;
}

int lc_tramps_map(struct lc_tramps *t, struct lc_threads *ts, uint64_t insn)
{
	if (lc_tramps_ready(t))
		return 0;
	/* One thread stopped alone, the others run: the injected calls are
	 * not part of a stop of the world. */
	struct lc_thread *th = lc_threads_pick(ts);
	if (t->own) {
		/* Registration again: from another thread each time. */
		for (size_t i = 0; i < ts->n; i++) {
			struct lc_thread *c = &ts->t[((size_t)t->reg_tries + i) % ts->n];
			if (!c->gone) {
				th = c;
				break;
			}
		}
	}
	if (!th || lc_thread_stop(ts, th) != 0 || th->gone) {
		if (t->own)
			t->reg_tries++;
		return -1;
	}
	int rc = t->own ? 0 : tramps_map(t, ts, th, insn);
	if (rc == 0)
		tramps_register(t, ts, th);
	if (lc_thread_resume(ts, th) != 0)
		rc = -1;
	return rc;
}

int lc_tramps_plant(struct lc_tramps *t, struct lc_threads *ts, uint64_t insn, pid_t tid,
		    uint64_t slot, uint64_t ret)
{
	uint64_t now;
	(void)insn;
	if (!slot || slot % 8 || lc_mem_read(t->pr, slot, &now, sizeof(now)) != 0)
		return -1;
	if (tramp_of(t, now, NULL))
		return 0;               /* redirected already */
	if (now != ret)
		return -1;              /* not the slot the unwinder said */
	if (!t->own)
		return -1;              /* mapped with the world running, or not at all */
	uint64_t tr = tramps_get(t, ret);
	if (!tr)
		return -1;
	/* The world is stopped: the thread cannot return meanwhile.  An
	 * aligned 8-byte write lands whole even if the doctor dies. */
	if (lc_mem_write(t->pr, slot, &tr, sizeof(tr)) != 0)
		return -1;
	t->slots = lc_xrealloc(t->slots, (t->nslots + 1) * sizeof(*t->slots));
	t->slots[t->nslots++] = (struct tramp_slot){ tid, slot, ret, tr };
	t->planted++;
	lc_debug("process %d: thread %d: return address 0x%llx at 0x%llx -> trampoline 0x%llx",
		 (int)ts->pid, (int)tid, (unsigned long long)ret, (unsigned long long)slot,
		 (unsigned long long)tr);
	return 1;
}

int lc_tramps_taken(struct lc_tramps *t)
{
	struct tramp_area *a = t->own;
	uint64_t c[TRAMP_MAX];
	int moved = 0;
	if (!a || !a->n || lc_mem_read(t->pr, a->addr + TRAMP_COUNTERS, c, 8u * a->n) != 0)
		return 0;
	for (uint32_t k = 0; k < a->n; k++)
		if (c[k] != a->seen[k]) {
			t->taken += (int)(c[k] - a->seen[k]);
			a->seen[k] = c[k];
			moved = 1;
		}
	return moved;
}

int lc_tramps_count(const struct lc_tramps *t, int *planted, int *taken)
{
	if (planted)
		*planted = t ? t->planted : 0;
	if (taken)
		*taken = t ? t->taken : 0;
	return t && (t->own || t->nareas);     /* stale areas are looked at too */
}

static struct tramp_held *held_find(struct lc_tramps *t, pid_t tid)
{
	for (size_t i = 0; i < t->nheld; i++)
		if (t->held[i].tid == tid)
			return &t->held[i];
	t->held = lc_xrealloc(t->held, (t->nheld + 1) * sizeof(*t->held));
	t->held[t->nheld] = (struct tramp_held){ tid, lc_now_us() };
	return &t->held[t->nheld++];
}

/* How many words a thread at offset `off` of a trampoline has pushed. */
static int tramp_pushed(uint64_t off)
{
	int w = 0;
	for (size_t i = 0; i < sizeof(tramp_pushes) / sizeof(tramp_pushes[0]); i++)
		if (off >= tramp_pushes[i][0])
			w = tramp_pushes[i][1];
	return w;
}

/* A thread inside a trampoline: its registers as they were at the real
 * return address (what it pushed taken back, a futex wait cancelled), and
 * rip at the hold test with the flags pushed again (`rearm`: it waits
 * again, uncounted) or at the real address.  GCC's interprocedural
 * register allocation lets a caller keep values in registers its callee
 * does not touch, so every register is as it was, flags too. */
static int tramp_unwind_regs(struct lc_proc *pr, struct user_regs_struct *regs, uint64_t start,
			     uint64_t target, int rearm)
{
	int k = tramp_pushed(regs->rip - start);
	uint64_t w[8];
	if (k && lc_mem_read(pr, regs->rsp, w, 8u * (unsigned)k) != 0)
		return -1;
	unsigned long long *reg[8] = { &regs->eflags, &regs->rax, &regs->rdx, &regs->rdi,
				       &regs->rsi, &regs->r10, &regs->rcx, &regs->r11 };
	for (int i = 0; i < k; i++)
		*reg[i] = w[k - 1 - i];         /* the last pushed is on top */
	regs->rsp += 8u * (unsigned)k;
	regs->orig_rax = (unsigned long long)-1;        /* no restart of the futex */
	if (!rearm) {
		regs->rip = target;
		return 0;
	}
	uint64_t flags = regs->eflags;
	regs->rsp -= 8;
	if (lc_mem_write(pr, regs->rsp, &flags, sizeof(flags)) != 0)
		return -1;
	regs->rip = start + 9;
	return 0;
}

void lc_tramps_normalize(struct lc_tramps *t, struct lc_threads *ts, int rearm)
{
	if (!t || !t->nareas)
		return;         /* no trampoline to stand in: nothing to read */
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct regs;
		uint32_t k;
		if (!th->stopped || th->gone || ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0)
			continue;
		struct tramp_area *a = tramp_of(t, regs.rip, &k);
		if (!a || !a->target[k])
			continue;
		uint64_t start = a->start[k];
		int again = rearm && a->own && !t->no_hold &&
			    lc_now_us() - held_find(t, th->tid)->since < HOLD_MAX_US;
		th->regs_ok = 0;
		if (tramp_unwind_regs(t->pr, &regs, start, a->target[k], again) != 0 ||
		    ptrace(PTRACE_SETREGS, th->tid, NULL, &regs) != 0)
			continue;
		lc_debug("process %d: thread %d %s a trampoline to 0x%llx", (int)ts->pid,
			 (int)th->tid, again ? "held again in" : "moved off",
			 (unsigned long long)a->target[k]);
	}
}

/* Words pointing into an area in [lo, hi) of the patient's memory. */
static int range_refers(struct lc_tramps *t, uint64_t lo, uint64_t hi)
{
	uint64_t w[512];
	lo &= ~(uint64_t)7;
	while (lo < hi) {
		size_t len = hi - lo < sizeof(w) ? (size_t)(hi - lo) : sizeof(w);
		ssize_t got = pread(t->pr->memfd, w, len, (off_t)lo);
		if (got <= 0)
			return 0;
		for (ssize_t k = 0; k < got / 8; k++)
			if (in_any_area(t, w[k]))
				return 1;
		lo += (uint64_t)got;
	}
	return 0;
}

int lc_tramps_restore(struct lc_tramps *t, struct lc_threads *ts)
{
	if (!t || !t->nareas)
		return 0;
	lc_tramps_normalize(t, ts, 0);
	uint32_t zero = 0;
	if (t->own)
		lc_mem_write(t->pr, t->own->addr + offsetof(struct tramp_header, hold), &zero,
			     sizeof(zero));
	for (size_t i = 0; i < t->nslots; i++) {
		struct tramp_slot *s = &t->slots[i];
		uint64_t now;
		if (s->tramp == 0)
			continue;
		if (lc_mem_read(t->pr, s->slot, &now, sizeof(now)) == 0 && now == s->tramp &&
		    lc_mem_write(t->pr, s->slot, &s->ret, sizeof(s->ret)) == 0)
			t->restored++;
		else
			t->popped++;
		s->tramp = 0;
	}
	/* What could still lead into an area: a slot another doctor redirected
	 * (stale areas), a signal frame pushed while a thread ran a trampoline. */
	int refs = 0;
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct regs;
		if (!th->stopped || th->gone || ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0)
			continue;
		uint64_t hi = regs.rsp + SCAN_ABOVE_SP;
		for (size_t k = 0; k < t->nslots; k++)
			if (t->slots[k].tid == th->tid && t->slots[k].slot + 8 > hi &&
			    t->slots[k].slot >= regs.rsp)
				hi = t->slots[k].slot + 8;
		if (range_refers(t, regs.rsp, hi))
			refs = 1;
	}
	/* A stale area whose libgcc object says registered stays, registered:
	 * its doctor may have been killed inside (or right after) the call
	 * that deregistered it, and libgcc aborts the process when asked to
	 * deregister what it does not know.  Harmless mapped. */
	int stale = 0;
	for (size_t i = 0; i < t->nareas; i++) {
		t->areas[i].keep = refs || !t->areas[i].own;
		stale += !t->areas[i].own;
	}
	/* A stale area is proven unreferenced only by a scan of the whole
	 * stacks (another doctor's slots may be deep): done if cheap. */
	if (stale && !refs) {
		int deep_refs = 0;
		for (size_t i = 0; i < ts->n && !deep_refs; i++) {
			struct lc_thread *th = &ts->t[i];
			struct user_regs_struct regs;
			if (!th->stopped || th->gone ||
			    ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) != 0)
				continue;
			for (size_t m = 0; m < t->pr->nmaps; m++)
				if (regs.rsp >= t->pr->maps[m].start && regs.rsp < t->pr->maps[m].end)
					deep_refs |= range_refers(t, regs.rsp, t->pr->maps[m].end);
		}
		for (size_t i = 0; i < t->nareas; i++)
			if (!t->areas[i].own)
				t->areas[i].keep = deep_refs || t->areas[i].cfi;
	}
	lc_debug("process %d: trampolines: %d planted, %d taken, %d slot(s) put back, %d popped%s",
		 (int)ts->pid, t->planted, t->taken, t->restored, t->popped,
		 refs ? "; a reference remains: the area stays" : "");
	return refs;
}

/* A slot redirected into area a and never put back: lc_tramps_restore did
 * not run (the world could not be stopped again to undo a give-up), so a
 * thread will still return through the area. */
static int area_planted(const struct lc_tramps *t, const struct tramp_area *a)
{
	for (size_t k = 0; k < t->nslots; k++)
		if (t->slots[k].tramp >= a->addr && t->slots[k].tramp < a->addr + a->size)
			return 1;
	return 0;
}

void lc_tramps_free(struct lc_tramps *t, struct lc_threads *ts, uint64_t insn)
{
	if (!t)
		return;
	struct lc_thread *th = NULL;
	for (size_t i = 0; i < t->nareas; i++) {
		struct tramp_area *a = &t->areas[i];
		long ret;
		const long args[6] = { (long)a->addr, (long)a->size, 0, 0, 0, 0 };
		if (a->keep || area_planted(t, a)) {
			if (a->own)
				lc_info("process %d: the trampolines at 0x%llx stay mapped (harmless)",
					(int)ts->pid, (unsigned long long)a->addr);
			continue;
		}
		if (!th) {
			th = lc_threads_pick(ts);
			if (!th || lc_thread_stop(ts, th) != 0 || th->gone) {
				lc_warn("process %d: the trampolines at 0x%llx stay mapped (harmless)",
					(int)ts->pid, (unsigned long long)a->addr);
				break;
			}
		}
		/* Registered unwind information goes first: libgcc would read
		 * the unmapped FDEs at its next lookup. */
		if (a->version == 2 &&
		    lc_cfi_deregister_at(t->pr, ts, th, t->u, a->addr + TRAMP_EH,
					 a->addr + TRAMP_OBJECT) != 0) {
			lc_warn("process %d: the trampolines at 0x%llx stay mapped (harmless)",
				(int)ts->pid, (unsigned long long)a->addr);
			continue;
		}
		if (lc_inject_syscall(ts, th, insn, SYS_munmap, args, &ret) != 0 || ret != 0)
			lc_warn("process %d: the trampolines at 0x%llx stay mapped (harmless)",
				(int)ts->pid, (unsigned long long)a->addr);
	}
	free(t->areas);
	free(t->slots);
	free(t->held);
	free(t);
}
