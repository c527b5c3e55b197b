/*
 * cfi.c - the unwind information of a patch region, made known to the
 * patient's unwinder: libgcc's, which C++ exceptions, pthread_cancel and
 * backtrace() use (glibc's backtrace and cancellation load libgcc_s and go
 * through it).
 *
 * The region holds .kpatch.eh_frame, terminated, in its r-x part and room
 * for libgcc's `struct object` in its rw- part (runtime/layout.c).  Once the
 * region is written, one stopped thread calls
 *
 *	__register_frame_info(region + eh_frame_offset, region + eh_object_offset)
 *
 * in the patient (call.c).  That variant allocates nothing (the object is
 * ours; __register_frame would malloc it) and takes only libgcc's
 * object_mutex, so the calling thread must not be inside libgcc itself:
 * its stack is checked first.  Before the region is unmapped (rollback,
 * unpatch, a level replaced) __deregister_frame_info(eh_frame) takes it out
 * again, only if the object says it is registered: libgcc aborts the
 * process when asked to deregister what it does not know.  The call does not
 * clear the object, so the doctor does (after it); and because a doctor
 * killed during the call or before that clear would leave the next one
 * unable to tell whether the deregistration happened (a second one aborts
 * the patient), the last word of the object's room is set before the call
 * and cleared after: a region found with it set is never deregistered
 * again and stays mapped (an FDE of mapped memory is harmless).
 *
 * A process without libgcc_s (a C program that never threw, cancelled or
 * called backtrace) is not given the CFI: when a patch needs it for
 * exceptions (a personality routine in a CIE: C++, or C with -fexceptions)
 * it is refused before the patient is touched; otherwise the patch goes
 * in without registered CFI and says so, and an unwinder loaded later
 * stops at patch frames (docs/doctor.md).
 */
#include <string.h>
#include <sys/ptrace.h>
#include "libcare/log.h"
#include "doctor.h"

/* In the LC_EH_OBJECT_SIZE (128) bytes of room after .kpatch.data, past
 * libgcc's struct object (7 words in GCC 12): non-zero while a doctor
 * deregisters it. */
#define CFI_PENDING_OFFSET 120

#define CFI_REGISTER   "__register_frame_info"
#define CFI_DEREGISTER "__deregister_frame_info"

/* Does a CIE of the eh_frame bytes name a personality routine ('P')? */
static int cfi_needs_personality(const uint8_t *eh, size_t len)
{
	size_t off = 0;
	while (off + 8 <= len) {
		uint32_t n, id;
		memcpy(&n, eh + off, 4);
		if (n == 0 || n == 0xffffffffu || n > len - off - 4)
			break;
		memcpy(&id, eh + off + 4, 4);
		if (id == 0 && off + 9 < len) {          /* a CIE: version, augmentation */
			const char *aug = (const char *)eh + off + 9;
			size_t max = len - off - 9;
			if (memchr(aug, 'P', strnlen(aug, max)))
				return 1;
		}
		off += 4 + n;
	}
	return 0;
}

int lc_cfi_prepare(struct lc_proc *pr, const uint8_t *image, struct lc_cfi_ops *ops)
{
	const struct lc_region_header *h = (const struct lc_region_header *)image;
	struct lc_import imp;

	memset(ops, 0, sizeof(*ops));
	if (!h->eh_frame_size)
		return 0;
	if (lc_symbols_lookup(pr, CFI_REGISTER, NULL, &imp) == 1 && !imp.ifunc) {
		ops->reg = imp.addr;
		if (lc_symbols_lookup(pr, CFI_DEREGISTER, NULL, &imp) == 1 && !imp.ifunc)
			ops->dereg = imp.addr;
	}
	if (ops->reg && ops->dereg)
		return 0;
	ops->reg = ops->dereg = 0;
	if (cfi_needs_personality(image + h->eh_frame_offset, h->eh_frame_size))
		return lc_error("process %d: the patch's code handles exceptions (a personality "
				"routine in its unwind information), but the process has no libgcc_s "
				"(%s) to unwind it: refused", (int)pr->pid, CFI_REGISTER);
	lc_info("process %d: no libgcc_s in the process: the patch's unwind information is not "
		"registered (an unwinder loaded later stops at patch frames)", (int)pr->pid);
	return 0;
}

/* Is a frame of `th` inside the object that holds `fn` (libgcc_s)? */
static int cfi_thread_in_libgcc(struct lc_proc *pr, struct lc_unwind *u, struct lc_thread *th,
				uint64_t fn)
{
	const struct lc_object *lib = NULL;
	for (size_t i = 0; i < pr->nobjs; i++)
		if (fn >= pr->objs[i].lo && fn < pr->objs[i].hi)
			lib = &pr->objs[i];
	if (!lib)
		return 0;
	uint64_t pcs[64];
	int n = u ? lc_unwind_thread(u, th->tid, pcs, 64) : 0;
	if (n <= 0) {           /* rip alone */
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) != 0)
			return 1;
		pcs[0] = r.rip;
		n = 1;
	}
	for (int i = 0; i < n; i++)
		if (pcs[i] >= lib->lo && pcs[i] < lib->hi)
			return 1;
	return 0;
}

int lc_cfi_register(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
		    struct lc_unwind *u, const struct lc_cfi_ops *ops, uint64_t addr,
		    const struct lc_region_header *h)
{
	uint64_t ret;
	if (!h->eh_frame_size || !ops->reg)
		return 0;
	if (cfi_thread_in_libgcc(pr, u, th, ops->reg))
		return lc_error("process %d: thread %d is inside libgcc_s (it may hold the lock "
				"%s takes): try again", (int)pr->pid, (int)th->tid, CFI_REGISTER);
	const uint64_t args[2] = { addr + h->eh_frame_offset, addr + h->eh_object_offset };
	if (lc_call_function(ts, th, ops->reg, args, 2, &ret) != 0)
		return lc_error("process %d: the patch's unwind information could not be "
				"registered", (int)pr->pid);
	lc_info("process %d: unwind information at 0x%llx (%llu bytes) registered with libgcc_s",
		(int)pr->pid, (unsigned long long)args[0], (unsigned long long)h->eh_frame_size);
	return 0;
}

int lc_cfi_deregister(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
		      struct lc_unwind *u, uint64_t addr, const struct lc_region_header *h)
{
	uint64_t word = 0, ret;
	struct lc_cfi_ops ops;
	struct lc_import imp;

	if (!lc_region_eh_size(h))      /* none, or a region of an older format */
		return 0;
	if (lc_mem_read(pr, addr + h->eh_object_offset, &word, sizeof(word)) != 0)
		return lc_error("process %d: cannot read the unwind object of the region at 0x%llx",
				(int)pr->pid, (unsigned long long)addr);
	if (!word)
		return 0;       /* never registered */
	uint64_t pending = 0, one = 1;
	const uint64_t pending_at = addr + h->eh_object_offset + CFI_PENDING_OFFSET;
	if (lc_mem_read(pr, pending_at, &pending, sizeof(pending)) != 0)
		return lc_error("process %d: cannot read the unwind object of the region at 0x%llx",
				(int)pr->pid, (unsigned long long)addr);
	if (pending) {
		lc_info("process %d: an earlier doctor ended while it took out the unwind "
			"information of the region at 0x%llx: whether it did is not known, so the "
			"region stays mapped", (int)pr->pid, (unsigned long long)addr);
		return 1;
	}
	if (lc_symbols_lookup(pr, CFI_DEREGISTER, NULL, &imp) != 1 || imp.ifunc)
		return lc_error("process %d: the region at 0x%llx has unwind information registered, "
				"but %s is not found", (int)pr->pid, (unsigned long long)addr,
				CFI_DEREGISTER);
	ops.reg = 0;
	ops.dereg = imp.addr;
	if (cfi_thread_in_libgcc(pr, u, th, ops.dereg))
		return lc_error("process %d: thread %d is inside libgcc_s (it may hold the lock "
				"%s takes): try again", (int)pr->pid, (int)th->tid, CFI_DEREGISTER);
	const uint64_t arg = addr + h->eh_frame_offset;
	if (lc_mem_write(pr, pending_at, &one, sizeof(one)) != 0)
		return lc_error("process %d: cannot mark the unwind object of the region at 0x%llx",
				(int)pr->pid, (unsigned long long)addr);
	if (lc_call_function(ts, th, ops.dereg, &arg, 1, &ret) != 0)
		return -1;      /* the mark stays: it may have run */
	if (ret != addr + h->eh_object_offset)
		lc_warn("process %d: %s(0x%llx) returned 0x%llx", (int)pr->pid, CFI_DEREGISTER,
			(unsigned long long)arg, (unsigned long long)ret);
	word = 0;
	if (lc_mem_write(pr, addr + h->eh_object_offset, &word, sizeof(word)) != 0) {
		lc_warn("process %d: cannot clear the unwind object at 0x%llx", (int)pr->pid,
			(unsigned long long)(addr + h->eh_object_offset));
		return 1;       /* marked: never taken out twice */
	}
	lc_mem_write(pr, pending_at, &word, sizeof(word));
	lc_debug("process %d: unwind information at 0x%llx deregistered", (int)pr->pid,
		 (unsigned long long)arg);
	return 0;
}

int lc_cfi_register_at(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
		       struct lc_unwind *u, uint64_t reg, uint64_t eh, uint64_t obj)
{
	uint64_t ret;
	if (cfi_thread_in_libgcc(pr, u, th, reg))
		return lc_error("process %d: thread %d is inside libgcc_s (it may hold the lock "
				"%s takes)", (int)pr->pid, (int)th->tid, CFI_REGISTER);
	const uint64_t args[2] = { eh, obj };
	if (lc_call_function(ts, th, reg, args, 2, &ret) != 0)
		return -1;
	return 0;
}

int lc_cfi_deregister_at(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
			 struct lc_unwind *u, uint64_t eh, uint64_t obj)
{
	uint64_t word = 0, ret;
	struct lc_import imp;
	if (lc_mem_read(pr, obj, &word, sizeof(word)) != 0)
		return -1;
	if (!word)
		return 0;       /* never registered */
	if (lc_symbols_lookup(pr, CFI_DEREGISTER, NULL, &imp) != 1 || imp.ifunc)
		return lc_error("process %d: unwind information at 0x%llx is registered, but %s is "
				"not found", (int)pr->pid, (unsigned long long)eh, CFI_DEREGISTER);
	if (cfi_thread_in_libgcc(pr, u, th, imp.addr))
		return lc_error("process %d: thread %d is inside libgcc_s (it may hold the lock "
				"%s takes)", (int)pr->pid, (int)th->tid, CFI_DEREGISTER);
	if (lc_call_function(ts, th, imp.addr, &eh, 1, &ret) != 0)
		return -1;
	if (ret != obj)
		lc_warn("process %d: %s(0x%llx) returned 0x%llx", (int)pr->pid, CFI_DEREGISTER,
			(unsigned long long)eh, (unsigned long long)ret);
	word = 0;
	lc_mem_write(pr, obj, &word, sizeof(word));
	return 0;
}
