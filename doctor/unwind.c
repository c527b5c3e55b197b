/*
 * unwind.c - the return addresses on a stopped thread's stack, from the
 * CFI (.eh_frame/.debug_frame) of the objects it runs in, with elfutils'
 * libdwfl.  The doctor already holds the threads stopped under ptrace, so
 * libdwfl is given callbacks (registers by PTRACE_GETREGS, memory through
 * /proc/PID/mem) instead of attaching itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

struct lc_unwind {
	Dwfl *dwfl;
	pid_t pid;
	int memfd;
};

static pid_t unwind_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;        /* threads are named by the caller: get_thread */
}

static bool unwind_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	*thread_argp = (void *)(intptr_t)tid;
	return true;
}

static bool unwind_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct lc_unwind *u = arg;
	(void)dwfl;
	return pread(u->memfd, result, sizeof(*result), (off_t)addr) == sizeof(*result);
}

/* DWARF numbering of x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
static bool unwind_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	pid_t tid = (pid_t)(intptr_t)thread_arg;
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0)
		return false;
	Dwarf_Word regs[17] = {
		r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip,
	};
	if (!dwfl_thread_state_registers(thread, 0, 17, regs))
		return false;
	dwfl_thread_state_register_pc(thread, r.rip);
	return true;
}

static const Dwfl_Thread_Callbacks unwind_thread_callbacks = {
	.next_thread = unwind_next_thread,
	.get_thread = unwind_get_thread,
	.memory_read = unwind_memory_read,
	.set_initial_registers = unwind_initial_registers,
};

static char *debuginfo_path;
static const Dwfl_Callbacks unwind_proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

struct lc_unwind *lc_unwind_begin(pid_t pid)
{
	char path[64];
	struct lc_unwind *u = lc_xcalloc(1, sizeof(*u));
	pid_t task = lc_proc_task(pid);        /* the main thread may have exited */
	u->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)task);
	u->memfd = open(path, O_RDONLY | O_CLOEXEC);
	u->dwfl = dwfl_begin(&unwind_proc_callbacks);
	if (u->memfd < 0 || !u->dwfl || dwfl_linux_proc_report(u->dwfl, task) != 0 ||
	    dwfl_report_end(u->dwfl, NULL, NULL) != 0 ||
	    !dwfl_attach_state(u->dwfl, NULL, task, &unwind_thread_callbacks, u)) {
		lc_debug("process %d: no stack unwinding (%s); checking rip only", (int)pid,
			 dwfl_errmsg(-1));
		lc_unwind_end(u);
		return NULL;
	}
	return u;
}

void lc_unwind_end(struct lc_unwind *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	if (u->memfd >= 0)
		close(u->memfd);
	free(u);
}

struct unwind_frames {
	uint64_t *pcs;
	int n, max;
};

static int unwind_frame(Dwfl_Frame *state, void *arg)
{
	struct unwind_frames *f = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address points after its call: pc - 1 is in the caller. */
	f->pcs[f->n++] = activation ? pc : pc - 1;
	return f->n < f->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int lc_unwind_thread(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max)
{
	struct unwind_frames f = { pcs, 0, max };
	/* An error at the outermost frame is the normal end of a stack. */
	dwfl_getthread_frames(u->dwfl, tid, unwind_frame, &f);
	return f.n;
}
