/*
 * rseq.c - a thread stopped inside a restartable sequence, before the
 * doctor borrows it (an injected syscall, inject.c; a call into the
 * patient, call.c).
 *
 * A restartable sequence (rseq(2), registered for every thread by glibc
 * 2.35 and later, used by tcmalloc's and librseq's per-CPU data) is a
 * stretch of code, from start_ip for post_commit_offset bytes, ending in
 * one commit store.  The kernel never lets a thread go on inside one after
 * it was preempted, migrated or sent a signal: on its way back to user
 * space it moves the thread to the sequence's abort_ip (and clears the
 * thread's rseq_cs), and the sequence starts again on fresh per-CPU data.
 * The doctor's stop is such a preemption, and a plain stop is handled so:
 * the thread resumes where it was, and the kernel aborts it there.  But a
 * borrowed thread returns to user space first at the doctor's stub, away
 * from the sequence: the kernel then only forgets the sequence (clears
 * rseq_cs), and when the doctor puts the thread back on its own rip the
 * thread would commit a sequence it was stopped in for a millisecond or
 * more, on per-CPU data other threads used meanwhile, perhaps on another
 * CPU: the corruption rseq exists to prevent (doctor.rseq_section_aborted
 * shows the old doctor doing it).
 *
 * So before it borrows a thread the doctor does what the kernel would have
 * done on resuming it: if its rip is inside the sequence its rseq_cs
 * names, the registers it is put back with (and the stub's frame, for a
 * doctor killed meanwhile) take the abort_ip.  rseq_cs stays as it is:
 * the kernel clears it at the thread's next return to user space, abort_ip
 * lying outside the sequence.  The kernel's own checks come first, as it
 * makes them (a sequence of version 0, its abort_ip outside it and
 * preceded by the thread's registered signature, no deprecated no-restart
 * flag in the sequence or the thread's area): a sequence the kernel would
 * not abort (it kills the process instead) is not aborted here either, and
 * the thread is not borrowed.  The thread's rseq area comes from
 * PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13); a kernel without it has the
 * doctor go on as before (said at -vv).
 */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include "libcare/log.h"
#include "doctor.h"

/* PTRACE_GET_RSEQ_CONFIGURATION and its answer (include/uapi/linux/ptrace.h,
 * under names of ours: <linux/ptrace.h> and <sys/ptrace.h> do not mix),
 * and the two rseq structures' fields read here (uapi/linux/rseq.h). */
#define LC_PTRACE_GET_RSEQ_CONFIGURATION 0x420f

struct lc_rseq_config {
	uint64_t area;                  /* the thread's struct rseq, or 0 */
	uint32_t size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

struct lc_rseq_cs {
	uint32_t version;
	uint32_t flags;
	uint64_t start_ip;
	uint64_t post_commit_offset;
	uint64_t abort_ip;
};

#define RSEQ_AREA_CS 8                  /* offsetof(struct rseq, rseq_cs) */
#define RSEQ_AREA_FLAGS 16              /* offsetof(struct rseq, flags) */

static int read_at(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static int in_sequence(const struct lc_rseq_cs *cs, uint64_t ip)
{
	return ip - cs->start_ip < cs->post_commit_offset;
}

int lc_rseq_abort(pid_t pid, pid_t tid, struct user_regs_struct *r)
{
	struct lc_rseq_config c;
	memset(&c, 0, sizeof(c));
	if (ptrace(LC_PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(c), &c) < 0) {
		lc_debug("process %d: thread %d: no rseq configuration (%s): not looked at",
			 (int)pid, (int)tid, strerror(errno));
		return 0;
	}
	if (!c.area)
		return 0;               /* no rseq registered */
	uint64_t at;
	if (read_at(tid, c.area + RSEQ_AREA_CS, &at, sizeof(at)) != 0)
		return lc_error("process %d: cannot read the rseq area of thread %d at 0x%llx",
				(int)pid, (int)tid, (unsigned long long)c.area);
	if (!at)
		return 0;               /* in no sequence */
	struct lc_rseq_cs cs;
	if (read_at(tid, at, &cs, sizeof(cs)) != 0)
		return lc_error("process %d: cannot read the restartable sequence of thread %d "
				"at 0x%llx", (int)pid, (int)tid, (unsigned long long)at);
	if (!in_sequence(&cs, r->rip))
		return 0;               /* past it or before: the kernel just forgets it */
	uint32_t sig = 0, flags = 1;
	if (cs.version != 0 || cs.flags != 0 || cs.start_ip + cs.post_commit_offset < cs.start_ip ||
	    in_sequence(&cs, cs.abort_ip) || cs.abort_ip < 4 ||
	    read_at(tid, cs.abort_ip - 4, &sig, sizeof(sig)) != 0 || sig != c.signature ||
	    read_at(tid, c.area + RSEQ_AREA_FLAGS, &flags, sizeof(flags)) != 0 || flags != 0)
		return lc_error("process %d: thread %d is inside a restartable sequence at 0x%llx "
				"that the kernel would not abort (version %u, flags 0x%x/0x%x, abort "
				"0x%llx, signature 0x%x, registered 0x%x): not borrowing it",
				(int)pid, (int)tid, (unsigned long long)r->rip, cs.version, cs.flags,
				flags, (unsigned long long)cs.abort_ip, sig, c.signature);
	lc_debug("process %d: thread %d was stopped inside a restartable sequence at 0x%llx: "
		 "put back at its abort handler 0x%llx, as the kernel resumes a preempted one",
		 (int)pid, (int)tid, (unsigned long long)r->rip, (unsigned long long)cs.abort_ip);
	r->rip = cs.abort_ip;
	return 0;
}
