/*
 * stackscan.c - the conservative look at a thread's stack when unwinding
 * cannot vouch for it (an unwinding error, a frame without CFI, a pc in
 * no known object, too many frames, or no unwinder at all).
 *
 * Taking such a stack as ending where unwinding stopped would miss the
 * frames above: a thread could be inside a function about to be replaced
 * and return into it once the jump is written.  So every 8-byte word from
 * the stack pointer to the end of the mapping it is in (the live part of
 * the stack: what lies below rsp is dead) is looked at, and a word that is
 * a return address into a busy range (it points into one just after a
 * call instruction: lc_code_after_call) makes the thread busy.  A stale
 * word that only looks like one (an old value in an unused slot) makes it
 * busy too: the check errs towards waiting, never towards patching.  The
 * stack is read with one process_vm_readv, not word by word.
 *
 * Not covered: a thread running on a sigaltstack whose interrupted frames
 * are on its normal stack (only the alternate stack is scanned then).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define SCAN_MAX (64u << 20)

/* [start, end) of the mapping of `pid` holding addr; 0 or -1. */
static int mapping_of(pid_t pid, uint64_t addr, uint64_t *start, uint64_t *end)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)lc_proc_task(pid));
	FILE *f = fopen(path, "re");
	int rc = -1;
	if (!f)
		return -1;
	while (rc != 0 && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && addr >= s && addr < e) {
			*start = s;
			*end = e;
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

int lc_stack_scan(pid_t pid, pid_t tid, uint64_t rsp, int memfd, const struct lc_range *r,
		  size_t n, struct lc_stack_word *found)
{
	uint64_t start, end;
	memset(found, 0, sizeof(*found));
	rsp &= ~(uint64_t)7;
	if (mapping_of(pid, rsp, &start, &end) != 0) {
		lc_debug("process %d: thread %d: its stack pointer 0x%llx is in no mapping", (int)pid,
			 (int)tid, (unsigned long long)rsp);
		return -1;
	}
	size_t len = end - rsp;
	if (len > SCAN_MAX)
		len = SCAN_MAX;         /* deeper than any real stack: the rest is not read */
	uint64_t *w = lc_xmalloc(len ? len : 8);
	struct iovec local = { w, len }, remote = { (void *)(uintptr_t)rsp, len };
	ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
	if (got != (ssize_t)len) {
		lc_debug("process %d: thread %d: cannot read its stack 0x%llx-0x%llx: %s", (int)pid,
			 (int)tid, (unsigned long long)rsp, (unsigned long long)(rsp + len),
			 got < 0 ? strerror(errno) : "short read");
		free(w);
		return -1;
	}
	/* The outermost match is kept: the way out is above it. */
	for (size_t i = 0; i < len / 8; i++) {
		uint64_t v = w[i];
		if (v < 4096)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (v - 1 < r[k].lo || v - 1 >= r[k].hi || !lc_code_after_call(memfd, v))
				continue;
			found->ret = v;
			found->at = rsp + 8 * i;
			found->range = &r[k];
			break;
		}
	}
	lc_debug("process %d: thread %d: stack scan of %zu KiB from 0x%llx: %s", (int)pid, (int)tid,
		 len >> 10, (unsigned long long)rsp, found->range ? found->range->name : "nothing");
	free(w);
	return found->range != NULL;
}
