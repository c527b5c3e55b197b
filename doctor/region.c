/*
 * region.c - the patch region in the patient: choosing a free gap (with
 * lc_gap_choose of the runtime), mapping it, setting its protections,
 * unmapping it, and finding the regions earlier doctor runs left (by the
 * LC_REGION_MAGIC at the start of an anonymous r-- mapping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

static int span_cmp(const void *a, const void *b)
{
	const struct lc_span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The region goes where the runtime says, in the gaps of pr->maps as the
 * caller last read them and outside the `navoid` spans (regions chosen,
 * not mapped yet).  Both callers have just read them (the patch's look for
 * regions applied, the trampolines' for areas left); the mmap in the
 * patient refuses an address taken meanwhile (MAP_FIXED_NOREPLACE). */
int lc_region_choose_avoiding(struct lc_proc *pr, const struct lc_object *obj, size_t size,
			      int low, const struct lc_span *avoid, size_t navoid, uint64_t *addr)
{
	struct lc_span *used = lc_xcalloc(pr->nmaps + navoid, sizeof(*used));
	for (size_t i = 0; i < pr->nmaps; i++)
		used[i] = (struct lc_span){ pr->maps[i].start, pr->maps[i].end };
	for (size_t i = 0; i < navoid; i++)
		used[pr->nmaps + i] = avoid[i];
	if (navoid)
		qsort(used, pr->nmaps + navoid, sizeof(*used), span_cmp);
	int rc = lc_gap_choose(used, pr->nmaps + navoid, obj->lo, obj->hi, size, low, addr);
	free(used);
	if (rc != 0)
		return lc_error("process %d: no free %zu bytes within 2 GiB of %s%s", (int)pr->pid,
				size, obj->path, low ? " and below 2 GiB" : "");
	return 0;
}

int lc_region_choose(struct lc_proc *pr, const struct lc_object *obj, size_t size,
		     int low, uint64_t *addr)
{
	return lc_region_choose_avoiding(pr, obj, size, low, NULL, 0, addr);
}

static int region_syscall(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
			  long nr, const char *what, long a0, long a1, long a2, long a3,
			  long *ret)
{
	const long args[6] = { a0, a1, a2, a3, -1, 0 };
	if (lc_inject_syscall(ts, th, insn, nr, args, ret) != 0)
		return -1;
	if (*ret < 0 && *ret > -4096)
		return lc_error("process %d: %s(0x%lx, %ld) failed in the patient: %s", (int)ts->pid,
				what, a0, a1, strerror((int)-*ret));
	return 0;
}

int lc_region_map(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		  uint64_t addr, size_t size)
{
	long ret;
	if (region_syscall(ts, th, insn, SYS_mmap, "mmap", (long)addr, (long)size,
			   PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, &ret) != 0)
		return -1;
	if ((uint64_t)ret != addr) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		long ignored;
		region_syscall(ts, th, insn, SYS_munmap, "munmap", ret, (long)size, 0, 0, &ignored);
		return lc_error("process %d: mmap(0x%llx) returned 0x%lx", (int)ts->pid,
				(unsigned long long)addr, ret);
	}
	return 0;
}

int lc_region_protect(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      uint64_t addr, const struct lc_layout *l)
{
	long ret;
	size_t text = l->data_offset - l->text_offset;   /* code, stubs, unwind info */
	if (region_syscall(ts, th, insn, SYS_mprotect, "mprotect", (long)addr,
			   (long)l->header_size, PROT_READ, 0, &ret) != 0 ||
	    region_syscall(ts, th, insn, SYS_mprotect, "mprotect", (long)(addr + l->text_offset),
			   (long)text, PROT_READ | PROT_EXEC, 0, &ret) != 0)
		return -1;
	return 0;
}

/* Maps the region with its final protections (header r--, code r-x, the
 * rest rw-) by one chain of three system calls: the thread is saved and
 * put back once, not three times.  Its bytes are written after, through
 * /proc/PID/mem, which writes whatever the protections.  *mapped is set
 * once the mapping is there (the undo unmaps it), whatever comes after. */
int lc_region_map_protected(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
			    uint64_t addr, size_t size, const struct lc_layout *l, int *mapped)
{
	size_t text = l->data_offset - l->text_offset;   /* code, stubs, unwind info */
	const struct lc_syscall calls[3] = {
		{ SYS_mmap, { (long)addr, (long)size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0 }, 1, (long)addr },
		{ SYS_mprotect, { (long)addr, (long)l->header_size, PROT_READ, 0, -1, 0 }, 1, 0 },
		{ SYS_mprotect, { (long)(addr + l->text_offset), (long)text, PROT_READ | PROT_EXEC, 0,
				  -1, 0 }, 1, 0 },
	};
	long rets[3];
	size_t ran = 0;
	*mapped = 0;
	if (lc_inject_syscalls(ts, th, insn, calls, 3, rets, &ran) != 0) {
		/* ran that far: a mapping made stays for the undo */
		*mapped = ran >= 1 && rets[0] == (long)addr;
		return -1;
	}
	if (ran >= 1 && rets[0] == (long)addr)
		*mapped = 1;
	for (size_t i = 0; i < ran; i++) {
		if (rets[i] == calls[i].expect)
			continue;
		if (i == 0 && !(rets[0] < 0 && rets[0] > -4096)) {
			/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
			long ignored;
			region_syscall(ts, th, insn, SYS_munmap, "munmap", rets[0], (long)size, 0, 0,
				       &ignored);
			return lc_error("process %d: mmap(0x%llx) returned 0x%lx", (int)ts->pid,
					(unsigned long long)addr, rets[0]);
		}
		return lc_error("process %d: %s(0x%lx, %ld) failed in the patient: %s", (int)ts->pid,
				i == 0 ? "mmap" : "mprotect", calls[i].args[0], calls[i].args[1],
				strerror((int)-rets[i]));
	}
	return 0;
}

int lc_region_unmap(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		    uint64_t addr, size_t size)
{
	long ret;
	return region_syscall(ts, th, insn, SYS_munmap, "munmap", (long)addr, (long)size, 0, 0, &ret);
}

/* A region header read from the patient is the patient's word only: its
 * size must lie within the anonymous mappings that start there, and every
 * jump it records within a private r-x mapping of a file (what unpatch
 * writes back goes nowhere else). */
static const struct lc_region_header *region_fits(const struct lc_proc *pr, size_t first,
						  const struct lc_region_header *h, char *why,
						  size_t why_len)
{
	uint64_t end = pr->maps[first].end;
	for (size_t j = first + 1; j < pr->nmaps && pr->maps[j].start == end && !pr->maps[j].path;
	     j++)
		end = pr->maps[j].end;
	if (h->size > end - pr->maps[first].start) {
		snprintf(why, why_len, "it says %llu bytes, its mappings have %llu",
			 (unsigned long long)h->size, (unsigned long long)(end - pr->maps[first].start));
		return NULL;
	}
	for (uint32_t i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		int ok = 0;
		for (size_t j = 0; j < pr->nmaps && !ok; j++) {
			const struct lc_map *m = &pr->maps[j];
			ok = m->path && m->path[0] == '/' && strcmp(m->perms, "r-xp") == 0 &&
			     hk->addr >= m->start && hk->addr + hk->len <= m->end;
		}
		if (!ok) {
			snprintf(why, why_len, "its jump %u at 0x%llx is not in a file's code", i,
				 (unsigned long long)hk->addr);
			return NULL;
		}
	}
	return h;
}

int lc_regions_find(struct lc_proc *pr, const char *magic, struct lc_applied **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (lc_proc_reload_maps(pr) != 0)
		return -1;
	for (size_t i = 0; i < pr->nmaps; i++) {
		const struct lc_map *m = &pr->maps[i];
		char head[8], why[128];
		if (m->path || strcmp(m->perms, "r--p") != 0 ||
		    m->end - m->start < sizeof(struct lc_region_header) ||
		    lc_mem_read(pr, m->start, head, sizeof(head)) != 0 ||
		    memcmp(head, magic, sizeof(head)) != 0)
			continue;
		uint64_t len = m->end - m->start;
		if (len > (1u << 20))
			len = 1u << 20;
		uint8_t *bytes = lc_xmalloc(len);
		const struct lc_region_header *hp = NULL;
		if (lc_mem_read(pr, m->start, bytes, len) == 0) {
			memcpy(bytes, LC_REGION_MAGIC, 8);      /* a retired one: parsed as it was */
			hp = lc_region_parse(bytes, len, why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "unreadable");
		}
		if (hp)
			hp = region_fits(pr, i, hp, why, sizeof(why));
		if (!hp) {
			lc_warn("process %d: damaged patch region at 0x%llx ignored: %s", (int)pr->pid,
				(unsigned long long)m->start, why);
			free(bytes);
			continue;
		}
		*out = lc_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = (struct lc_applied){
			m->start, bytes, hp,
			lc_proc_object_by_buildid(pr, hp->patch.build_id, hp->patch.build_id_len),
		};
	}
	return 0;
}

int lc_regions_scan(struct lc_proc *pr, struct lc_applied **out, size_t *n)
{
	return lc_regions_find(pr, LC_REGION_MAGIC, out, n);
}

void lc_regions_free(struct lc_applied *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].bytes);
	free(a);
}
