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
 * other regions) but the regions being let go and the kernel's, and the
 * pages of a private read-only file mapping that are the process's own
 * copies (pagemap: present and no file page, or swapped): a RELRO segment,
 * a table made read-only after a pointer was stored in it, but not the
 * file's own bytes (code, constants); in a mapping that holds
 * live threads' stack pointers, from the red zone (rsp - 128) of the
 * lowest one up.  Pages never touched (pagemap: neither present nor
 * swapped) hold zeroes or the file's bytes and are not read, but a shared
 * mapping is read whole (another process may have written it, and its
 * pages leave the page tables without going to swap).  Memory that cannot
 * be read (device memory), a readable shared mapping registered with
 * userfaultfd (uffd_shared: its read would wait for the process's own
 * fault handler) and a thread waiting in vfork() (registers not readable)
 * leave it not proven.  Past LC_RETIRE_SCAN_MAX bytes to read
 * (counted first) the proof is not attempted (it would lengthen the stop,
 * about 1 ms per MiB): the region is retired.  It is made cheap inside
 * the stop: the registers are those the stack check read in this stop,
 * the mappings are asked for with PROCMAP_QUERY (Linux 6.11; else, or
 * with LIBCARE_NO_PROCMAP_QUERY=1, maps is read in one go and parsed),
 * pagemap is read once for mappings close together, the words are looked
 * at four at a time, and the ranges are read with as few process_vm_readv
 * calls as they fit (1024 ranges, 1 MiB a call).  Before the stop
 * (lc_proof_ready) maps and pagemap are opened (a /proc/PID file holds
 * the mm and shows it as it is when read: in the stop), the buffers
 * touched, so that the stop has no open and no page fault of the
 * doctor's, and the same walk and reads done once with the world running,
 * so that the stop finds them warm in the caches.  Then, with the
 * world running again, the kernel's own pointers are asked for: the
 * handler of every caught signal (rt_sigaction run in one stopped thread,
 * the answer written just below its red zone).  Stale words (a freed heap block, a dead part of a
 * stack) count as references: the doctor errs towards keeping a region.
 * Not seen: a pointer the kernel holds elsewhere (a timer's sigev_value,
 * io_uring user_data), pointers kept mangled (glibc's PTR_MANGLE), a
 * pointer in a mapping made unreadable (PROT_NONE: reading the pagemap of
 * malloc's reserved arenas, 64 MiB each, would lengthen the stop), in a
 * read-only shared mapping (a file's: read whole it could be large) or in
 * code (written only by a JIT).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
#define PAGEMAP_BATCH 4096              /* pagemap entries read at once (16 MiB) */
#define SPAN_GAP (512 * PAGE)           /* what pagemap is asked about across, between spans, */
#define SPAN_SKIP (16 * PAGE)           /* of which mapped (its present pages cost) */
#define IOV_BATCH 1024                  /* ranges read by one process_vm_readv (IOV_MAX) */

/* PROCMAP_QUERY, the ioctl of /proc/PID/maps that answers for one mapping
 * at a time (Linux 6.11, include/uapi/linux/fs.h; Debian 12's headers
 * lack it): the same struct (104 bytes, the size is in the number) and
 * flags under names of ours. */
struct lc_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start, vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define LC_PROCMAP_QUERY _IOWR('f', 17, struct lc_procmap_query)
#define LC_PMQ_READABLE 0x01            /* vma_flags, and the query's filter */
#define LC_PMQ_WRITABLE 0x02
#define LC_PMQ_EXECUTABLE 0x04
#define LC_PMQ_SHARED 0x08
#define LC_PMQ_COVERING_OR_NEXT 0x10    /* the mapping at query_addr or the next one */

struct refrange {
	uint64_t lo, hi;
};

/* Part of a mapping that may hold a pointer: pagemap says which of its
 * pages to read (all of them if `all`; of a read-only file mapping only
 * its pages of its own, `cow`). */
struct pmspan {
	uint64_t lo, hi;
	int all;
	int join;                       /* to the span before (want_spans) */
	int cow;
};

/* What ranges_refer reads into and pagemap's answers (not allocated in
 * the stop, and touched before it by lc_proof_ready, once for the
 * doctor's life). */
static struct iovec refs_iov[IOV_BATCH];
static uint64_t refs_buf[RUN_MAX / 8];
static uint64_t pm_ent[PAGEMAP_BATCH];

struct refscan {
	const struct lc_applied *a;
	size_t n;
	pid_t pid;
	uint64_t min, max;              /* of every region: most words are outside */
	size_t scanned;
	char why[160];
	struct refrange *r;             /* what is to be read, in address order */
	size_t nr, cap;
	struct pmspan *sp;              /* what pagemap is asked about, in address order */
	size_t nsp, spcap;
	int pagemap_reads;
	uint64_t skipped;               /* bytes mapped but not wanted since the last span */
	const char *walk;               /* how the mappings were listed */
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

/* The index of the first word of w[0, n) (8 bytes each, any alignment)
 * that points into a region, or n.  Most words are not even between the
 * lowest and the highest region: four of them at a time are told so with
 * one subtraction and comparison each. */
static size_t first_hit(const struct refscan *s, const unsigned char *w, size_t n)
{
	const uint64_t min = s->min, span = s->max - s->min;
	for (size_t i = 0; i < n; i += 4) {
		uint64_t v[4] = { 0, 0, 0, 0 };
		size_t m = n - i < 4 ? n - i : 4;
		memcpy(v, w + 8 * i, 8 * m);
		if (((v[0] - min < span) | (v[1] - min < span) | (v[2] - min < span) |
		     (v[3] - min < span)) == 0)
			continue;
		for (size_t j = 0; j < m; j++)
			if (in_regions(s, v[j]))
				return i + j;
	}
	return n;
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

/* [lo, hi) of a mapping may hold a pointer (every page of it if `all`):
 * pagemap is asked about it later, with its neighbours (want_spans). */
static void want_span(struct refscan *s, uint64_t lo, uint64_t hi, int all)
{
	if (hi <= lo)
		return;
	if (s->nsp == s->spcap) {
		s->spcap = s->spcap ? 2 * s->spcap : 256;
		s->sp = lc_xrealloc(s->sp, s->spcap * sizeof(*s->sp));
	}
	s->sp[s->nsp++] = (struct pmspan){ lo, hi, all, s->skipped <= SPAN_SKIP, 0 };
	s->skipped = 0;
}

/* [lo, hi) is a private read-only file mapping (a RELRO segment, a table
 * made read-only after the program filled it): its pages written since
 * they were mapped are the process's own copies (pagemap: present and not
 * a file page, or swapped), may hold a pointer and are read; the file's
 * own pages are not. */
static void want_cow_span(struct refscan *s, uint64_t lo, uint64_t hi)
{
	want_span(s, lo, hi, 0);
	if (s->nsp && s->sp[s->nsp - 1].lo == lo)
		s->sp[s->nsp - 1].cow = 1;
}

/* [lo, hi) is mapped but holds no pointer (a file's code, the kernel's
 * [vvar]): pagemap is not asked about it if it is large (a present page
 * costs the kernel more to answer for than a hole). */
static void skip_span(struct refscan *s, uint64_t lo, uint64_t hi)
{
	s->skipped += hi - lo;
}

/* The pages of spans [i, j) (close together: one pagemap read covers
 * them, and what lies between) that hold something (pagemap: present or
 * swapped; a page never touched holds zeroes or the file's bytes) are to
 * be read; every page of an `all` span, or without pagemap.  0, or -1
 * past the cap. */
static int want_group(struct refscan *s, int pagemap, size_t i, size_t j)
{
	uint64_t base = s->sp[i].lo & ~(uint64_t)(PAGE - 1), end = s->sp[j - 1].hi;
	size_t k = i;
	while (base < end) {
		size_t want = (size_t)((end - base + PAGE - 1) / PAGE);
		if (want > PAGEMAP_BATCH)
			want = PAGEMAP_BATCH;
		int ask = 0;
		for (size_t m = k; m < j && s->sp[m].lo < base + want * PAGE; m++)
			ask |= !s->sp[m].all;
		ssize_t got = 0;
		if (ask && pagemap >= 0) {
			got = pread(pagemap, pm_ent, want * 8, (off_t)(base / PAGE * 8));
			s->pagemap_reads++;
		}
		size_t npages = got > 0 ? (size_t)got / 8 : 0;
		if (npages == 0) {
			npages = want;
			for (size_t m = 0; m < npages; m++)
				pm_ent[m] = 1ull << 63;
		}
		uint64_t wend = base + npages * PAGE;
		for (; k < j && s->sp[k].lo < wend; k++) {
			const struct pmspan *sp = &s->sp[k];
			uint64_t lo = sp->lo > base ? sp->lo : base, hi = sp->hi < wend ? sp->hi : wend;
			for (uint64_t pg = lo & ~(uint64_t)(PAGE - 1); pg < hi; pg += PAGE) {
				uint64_t e = pm_ent[(pg - base) / PAGE];
				if (!sp->all && !(e >> 62))
					continue;       /* neither present nor swapped */
				if (sp->cow && (e >> 62) == 2 && (e >> 61 & 1))
					continue;       /* present, the file's page */
				if (want_range(s, pg > sp->lo ? pg : sp->lo,
					       pg + PAGE < sp->hi ? pg + PAGE : sp->hi) != 0)
					return -1;
			}
			if (sp->hi > wend)
				break;          /* goes on in the next window */
		}
		base = wend;
	}
	return 0;
}

/* What of the spans is to be read: spans less than SPAN_GAP apart with
 * little mapped between them (a library's data and the anonymous mapping
 * after it, the thread stacks side by side) with one pagemap read (a hole
 * between them reads as never touched), as few reads as PAGEMAP_BATCH
 * allows.  0, or -1 past the cap. */
static int want_spans(struct refscan *s, int pagemap)
{
	for (size_t i = 0, j; i < s->nsp; i = j) {
		for (j = i + 1; j < s->nsp && s->sp[j].join && s->sp[j].lo - s->sp[j - 1].hi <= SPAN_GAP &&
				s->sp[j].hi - s->sp[i].lo <= (uint64_t)PAGEMAP_BATCH * PAGE; j++)
			;
		if (want_group(s, pagemap, i, j) != 0)
			return -1;
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
		size_t w = first_hit(s, (const unsigned char *)(buf + off), words);
		if (w < words) {
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

static void query_choose(void);
static void proof_warm(struct lc_proof *p, pid_t pid);

static int maps_line(char *line, uint64_t *lo, uint64_t *hi, const char **perms, const char **name);

/* Of one line of maps or smaps (NUL-terminated): 1 if it is a mapping the
 * proof reads whole: readable, shared, and writable or not a file's (as
 * maps_text_walk tells: a read-only shared file mapping, such as glibc's
 * gconv-modules.cache, is not read at all); 0 another mapping; -1 no
 * mapping's line. */
static int read_whole(char *line)
{
	uint64_t lo, hi;
	const char *perms, *name;
	if (maps_line(line, &lo, &hi, &perms, &name) != 0)
		return -1;
	return perms[0] == 'r' && perms[3] == 's' && (perms[1] == 'w' || !name[0] || name[0] == '[');
}

/* The next line of a text, cut at its end: where it starts, or NULL at the
 * end; *rest is moved past it. */
static char *next_line(char **rest)
{
	char *l = *rest, *end;
	if (!l || !*l)
		return NULL;
	end = strchr(l, '\n');
	if (end)
		*end++ = '\0';
	*rest = end;
	return l;
}

/* 1 if a mapping the proof reads whole (read_whole) of process `pid`
 * (through its thread `task`) is registered with userfaultfd for missing
 * or minor faults (smaps' VmFlags "um", "ui"), else 0.  Such a read takes
 * in pages not mapped and would wait for the patient's own fault handler,
 * which is stopped then (the read waits killably, for ever), or which may
 * never answer.  smaps costs the kernel a walk of the page tables, so it
 * is read only when maps shows such a mapping.  A /proc file that cannot
 * be read says 0: the proof then goes on as before. */
static int uffd_shared(pid_t task)
{
	char path[64], *rest, *l;
	struct lc_buf b = LC_BUF_INIT;
	int found = 0, whole = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)task);
	if (lc_buf_read_file(&b, path) != 0)
		goto out;
	for (rest = b.data; !whole && (l = next_line(&rest));)
		whole = read_whole(l) == 1;
	if (!whole)
		goto out;
	b.len = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)task);
	if (lc_buf_read_file(&b, path) != 0)
		goto out;
	for (rest = b.data; !found && (l = next_line(&rest));) {
		if (strncmp(l, "VmFlags:", 8) == 0) {
			char *save = NULL;
			for (char *f = strtok_r(l + 8, " ", &save); f && whole; f = strtok_r(NULL, " ", &save))
				found |= strcmp(f, "um") == 0 || strcmp(f, "ui") == 0;
			continue;
		}
		int w = read_whole(l);  /* a mapping's first line: the flags are its */
		if (w >= 0)
			whole = w;
	}
out:
	lc_buf_free(&b);
	return found;
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
	p->scap = 1024;
	p->spans = lc_xmalloc(p->scap * sizeof(struct pmspan));
	lc_pages_touch(p->spans, p->scap * sizeof(struct pmspan));
	p->ready = 1;
	if (!touched) {
		lc_pages_touch(refs_iov, sizeof(refs_iov));
		lc_pages_touch(refs_buf, sizeof(refs_buf));
		lc_pages_touch(pm_ent, sizeof(pm_ent));
		touched = 1;
	}
	query_choose();
	p->uffd = uffd_shared(task);
	if (!p->uffd)
		proof_warm(p, task);
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
	free(p->spans);
	p->spans = NULL;
	p->ready = 0;
}

/* Reads fd to its end into *buf (cap bytes, grown as needed) and
 * NUL-terminates it: the length, or -1. */
static ssize_t maps_read_fd(int fd, char **buf, size_t *cap)
{
	size_t len = 0;
	for (;;) {
		if (*cap - len < 8192) {
			*cap = *cap ? 2 * *cap : 64 << 10;
			*buf = lc_xrealloc(*buf, *cap);
		}
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
	size_t words = (len - off) / 8, w = first_hit(s, data + off, words);
	if (w < words) {
		uint64_t v;
		memcpy(&v, data + off + 8 * w, 8);
		snprintf(s->why, sizeof(s->why), "0x%llx at 0x%llx points into it",
			 (unsigned long long)v, (unsigned long long)(lo + off + 8 * w));
		return 1;
	}
	return 0;
}

/* The live stacks, for the walk over the mappings. */
struct stacks {
	const struct lc_unwind *u;
	const struct live_sp *rsp;      /* sorted */
	size_t nrsp;
};

/* The mapping [lo, hi), which a pointer may live in (`shared`: another
 * process may write it): what of it is to be read, as spans for pagemap
 * (want_span).  A live stack from the red zone of its lowest stack
 * pointer up (what lies lower is dead; several threads may have their
 * stacks in one mapping); one thread's stack that the stack check read in
 * this stop up to the end of this very mapping is looked at there (what
 * lies below the snapshot, through pagemap).  A shared mapping may hold
 * what another process wrote, and its pages leave the page tables without
 * going to swap: all of it.  0, 1 (why set) a word of a snapshot points
 * into a region, -1 past the cap. */
static int mapping_want(struct refscan *s, const struct stacks *st, uint64_t lo, uint64_t hi,
			int shared)
{
	uint64_t from = lo;
	size_t k = 0, k2;
	while (k < st->nrsp && st->rsp[k].sp < lo)
		k++;
	for (k2 = k; k2 < st->nrsp && st->rsp[k2].sp < hi; k2++)
		;
	if (k < k2)
		from = (st->rsp[k].sp & ~(uint64_t)7) - RED_ZONE > lo ?
		       (st->rsp[k].sp & ~(uint64_t)7) - RED_ZONE : lo;
	uint64_t tlo;
	size_t tlen;
	const uint8_t *data;
	if (k2 == k + 1 && !shared && lc_unwind_top(st->u, st->rsp[k].tid, &tlo, &tlen, &data) == 0 &&
	    tlo + tlen == hi && tlo >= from && tlo < hi) {
		int w = snapshot_refers(s, tlo, tlen, data, tlo);
		if (w == 0)
			want_span(s, from, tlo, 0);
		return w;
	}
	want_span(s, from, hi, shared);
	return 0;
}

/* The kernel's own mappings, which hold no pointer of the program's and
 * some of which cannot be read. */
static int kernel_mapping(const char *name)
{
	return strcmp(name, "[vvar]") == 0 || strcmp(name, "[vvar_vclock]") == 0 ||
	       strcmp(name, "[vsyscall]") == 0 || strcmp(name, "[vdso]") == 0;
}

/* The mappings a pointer may live in, from the maps text (NUL-terminated,
 * cut into lines here): every readable one that is writable or anonymous,
 * and the pages of its own of a private read-only file mapping that is not
 * code (want_cow_span), but the kernel's ([vvar], [vdso]...) and the
 * regions.  As mapping_want. */
static int maps_text_walk(struct refscan *s, const struct stacks *st, char *maps)
{
	int rc = 0;
	for (char *line = maps, *next; rc == 0 && *line; line = next) {
		next = strchr(line, '\n');
		next = next ? (*next = '\0', next + 1) : line + strlen(line);
		uint64_t lo, hi;
		const char *perms, *name;
		if (maps_line(line, &lo, &hi, &perms, &name) != 0)
			continue;
		int file = name[0] && name[0] != '[';   /* a path, or anon_inode:... */
		if (perms[0] != 'r' || kernel_mapping(name) || in_regions(s, lo) ||
		    (perms[1] != 'w' && file && (perms[2] == 'x' || perms[3] == 's'))) {
			skip_span(s, lo, hi);
			continue;
		}
		if (perms[1] != 'w' && file)
			want_cow_span(s, lo, hi);
		else
			rc = mapping_want(s, st, lo, hi, perms[3] == 's');
	}
	return rc;
}

/* 1 if the anonymous mapping at addr is the kernel's ([vvar], [vdso]:
 * the name maps shows), 0 not, -1 the ioctl failed. */
static int query_kernel(int fd, uint64_t addr)
{
	char name[32];
	struct lc_procmap_query q = { .size = sizeof(q), .query_addr = addr,
				      .vma_name_size = sizeof(name),
				      .vma_name_addr = (uint64_t)(uintptr_t)name };
	name[0] = '\0';
	if (ioctl(fd, LC_PROCMAP_QUERY, &q) != 0)
		return errno == ENAMETOOLONG ? 0 : -1;  /* longer than theirs */
	return kernel_mapping(name);
}

/* The same mappings as maps_text_walk, asked for one at a time with
 * PROCMAP_QUERY on the maps file fd (only the readable ones; no text made
 * and parsed, no file's path).  A writable mapping is read whatever its
 * name (the kernel's own are never writable); a read-only one if it is
 * anonymous (no file) and not the kernel's, or the pages of its own of a
 * private read-only file mapping that is not code.  As mapping_want, or
 * -2 if the ioctl is missing (before Linux 6.11) or failed: nothing of s
 * is left then, the text walk starts over. */
static int maps_query_walk(struct refscan *s, const struct stacks *st, int fd)
{
	for (uint64_t addr = 0;;) {
		struct lc_procmap_query q = { .size = sizeof(q), .query_addr = addr,
					      .query_flags = LC_PMQ_READABLE | LC_PMQ_COVERING_OR_NEXT };
		if (ioctl(fd, LC_PROCMAP_QUERY, &q) != 0) {
			if (errno == ENOENT && addr > 0)
				return 0;       /* none past the last */
			break;
		}
		if (q.vma_end <= addr)
			break;                  /* cannot be: no endless walk */
		addr = q.vma_end;
		int skip = 0, file = q.inode || q.dev_major || q.dev_minor;
		if (!(q.vma_flags & LC_PMQ_WRITABLE)) {
			if (file)
				skip = (q.vma_flags & (LC_PMQ_EXECUTABLE | LC_PMQ_SHARED)) != 0;
			else if ((skip = query_kernel(fd, q.vma_start)) < 0)
				break;
		}
		if (skip || in_regions(s, q.vma_start)) {
			skip_span(s, q.vma_start, q.vma_end);
			continue;
		}
		if (!(q.vma_flags & LC_PMQ_WRITABLE) && file) {
			want_cow_span(s, q.vma_start, q.vma_end);
			continue;
		}
		int rc = mapping_want(s, st, q.vma_start, q.vma_end, (q.vma_flags & LC_PMQ_SHARED) != 0);
		if (rc != 0)
			return rc;
	}
	s->nsp = 0;
	s->scanned = 0;
	s->skipped = 0;
	return -2;
}

/* PROCMAP_QUERY unless LIBCARE_NO_PROCMAP_QUERY=1 (the text's walk, which
 * a test compares with it) or the kernel lacked it once. */
static int query_missing = -1;

static void query_choose(void)
{
	if (query_missing < 0) {
		const char *no = getenv("LIBCARE_NO_PROCMAP_QUERY");
		query_missing = no && strcmp(no, "1") == 0;
	}
}

/* Every mapping a pointer can live in, read through thread `reader` and
 * looked at: first listed (pagemap only: over the cap, nothing is read at
 * all), then read, as few system calls as can be.  1 (why set) if a word
 * points into a region or it cannot be told, else 0. */
static int memory_refers(struct refscan *s, const struct stacks *st, struct lc_proof *p,
			 pid_t reader, int pagemap)
{
	int w = -2;
	if (!query_missing) {
		int fd = p->maps >= 0 ? p->maps : proc_open(reader, "maps");
		w = fd >= 0 ? maps_query_walk(s, st, fd) : -2;
		if (w == -2 && fd >= 0 && errno == ENOTTY)
			query_missing = 1;      /* not this kernel's: not asked again */
		if (fd >= 0 && fd != p->maps)
			close(fd);
		s->walk = "PROCMAP_QUERY";
	}
	if (w == -2) {
		if (maps_read(p, reader) != 0) {
			snprintf(s->why, sizeof(s->why), "its maps cannot be read");
			return 1;
		}
		s->walk = "the maps text";
		w = maps_text_walk(s, st, p->buf);
	}
	if (w == 0)
		w = want_spans(s, pagemap);
	if (w < 0)
		snprintf(s->why, sizeof(s->why), "not proven: more than %u MiB to read",
			 LC_RETIRE_SCAN_MAX >> 20);
	if (w != 0)
		return 1;
	return ranges_refer(s, reader);
}

/* The same walk and reads as the proof's, with the world running and no
 * region to look for, right before the stop: the kernel's paths, the
 * patient's page tables and the doctor's buffers are then warm in the
 * caches when the stop does it again (the first process_vm_readv of a
 * doctor took twice as long as a second one).  What it finds is of no
 * use: the memory changes until the stop. */
static void proof_warm(struct lc_proof *p, pid_t pid)
{
	struct refscan s = { .pid = pid, .min = UINT64_MAX, .max = 0 };
	struct stacks st = { NULL, NULL, 0 };
	s.r = p->ranges;
	s.cap = p->rcap;
	s.sp = p->spans;
	s.spcap = p->scap;
	memory_refers(&s, &st, p, pid, p->pagemap);
	p->ranges = s.r;
	p->rcap = s.cap;
	p->spans = s.sp;
	p->scap = s.spcap;
}

int lc_regions_referenced(struct lc_threads *ts, const struct lc_unwind *u, struct lc_proof *p,
			  const struct lc_applied *a, size_t n)
{
	struct lc_proof own = { 0, -1, -1, NULL, 0, NULL, 0, NULL, 0, 0 };
	if (!p || !p->ready)
		p = &own;
	struct refscan s = { .a = a, .n = n, .pid = ts->pid, .min = UINT64_MAX };
	s.r = p->ranges;
	s.cap = p->rcap;
	s.sp = p->spans;
	s.spcap = p->scap;
	struct live_sp *rsp = lc_xcalloc(ts->n ? ts->n : 1, sizeof(*rsp));
	size_t nrsp = 0;
	pid_t reader = 0;
	int rc = 0;
	uint64_t t0 = lc_now_us();
	int pagemap = p->pagemap;

	query_choose();
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
	if (rc == 0 && reader && (p == &own ? uffd_shared(reader) : p->uffd)) {
		snprintf(s.why, sizeof(s.why), "not proven: a shared mapping is registered with "
			 "userfaultfd (reading it would wait for the process's own fault handler)");
		rc = 1;
	}
	if (rc || !reader) {
		if (!reader)
			snprintf(s.why, sizeof(s.why), "no thread to read its memory");
		rc = 1;
		goto out;
	}
	qsort(rsp, nrsp, sizeof(*rsp), cmp_sp);
	struct stacks st = { u, rsp, nrsp };
	/* Opened before the stop, else through a stopped thread of it (the
	 * main one may have exited). */
	if (pagemap < 0)
		pagemap = proc_open(reader, "pagemap");
	rc = memory_refers(&s, &st, p, reader, pagemap);
out:
	if (p == &own) {
		free(own.buf);
		free(s.r);
		free(s.sp);
	} else {                        /* perhaps grown: kept */
		p->ranges = s.r;
		p->rcap = s.cap;
		p->spans = s.sp;
		p->scap = s.spcap;
	}
	free(rsp);
	if (pagemap >= 0 && pagemap != p->pagemap)
		close(pagemap);
	lc_debug("process %d: reference scan of %zu KiB (%zu ranges; mappings through %s, %d "
		 "pagemap read(s)) in %llu us: %s", (int)ts->pid, s.scanned >> 10, s.nr,
		 s.walk ? s.walk : "nothing", s.pagemap_reads,
		 (unsigned long long)(lc_now_us() - t0),
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
