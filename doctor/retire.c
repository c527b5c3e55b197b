/*
 * retire.c - what becomes of a patch region once no jump leads into it
 * (unpatch, or a higher level replaced it).
 *
 * No thread executes in it and no stack returns into it (the busy check
 * said so), but patched code may have handed out pointers into it: a new
 * function stored as a callback or a signal handler, a new string literal
 * kept by the program, the address of a new static variable.  Unmapping
 * the region would turn the next use into a crash, so a region is unmapped
 * only when it is proven unreferenced, and otherwise RETIRED: it stays
 * mapped exactly as it was (header r--, text r-x, data rw-) and its header
 * says so (the magic becomes LC_RETIRED_MAGIC: `info` lists it as retired,
 * nobody takes it for an applied patch any more, a later `patch` of the
 * same patch maps a new region).  The data part stays writable on purpose:
 * old-patch code still reachable through a stored pointer, or the program
 * through a pointer to a new variable, may write it, and a fault there
 * would be the crash retiring avoids.
 *
 * The proof (lc_regions_referenced) runs with the world stopped, right
 * after the jumps are gone, when nothing new can take a pointer into the
 * region: no register of any thread, and no word of the memory a pointer
 * can live in points into it.  That memory is every readable mapping that
 * is writable or anonymous (heap, stacks, .data/.bss, anonymous mmaps,
 * other regions) but the regions being let go; on a live thread's stack
 * only rsp - 128 (the red zone) up.  Pages never touched (pagemap: neither
 * present nor swapped) hold zeroes and are not read.  Past
 * LC_RETIRE_SCAN_MAX bytes to read (counted from pagemap first) the proof
 * is not attempted (it would lengthen the stop, about 1 ms per MiB):
 * the region is retired.  Then, with the world running again,
 * the kernel's own pointers are asked for: the handler of every caught
 * signal (rt_sigaction run in one stopped thread, the answer written just
 * below its red zone).  Stale words (a freed heap block, a dead part of a
 * stack) count as references: the doctor errs towards keeping a region.
 * Not seen: a pointer the kernel holds elsewhere (a timer's sigev_value,
 * io_uring user_data) and pointers kept mangled (glibc's PTR_MANGLE).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/ptrace.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define LC_RETIRE_SCAN_MAX (2u << 20)
#define PAGE 4096u
#define RUN_MAX (1u << 20)              /* bytes read at once */
#define RED_ZONE 128

struct refscan {
	const struct lc_applied *a;
	size_t n;
	pid_t pid;
	size_t scanned;
	char why[160];
};

static int in_regions(const struct refscan *s, uint64_t v)
{
	for (size_t k = 0; k < s->n; k++)
		if (v >= s->a[k].addr && v < s->a[k].addr + s->a[k].hdr->size)
			return 1;
	return 0;
}

/* Words of [lo, hi) of the patient pointing into a region: 1 (why set),
 * 0 none, -1 over the cap.  Only pages present or swapped are read. */
static int scan_range(struct refscan *s, int pagemap, pid_t tid, uint64_t lo, uint64_t hi,
		      uint64_t *buf, int count_only)
{
	uint64_t ent[256];
	for (uint64_t p = lo & ~(uint64_t)(PAGE - 1); p < hi;) {
		size_t want = (size_t)((hi - p + PAGE - 1) / PAGE);
		if (want > 256)
			want = 256;
		ssize_t got = pread(pagemap, ent, want * 8, (off_t)(p / PAGE * 8));
		size_t npages = got > 0 ? (size_t)got / 8 : 0;
		if (npages == 0) {
			/* no pagemap: read everything */
			npages = want;
			for (size_t i = 0; i < npages; i++)
				ent[i] = 1ull << 63;
		}
		for (size_t i = 0; i < npages;) {
			if (!(ent[i] >> 62)) {          /* neither present nor swapped */
				i++;
				continue;
			}
			size_t j = i;
			while (j < npages && (ent[j] >> 62) && (j - i) * PAGE < RUN_MAX)
				j++;
			uint64_t from = p + i * PAGE, to = p + j * PAGE;
			if (from < lo)
				from = lo;
			if (to > hi)
				to = hi;
			size_t len = (size_t)(to - from);
			if (s->scanned + len > LC_RETIRE_SCAN_MAX)
				return -1;
			s->scanned += len;
			if (count_only) {
				i = j;
				continue;
			}
			struct iovec l = { buf, len }, r = { (void *)(uintptr_t)from, len };
			if (process_vm_readv(tid, &l, 1, &r, 1, 0) == (ssize_t)len) {
				for (size_t w = 0; w < len / 8; w++)
					if (in_regions(s, buf[w])) {
						snprintf(s->why, sizeof(s->why), "0x%llx at 0x%llx points "
							 "into it", (unsigned long long)buf[w],
							 (unsigned long long)(from + 8 * w));
						return 1;
					}
			}
			i = j;
		}
		p += npages * PAGE;
	}
	return 0;
}

static int regs_refer(struct refscan *s, pid_t tid)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0)
		return 0;
	const unsigned long long v[] = {
		r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10,
		r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.fs_base, r.gs_base,
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (in_regions(s, v[i])) {
			snprintf(s->why, sizeof(s->why), "a register of thread %d (0x%llx) points into it",
				 (int)tid, v[i]);
			return 1;
		}
	return 0;
}

int lc_regions_referenced(struct lc_threads *ts, const struct lc_applied *a, size_t n)
{
	struct refscan s = { a, n, ts->pid, 0, "" };
	char path[64], line[512];
	uint64_t rsp[256];
	size_t nrsp = 0;
	pid_t reader = 0;
	int rc = 0;
	uint64_t t0 = lc_now_us();

	for (size_t i = 0; i < ts->n && rc == 0; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct r;
		if (th->gone || !th->stopped || ptrace(PTRACE_GETREGS, th->tid, NULL, &r) != 0)
			continue;
		reader = th->tid;
		if (nrsp < 256)
			rsp[nrsp++] = r.rsp;
		rc = regs_refer(&s, th->tid);
	}
	if (rc || !reader) {
		if (!reader)
			snprintf(s.why, sizeof(s.why), "no thread to read its memory");
		goto out;
	}
	pid_t task = lc_proc_task(ts->pid);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)task);
	FILE *f = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)task);
	int pagemap = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t *buf = lc_xmalloc(RUN_MAX);
	if (!f) {
		rc = 1;
		snprintf(s.why, sizeof(s.why), "its maps cannot be read");
	}
	/* First what there is to read (pagemap only): over the cap, nothing is
	 * read at all; then the reading. */
	for (int count_only = 1; rc == 0 && f && count_only >= 0; count_only--) {
		s.scanned = 0;
		rewind(f);
		while (rc == 0 && fgets(line, sizeof(line), f)) {
			unsigned long long lo, hi;
			char perms[8], name[256] = "";
			if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &lo, &hi, perms, name) < 3 ||
			    perms[0] != 'r' || (perms[1] != 'w' && name[0]) ||
			    strcmp(name, "[vvar]") == 0 || strcmp(name, "[vsyscall]") == 0 ||
			    strcmp(name, "[vdso]") == 0 || in_regions(&s, lo))
				continue;
			uint64_t from = lo;
			for (size_t k = 0; k < nrsp; k++)       /* a live stack: its live part */
				if (rsp[k] >= lo && rsp[k] < hi)
					from = rsp[k] - RED_ZONE > lo ? rsp[k] - RED_ZONE : lo;
			rc = scan_range(&s, pagemap, reader, from, hi, buf, count_only);
			if (rc < 0)
				snprintf(s.why, sizeof(s.why), "not proven: more than %u MiB to read",
					 LC_RETIRE_SCAN_MAX >> 20);
		}
	}
	free(buf);
	if (pagemap >= 0)
		close(pagemap);
	if (f)
		fclose(f);
out:
	lc_debug("process %d: reference scan of %zu KiB in %llu us: %s", (int)ts->pid,
		 s.scanned >> 10, (unsigned long long)(lc_now_us() - t0),
		 rc ? s.why : "nothing points into the region(s)");
	if (rc)
		lc_info("process %d: the region(s) stay, retired: %s", (int)ts->pid, s.why);
	return rc != 0;
}

/* Signals with a handler (SigCgt of /proc/PID/status). */
static uint64_t caught_signals(pid_t pid)
{
	char path[64], line[128];
	uint64_t set = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)lc_proc_task(pid));
	FILE *f = fopen(path, "re");
	if (!f)
		return ~0ull;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "SigCgt:", 7) == 0)
			set = strtoull(line + 7, NULL, 16);
	fclose(f);
	return set;
}

/* The kernel's pointers: a signal handler (or restorer) in a region.  One
 * stopped thread `th`; 1 if one does (or cannot be read), 0 none. */
static int handlers_refer(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
			  struct lc_proc *pr, const struct lc_applied *a, size_t n)
{
	struct refscan s = { a, n, ts->pid, 0, "" };
	struct user_regs_struct r;
	uint64_t set = caught_signals(ts->pid);
	if (!set)
		return 0;
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) != 0)
		return 1;
	/* struct kernel_sigaction: handler, flags, restorer, mask */
	uint64_t buf = ((r.rsp - RED_ZONE - 64) & ~(uint64_t)15), act[4];
	for (int sig = 1; sig <= 64; sig++) {
		if (!(set >> (sig - 1) & 1))
			continue;
		const long args[6] = { sig, 0, (long)buf, 8, 0, 0 };
		long ret;
		if (lc_inject_syscall(ts, th, insn, SYS_rt_sigaction, args, &ret) != 0 || ret != 0 ||
		    lc_mem_read(pr, buf, act, sizeof(act)) != 0) {
			lc_info("process %d: the region(s) stay, retired: the handler of signal %d "
				"cannot be read", (int)ts->pid, sig);
			return 1;
		}
		if (in_regions(&s, act[0]) || in_regions(&s, act[2])) {
			lc_info("process %d: the region(s) stay, retired: the handler of signal %d "
				"(0x%llx) is in one", (int)ts->pid, sig, (unsigned long long)act[0]);
			return 1;
		}
	}
	return 0;
}

/* The journal says retired, then the magic does: no scan for applied
 * patches sees the region any more. */
int lc_region_retire(struct lc_proc *pr, const struct lc_applied *a)
{
	if (lc_journal_write(pr, a->addr, a->hdr, LC_REGION_RETIRED, 0, 0) != 0)
		return -1;
	return lc_mem_write(pr, a->addr, LC_RETIRED_MAGIC, sizeof(a->hdr->magic));
}

int lc_regions_let_go(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      struct lc_proc *pr, const struct lc_applied *a, size_t n, int referenced)
{
	int rc = 0;
	if (!referenced)
		referenced = !th || th->gone || handlers_refer(ts, th, insn, pr, a, n);
	for (size_t k = 0; k < n; k++) {
		/* registered unwind information is a reference too (libgcc's list
		 * points into the region): what is unmapped is taken out first */
		if (!referenced && lc_cfi_deregister(pr, ts, th, NULL, a[k].addr, a[k].hdr) == 0 &&
		    lc_region_unmap(ts, th, insn, a[k].addr, a[k].hdr->size) == 0)
			continue;
		if (lc_region_retire(pr, &a[k]) != 0) {
			lc_warn("process %d: the region at 0x%llx stays mapped and could not be "
				"marked retired", (int)ts->pid, (unsigned long long)a[k].addr);
			rc = -1;
			continue;
		}
		lc_info("process %d: region 0x%llx (%llu bytes) retired", (int)ts->pid,
			(unsigned long long)a[k].addr, (unsigned long long)a[k].hdr->size);
	}
	return rc;
}

int lc_regions_retired(struct lc_proc *pr, struct lc_applied **out, size_t *n)
{
	return lc_regions_find(pr, LC_RETIRED_MAGIC, out, n);
}
