/*
 * apply.c - libcare-audit-engine.so: one stored patch into this process,
 * for an object the dynamic linker has just mapped and whose code has not
 * run yet (audit.c says when).
 *
 * The same sequence as the doctor's, with this process as the target and
 * no thread to stop (nothing runs the new object yet): read and verify the
 * file, choose a gap within rel32 reach of the object, link the patch
 * there (lc_patch_link resolves its imports in the namespace, dynobj.c),
 * map the region, fill it, protect it, check each function still holds
 * the bytes the link recorded, write the jumps (journalled in the region
 * header as the doctor does: PREPARING, SWITCHING, APPLIED).  The region is the
 * doctor's: header, hunks, names (r--), code (r-x), data (rw-), so
 * `libcare-doctor info` lists the patch and `unpatch` takes it out.
 *
 * Any failure before the jumps leaves nothing behind (the region is
 * unmapped); a failed jump write puts the written ones back.
 *
 * A doctor (the server's rescan) could be patching the same process at the
 * same time: the loader takes the doctors' per-process lock (lock.c) when it
 * can open the lock file (root's processes), and waits for it a little.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "libcare/trust.h"
#include "engine.h"

struct apply_run {
	struct lc_loader_req *req;
	struct lc_namespace ns;
	struct lc_dynobj *target;
	struct lc_self self;
	struct lc_patch *patch;
	uint64_t addr;
	size_t size;
	uint8_t *image;
	int mapped;
	int via_mem;            /* filled through /proc/self/mem (apply_region_final) */
	uint64_t cfi_dereg;     /* __deregister_frame_info, once the CFI is registered */
};

#define LOCK_WAIT_MS 1000

/* The doctors' lock on byte PID of $LIBCARE_LOCK_DIR/doctor.lock (default
 * /run/libcare): -1 (logged) if a doctor holds it; no file, or not ours to
 * open (an unprivileged process): no doctor can be in the way unlocked. */
static int apply_lock(int *fd)
{
	const char *env = getenv("LIBCARE_LOCK_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/doctor.lock", env && *env ? env : "/run/libcare");
	*fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return 0;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = getpid(), .l_len = 1 };
	for (int waited = 0; fcntl(*fd, F_SETLK, &fl) != 0; waited += 10) {
		if ((errno != EACCES && errno != EAGAIN) || waited >= LOCK_WAIT_MS) {
			close(*fd);
			*fd = -1;
			return lc_error("a libcare-doctor is changing this process");
		}
		usleep(10000);
	}
	return 0;
}

static int target_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct apply_run *r = ctx;
	const char *who;
	if (lc_ns_unrelocated(&r->ns, addr, len, &who))
		return lc_error("the link reads the slot at 0x%llx of %s, which the dynamic linker "
				"has not filled yet (the object is being loaded by dlopen); "
				"libcare-doctor can apply this patch once it is loaded",
				(unsigned long long)addr, who);
	return lc_self_read(&r->self, addr, buf, len);
}

static int target_lookup(void *ctx, const char *name, const char *version, struct lc_import *out)
{
	struct apply_run *r = ctx;
	return lc_ns_lookup(&r->ns, name, version, out);
}

static int target_tls(void *ctx, const char *name, const char *version, struct lc_tls *out)
{
	struct apply_run *r = ctx;
	return lc_ns_tls(&r->ns, r->target, name, version, out);
}

/*
 * The one place a patch file is judged before it is parsed, with the
 * doctor's checks (doctor/verify.c): from a trustworthy place (owner,
 * modes, no FIFO, size cap), the whole file and its Ed25519 signature
 * against the trusted keys of req->keys ($LIBCARE_KEYS).
 */
static struct lc_patch *apply_verify_load(struct apply_run *r)
{
	struct lc_loader_req *req = r->req;
	struct lc_buf file = LC_BUF_INIT;
	struct lc_signer signer;
	char why[512];
	struct lc_patch *p = NULL;

	if (lc_trust_read(req->file, LC_PATCH_FILE_MAX, &file, why, sizeof(why)) != 0)
		lc_error("cannot use %s: %s", req->file, why);
	else if (lc_patchfile_verify(file.data, file.len, req->keys,
				     req->allow_unsigned ? LC_VERIFY_ALLOW_UNSIGNED : 0, &signer,
				     why, sizeof(why)) != 0)
		lc_error("%s: %s", req->file, why);
	else if ((p = lc_patch_load(file.data, file.len, req->file)) != NULL)
		lc_patch_set_signer(p, &signer);
	lc_buf_free(&file);
	return p;
}

/* The run-time extent of the object's PT_LOAD segments. */
static void object_extent(const struct lc_loader_obj *o, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (size_t i = 0; i < o->phnum; i++) {
		const Elf64_Phdr *ph = &o->phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t a = o->map->l_addr + (ph->p_vaddr & ~(uint64_t)(LC_PAGE_SIZE - 1));
		uint64_t b = o->map->l_addr + ph->p_vaddr + ph->p_memsz;
		if (a < *lo)
			*lo = a;
		if (b > *hi)
			*hi = b;
	}
}

static int apply_prepare(struct apply_run *r)
{
	struct lc_loader_req *req = r->req;

	r->patch = apply_verify_load(r);
	if (!r->patch)
		return -1;
	const struct lc_patch_header *h = lc_patch_header(r->patch);
	if (h->build_id_len != req->target->build_id_len ||
	    memcmp(h->build_id, req->target->build_id, h->build_id_len) != 0)
		return lc_error("%s is not for BuildID %s (its header names another object)",
				req->file, req->target->build_id_hex);
	lc_ns_open(&r->ns, req->head, req->objs, req->nobjs);
	r->target = lc_ns_find(&r->ns, req->target->map);
	if (!r->target)
		return lc_error("the object is not in the program's namespace");
	if (lc_self_maps(&r->self) != 0)
		return -1;
	uint64_t lo, hi;
	object_extent(req->target, &lo, &hi);
	const struct lc_layout *l = lc_patch_layout(r->patch);
	struct lc_span *used = lc_xcalloc(r->self.n, sizeof(*used));
	for (size_t i = 0; i < r->self.n; i++)
		used[i] = (struct lc_span){ r->self.maps[i].start, r->self.maps[i].end };
	int rc = lc_gap_choose(used, r->self.n, lo, hi, l->size, l->needs_low, &r->addr);
	free(used);
	if (rc != 0)
		return lc_error("no free %zu bytes within 2 GiB of the object%s", l->size,
				l->needs_low ? " and below 2 GiB" : "");
	struct lc_target t = { r, r->target->bias, target_read, target_lookup, target_tls, lo, hi };
	if (lc_patch_link(r->patch, &t, r->addr) != 0)
		return -1;
	const uint8_t *img = lc_patch_image(r->patch, &r->size);
	r->image = lc_xmalloc(r->size);
	memcpy(r->image, img, r->size);
	((struct lc_region_header *)r->image)->applied = (uint64_t)time(NULL);
	return 0;
}

/*
 * Under a policy that refuses to make writable memory executable
 * (systemd's MemoryDenyWriteExecute=, prctl PR_SET_MDWE), the region is
 * mapped with its final protections and filled through /proc/self/mem,
 * which such policies do not govern (the code jumps go in the same way).
 */
static int apply_region_final(struct apply_run *r)
{
	const struct lc_layout *l = lc_patch_layout(r->patch);
	const struct { size_t off, len; int prot; } part[3] = {
		{ 0, l->header_size, PROT_READ },
		{ l->text_offset, l->data_offset - l->text_offset, PROT_READ | PROT_EXEC },
		{ l->data_offset, r->size - l->data_offset, PROT_READ | PROT_WRITE },
	};
	for (int i = 0; i < 3; i++) {
		if (!part[i].len)
			continue;
		void *want = (void *)(uintptr_t)(r->addr + part[i].off);
		void *at = mmap(want, part[i].len, part[i].prot,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (at != MAP_FAILED)
			r->mapped = 1;
		if (at == MAP_FAILED || at != want)
			return lc_error("cannot map the patch region at 0x%llx: %s",
					(unsigned long long)r->addr, at == MAP_FAILED ? strerror(errno) :
					"another address was given");
	}
	if (lc_self_write_code(&r->self, r->addr, r->image, r->size) != 0)
		return lc_error("cannot fill the patch region: making memory executable is refused "
				"(MemoryDenyWriteExecute= or an LSM) and /proc/self/mem cannot be written");
	r->via_mem = 1;
	return 0;
}

static int apply_region(struct apply_run *r)
{
	const struct lc_layout *l = lc_patch_layout(r->patch);
	void *at = mmap((void *)(uintptr_t)r->addr, r->size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at == MAP_FAILED)
		return lc_error("cannot map the patch region at 0x%llx: %s",
				(unsigned long long)r->addr, strerror(errno));
	r->mapped = 1;
	if ((uint64_t)(uintptr_t)at != r->addr) {
		/* a kernel without MAP_FIXED_NOREPLACE took the address as a hint */
		r->addr = (uint64_t)(uintptr_t)at;
		return lc_error("the patch region did not go at the address chosen");
	}
	memcpy(at, r->image, r->size);     /* journal: PREPARING */
	size_t text = l->data_offset - l->text_offset;   /* code, stubs, unwind info */
	/* the header stays writable for the journal until the jumps are in */
	if (mprotect((char *)at + l->text_offset, text, PROT_READ | PROT_EXEC) == 0)
		return 0;
	if (errno != EPERM && errno != EACCES)
		return lc_error("cannot make the patch region executable: %s", strerror(errno));
	munmap(at, r->size);
	r->mapped = 0;
	return apply_region_final(r);
}

/* The region's journal (region.h), as the doctor keeps it: written before
 * the step it describes. */
static void apply_journal(struct apply_run *r, uint32_t state, uint32_t done)
{
	struct lc_region_journal j;
	memset(&j, 0, sizeof(j));
	j.state = state;
	j.done = done;
	j.doctor = (uint32_t)getpid();
	uint64_t at = r->addr + offsetof(struct lc_region_header, journal);
	if (r->via_mem)
		lc_self_write_code(&r->self, at, &j, sizeof(j));
	else
		memcpy((void *)(uintptr_t)at, &j, sizeof(j));
}

/* The patch code's unwind information goes to this process's libgcc_s,
 * when it has one (as the doctor does it: docs/doctor.md), with the
 * region's own bytes as libgcc's object. */
static void apply_cfi(struct apply_run *r)
{
	const struct lc_region_header *h = (const struct lc_region_header *)r->image;
	struct lc_import reg, dereg;
	if (!h->eh_frame_size || lc_ns_lookup(&r->ns, "__register_frame_info", NULL, &reg) != 1 ||
	    reg.ifunc || lc_ns_lookup(&r->ns, "__deregister_frame_info", NULL, &dereg) != 1 ||
	    dereg.ifunc)
		return;
	void (*fn)(const void *, void *) = (void (*)(const void *, void *))(uintptr_t)reg.addr;
	fn((const void *)(uintptr_t)(r->addr + h->eh_frame_offset),
	   (void *)(uintptr_t)(r->addr + h->eh_object_offset));
	r->cfi_dereg = dereg.addr;
}

static int apply_jumps(struct apply_run *r)
{
	const struct lc_region_header *h = (const struct lc_region_header *)r->image;
	uint8_t now[LC_HUNK_MAX_BYTES];
	uint32_t i;

	for (i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		if (lc_self_read(&r->self, hk->addr, now, hk->len) != 0 ||
		    memcmp(now, hk->old_bytes, hk->len) != 0)
			return lc_error("function '%s' at 0x%llx does not hold the bytes the patch was "
					"linked against", lc_region_name(h, hk->name),
					(unsigned long long)hk->addr);
	}
	apply_journal(r, LC_REGION_SWITCHING, 0);
	for (i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		if (lc_self_write_code(&r->self, hk->addr, hk->new_bytes, hk->len) != 0)
			break;
		apply_journal(r, LC_REGION_SWITCHING, i + 1);
	}
	if (i == h->nhunks) {
		apply_journal(r, LC_REGION_APPLIED, i);
		if (!r->via_mem && mprotect((void *)(uintptr_t)r->addr, lc_patch_layout(r->patch)->header_size,
			     PROT_READ) != 0)
			lc_warn("the patch region's header at 0x%llx stays writable: %s",
				(unsigned long long)r->addr, strerror(errno));
		return 0;
	}
	while (i-- > 0) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		lc_self_write_code(&r->self, hk->addr, hk->old_bytes, hk->len);
	}
	return -1;
}

/* The line LIBCARE_AUDIT_VERBOSE prints (audit.c says it, where the log goes). */
static void apply_report(struct apply_run *r, char *out, size_t outlen)
{
	const struct lc_region_header *h = (const struct lc_region_header *)r->image;
	char names[512] = "";
	size_t off = 0;
	for (uint32_t i = 0; i < h->nhunks && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, " %s",
					lc_region_name(h, lc_region_hunk(h, i)->name));
	snprintf(out, outlen, "patched %s with '%s' level %u at 0x%llx, %u function(s):%s",
		 r->target->name, h->patch.id, h->patch.level, (unsigned long long)r->addr,
		 h->nhunks, names);
}

__attribute__((visibility("default"))) int lc_loader_apply(struct lc_loader_req *req)
{
	struct apply_run r;
	memset(&r, 0, sizeof(r));
	r.req = req;
	lc_log_init("libcare-audit");
	lc_log_capture(req->why, sizeof(req->why));
	int lock = -1;
	int rc = apply_lock(&lock);
	if (rc == 0)
		rc = apply_prepare(&r);
	if (rc == 0)
		rc = apply_region(&r);
	if (rc == 0)
		apply_cfi(&r);
	if (rc == 0)
		rc = apply_jumps(&r);
	if (rc != 0 && r.cfi_dereg) {
		const struct lc_region_header *h = (const struct lc_region_header *)r.image;
		void *(*fn)(const void *) = (void *(*)(const void *))(uintptr_t)r.cfi_dereg;
		fn((const void *)(uintptr_t)(r.addr + h->eh_frame_offset));
	}
	if (rc != 0 && r.mapped)
		munmap((void *)(uintptr_t)r.addr, r.size);
	if (lock >= 0)
		close(lock);           /* drops the lock */
	lc_log_capture(NULL, 0);
	if (rc == 0) {
		req->region = r.addr;
		req->region_size = r.size;
	}
	if (rc == 0 && req->verbose)
		apply_report(&r, req->report, sizeof(req->report));
	if (rc != 0 && !req->why[0])
		snprintf(req->why, sizeof(req->why), "failed");
	lc_patch_free(r.patch);
	lc_ns_close(&r.ns);
	lc_self_free(&r.self);
	free(r.image);
	return rc == 0 ? 0 : -1;
}
