/*
 * ifunc.c - an IFUNC that no object of the patient has bound yet (a libc
 * function such as memrchr that the patched program never imported):
 * resolved the way the dynamic linker would, by calling its resolver in
 * the patient (call.c) and binding the import to the address it returns.
 *
 * On x86-64 ld.so calls a resolver with no arguments (elf_ifunc_invoke);
 * glibc's resolvers read the cpu features ld.so set up at start, and
 * GCC's __builtin_cpu_supports reads __cpu_model, initialised by a
 * constructor long before any patch.  A resolver is pure: it may run in
 * one thread while the others run on.
 *
 * Done while preparing the patch, before the patient is changed: the
 * threads are seized just long enough for one of them to run the resolver.
 * `check` does not call it (a dry run runs no code in the patient).
 */
#include <string.h>
#include "libcare/log.h"
#include "doctor.h"

int lc_ifunc_resolve(pid_t pid, const char *name, int dry_run, struct lc_import *imp)
{
	struct lc_threads ts;
	uint64_t impl = 0;
	int rc = -1;

	if (dry_run) {
		lc_info("process %d: IFUNC '%s' would be resolved by calling its resolver at 0x%llx",
			(int)pid, name, (unsigned long long)imp->addr);
		imp->ifunc = 0;
		return 0;
	}
	if (lc_threads_seize(&ts, pid) != 0)
		return -1;
	struct lc_thread *th = lc_threads_pick(&ts);
	if (!th || lc_thread_stop(&ts, th) != 0 || th->gone)
		lc_error("process %d: no thread to run the resolver of IFUNC '%s' in", (int)pid, name);
	else if (lc_call_function(&ts, th, imp->addr, NULL, 0, &impl) == 0)
		rc = 0;
	lc_threads_detach(&ts);
	if (rc != 0)
		return lc_error("process %d: IFUNC '%s': its resolver at 0x%llx could not be run",
				(int)pid, name, (unsigned long long)imp->addr);
	if (!impl)
		return lc_error("process %d: IFUNC '%s': its resolver at 0x%llx returned 0", (int)pid,
				name, (unsigned long long)imp->addr);
	lc_info("process %d: IFUNC '%s' resolved in the patient: resolver 0x%llx -> 0x%llx",
		(int)pid, name, (unsigned long long)imp->addr, (unsigned long long)impl);
	imp->addr = impl;
	imp->ifunc = 0;
	return 0;
}
