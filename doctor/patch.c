/*
 * patch.c - `libcare-doctor patch -p PID FILE`: apply a patch file to a
 * running process.
 *
 * Everything that can be refused is checked before the patient is touched:
 * the file (checksum, format), the process, the object with the patch's
 * BuildID, an already applied patch, the imports, a free region, the link.
 * Then the transition (transition.c): seize the threads; map and fill the
 * region from one stopped thread and let it go; stop the world; wait until
 * no thread executes a function to be replaced; write the jumps
 * (journalled in the region header, journal.c); detach.  Any failure
 * before the jumps unmaps the region and restores the registers: the
 * patient is as before.
 *
 * With a directory, every object's patch is prepared first and all are
 * switched in the one stop of one transition (struct patch_group): the
 * patient never runs one object's fix without another's.
 *
 * A patch with a higher level than the one applied to the same object
 * replaces it in the same stop: the old jumps are taken out, the new ones
 * written and the old region unmapped, with no moment in which neither
 * applies.  The new hunks record the ORIGINAL bytes (read through the old
 * region's record), so unpatch restores the original code.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/buildid.h"
#include "libcare/log.h"
#include "doctor.h"

static void patch_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor patch -p PID|all FILE|DIR [--timeout S] [--keys DIR]\n"
		"                            [--allow-unsigned] [--user NAME|UID] [--json]\n"
		"                            [--jobs N] [-v]\n"
		"\n"
		"Applies the patch FILE (<BuildID>.kpatch from libcare-mkpatch) to the object\n"
		"with that BuildID in the running process PID.  With a directory, applies\n"
		"DIR/<BuildID>.kpatch for each object of the process that has one, all in\n"
		"one stop (if one is refused, none is applied).  With -p all, does so in\n"
		"every process (those without the object are skipped, as are patches\n"
		"already applied).\n"
		"\n"
		"A patch with the same --id and a higher level replaces the applied one;\n"
		"patches with other ids stack.  Exit status: 0 applied, 1 failed (the\n"
		"process is left as it was), 2 already applied (this or a higher level).\n"
		"\n"
		"  -p PID|all     the process(es) to patch\n"
		"  -t, --timeout S  wait up to S seconds (default 2) for threads to leave\n"
		"                 the functions to replace, then give up\n"
		"  --user NAME|UID  with -p all: only that user's processes\n"
		"  --jobs N       with -p all: N worker processes (default: one per online\n"
		"                 CPU); output, report and exit status as with one\n"
		"  --json         with -p all: a JSON document of every process patched,\n"
		"                 skipped or failed, with the reason (other lines: stderr)\n"
		"                 (-p all never touches PID 1 nor what /etc/libcare/exclude\n"
		"                 names: exe GLOB, comm NAME, cgroup GLOB lines)\n"
		"  --keys DIR     trusted public keys (*.pem); default $LIBCARE_KEYS, else\n"
		"                 /etc/libcare/keys.  The file must be signed by one of them\n"
		"  --allow-unsigned  apply unsigned files too (and signed ones by unknown keys)\n"
		"  -v             per-phase timing and details (-vv: debug)\n"
		"  -h, --help   this text\n");
}

struct patch_run {
	pid_t pid;
	const char *file;
	struct lc_patch *patch;
	struct lc_proc pr;
	struct lc_object *obj;
	uint64_t insn, addr;
	uint8_t *image;
	size_t size;
	int mapped;
	struct lc_applied *applied;     /* regions found in the patient */
	size_t napplied;
	/* Regions this one replaces in the same stop: the lower level of the
	 * same id, and what a killed doctor left half done (journal.c): any
	 * region of the same id not applied, any region still preparing. */
	const struct lc_applied *olds[16];
	size_t nolds;
	int old_referenced;             /* something may point into the olds' regions */
	int many;                       /* -p all or DIR: skip, don't refuse */
	int timeout_ms;                 /* --timeout */
	int check_only;                 /* `check`: stop before any change */
	int locked;                     /* holds the lock for this process */
	struct lc_cfi_ops cfi;          /* libgcc_s's frame registry (cfi.c) */
	/* patch DIR: the runs of this process prepared before this one, all
	 * switched in the same stop (their regions not mapped yet) */
	struct patch_run *const *before;
	size_t nbefore;
	const struct lc_proc *from;     /* patch DIR: the process as just opened */
	/* what the switch overwrote: the group's undo puts it back */
	uint64_t *sw_addr;
	uint32_t *sw_len;
	uint8_t (*sw_saved)[LC_HUNK_MAX_BYTES];
	size_t sw_n;
};

/* The objects of one process that one command patches: one transition. */
struct patch_group {
	struct patch_run **runs;
	size_t n;
};

#define PATCH_SKIPPED 1                 /* -p all/DIR: not for this process, or applied */
#define PATCH_ALREADY 2                 /* this or a higher level is applied */

static int same_object(const struct lc_patch_header *a, const struct lc_patch_header *b)
{
	return a->build_id_len == b->build_id_len &&
	       memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
}

static int is_old(const struct patch_run *r, const struct lc_applied *a)
{
	for (size_t i = 0; i < r->nolds; i++)
		if (r->olds[i] == a)
			return 1;
	return 0;
}

static int patch_add_old(struct patch_run *r, const struct lc_applied *a, const char *why)
{
	if (r->nolds == sizeof(r->olds) / sizeof(r->olds[0]))
		return lc_error("process %d: too many regions to replace", (int)r->pid);
	r->olds[r->nolds++] = a;
	lc_info("process %d: replacing patch '%s' level %u at 0x%llx (%s)", (int)r->pid,
		a->hdr->patch.id, a->hdr->patch.level, (unsigned long long)a->addr, why);
	return 0;
}

/* A region an earlier run of the same command replaces already. */
static int claimed_before(const struct patch_run *r, uint64_t addr)
{
	for (size_t i = 0; i < r->nbefore; i++)
		for (size_t k = 0; k < r->before[i]->nolds; k++)
			if (r->before[i]->olds[k]->addr == addr)
				return 1;
	return 0;
}

/* Patches are told apart by their --id: a patch with the id of an applied
 * one for the same object is a new level of it.  Refuses this or a lower
 * level as already applied; remembers a lower one to replace, and what a
 * killed doctor left: a region of this id not fully applied (switching,
 * unpatching: it is completed by replacing it) and a region of any patch
 * still preparing (no jump leads there: it goes). */
static int patch_check_applied(struct patch_run *r)
{
	const struct lc_patch_header *h = lc_patch_header(r->patch);
	if (lc_regions_scan(&r->pr, &r->applied, &r->napplied) != 0)
		return -1;
	for (size_t i = 0; i < r->napplied; i++) {
		const struct lc_applied *a = &r->applied[i];
		const struct lc_patch_header *old = &a->hdr->patch;
		uint32_t state = lc_region_state(a->hdr);
		if (state == LC_REGION_RETIRED)
			continue;
		if (state == LC_REGION_PREPARING) {
			if (claimed_before(r, a->addr))
				continue;       /* an earlier object of this command takes it */
			if (patch_add_old(r, a, "left preparing by a killed doctor") != 0)
				return -1;
			continue;
		}
		if (!same_object(old, h) || strncmp(old->id, h->id, sizeof(old->id)) != 0)
			continue;
		if (state != LC_REGION_APPLIED) {
			if (patch_add_old(r, a, state == LC_REGION_SWITCHING ? "half applied" :
					  "half unpatched") != 0)
				return -1;
			continue;
		}
		if (old->level >= h->level && r->many) {
			lc_info("process %d: patch '%s' level %u is already applied to %s", (int)r->pid,
				old->id, old->level, r->obj->path);
			return PATCH_SKIPPED;
		}
		if (old->level >= h->level) {
			lc_error("process %d: patch '%s' level %u is already applied to %s "
				 "(this patch: '%s' level %u)", (int)r->pid, old->id, old->level,
				 r->obj->path, h->id, h->level);
			return PATCH_ALREADY;
		}
		if (patch_add_old(r, a, "a lower level") != 0)
			return -1;
	}
	return 0;
}

/* The runtime reads the functions' first bytes to record them: under a
 * patch being replaced they are its jumps, and the original ones are in
 * its record. */
static int patch_target_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct patch_run *r = ctx;
	if (lc_mem_read(&r->pr, addr, buf, len) != 0)
		return lc_error("process %d: cannot read %zu bytes at 0x%llx", (int)r->pid, len,
				(unsigned long long)addr);
	for (size_t o = 0; o < r->nolds; o++)
		for (uint32_t i = 0; i < r->olds[o]->hdr->nhunks; i++) {
			const struct lc_region_hunk *hk = lc_region_hunk(r->olds[o]->hdr, i);
			for (uint32_t k = 0; k < hk->len; k++)
				if (hk->addr + k >= addr && hk->addr + k < addr + len)
					((uint8_t *)buf)[hk->addr + k - addr] = hk->old_bytes[k];
		}
	return 0;
}

static int patch_target_lookup(void *ctx, const char *name, const char *version,
			       struct lc_import *out)
{
	struct patch_run *r = ctx;
	int rc = lc_symbols_lookup(&r->pr, name, version, out);
	if (rc == 1 && out->ifunc)      /* nobody bound it yet: as ld.so would */
		return lc_ifunc_resolve(r->pid, name, r->check_only, out) == 0 ? 1 : -1;
	return rc;
}

static int patch_target_tls(void *ctx, const char *name, const char *version,
			    struct lc_tls *out)
{
	struct patch_run *r = ctx;
	return lc_symbols_tls(&r->pr, r->obj, name, version, out);
}

/* Another patch (other id, or of another object: a region's record is not
 * trusted to name its object right) may not replace a function this one
 * replaces: jumps would be written over jumps, and unpatching one would
 * break the other.  Only a higher level of that patch may. */
static int patch_check_overlap(struct patch_run *r)
{
	const struct lc_region_header *nh = (const struct lc_region_header *)r->image;
	for (size_t i = 0; i < r->napplied; i++) {
		const struct lc_region_header *oh = r->applied[i].hdr;
		if (is_old(r, &r->applied[i]) || lc_region_state(oh) == LC_REGION_RETIRED)
			continue;
		for (uint32_t k = 0; k < oh->nhunks; k++)
			for (uint32_t j = 0; j < nh->nhunks; j++) {
				const struct lc_region_hunk *o = lc_region_hunk(oh, k);
				const struct lc_region_hunk *n = lc_region_hunk(nh, j);
				if (o->addr < n->addr + n->len && n->addr < o->addr + o->len)
					return lc_error("process %d: function '%s' is already replaced by "
							"patch '%s' level %u; only a higher level of '%s' "
							"may replace it", (int)r->pid,
							lc_region_name(oh, o->name), oh->patch.id,
							oh->patch.level, oh->patch.id);
			}
	}
	return 0;
}

/* -p all FILE: the file's BuildID (checked once before any process), so a
 * process without the object is skipped before the file is loaded for it. */
static struct {
	uint8_t id[LC_BUILD_ID_MAX];
	size_t len;
} all_file;

/* Everything that needs no attach: file, process, object, region, link. */
static int patch_prepare(struct patch_run *r)
{
	char hex[2 * LC_BUILD_ID_MAX + 1];
	int opened = 0;

	if (r->many && all_file.len) {
		int rc = lc_proc_open_any(&r->pr, r->pid);
		if (rc > 0)
			return PATCH_SKIPPED;   /* no ELF object (an exec under way) */
		if (rc != 0)
			return -1;
		opened = 1;
		if (!lc_proc_object_by_buildid(&r->pr, all_file.id, all_file.len))
			return PATCH_SKIPPED;
	}
	r->patch = lc_patch_read(r->file, NULL);
	if (!r->patch)
		return -1;
	const struct lc_patch_header *h = lc_patch_header(r->patch);
	if (!opened && r->from) {
		lc_proc_copy(&r->pr, r->from);
	} else if (!opened) {
		int rc = r->many ? lc_proc_open_any(&r->pr, r->pid) : lc_proc_open(&r->pr, r->pid);
		if (rc > 0)
			return PATCH_SKIPPED;   /* -p all: no ELF object (an exec under way) */
		if (rc != 0)
			return -1;
	}
	r->obj = lc_proc_object_by_buildid(&r->pr, h->build_id, h->build_id_len);
	if (!r->obj && r->many)
		return PATCH_SKIPPED;
	if (!r->obj) {
		lc_buildid_hex(h->build_id, h->build_id_len, hex);
		return lc_error("process %d has no object with BuildID %s (patch for '%s')",
				(int)r->pid, hex, h->target_name);
	}
	lc_info("process %d: target %s, BuildID %s, load bias 0x%llx", (int)r->pid,
		r->obj->path, r->obj->build_id_hex, (unsigned long long)r->obj->bias);
	/* From here on what is applied matters: one doctor at a time (taken
	 * only for processes with the object: -p all does not wait for
	 * doctors busy with other processes). */
	if (!r->check_only) {
		if (lc_lock_acquire(r->pid) != 0)
			return -1;
		r->locked = 1;
	}
	if (lc_guard_check(r->pid) != 0)        /* another tracer, seccomp */
		return -1;
	int rc = patch_check_applied(r);
	if (rc != 0)
		return rc;
	if (lc_proc_syscall_insn(&r->pr, &r->insn) != 0)
		return -1;
	const struct lc_layout *l = lc_patch_layout(r->patch);
	struct lc_span avoid[r->nbefore + 1];
	for (size_t i = 0; i < r->nbefore; i++) {
		size_t sz = lc_patch_layout(r->before[i]->patch)->size;
		avoid[i] = (struct lc_span){ r->before[i]->addr,
			r->before[i]->addr + (sz + LC_PAGE_SIZE - 1) / LC_PAGE_SIZE * LC_PAGE_SIZE };
	}
	if (lc_region_choose_avoiding(&r->pr, r->obj, l->size, l->needs_low, avoid, r->nbefore,
				      &r->addr) != 0)
		return -1;
	struct lc_target t = { r, r->obj->bias, patch_target_read, patch_target_lookup,
			       patch_target_tls, r->obj->lo, r->obj->hi };
	if (lc_patch_link(r->patch, &t, r->addr) != 0)
		return -1;
	const uint8_t *img = lc_patch_image(r->patch, &r->size);
	r->image = lc_xmalloc(r->size);
	memcpy(r->image, img, r->size);
	((struct lc_region_header *)r->image)->applied = (uint64_t)time(NULL);
	if (lc_validate_image(r->obj, (const struct lc_region_header *)r->image, r->file) != 0 ||
	    patch_check_overlap(r) != 0 || lc_cfi_prepare(&r->pr, r->image, &r->cfi) != 0)
		return -1;
	lc_info("process %d: region 0x%llx-0x%llx (%zu bytes, %zu stub(s)), syscall at 0x%llx",
		(int)r->pid, (unsigned long long)r->addr, (unsigned long long)(r->addr + r->size),
		r->size, l->nstubs, (unsigned long long)r->insn);
	return 0;
}

static const struct lc_region_hunk *patch_hunk(const struct patch_run *r, uint32_t i)
{
	return lc_region_hunk((const struct lc_region_header *)r->image, i);
}

/* From one stopped thread: map and fill the region (its journal says
 * PREPARING from the first byte on). */
static int patch_map_region(struct lc_transition *t, struct lc_thread *th, struct patch_run *r)
{
	int mapped = 0;
	int rc = lc_region_map_protected(&t->ts, th, r->insn, r->addr, r->size,
					 lc_patch_layout(r->patch), &mapped);
	r->mapped = mapped;
	if (rc != 0)
		return -1;
	lc_test_pause("mapped");
	return lc_mem_write(&r->pr, r->addr, r->image, r->size);
}

/* The first write to a page of the program's text (a private file
 * mapping) makes the kernel copy the page: done here, with the world
 * running, by writing back the bytes each site holds (the same bytes:
 * harmless), so that the switch's writes in the stop find the page copied
 * already.  A site that holds anything else is left alone (the switch
 * refuses it). */
static int patch_site_ok(struct patch_run *r, uint64_t addr, const uint8_t *orig,
			 uint32_t len, uint8_t *now);

static void patch_touch_sites(struct patch_run *r)
{
	uint32_t n = ((const struct lc_region_header *)r->image)->nhunks;
	for (uint32_t i = 0; i < n; i++) {
		const struct lc_region_hunk *hk = patch_hunk(r, i);
		uint8_t now[LC_HUNK_MAX_BYTES];
		if (patch_site_ok(r, hk->addr, hk->old_bytes, hk->len, now))
			lc_mem_write(&r->pr, hk->addr, now, hk->len);
	}
}

/* The transition's prepare, from one stopped thread: every object's region
 * mapped and filled, then their unwind information registered. */
static int patch_prepare_regions(struct lc_transition *t, struct lc_thread *th)
{
	struct patch_group *g = t->ctx;
	for (size_t i = 0; i < g->n; i++)
		if (patch_map_region(t, th, g->runs[i]) != 0)
			return -1;
	for (size_t i = 0; i < g->n; i++)
		patch_touch_sites(g->runs[i]);
	/* the unwinder first: cfi.c checks the thread is not inside libgcc */
	t->unwind = lc_unwind_begin(t->pid);
	for (size_t i = 0; i < g->n; i++) {
		struct patch_run *r = g->runs[i];
		if (lc_cfi_register(&r->pr, &t->ts, th, t->unwind, &r->cfi, r->addr,
				    (const struct lc_region_header *)r->image) != 0)
			return -1;
	}
	return 0;
}

/* Its undo for one object: the region goes (nothing jumps to it yet). */
static void patch_unprepare_region(struct lc_transition *t, struct lc_thread *th,
				   struct patch_run *r)
{
	if (!r->mapped)
		return;
	if (th && lc_cfi_deregister(&r->pr, &t->ts, th, t->unwind, r->addr,
				    (const struct lc_region_header *)r->image) == 0 &&
	    lc_region_unmap(&t->ts, th, r->insn, r->addr, r->size) == 0)
		r->mapped = 0;
	else
		lc_warn("process %d: the patch region at 0x%llx could not be unmapped",
			(int)r->pid, (unsigned long long)r->addr);
}

static void patch_unprepare_regions(struct lc_transition *t, struct lc_thread *th)
{
	struct patch_group *g = t->ctx;
	for (size_t i = g->n; i-- > 0;)
		patch_unprepare_region(t, th, g->runs[i]);
}

/* A function site holds what we may overwrite: its original bytes or the
 * jump of one of the regions replaced now (what it holds into `now`). */
static int patch_site_ok(struct patch_run *r, uint64_t addr, const uint8_t *orig,
			 uint32_t len, uint8_t *now)
{
	if (lc_mem_read(&r->pr, addr, now, len) != 0)
		return 0;
	if (memcmp(now, orig, len) == 0)
		return 1;
	for (size_t k = 0; k < r->nolds; k++)
		for (uint32_t i = 0; i < r->olds[k]->hdr->nhunks; i++) {
			const struct lc_region_hunk *o = lc_region_hunk(r->olds[k]->hdr, i);
			if (o->addr == addr && o->len == len && memcmp(now, o->new_bytes, len) == 0)
				return 1;
		}
	return 0;
}

/* A failed write: every site back to what it held (saved[]). */
static void patch_put_back(struct patch_run *r, uint64_t *addr, uint8_t (*saved)[LC_HUNK_MAX_BYTES],
			   uint32_t *len, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lc_mem_write(&r->pr, addr[i], saved[i], len[i]);
	lc_journal_write(&r->pr, r->addr, NULL, LC_REGION_PREPARING, 0, 0);
	for (size_t k = 0; k < r->nolds; k++)
		lc_journal_write(&r->pr, r->olds[k]->addr, r->olds[k]->hdr,
				 lc_region_state(r->olds[k]->hdr),
				 r->olds[k]->hdr->version == 1 ? 0 : r->olds[k]->hdr->journal.done, 0);
}

/* The transition's switch, world stopped: every function site still holds
 * its original bytes or the jump of a region replaced now; then, each step
 * journalled before it is done, the old regions' sites not in this patch
 * get their original bytes back and this patch's jumps go in.  Each jump is
 * one pwrite: within a page the kernel copies it at once, so a doctor killed
 * meanwhile leaves it whole or not written (GCC aligns functions to 16
 * bytes: their first 5 bytes never cross a page).  A failed write puts back
 * what was. */
static int patch_switch_run(struct lc_transition *t, struct patch_run *r)
{
	uint32_t n = ((const struct lc_region_header *)r->image)->nhunks;
	size_t nsites = 0, max = n;
	for (size_t k = 0; k < r->nolds; k++)
		max += r->olds[k]->hdr->nhunks;
	uint64_t *addr = lc_xcalloc(max, sizeof(*addr));
	uint32_t *len = lc_xcalloc(max, sizeof(*len));
	uint8_t (*saved)[LC_HUNK_MAX_BYTES] = lc_xcalloc(max, sizeof(*saved));
	int rc = -1;
	r->sw_addr = addr;
	r->sw_len = len;
	r->sw_saved = saved;
	r->sw_n = 0;
	/* what this patch's sites hold: checked, then kept for the undo
	 * (the old regions' sites restored first are other sites) */
	uint8_t (*held)[LC_HUNK_MAX_BYTES] = lc_xcalloc(n ? n : 1, sizeof(*held));
	for (uint32_t i = 0; i < n; i++) {
		const struct lc_region_hunk *hk = patch_hunk(r, i);
		if (!patch_site_ok(r, hk->addr, hk->old_bytes, hk->len, held[i])) {
			lc_error("process %d: function '%s' at 0x%llx changed while the patch was "
				 "prepared", (int)r->pid, lc_patch_func_name(r->patch, i),
				 (unsigned long long)hk->addr);
			goto out;
		}
	}
	for (size_t k = 0; k < r->nolds; k++)
		for (uint32_t i = 0; i < r->olds[k]->hdr->nhunks; i++) {
			const struct lc_region_hunk *o = lc_region_hunk(r->olds[k]->hdr, i);
			uint8_t now[LC_HUNK_MAX_BYTES];
			if (!patch_site_ok(r, o->addr, o->old_bytes, o->len, now)) {
				lc_error("process %d: function '%s' at 0x%llx holds neither its own code "
					 "nor the jump of the patch being replaced", (int)r->pid,
					 lc_region_name(r->olds[k]->hdr, o->name),
					 (unsigned long long)o->addr);
				goto out;
			}
		}
	if (lc_journal_write(&r->pr, r->addr, NULL, LC_REGION_SWITCHING, 0,
			     r->nolds ? r->olds[0]->addr : 0) != 0)
		goto out;
	for (size_t k = 0; k < r->nolds; k++)
		if (lc_journal_write(&r->pr, r->olds[k]->addr, r->olds[k]->hdr, LC_REGION_UNPATCHING, 0,
				     r->addr) != 0)
			goto undo;
	/* Old sites this patch does not replace: their original bytes. */
	for (size_t k = 0; k < r->nolds; k++)
		for (uint32_t i = 0; i < r->olds[k]->hdr->nhunks; i++) {
			const struct lc_region_hunk *o = lc_region_hunk(r->olds[k]->hdr, i);
			int mine = 0;
			for (uint32_t j = 0; j < n; j++)
				mine |= patch_hunk(r, j)->addr == o->addr;
			if (mine)
				continue;
			addr[nsites] = o->addr;
			len[nsites] = o->len;
			if (lc_mem_read(&r->pr, o->addr, saved[nsites], o->len) != 0)
				goto undo;
			nsites++;
			if (lc_mem_write(&r->pr, o->addr, o->old_bytes, o->len) != 0)
				goto undo;
		}
	for (uint32_t i = 0; i < n; i++) {
		const struct lc_region_hunk *hk = patch_hunk(r, i);
		addr[nsites] = hk->addr;
		len[nsites] = hk->len;
		memcpy(saved[nsites], held[i], hk->len);
		nsites++;
		/* after the last jump APPLIED follows at once: a doctor killed
		 * between the two leaves SWITCHING, whose count only informs
		 * (the bytes at the sites are the truth: patch_check_applied) */
		if (lc_mem_write(&r->pr, hk->addr, hk->new_bytes, hk->len) != 0 ||
		    (i + 1 < n && lc_journal_write(&r->pr, r->addr, NULL, LC_REGION_SWITCHING, i + 1,
						   r->nolds ? r->olds[0]->addr : 0) != 0))
			goto undo;
		if (i == 0)
			lc_test_pause("switching");
	}
	/* Past this write the patch is applied, whatever happens next. */
	if (lc_journal_write(&r->pr, r->addr, NULL, LC_REGION_APPLIED, n, 0) != 0)
		goto undo;
	/* Still stopped: may anything point into the replaced regions? */
	if (r->nolds) {
		struct lc_applied olds[16];
		for (size_t k = 0; k < r->nolds; k++)
			olds[k] = *r->olds[k];
		r->old_referenced = lc_regions_referenced(&t->ts, t->unwind, &t->proof, olds, r->nolds);
	}
	r->sw_n = nsites;
	free(held);
	return 0;
undo:
	patch_put_back(r, addr, saved, len, nsites);
out:
	free(held);
	return rc;
}

/* The transition's switch: every object's jumps in this one stop, in the
 * order prepared.  One that fails has put back what it wrote; the objects
 * switched before it are put back too (newest first): no object of the
 * command is left switched, the patient never runs half the fix. */
static int patch_switch(struct lc_transition *t)
{
	struct patch_group *g = t->ctx;
	for (size_t i = 0; i < g->n; i++) {
		if (patch_switch_run(t, g->runs[i]) == 0)
			continue;
		if (i)
			lc_info("process %d: the jumps of the %zu object(s) switched before are "
				"taken out again", (int)t->pid, i);
		while (i-- > 0) {
			struct patch_run *r = g->runs[i];
			patch_put_back(r, r->sw_addr, r->sw_saved, r->sw_len, r->sw_n);
		}
		return -1;
	}
	return 0;
}

/* The transition's finish, world running: the replaced patch's region
 * goes, or is retired if something may still point into it (retire.c),
 * from one thread stopped again (no thread is in it, nothing jumps to it). */
static void patch_finish(struct lc_transition *t, struct lc_thread *th)
{
	struct patch_group *g = t->ctx;
	for (size_t i = 0; i < g->n; i++) {
		struct patch_run *r = g->runs[i];
		if (!r->nolds)
			continue;
		struct lc_applied olds[16];
		for (size_t k = 0; k < r->nolds; k++)
			olds[k] = *r->olds[k];
		lc_regions_let_go(&t->ts, th, r->insn, &r->pr, olds, r->nolds, r->old_referenced);
	}
}

static const struct lc_transition_ops patch_ops = {
	"patch", patch_prepare_regions, patch_unprepare_regions, patch_switch, patch_finish,
};

/* What `check` says instead of patching: everything up to the first change. */
static int patch_report_check(struct patch_run *r)
{
	const struct lc_region_header *h = (const struct lc_region_header *)r->image;
	printf("check %d: %s can be applied to %s: patch '%s' level %u, %u function(s):",
	       (int)r->pid, r->file, r->obj->path, h->patch.id, h->patch.level, h->nhunks);
	for (uint32_t i = 0; i < h->nhunks; i++)
		printf(" %s", lc_patch_func_name(r->patch, i));
	printf("; region 0x%llx (%zu bytes) free%s\n", (unsigned long long)r->addr, r->size,
	       r->nolds ? "; replaces the lower level or a half-done one" : "");
	return 0;
}

/* The transition of a group of prepared runs (the objects of one process):
 * the union of their busy ranges, one stop, every object's jumps in it. */
static int patch_group_run(struct patch_group *g, uint64_t prepare_us)
{
	struct patch_run *r0 = g->runs[0];
	size_t cap = 0, nbusy = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct patch_run *r = g->runs[i];
		cap += lc_patch_busy_count(r->patch, (const struct lc_region_header *)r->image) +
		       r->nolds + 1;
	}
	/* the functions, their entries if loop heads, their .cold pieces (busy.c) */
	struct lc_range *busy = lc_xcalloc(cap, sizeof(*busy));
	for (size_t i = 0; i < g->n; i++) {
		struct patch_run *r = g->runs[i];
		nbusy += lc_patch_busy_ranges(r->patch, (const struct lc_region_header *)r->image,
					      busy + nbusy);
		for (size_t k = 0; k < r->nolds; k++)   /* the replaced code is about to vanish */
			busy[nbusy++] = (struct lc_range){
				r->olds[k]->addr + r->olds[k]->hdr->text_offset,
				r->olds[k]->addr + r->olds[k]->hdr->text_offset +
					r->olds[k]->hdr->text_size,
				"the replaced patch", r->olds[k]->addr };
	}
	struct lc_transition t;
	memset(&t, 0, sizeof(t));
	t.pid = r0->pid;
	t.pr = &r0->pr;
	t.insn = r0->insn;
	t.busy = busy;
	t.nbusy = nbusy;
	t.timeout_ms = r0->timeout_ms;
	t.ops = &patch_ops;
	t.ctx = g;
	for (size_t i = 0; i < g->n; i++)
		t.refs_scan |= g->runs[i]->nolds > 0;
	int rc = lc_transition_run(&t);
	free(busy);
	if (rc != 0)
		return -1;
	int pid = (int)r0->pid;
	lc_info("process %d: prepare %llu us, attach %llu us, region %llu us, waiting for a safe "
		"point %llu us (%d stop(s), %d trampoline return(s)), jumps %llu us, cleanup %llu us",
		pid, (unsigned long long)prepare_us, (unsigned long long)t.attach_us,
		(unsigned long long)t.prepare_us, (unsigned long long)t.wait_us, t.stops, t.taken,
		(unsigned long long)t.switch_us, (unsigned long long)t.cleanup_us);
	lc_info("process %d: stopped for %llu us in %d stop(s): last stack check %llu us, jump "
		"writes %llu us; one thread stopped alone %llu us", pid,
		(unsigned long long)t.stopped_us, t.stops, (unsigned long long)t.check_us,
		(unsigned long long)t.switch_us, (unsigned long long)t.thread_stop_us);
	if (g->n > 1)
		lc_info("process %d: %zu objects switched in the same stop", pid, g->n);
	for (size_t k = 0; k < g->n; k++) {
		struct patch_run *r = g->runs[k];
		uint32_t n = ((const struct lc_region_header *)r->image)->nhunks;
		for (uint32_t i = 0; i < n; i++)
			lc_info("process %d: %s at 0x%llx -> 0x%llx", pid,
				lc_patch_func_name(r->patch, i),
				(unsigned long long)patch_hunk(r, i)->addr,
				(unsigned long long)patch_hunk(r, i)->new_addr);
	}
	/* one line per object; the stop is the same one */
	for (size_t k = 0; k < g->n; k++) {
		struct patch_run *r = g->runs[k];
		printf("patched %d: %u function(s) replaced in %s, patient stopped for %llu us\n",
		       pid, ((const struct lc_region_header *)r->image)->nhunks, r->obj->path,
		       (unsigned long long)t.stopped_us);
	}
	return 0;
}

static int patch_run(struct patch_run *r)
{
	uint64_t t0 = lc_now_us();
	int prc = patch_prepare(r);
	if (prc != 0)
		return prc;
	if (r->check_only)
		return patch_report_check(r);
	struct patch_run *one = r;
	struct patch_group g = { &one, 1 };
	return patch_group_run(&g, lc_now_us() - t0);
}

static void patch_run_init(struct patch_run *r, pid_t pid, const char *file, int many,
			   int timeout_ms, int check_only)
{
	memset(r, 0, sizeof(*r));
	r->pr.memfd = -1;
	r->pid = pid;
	r->file = file;
	r->many = many;
	r->timeout_ms = timeout_ms;
	r->check_only = check_only;
}

/* Everything but the lock (one for the process, however many runs). */
static void patch_run_free(struct patch_run *r)
{
	lc_patch_release(r->patch);
	lc_regions_free(r->applied, r->napplied);
	lc_proc_close(&r->pr);
	free(r->image);
	free(r->sw_addr);
	free(r->sw_len);
	free(r->sw_saved);
}

/* One patch file into one process: 0 applied, PATCH_SKIPPED, PATCH_ALREADY,
 * -1 error.  The process is locked against other doctors once it is known
 * to have the object (patch_prepare). */
static int patch_one(pid_t pid, const char *file, int many, int timeout_ms, int check_only)
{
	struct patch_run r;
	patch_run_init(&r, pid, file, many, timeout_ms, check_only);
	int rc = patch_run(&r);
	if (r.locked)
		lc_lock_release(pid);
	patch_run_free(&r);
	return rc;
}

int lc_patch_file(pid_t pid, const char *file, int timeout_ms, int check_only)
{
	int rc = patch_one(pid, file, 0, timeout_ms, check_only);
	return rc == 0 ? 0 : rc == PATCH_ALREADY ? LC_EXIT_ALREADY : LC_EXIT_FAILED;
}

/* Is DIR/<hex>.kpatch (`path`) there to read?  With -p all (`memo`) asked
 * once per BuildID: the same objects are in process after process. */
static int dir_has(const char *path, const char *hex, int memo)
{
	static struct { char hex[2 * LC_BUILD_ID_MAX + 1]; int ok; } *seen;
	static size_t nseen;
	if (!memo)
		return access(path, R_OK) == 0;
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i].hex, hex) == 0)
			return seen[i].ok;
	seen = lc_xrealloc(seen, (nseen + 1) * sizeof(*seen));
	snprintf(seen[nseen].hex, sizeof(seen[nseen].hex), "%s", hex);
	seen[nseen].ok = access(path, R_OK) == 0;
	return seen[nseen++].ok;
}

/* lc_proc_peek's question: is there a patch for this BuildID in the DIR? */
static int peek_has_patch(const char *hex, void *ctx)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.kpatch", (const char *)ctx, hex);
	return dir_has(path, hex, 1);
}

/* DIR/<BuildID>.kpatch for each object of the process that has one, all
 * in one transition: every object is prepared first, then switched in the
 * same stop, so the patient never runs with one object's fix and not
 * another's.  If any object's patch is refused, none is applied.
 * Returns the number applied, or -1 if any failed. */
static int patch_dir(pid_t pid, const char *dir, int quiet, int peeked, int timeout_ms)
{
	struct lc_proc pr;
	struct lc_buf path = LC_BUF_INIT;
	int failed = 0, locked = 0, vanished = 0;
	struct patch_run **runs = NULL;
	size_t nruns = 0;

	/* -p all: a process whose objects are all known from earlier processes
	 * by what its maps show, none with a patch in DIR, is skipped at once
	 * (unless the caller peeked already) */
	if (quiet && !peeked && lc_proc_peek(pid, peek_has_patch, (void *)dir) == 1)
		return 0;
	if (quiet) {
		/* -p all: a process that vanished or has no objects is no error */
		char maps[64];
		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
		if (access(maps, R_OK) != 0)
			return 0;
	}
	struct lc_stderr_held held;
	if (quiet)
		lc_stderr_hold(&held);
	int open_rc = quiet ? lc_proc_open_any(&pr, pid) : lc_proc_open(&pr, pid);
	int opened = open_rc == 0;
	if (quiet)
		lc_stderr_release(&held, open_rc < 0 && lc_pid_alive(pid));
	if (!opened) {
		lc_proc_close(&pr);
		return quiet ? 0 : -1;
	}
	if (quiet)
		lc_stderr_hold(&held);
	uint64_t t0 = lc_now_us();
	for (size_t i = 0; i < pr.nobjs; i++) {
		if (!pr.objs[i].build_id_len)
			continue;
		lc_buf_reset(&path);
		lc_buf_addf(&path, "%s/%s.kpatch", dir, pr.objs[i].build_id_hex);
		if (!dir_has(path.data, pr.objs[i].build_id_hex, quiet))
			continue;
		struct patch_run *r = lc_xcalloc(1, sizeof(*r));
		patch_run_init(r, pid, lc_xstrdup(path.data), 1, timeout_ms, 0);
		r->before = runs;
		r->nbefore = nruns;
		r->from = &pr;
		int rc = patch_prepare(r);
		locked |= r->locked;
		if (rc == 0) {
			runs = lc_xrealloc(runs, (nruns + 1) * sizeof(*runs));
			runs[nruns++] = r;
			continue;
		}
		patch_run_free(r);
		free((char *)r->file);
		free(r);
		if (rc < 0 && quiet && !lc_pid_alive(pid)) {
			vanished = 1;
			break;
		}
		if (rc < 0)
			failed++;
	}
	int applied = 0;
	if (!vanished && nruns && failed) {
		lc_error("process %d: %s: none of the other %zu patch(es) applied either (the "
			 "objects of a process are patched together or not at all)", (int)pid, dir,
			 nruns);
	} else if (!vanished && nruns) {
		struct patch_group g = { runs, nruns };
		if (patch_group_run(&g, lc_now_us() - t0) == 0)
			applied = (int)nruns;
		else if (quiet && !lc_pid_alive(pid))
			vanished = 1;
		else
			failed++;
	}
	if (quiet)
		lc_stderr_release(&held, !vanished);
	if (vanished)
		lc_info("process %d exited meanwhile: skipped", (int)pid);
	if (locked)
		lc_lock_release(pid);
	for (size_t i = 0; i < nruns; i++) {
		patch_run_free(runs[i]);
		free((char *)runs[i]->file);
		free(runs[i]);
	}
	free(runs);
	lc_buf_free(&path);
	lc_proc_close(&pr);
	return failed ? -1 : applied;
}

/* -p all or a directory: every (process, patch) pair that fits. */
struct many {
	const pid_t *pids;
	const char *what;
	int is_dir, all, timeout_ms;
	int applied, failed;
};

#define MANY_GONE (-2)                  /* -p all FILE: gone before a look, not reported */
#define MANY_LEFT (-3)                  /* -p all leaves it alone (select.c), the reason in note */

/* One process of the list: patches applied (> 0), 0 skipped, -1 failed. */
static int many_one(size_t i, char *note, void *ctx)
{
	const struct many *m = ctx;
	pid_t pid = m->pids[i];
	int peeked = 0;
	/* -p all DIR: the peek first, where the output cannot tell a process
	 * left alone by the selection from one skipped by the peek (neither is
	 * touched): a skipped process then costs one read of its maps.  PID 1
	 * is the selection's before anything is read of it. */
	if (m->all && m->is_dir && pid != 1 && !lc_select_shown()) {
		if (lc_proc_peek(pid, peek_has_patch, (void *)m->what) == 1)
			return 0;
		peeked = 1;
	}
	if (m->all) {                   /* what lc_pids_all decides, here in parallel */
		int sel = lc_pid_select(pid, note, LC_WORK_NOTE);
		if (sel)
			return sel == 1 ? MANY_LEFT : MANY_GONE;
	}
	if (m->is_dir)
		return patch_dir(pid, m->what, m->all, peeked, m->timeout_ms);
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	if (access(maps, R_OK) != 0)
		return MANY_GONE;
	struct lc_stderr_held held;
	if (m->all)
		lc_stderr_hold(&held);
	int rc = patch_one(pid, m->what, 1, m->timeout_ms, 0);
	rc = rc == 0 ? 1 : rc == PATCH_SKIPPED ? 0 : -1;
	int vanished = rc < 0 && m->all && !lc_pid_alive(pid);
	if (m->all)
		lc_stderr_release(&held, !vanished);
	if (vanished) {
		lc_info("process %d exited meanwhile: skipped", (int)pid);
		rc = 0;
	}
	return rc;
}

/* Its result, in list order. */
static void many_done(size_t i, int rc, const char *note, void *ctx)
{
	struct many *m = ctx;
	pid_t pid = m->pids[i];
	if (rc == MANY_LEFT)
		lc_select_record(pid, note);
	if (rc == MANY_GONE || rc == MANY_LEFT)
		return;
	if (rc < 0)
		m->failed++;
	else
		m->applied += rc;
	if (rc < 0)
		lc_report(pid, "failed", "refused or failed (the error is on stderr)");
	else if (rc > 0)
		lc_report(pid, "patched", "%d patch(es) applied", rc);
	else
		lc_report(pid, "skipped", "no object a patch is for, or already applied");
}

static int patch_many(pid_t pid, const char *what, int is_dir, int timeout_ms, int jobs)
{
	pid_t *pids = NULL, one = pid;
	size_t n = 1;
	struct many m = { NULL, what, is_dir, pid == LC_PID_ALL, timeout_ms, 0, 0 };

	if (m.all) {
		if (lc_pids_listed(&pids, &n) != 0)
			return -1;
		lc_test_pause("queued");
	} else {
		pids = &one;
	}
	m.pids = pids;
	lc_workers_run(pids, n, m.all ? jobs : 1, many_one, many_done, &m);
	if (pids != &one)
		free(pids);
	if (m.failed)
		return -1;
	if (m.applied == 0) {
		if (pid == LC_PID_ALL)
			printf("no process needed a patch from %s\n", what);
		else
			printf("process %d: no patch from %s was needed\n", (int)pid, what);
	}
	return 0;
}

/* For -p all with a file: refuse a bad file once, before any process. */
static int patch_file_check(const char *file)
{
	struct lc_patch *p = lc_patch_read(file, NULL);
	if (!p)
		return -1;
	const struct lc_patch_header *h = lc_patch_header(p);
	if (h->build_id_len <= sizeof(all_file.id)) {
		memcpy(all_file.id, h->build_id, h->build_id_len);
		all_file.len = h->build_id_len;
	}
	lc_patch_release(p);
	return 0;
}

int lc_cmd_patch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pid", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "keys", required_argument, NULL, 'K' },
		{ "allow-unsigned", no_argument, NULL, 'U' },
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "jobs", required_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t pid = 0;
	const char *file = NULL;
	int c, verbose = lc_log_level(), have_pid = 0, timeout_ms = LC_SAFE_TIMEOUT_MS, json = 0;
	int jobs = lc_workers_default(), jobs_set = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:t:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h': patch_usage(stdout); return 0;
		case 't':
			if (lc_parse_timeout(optarg, &timeout_ms) != 0)
				return 1;
			break;
		case 'p':
			if (lc_parse_pid(optarg, &pid) != 0)
				return 1;
			have_pid = 1;
			break;
		case 'v': verbose++; break;
		case 'K': lc_verify_opts.keys = optarg; break;
		case 'U': lc_verify_opts.allow_unsigned = 1; break;
		case 'u':
			if (lc_parse_user(optarg, &lc_select_opts.user) != 0)
				return 1;
			lc_select_opts.have_user = 1;
			break;
		case 'j': json = 1; break;
		case 'J': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 || v > 64) {
				lc_error("patch: --jobs '%s' is not a number from 1 to 64", optarg);
				return 1;
			}
			jobs = (int)v;
			jobs_set = 1;
			break;
		}
		case ':':
			lc_error("patch: option '%s' needs a value (see libcare-doctor patch --help)",
				 argv[optind - 1]);
			return 1;
		default:
			lc_error("patch: bad option '%s' (see libcare-doctor patch --help)",
				 argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (!have_pid || !file || optind < argc) {
		lc_error("patch: %s (see libcare-doctor patch --help)",
			 !have_pid ? "-p PID is required" : !file ? "a patch FILE is required"
								: "too many arguments");
		return 1;
	}
	if ((lc_select_opts.have_user || json || jobs_set) && pid != LC_PID_ALL) {
		lc_error("patch: --user, --json and --jobs go with -p all");
		return 1;
	}
	lc_log_set_level(verbose);
	struct stat st;
	int is_dir = stat(file, &st) == 0 && S_ISDIR(st.st_mode);
	if (!is_dir && pid != LC_PID_ALL)
		return lc_patch_file(pid, file, timeout_ms, 0);
	if (pid == LC_PID_ALL) {        /* the same files in process after process: read once */
		lc_proc_cache(1);
		lc_verify_cache(1);
	}
	int rc = 1;
	if (is_dir || patch_file_check(file) == 0) {
		lc_report_begin(json && pid == LC_PID_ALL);
		rc = patch_many(pid, file, is_dir, timeout_ms, jobs) == 0 ? 0 : 1;
		lc_report_end();
	}
	lc_proc_cache(0);
	lc_verify_cache(0);
	return rc;
}
