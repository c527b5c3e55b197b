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
 * other regions) but the regions being let go; in a mapping that holds
 * live threads' stack pointers, from the red zone (rsp - 128) of the
 * lowest one up.  Pages never touched (pagemap: neither present nor
 * swapped) hold zeroes or the file's bytes and are not read, but a shared
 * mapping is read whole (another process may have written it, and its
 * pages leave the page tables without going to swap).  Memory that cannot
 * be read (device memory) and a thread waiting in vfork() (registers not
 * readable) leave it not proven.  Past LC_RETIRE_SCAN_MAX bytes to read
 * (counted first) the proof is not attempted (it would lengthen the stop,
 * about 1 ms per MiB): the region is retired.  It is made cheap inside
 * the stop: the registers are those the stack check read in this stop,
 * maps is read in one go and every range found with one pagemap read per
 * mapping, and the ranges are read with as few process_vm_readv calls as
 * they fit (1024 ranges, 1 MiB a call).  Before the stop (lc_proof_ready)
 * maps and pagemap are opened (a /proc/PID file holds the mm and shows it
 * as it is when read: in the stop) and the buffers touched, so that the
 * stop has no open and no page fault of the doctor's.  Then, with the
 * world running again, the kernel's own pointers are asked for: the
 * handler of every caught signal (rt_sigaction run in one stopped thread,
 * the answer written just below its red zone).  Stale words (a freed heap block, a dead part of a
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
#define PAGEMAP_BATCH 512               /* pagemap entries read at once */
#define IOV_BATCH 1024                  /* ranges read by one process_vm_readv (IOV_MAX) */

struct refrange {
	uint64_t lo, hi;
};

/* What ranges_refer reads into (not allocated in the stop, and touched
 * before it by lc_proof_ready, once for the doctor's life). */
static struct iovec refs_iov[IOV_BATCH];
static uint64_t refs_buf[RUN_MAX / 8];

struct refscan {
	const struct lc_applied *a;
	size_t n;
	pid_t pid;
	uint64_t min, max;              /* of every region: most words are outside */
	size_t scanned;
	char why[160];
	struct refrange *r;             /* what is to be read, in address order */
	size_t nr, cap;
};

static int in_regions(const struct refscan *s, uint64_t v)
{
	if (v < s->min || v >= s->max)
		return 0;
	for (size_t k = 0; k < s->n; k++)
		if (v >= s->a[k].addr && v < s->a[k].addr + s->a[k].hdr->size)
			return 1;
	return 0;
}

/* [lo, hi) is to be read (joined to the range before it when they touch):
 * 0, or -1 past the cap. */
static int want_range(struct refscan *s, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return 0;
	if (s->scanned + (hi - lo) > LC_RETIRE_SCAN_MAX)
		return -1;
	s->scanned += (size_t)(hi - lo);
	if (s->nr && s->r[s->nr - 1].hi == lo && hi - s->r[s->nr - 1].lo <= RUN_MAX) {
		s->r[s->nr - 1].hi = hi;
		return 0;
	}
	if (s->nr == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->r = lc_xrealloc(s->r, s->cap * sizeof(*s->r));
	}
	s->r[s->nr++] = (struct refrange){ lo, hi };
	return 0;
}

/* The pages of [lo, hi) that hold something (pagemap: present or swapped;
 * a page never touched holds zeroes or the file's bytes) are to be read;
 * every page if `all` or without pagemap.  0, or -1 past the cap. */
static int want_pages(struct refscan *s, int pagemap, uint64_t lo, uint64_t hi, int all)
{
	uint64_t ent[PAGEMAP_BATCH];
	for (uint64_t p = lo & ~(uint64_t)(PAGE - 1); p < hi;) {
		size_t want = (size_t)((hi - p + PAGE - 1) / PAGE);
		if (want > PAGEMAP_BATCH)
			want = PAGEMAP_BATCH;
		ssize_t got = all || pagemap < 0 ? 0 : pread(pagemap, ent, want * 8, (off_t)(p / PAGE * 8));
		size_t npages = got > 0 ? (size_t)got / 8 : 0;
		if (npages == 0) {
			npages = want;
			for (size_t i = 0; i < npages; i++)
				ent[i] = 1ull << 63;
		}
		for (size_t i = 0; i < npages; i++) {
			if (!(ent[i] >> 62))            /* neither present nor swapped */
				continue;
			uint64_t from = p + i * PAGE, to = from + PAGE;
			if (want_range(s, from < lo ? lo : from, to > hi ? hi : to) != 0)
				return -1;
		}
		p += npages * PAGE;
	}
	return 0;
}

/* The words of s->r[first, first + k), read into buf (len bytes): 1 (why
 * set) if one points into a region. */
static int words_refer(struct refscan *s, const uint64_t *buf, size_t first, size_t k)
{
	size_t off = 0;
	for (size_t i = first; i < first + k; i++) {
		size_t words = (size_t)(s->r[i].hi - s->r[i].lo) / 8;
		for (size_t w = 0; w < words; w++)
			if (in_regions(s, buf[off + w])) {
				snprintf(s->why, sizeof(s->why), "0x%llx at 0x%llx points into it",
					 (unsigned long long)buf[off + w],
					 (unsigned long long)(s->r[i].lo + 8 * w));
				return 1;
			}
		off += words;
	}
	return 0;
}

/* Every range of s->r read (as many at once as one process_vm_readv
 * takes) and looked at: 1 a word points into a region, or a range could
 * not be read (why set), else 0. */
static int ranges_refer(struct refscan *s, pid_t tid)
{
	struct iovec *rem = refs_iov;
	uint64_t *buf = refs_buf;
	int rc = 0;
	for (size_t i = 0; i < s->nr && rc == 0;) {
		size_t k = 0, len = 0;
		while (i + k < s->nr && k < IOV_BATCH &&
		       len + (s->r[i + k].hi - s->r[i + k].lo) <= RUN_MAX) {
			rem[k].iov_base = (void *)(uintptr_t)s->r[i + k].lo;
			rem[k].iov_len = (size_t)(s->r[i + k].hi - s->r[i + k].lo);
			len += rem[k++].iov_len;
		}
		struct iovec l = { buf, len };
		ssize_t got = process_vm_readv(tid, &l, 1, rem, (unsigned long)k, 0);
		if (got != (ssize_t)len) {
			/* Memory that cannot be read (device memory, a shared file
			 * cut short) is memory that was not looked at. */
			size_t done = got > 0 ? (size_t)got : 0, j = 0;
			while (j < k && done >= rem[j].iov_len)
				done -= rem[j++].iov_len;
			snprintf(s->why, sizeof(s->why), "not proven: 0x%llx cannot be read",
				 (unsigned long long)((uintptr_t)rem[j < k ? j : k - 1].iov_base + done));
			rc = 1;
			break;
		}
		rc = words_refer(s, buf, i, k);
		i += k;
	}
	return rc;
}

static int proc_open(pid_t tid, const char *what)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)tid, what);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void lc_proof_ready(struct lc_proof *p, pid_t pid)
{
	static int touched;
	pid_t task = lc_proc_task(pid);        /* the main thread may have exited */
	p->maps = proc_open(task, "maps");
	p->pagemap = proc_open(task, "pagemap");
	p->cap = 64 << 10;
	p->buf = lc_xmalloc(p->cap);
	lc_pages_touch(p->buf, p->cap);
	p->rcap = 1024;
	p->ranges = lc_xmalloc(p->rcap * sizeof(struct refrange));
	lc_pages_touch(p->ranges, p->rcap * sizeof(struct refrange));
	p->ready = 1;
	if (!touched) {
		lc_pages_touch(refs_iov, sizeof(refs_iov));
		lc_pages_touch(refs_buf, sizeof(refs_buf));
		touched = 1;
	}
}

void lc_proof_end(struct lc_proof *p)
{
	if (!p->ready)
		return;
	if (p->maps >= 0)
		close(p->maps);
	if (p->pagemap >= 0)
		close(p->pagemap);
	free(p->buf);
	p->buf = NULL;
	free(p->ranges);
	p->ranges = NULL;
	p->ready = 0;
}

/* Reads fd to its end into *buf (cap bytes, grown as needed) and
 * NUL-terminates it: the length, or -1. */
static ssize_t maps_read_fd(int fd, char **buf, size_t *cap)
{
	size_t len = 0;
	for (;;) {
		if (*cap - len < 8192)
			*buf = lc_xrealloc(*buf, *cap *= 2);
		ssize_t got = read(fd, *buf + len, *cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	(*buf)[len] = '\0';
	return (ssize_t)len;
}

/* The patient's maps, whole, NUL-terminated, into p's buffer: from p's
 * file (read from its start: the kernel makes the text at the read) or,
 * if that gives nothing (the mm it holds is gone: an exec), from
 * /proc/TID/maps of a stopped thread.  0, or -1 if neither can be read. */
static int maps_read(struct lc_proof *p, pid_t tid)
{
	if (p->maps >= 0 && lseek(p->maps, 0, SEEK_SET) == 0 &&
	    maps_read_fd(p->maps, &p->buf, &p->cap) > 0)
		return 0;
	int fd = proc_open(tid, "maps");
	if (fd < 0)
		return -1;
	ssize_t len = maps_read_fd(fd, &p->buf, &p->cap);
	close(fd);
	return len > 0 ? 0 : -1;
}

/* One line of maps: "lo-hi perms offset dev inode   name".  The name is
 * the rest of the line (empty for an anonymous mapping).  0, or -1. */
static int maps_line(char *line, uint64_t *lo, uint64_t *hi, const char **perms, const char **name)
{
	char *p = line, *end;
	*lo = strtoull(p, &end, 16);
	if (end == p || *end != '-')
		return -1;
	p = end + 1;
	*hi = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || strlen(end + 1) < 4)
		return -1;
	*perms = end + 1;
	p = end + 5;
	for (int field = 0; field < 3; field++) {       /* offset, dev, inode */
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ')
		p++;
	*name = p;
	return 0;
}

struct live_sp {
	uint64_t sp;
	pid_t tid;
};

static int cmp_sp(const void *x, const void *y)
{
	uint64_t a = ((const struct live_sp *)x)->sp, b = ((const struct live_sp *)y)->sp;
	return a < b ? -1 : a > b;
}

/* Words of the stack snapshot [lo, lo + len) at data from `from` on,
 * already read in this stop by the stack check (unwind.c): 1 (why set)
 * if one points into a region, 0 none, -1 past the cap. */
static int snapshot_refers(struct refscan *s, uint64_t lo, size_t len, const uint8_t *data,
			   uint64_t from)
{
	size_t off = (size_t)(from - lo) & ~(size_t)7;
	if (s->scanned + (len - off) > LC_RETIRE_SCAN_MAX)
		return -1;
	s->scanned += len - off;
	for (; off + 8 <= len; off += 8) {
		uint64_t v;
		memcpy(&v, data + off, 8);
		if (in_regions(s, v)) {
			snprintf(s->why, sizeof(s->why), "0x%llx at 0x%llx points into it",
				 (unsigned long long)v, (unsigned long long)(lo + off));
			return 1;
		}
	}
	return 0;
}

int lc_regions_referenced(struct lc_threads *ts, const struct lc_unwind *u, struct lc_proof *p,
			  const struct lc_applied *a, size_t n)
{
	struct lc_proof own = { 0, -1, -1, NULL, 0, NULL, 0 };
	if (!p || !p->ready) {
		p = &own;
		own.cap = 64 << 10;
		own.buf = lc_xmalloc(own.cap);
	}
	struct refscan s = { .a = a, .n = n, .pid = ts->pid, .min = UINT64_MAX };
	s.r = p->ranges;
	s.cap = p->rcap;
	struct live_sp *rsp = lc_xcalloc(ts->n ? ts->n : 1, sizeof(*rsp));
	size_t nrsp = 0;
	pid_t reader = 0;
	int rc = 0;
	uint64_t t0 = lc_now_us();
	char *maps = NULL;
	int pagemap = p->pagemap;

	for (size_t k = 0; k < n; k++) {
		if (a[k].addr < s.min)
			s.min = a[k].addr;
		if (a[k].addr + a[k].hdr->size > s.max)
			s.max = a[k].addr + a[k].hdr->size;
	}
	/* The registers: as the stack check read them in this stop (nothing
	 * changed them since), else read now. */
	for (size_t i = 0; i < ts->n && rc == 0; i++) {
		struct lc_thread *th = &ts->t[i];
		struct user_regs_struct r;
		if (th->gone || !th->stopped)
			continue;
		if (th->regs_ok)
			r = th->regs;
		else if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) != 0)
			continue;
		reader = th->tid;
		rsp[nrsp++] = (struct live_sp){ r.rsp, th->tid };
		const unsigned long long v[] = {
			r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10,
			r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.fs_base, r.gs_base,
		};
		for (size_t j = 0; j < sizeof(v) / sizeof(v[0]) && rc == 0; j++)
			if (in_regions(&s, v[j])) {
				snprintf(s.why, sizeof(s.why), "a register of thread %d (0x%llx) points "
					 "into it", (int)th->tid, v[j]);
				rc = 1;
			}
	}
	/* A thread waiting in vfork() (attach.c) is not stopped: its
	 * registers cannot be read. */
	for (size_t i = 0; i < ts->nvb && rc == 0; i++)
		if (ts->vb[i].tid) {
			snprintf(s.why, sizeof(s.why), "not proven: thread %d waits in vfork() (its "
				 "registers cannot be read)", (int)ts->vb[i].tid);
			rc = 1;
		}
	if (rc || !reader) {
		if (!reader)
			snprintf(s.why, sizeof(s.why), "no thread to read its memory");
		rc = 1;
		goto out;
	}
	qsort(rsp, nrsp, sizeof(*rsp), cmp_sp);
	/* Opened before the stop, else through a stopped thread of it (the
	 * main one may have exited). */
	if (pagemap < 0)
		pagemap = proc_open(reader, "pagemap");
	maps = maps_read(p, reader) == 0 ? p->buf : NULL;
	if (!maps) {
		rc = 1;
		snprintf(s.why, sizeof(s.why), "its maps cannot be read");
		goto out;
	}
	/* What there is to read, every mapping a pointer can live in: first
	 * listed (pagemap only: over the cap, nothing is read at all), then
	 * read, as few system calls as can be. */
	for (char *line = maps, *next; rc == 0 && *line; line = next) {
		next = strchr(line, '\n');
		next = next ? (*next = '\0', next + 1) : line + strlen(line);
		uint64_t lo, hi;
		const char *perms, *name;
		if (maps_line(line, &lo, &hi, &perms, &name) != 0 || perms[0] != 'r' ||
		    (perms[1] != 'w' && name[0]) || strcmp(name, "[vvar]") == 0 ||
		    strcmp(name, "[vvar_vclock]") == 0 || strcmp(name, "[vsyscall]") == 0 ||
		    strcmp(name, "[vdso]") == 0 || in_regions(&s, lo))
			continue;
		/* A live stack: from the red zone of its lowest stack pointer up
		 * (what lies lower is dead; several threads may have their
		 * stacks in one mapping). */
		uint64_t from = lo;
		size_t k = 0, k2;
		while (k < nrsp && rsp[k].sp < lo)
			k++;
		for (k2 = k; k2 < nrsp && rsp[k2].sp < hi; k2++)
			;
		if (k < k2)
			from = (rsp[k].sp & ~(uint64_t)7) - RED_ZONE > lo ?
			       (rsp[k].sp & ~(uint64_t)7) - RED_ZONE : lo;
		/* One thread's stack, which the stack check read in this stop
		 * up to the end of this very mapping: its words are looked at
		 * there (what lies below the snapshot, through pagemap). */
		uint64_t tlo;
		size_t tlen;
		const uint8_t *data;
		int w = 0;
		if (k2 == k + 1 && perms[3] != 's' &&
		    lc_unwind_top(u, rsp[k].tid, &tlo, &tlen, &data) == 0 && tlo + tlen == hi &&
		    tlo >= from && tlo < hi) {
			w = snapshot_refers(&s, tlo, tlen, data, tlo);
			if (w == 0)
				w = want_pages(&s, pagemap, from, tlo, 0);
		} else {
			/* A shared mapping may hold what another process wrote, and
			 * its pages leave the page tables without going to swap: all
			 * of it. */
			w = want_pages(&s, pagemap, from, hi, perms[3] == 's');
		}
		if (w < 0)
			snprintf(s.why, sizeof(s.why), "not proven: more than %u MiB to read",
				 LC_RETIRE_SCAN_MAX >> 20);
		rc = w != 0;
	}
	if (rc == 0)
		rc = ranges_refer(&s, reader);
out:
	free(own.buf);
	if (p == &own) {
		free(s.r);
	} else {                        /* perhaps grown: kept */
		p->ranges = s.r;
		p->rcap = s.cap;
	}
	free(rsp);
	if (pagemap >= 0 && pagemap != p->pagemap)
		close(pagemap);
	lc_debug("process %d: reference scan of %zu KiB (%zu ranges) in %llu us: %s", (int)ts->pid,
		 s.scanned >> 10, s.nr, (unsigned long long)(lc_now_us() - t0),
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
	struct refscan s = { .a = a, .n = n, .pid = ts->pid, .min = 0, .max = UINT64_MAX };
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
