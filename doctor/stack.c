/*
 * stack.c - the safety check before code changes under the patient's
 * threads: no stopped thread may be executing a function about to be
 * replaced (patch) or a replacement about to vanish (unpatch), nor have one
 * on its stack to return into.
 *
 * Each thread's rip is checked, then the return addresses found by
 * unwinding its stack (unwind.c).  A stack that cannot be unwound to its
 * start (an unwinding error, a frame without CFI, no unwinder at all) is
 * not taken as ending there: its whole live part is scanned for return
 * addresses into the busy code (stackscan.c), and one that cannot even be
 * read makes the thread busy.  Waiting for busy threads to leave is
 * transition.c's (with trampolines on the ways out found here).
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

/* No CFI for the outermost busy frame (patch code of a region without it,
 * see cfi_unwind.c; code of no known object): the way out
 * is guessed as the first word above the stack pointer (above the return
 * address into the busy frame if it is not the innermost) that is a return
 * address out of the busy code (it follows a call instruction).  Only a
 * trampoline goes there, and only if the call before it is a direct call
 * into the busy code or to a 5-byte jump into it (a patched function's
 * entry): a wrong guess costs a time slice, never safety,
 * which the next check decides with real unwinding. */
/* Is the instruction before `ret` a direct call (e8 rel32) into a range,
 * or to a jmp rel32 (a patched function's entry) into one? */
static int call_into(int memfd, uint64_t ret, const struct lc_range *r, size_t n)
{
	uint8_t c[5];
	int32_t rel;
	if (pread(memfd, c, 5, (off_t)(ret - 5)) != 5 || c[0] != 0xe8)
		return 0;
	memcpy(&rel, c + 1, 4);
	uint64_t to = ret + (uint64_t)(int64_t)rel;
	if (range_of(r, n, to) || range_of(r, n, to + 1))
		return 1;
	if (pread(memfd, c, 5, (off_t)to) != 5 || c[0] != 0xe9)
		return 0;
	memcpy(&rel, c + 1, 4);
	to += 5 + (uint64_t)(int64_t)rel;
	return range_of(r, n, to) != NULL;
}

static uint64_t exit_guess(int memfd, uint64_t rsp, uint64_t into, const struct lc_range *r,
			   size_t n, uint64_t *slot)
{
	*slot = 0;
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
		if (w[i] > 4096 && !range_of(r, n, w[i] - 1) && lc_code_after_call(memfd, w[i])) {
			if (call_into(memfd, w[i], r, n))
				*slot = rsp + 8u * (uint64_t)i;
			return w[i];
		}
	return 0;
}

/* The way out of the busy functions for one thread: the return address of
 * its outermost busy frame (pcs[] hold return addresses minus 1) and the
 * stack slot holding it (the caller's stack pointer minus 8, from the
 * unwinder; 0 for a guess, which only tells where, not which slot). */
static void exits_add(struct lc_exits *ex, pid_t tid, const uint64_t *pcs, const uint64_t *sps,
		      int nf, int outer, uint64_t guess, uint64_t guess_slot)
{
	if (!ex)
		return;
	uint64_t a = outer + 1 < nf ? pcs[outer + 1] + 1 : guess;
	uint64_t slot = outer + 1 < nf ? (sps[outer + 1] ? sps[outer + 1] - 8 : 0) : guess_slot;
	if (!a) {
		ex->unknown = 1;
		return;
	}
	for (size_t i = 0; i < ex->n; i++)
		if (ex->addr[i] == a && ex->slot[i] == slot)
			return;
	if (ex->n < sizeof(ex->addr) / sizeof(ex->addr[0])) {
		ex->tid[ex->n] = tid;
		ex->slot[ex->n] = slot;
		ex->addr[ex->n++] = a;
	} else {
		ex->unknown = 1;
	}
}

/* A thread that was stopped but whose registers cannot be read: gone, or
 * (it should not happen) not in a ptrace-stop, which must not pass as
 * "not busy". */
static int thread_exists(pid_t pid, pid_t tid)
{
	char state = lc_thread_state(pid, tid);
	return state && state != 'Z' && state != 'X';
}

/* An io_uring worker (iou-wrk-*, iou-sqp-*: PF_IO_WORKER in its stat
 * flags, include/linux/sched.h) is listed among the process's threads and
 * is stopped with them, but it runs in the kernel only: its user registers
 * are empty (rsp 0) and it never executes the process's code.  Asked only
 * of a thread whose stack could not be read at all. */
#define PF_IO_WORKER 0x10

static int io_worker(pid_t pid, pid_t tid)
{
	char path[64], state;
	unsigned flags = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return lc_stat_state(path, &state, &flags) == 0 && (flags & PF_IO_WORKER);
}

/* /proc/PID/mem, opened when first needed (not in the common case). */
static int mem_open(const struct lc_threads *ts, int *fd)
{
	if (*fd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)lc_proc_task(ts->pid));
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return *fd;
}

int lc_stack_check(struct lc_threads *ts, struct lc_unwind *u, const struct lc_range *r,
		   size_t n, struct lc_exits *ex, char *why, size_t why_len)
{
	uint64_t pcs[MAX_FRAMES], sps[MAX_FRAMES];
	int busy = 0, memfd = -1;
	if (ex)
		memset(ex, 0, sizeof(*ex));
	/* Every thread's registers first, then the top of every stack in one
	 * read (unwind.c), then each thread is looked at. */
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		if (!th->gone && th->stopped && !th->regs_ok)
			th->regs_ok = ptrace(PTRACE_GETREGS, th->tid, NULL, &th->regs) == 0;
	}
	lc_unwind_snap_all(u, ts);
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct regs;
		const struct lc_range *hit;
		char msg[256];
		if (th->gone || !th->stopped)
			continue;
		int grc = th->regs_ok ? (regs = th->regs, 0) : ptrace(PTRACE_GETREGS, th->tid, NULL, &regs);
		if (grc != 0) {
			if (errno == ESRCH && !thread_exists(th->vchild ? th->tid : ts->pid, th->tid))
				continue;
			if (errno != ESRCH) {
				if (memfd >= 0)
					close(memfd);
				return lc_error("process %d: cannot read the registers of thread %d: %s",
						(int)ts->pid, (int)th->tid, strerror(errno));
			}
			if (!busy)
				snprintf(why, why_len, "thread %d cannot be examined (not stopped)",
					 (int)th->tid);
			busy = 1;
			if (ex)
				ex->unknown = 1;
			continue;
		}
		th->regs = regs;        /* for the reference proof (retire.c) */
		th->regs_ok = 1;
		/* Only frames unwound from CFI count; if the stack was not
		 * unwound to its start, the scan below has the last word. */
		int reliable = 0, nf = u ? lc_unwind_stack_regs(u, th->tid, &regs, pcs, sps,
								MAX_FRAMES, &reliable) : -1;
		int whole = nf >= 0;
		nf = whole ? nf : reliable;
		if (nf == 0) {
			sps[nf] = regs.rsp;
			pcs[nf++] = regs.rip;
		}
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
		int scanned = 0;
		if (outer < 0 && !whole) {
			struct lc_stack_word w;
			int s = lc_stack_scan(ts->pid, th->tid, regs.rsp, mem_open(ts, &memfd), r, n, &w);
			if (s > 0)
				snprintf(msg, sizeof(msg), "thread %d has '%s' on its stack (return address "
					 "0x%llx at 0x%llx, found scanning the stack: it cannot be unwound "
					 "past frame %d)", (int)th->tid, w.range->name,
					 (unsigned long long)w.ret, (unsigned long long)w.at, nf - 1);
			else if (s < 0 && io_worker(th->vchild ? th->tid : ts->pid, th->tid))
				s = 0;          /* no user code, no user stack: not busy */
			else if (s < 0)
				snprintf(msg, sizeof(msg), "thread %d's stack can neither be unwound past "
					 "frame %d nor read (rsp 0x%llx)", (int)th->tid, nf - 1,
					 (unsigned long long)regs.rsp);
			scanned = s != 0;
		}
		lc_debug("process %d: thread %d: rip 0x%llx, %d frame(s) unwound%s%s%s", (int)ts->pid,
			 (int)th->tid, (unsigned long long)regs.rip, u ? nf : 0,
			 whole ? "" : " (not to its start)", msg[0] ? ": " : "", msg);
		if (outer < 0 && !scanned)
			continue;
		if (!busy)
			snprintf(why, why_len, "%s", msg);
		busy = 1;
		if (scanned) {
			if (ex)
				ex->unknown = 1;        /* no frame to leave known: poll */
			continue;
		}
		int known = u && outer + 1 < nf;
		uint64_t guess = 0, guess_slot = 0, sp = regs.rsp, bp = regs.rbp;
		/* A patch frame: the way out from its region's CFI (cfi_unwind.c),
		 * rather than libdwfl's frame-pointer fallback or a guess. */
		const struct lc_range *oh = range_of(r, n, pcs[outer]);
		if (ex && oh && oh->region &&
		    (outer == 0 || lc_unwind_frame_regs(u, outer, &sp, &bp) == 0) &&
		    lc_cfi_frame_exit(mem_open(ts, &memfd), oh->region, pcs[outer], sp, bp, &guess,
				      &guess_slot) == 0) {
			lc_debug("process %d: thread %d: way out of the busy patch frame 0x%llx from "
				 "its CFI", (int)ts->pid, (int)th->tid, (unsigned long long)guess);
			known = 0;
		} else if (ex && !known) {
			guess = exit_guess(mem_open(ts, &memfd), regs.rsp,
					   outer > 0 ? pcs[outer] + 1 : 0, r, n, &guess_slot);
			lc_debug("process %d: thread %d: no unwinding out of the busy frame; way out "
				 "guessed 0x%llx", (int)ts->pid, (int)th->tid, (unsigned long long)guess);
		}
		exits_add(ex, th->tid, pcs, sps, known ? nf : 0, outer, guess, guess_slot);
	}
	/* Threads waiting in vfork() (attach.c): they run nothing while their
	 * child shares the memory, and no ptrace request stops them; their pc
	 * and stack pointer come from /proc, their stack is scanned whole. */
	for (size_t i = 0; i < ts->nvb && !busy; i++) {
		pid_t tid = ts->vb[i].tid;
		uint64_t sp, pc;
		const struct lc_range *hit;
		struct lc_stack_word w;
		int s = 0;
		if (!tid)
			continue;
		if (!lc_vblocked_at(ts, tid, &sp, &pc))
			snprintf(why, why_len, "thread %d cannot be examined (it left vfork())", (int)tid);
		else if ((hit = range_of(r, n, pc)) != NULL)
			snprintf(why, why_len, "thread %d is executing '%s' (rip 0x%llx, in vfork())",
				 (int)tid, hit->name, (unsigned long long)pc);
		else if ((s = lc_stack_scan(ts->pid, tid, sp, mem_open(ts, &memfd), r, n, &w)) > 0)
			snprintf(why, why_len, "thread %d has '%s' on its stack (return address 0x%llx "
				 "at 0x%llx, found scanning the stack of a thread in vfork())", (int)tid,
				 w.range->name, (unsigned long long)w.ret, (unsigned long long)w.at);
		else if (s < 0)
			snprintf(why, why_len, "thread %d's stack cannot be read (rsp 0x%llx, in vfork())",
				 (int)tid, (unsigned long long)sp);
		else
			continue;
		lc_debug("process %d: %s", (int)ts->pid, why);
		busy = 1;
		if (ex)
			ex->unknown = 1;        /* no frame to leave known: poll */
	}
	if (memfd >= 0)
		close(memfd);
	return busy;
}
