/*
 * doctor.h - what the files of libcare-doctor share: the patient's address
 * space (proc.c, symbols.c, mem.c), its threads (attach.c), syscalls run in
 * it (inject.c), patch regions (region.c), the busy check (stack.c) and the
 * subcommands (patch.c, unpatch.c, info.c).
 */
#ifndef LIBCARE_DOCTOR_H
#define LIBCARE_DOCTOR_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include "libcare/log.h"
#include "libcare/patchfile.h"
#include "libcare/region.h"
#include "runtime.h"

/* --- proc.c: mappings and objects of /proc/PID/maps ---------------------- */

struct lc_map {
	uint64_t start, end, offset;
	char perms[5];
	char *path;              /* NULL: anonymous; "[vdso]", "/usr/lib/..." */
	uint64_t dev, inode;     /* as maps shows them (dev: major << 32 | minor) */
};

struct lc_dynsym;
struct lc_dynrel;

struct lc_object {
	char *path;              /* as in maps, without " (deleted)" */
	char *file;              /* how the doctor opens it (/proc/PID/map_files/...) */
	uint64_t bias;           /* load bias: 0 for ET_EXEC */
	uint64_t lo, hi;         /* run-time extent of its PT_LOAD segments */
	uint64_t first_map;      /* start of its lowest mapping: load order */
	int is_exec;             /* the main program */
	int is_interp;           /* its dynamic linker (PT_INTERP) */
	uint64_t dev, ino;       /* the file's identity (stat of `file`) */
	uint8_t build_id[LC_BUILD_ID_MAX];
	int build_id_len;
	char build_id_hex[2 * LC_BUILD_ID_MAX + 1];
	struct lc_dynsym *syms;  /* symbols.c, loaded on first lookup */
	size_t nsyms;
	struct lc_dynrel *rels;  /* its GOT slots: IRELATIVE, JUMP_SLOT, GLOB_DAT */
	size_t nrels;
	int syms_loaded;
	int syms_shared;         /* syms and rels are symbols.c's cache's */
	const void *file_key;    /* proc.c's cache entry of its file, or NULL */
	int has_tls;             /* PT_TLS (symbols.c): size, alignment, first byte */
	uint64_t tls_memsz, tls_align, tls_firstbyte;
};

struct lc_proc {
	pid_t pid;
	struct lc_map *maps;
	size_t nmaps;
	struct lc_object *objs;  /* in load order: the program first */
	size_t nobjs;
	int memfd;               /* /proc/PID/mem, -1 until lc_mem_open */
};

/* Opens the process: maps and ELF objects.  Errors name the PID. */
int lc_proc_open(struct lc_proc *pr, pid_t pid);
/* As lc_proc_open for -p all: 1, with no message, for a process with no
 * ELF object mapped (nothing of it to patch: one in the middle of an exec
 * has only its new stack for a moment). */
int lc_proc_open_any(struct lc_proc *pr, pid_t pid);
void lc_proc_close(struct lc_proc *pr);
/* A copy of an open process's maps and objects (symbols not loaded). */
void lc_proc_copy(struct lc_proc *to, const struct lc_proc *from);
/* Where /proc shows process `pid`: pid itself, or the first live thread if
 * the main thread has exited (pthread_exit: a zombie leader has no maps). */
pid_t lc_proc_task(pid_t pid);
/* A thread of the process is neither a zombie nor exiting. */
int lc_proc_alive(pid_t pid);
/* While on, what each object's file says is read once per file (by its
 * identity) and kept: patch -p all.  Off forgets it all. */
void lc_proc_cache(int on);
/* A yes/no fact of an object's file, computed by compute(o) once per file
 * while the cache is on (every time while it is off). */
enum { LC_FACT_SWITCHES_STACKS, LC_FACTS };
int lc_object_fact(const struct lc_object *o, int fact, int (*compute)(const struct lc_object *));
/* -p all's first look at a process (lc_proc_cache on): fn(BuildID hex,
 * ctx) for each ELF object /proc/PID/maps shows, known from the cache by
 * the device and inode maps gives, without opening anything else.  1 if
 * every object was known and fn returned 0 for each; 0 if the process
 * needs a proper look (an unknown file, no object, maps unreadable, fn
 * returned non-zero).  fn is asked once per file for the same fn and ctx
 * (its answer is kept with the file while the cache is on). */
int lc_proc_peek(pid_t pid, int (*fn)(const char *hex, void *ctx), void *ctx);
/* Rereads /proc/PID/maps (the objects stay). */
int lc_proc_reload_maps(struct lc_proc *pr);
struct lc_object *lc_proc_object_by_buildid(struct lc_proc *pr, const uint8_t *id, size_t len);
/* The address of a `syscall` instruction (0f 05) in an executable mapping. */
int lc_proc_syscall_insn(struct lc_proc *pr, uint64_t *addr);

/* --- symbols.c: .dynsym of the loaded objects, with versions -------------- */

int lc_symbols_lookup(struct lc_proc *pr, const char *name, const char *version,
		      struct lc_import *out);
void lc_symbols_free(struct lc_object *obj);
/* While lc_proc_cache is on, an object file's symbols are read once (by its
 * file_key); lc_proc_cache(0) calls this to forget them. */
void lc_symbols_cache_clear(void);
/* The TLS module of `target` (name NULL) or of the object defining the
 * thread-local `name`: 1 found, 0 not, -1 error (logged). */
int lc_symbols_tls(struct lc_proc *pr, struct lc_object *target, const char *name,
		   const char *version, struct lc_tls *out);

/* --- mem.c: the patient's memory through /proc/PID/mem -------------------- */

int lc_mem_open(struct lc_proc *pr);
int lc_mem_read(struct lc_proc *pr, uint64_t addr, void *buf, size_t len);
int lc_mem_write(struct lc_proc *pr, uint64_t addr, const void *buf, size_t len);

/* --- attach.c: the patient's threads under ptrace ------------------------- */

struct lc_thread {
	pid_t tid;
	int stopped;             /* in a ptrace-stop we waited for */
	int gone;                /* exited meanwhile */
	int sig;                 /* signal to deliver when it resumes */
	int timed_out;           /* did not stop when asked */
	int detach_asked;        /* interrupted to be detached (lc_threads_detach) */
	int group_stop;          /* the process is stopped (SIGSTOP...): the
	                          * thread is not resumed before the detach */
	int st;                  /* the waitpid status of the stop it is in */
	uint64_t deferred;       /* signals met while it ran the doctor's code
	                          * (bit sig-1): sent again (tgkill) once its
	                          * own registers and mask are back */
	int vchild;              /* a vfork child (another process) sharing the
	                          * patient's memory: stopped and checked as a
	                          * thread until it execs or exits */
	int vchild_opts;         /* its options (+ PTRACE_O_TRACEEXEC) are set */
	pid_t vfork_child;       /* held at its PTRACE_EVENT_VFORK stop while
	                          * this child shares the memory (it would wait
	                          * in vfork(), where no ptrace request stops it) */
	int regs_ok;             /* regs are its registers in the stop it is in
	                          * (read by the stack check; cleared when it
	                          * leaves the stop or the doctor sets them) */
	struct user_regs_struct regs;
};

struct lc_threads {
	pid_t pid;
	struct lc_thread *t;
	size_t n;
	int seized;
	int world_stopped;       /* inside a stop-the-world window */
	uint64_t stop_us;        /* CLOCK_MONOTONIC of the start of that window */
	uint64_t stopped_us;     /* the windows so far, added up */
	int nstops;              /* how many windows */
	sigset_t saved_mask;     /* the doctor's signal mask before seizing */
	int coroutine_scan;      /* look for suspended coroutine frames (set after seizing) */
	/* Threads found waiting in vfork() when they were to be seized: no
	 * ptrace request stops them there, so they are seized only once their
	 * child (traced: a vchild) has exec'd or exited; meanwhile they run
	 * nothing, and the stack check reads them through /proc (lc_vblocked_at). */
	struct lc_vblocked { pid_t tid, child; } *vb;
	size_t nvb;
	int task_fd;             /* /proc/PID/task, opened once seized (-1) */
};

/* A thread of ts->vb still waiting in vfork(): 1 and its stack pointer and
 * pc (/proc/PID/task/TID/syscall), 0 if it is no longer there. */
int lc_vblocked_at(const struct lc_threads *ts, pid_t tid, uint64_t *sp, uint64_t *pc);

/* PTRACE_SEIZE every thread of /proc/PID/task, re-scanning until no new tid
 * appears.  On failure nothing stays attached.  Threads are seized with
 * PTRACE_O_TRACECLONE: a thread born during the operation is traced from
 * its birth (a re-scan of /proc/PID/task can miss threads while others
 * exit), and harmlessly detached if the doctor dies. */
#define LC_TRACE_OPTIONS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEVFORK | PTRACE_O_TRACESYSGOOD)
int lc_threads_seize(struct lc_threads *ts, pid_t pid);
/* The process whose memory pid shares (its parent, when pid is its vfork
 * child not exec'd yet: kcmp KCMP_VM), or 0. */
pid_t lc_vfork_parent(pid_t pid);
/* Interrupts one thread and waits for its stop. */
int lc_thread_stop(struct lc_threads *ts, struct lc_thread *th);
int lc_thread_resume(struct lc_threads *ts, struct lc_thread *th);
/* Waits for the next stop of a thread; -1 if it exited (marked gone). */
int lc_thread_wait(struct lc_threads *ts, struct lc_thread *th, int *status);
/* runnable.c: how long a stop is waited for (the doctor's own waiting): a
 * thread not there after LC_STOP_WAIT_S fails the operation, unless it or
 * another thread of its process is runnable (it is on its way, or what it
 * waits for may be: up to LC_STOP_WAIT_RUNNABLE_S) and the world is not
 * stopped (a stop of every thread stays bounded by LC_STOP_WAIT_S).  lc_thread_state: the
 * state letter of /proc/PID/task/TID/stat, 0 if unknown;
 * lc_thread_progress: 1 if tid or another thread of pid is in state R;
 * lc_stop_wait_more: 1 while the thread is still waited for. */
/* runnable.c: the state letter and the flags of a /proc/.../stat file: 0, or
 * -1 if it cannot be read (the task is gone). */
int lc_stat_state(const char *path, char *state, unsigned *flags);
#define LC_STOP_WAIT_S 3
#define LC_STOP_WAIT_RUNNABLE_S 60
char lc_thread_state(pid_t pid, pid_t tid);
int lc_thread_progress(pid_t pid, pid_t tid);
int lc_stop_wait_more(uint64_t waited_us, int progress);
/* Stops every thread (seizing threads born meanwhile). */
int lc_threads_stop_all(struct lc_threads *ts);
void lc_threads_resume_all(struct lc_threads *ts);
/* Resumes (with any pending signal) and detaches every thread. */
void lc_threads_detach(struct lc_threads *ts);
/* The tracer's bookkeeping of a thread (stopped: in a stop we waited for). */
struct lc_thread *lc_threads_add(struct lc_threads *ts, pid_t tid, int stopped);
struct lc_thread *lc_threads_find(struct lc_threads *ts, pid_t tid);
/* While the world runs: the stops and exits threads reported meanwhile.
 * A signal-delivery-stop resumes at once with its signal, a group-stop
 * stays stopped, an exit marks the thread gone. */
void lc_threads_reap(struct lc_threads *ts);
/* A slice of the doctor's waiting: sleeps up to `slice_us` (until a tracee
 * reports a stop: SIGCHLD is blocked while threads are seized) and returns
 * the time to count for it: what it lasted, at most 20 ms more than
 * `slice_us`, so a doctor that was itself stopped meanwhile does not count
 * that time. */
uint64_t lc_slice_wait(uint64_t slice_us);
/* A signal the thread stopped for while it ran the doctor's code (an
 * injected syscall or call) that it could not be given there: delivered when
 * it resumes (in th->sig if it resumes from a signal-delivery-stop, sent
 * again with tgkill otherwise: a restarting ptrace request gives a signal
 * only from a signal-delivery-stop). */
void lc_thread_keep_signal(struct lc_thread *th, int sig);
/* Sets a stopped thread's signal mask (PTRACE_SETSIGMASK), the old one in
 * *old if not NULL.  0 or -1. */
int lc_thread_sigmask(struct lc_thread *th, const uint64_t *set, uint64_t *old);
/* A thread in the signal-delivery-stop of the doctor's single-step is
 * moved to an interrupt stop (PTRACE_INTERRUPT + PTRACE_CONT): should the
 * doctor die, the kernel would deliver the SIGTRAP of a signal-delivery-
 * stop on detach and kill the patient; an interrupt stop delivers nothing.
 * A signal of the patient's met on the way is delivered; the ones kept
 * with lc_thread_keep_signal are queued again. */
int lc_thread_repark(struct lc_threads *ts, struct lc_thread *th);
/* The signal (SIGTRAP, SIGSEGV...) a thread is stopped with was sent by a
 * process (kill, tgkill, sigqueue), not made by the kernel for an int3, a
 * single-step or a fault. */
int lc_sigtrap_sent(pid_t tid);
/* A stopped thread to run injected syscalls in: the main thread if it can;
 * never a vfork child nor a thread held at its vfork event (while the
 * world runs, it waits up to 3 s for a vfork child to exec or exit if no
 * other thread is left). */
struct lc_thread *lc_threads_pick(struct lc_threads *ts);

/* --- inject.c: a syscall executed by a stopped thread of the patient ------ */

/* Runs syscall `nr` in `th` at the `syscall` instruction `insn`; registers
 * are restored exactly afterwards.  Returns 0 and sets *ret (the kernel's
 * return value, -errno on failure), or -1 if the thread could not run it. */
int lc_inject_syscall(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      long nr, const long args[6], long *ret);
/* Several, one after the other, with one save and restore of the thread:
 * rets[i] for each of the *ran that ran; a call with `check` set whose
 * return value is not `expect` ends the chain (0 still: the caller looks
 * at *ran and rets). */
struct lc_syscall {
	long nr;
	long args[6];
	int check;
	long expect;
};
int lc_inject_syscalls(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		       const struct lc_syscall *calls, size_t n, long *rets, size_t *ran);

/* --- stub.c: what a borrowed thread runs, harmless without the doctor ---- */

/* Offsets in the stub: where a called function returns to, and the end of
 * the rt_sigprocmask of its tail (rip at that syscall's stops). */
#define LC_STUB_RET          57
#define LC_STUB_TAIL_SYSCALL 25
/* Chooses the stub's place (slack after an executable segment); nothing is
 * written.  0 with *addr (a `syscall` instruction once written), or -1. */
int lc_stub_place(struct lc_proc *pr, uint64_t *addr);
/* The stub of process `pid` (at `insn` if not 0), written on first use; 0
 * if there is none. */
uint64_t lc_stub_get(pid_t pid, uint64_t insn);
/* Writes the restore frame of a thread with registers `r` and signal mask
 * `mask` below its red zone; 0 with its address in *frame, or -1. */
int lc_stub_frame(pid_t tid, const struct user_regs_struct *r, uint64_t mask, uint64_t *frame);
/* A borrowed thread was lost: the stub stays in the patient. */
void lc_stub_keep(pid_t pid);
/* Detaching: the stub's place gets its original bytes back (unless kept). */
void lc_stub_release(pid_t pid);

/* attach.c: registers r of a thread stopped at the end of an untimed wait
 * that the stop ended with EINTR (epoll_wait, sigtimedwait, semop...) get
 * -ERESTARTNOHAND instead, which the kernel restarts unless a handler runs;
 * 1 if changed. */
int lc_wait_restart(struct user_regs_struct *r);

/* --- rseq.c: a borrowed thread stopped inside a restartable sequence ----- */

/* Before thread `tid` of process `pid` with registers `r` is borrowed: if
 * it was stopped inside its restartable sequence, r->rip becomes the
 * sequence's abort handler, where the kernel would resume it.  0, or -1
 * (said) if it is inside one the kernel would not abort: not to borrow. */
int lc_rseq_abort(pid_t pid, pid_t tid, struct user_regs_struct *r);

/* --- call.c: a function called by a stopped thread of the patient -------- */

/* Calls fn(args[0..nargs-1]) (at most 6 integer arguments) in the stopped
 * thread `th` as the SysV ABI would; every register (general and extended
 * state) is restored exactly afterwards.  0 with the returned rax in *ret,
 * or -1 (logged) if the function faulted or did not return. */
int lc_call_function(struct lc_threads *ts, struct lc_thread *th, uint64_t fn,
		     const uint64_t *args, int nargs, uint64_t *ret);

/* --- ifunc.c: an IFUNC nobody bound yet, resolved in the patient --------- */

/* imp->addr is the resolver of IFUNC `name`: runs it in a thread of the
 * patient (seized for that moment) and sets imp->addr to the
 * implementation, imp->ifunc to 0.  `dry_run`: no call, only said.
 * 0, or -1 (logged). */
int lc_ifunc_resolve(pid_t pid, const char *name, int dry_run, struct lc_import *imp);

/* --- cfi.c: the region's unwind information, known to the patient's libgcc - */

struct lc_cfi_ops {
	uint64_t reg, dereg;     /* __register_frame_info, __deregister_frame_info; 0: none */
};
struct lc_unwind;
/* Before anything is touched: finds libgcc_s's functions for the linked
 * region image; refuses (-1, logged) a patch whose code handles exceptions
 * when the process has no libgcc_s. */
int lc_cfi_prepare(struct lc_proc *pr, const uint8_t *image, struct lc_cfi_ops *ops);
/* The region at addr is written: registers its unwind information from the
 * stopped thread `th` (the others running).  0 (also when there is none or
 * no libgcc_s), -1 (logged). */
int lc_cfi_register(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
		    struct lc_unwind *u, const struct lc_cfi_ops *ops, uint64_t addr,
		    const struct lc_region_header *h);
/* Before the region at addr is unmapped: takes its unwind information out
 * of libgcc if it is registered.  0, or -1 (logged): keep the region. */
int lc_cfi_deregister(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
		      struct lc_unwind *u, uint64_t addr, const struct lc_region_header *h);

/* Unwind information at `eh` with libgcc's object at `obj`, registered
 * (deregistered) from the stopped thread `th`: trampoline.c's. */
int lc_cfi_register_at(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
		       struct lc_unwind *u, uint64_t reg, uint64_t eh, uint64_t obj);
int lc_cfi_deregister_at(struct lc_proc *pr, struct lc_threads *ts, struct lc_thread *th,
			 struct lc_unwind *u, uint64_t eh, uint64_t obj);

/* cfi_unwind.c: where the frame at `pc` (rsp, rbp in that frame) in the
 * code of the patch region at `region` returns to, from the region's unwind
 * information read through /proc/PID/mem `memfd`.  0 with *ret and the
 * stack slot holding it in *slot, or -1 if it is not known. */
int lc_cfi_frame_exit(int memfd, uint64_t region, uint64_t pc, uint64_t sp, uint64_t bp,
		      uint64_t *ret, uint64_t *slot);

/* --- region.c: patch regions in the patient ------------------------------- */

/* A free, page-aligned gap of `size` bytes within ±2 GiB of the whole
 * object (and ending below 2 GiB if `low`), in pr->maps as the caller
 * last read them (lc_proc_reload_maps). */
int lc_region_choose(struct lc_proc *pr, const struct lc_object *obj, size_t size,
		     int low, uint64_t *addr);
/* The same, outside `avoid` too (regions chosen in this run, not mapped yet). */
int lc_region_choose_avoiding(struct lc_proc *pr, const struct lc_object *obj, size_t size,
			      int low, const struct lc_span *avoid, size_t navoid, uint64_t *addr);
int lc_region_map(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		  uint64_t addr, size_t size);
int lc_region_protect(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      uint64_t addr, const struct lc_layout *l);
/* lc_region_map and lc_region_protect in one chain of injected calls; the
 * bytes are written after (*mapped: the mapping is there to be undone). */
int lc_region_map_protected(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
			    uint64_t addr, size_t size, const struct lc_layout *l, int *mapped);
int lc_region_unmap(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		    uint64_t addr, size_t size);

/* A region found in the patient (scanned from /proc/PID/maps). */
struct lc_applied {
	uint64_t addr;
	uint8_t *bytes;                          /* its header part */
	const struct lc_region_header *hdr;      /* = bytes */
	struct lc_object *obj;                   /* the object it patches, or NULL */
};

/* The regions whose header starts with `magic` (LC_REGION_MAGIC: applied,
 * LC_RETIRED_MAGIC: retired), their headers checked against the maps (a
 * damaged one is warned about and left out). */
int lc_regions_find(struct lc_proc *pr, const char *magic, struct lc_applied **out, size_t *n);
int lc_regions_scan(struct lc_proc *pr, struct lc_applied **out, size_t *n);
void lc_regions_free(struct lc_applied *a, size_t n);

/* --- retire.c: regions no jump leads to any more -------------------------- */

/* A retired region's magic: kept mapped because something may still point
 * into it; not an applied patch. */
#define LC_RETIRED_MAGIC "LCRETIRD"

/* What the reference proof needs that can be had before the stop: the
 * patient's maps and pagemap opened (both read its memory as it is when
 * read, in the stop), the buffers it reads into touched. */
struct lc_proof {
	int ready;
	int maps, pagemap;      /* -1: opened in the stop */
	char *buf;              /* the maps' text */
	size_t cap;
	void *ranges;           /* what is to be read (retire.c's) */
	size_t rcap;
	void *spans;            /* what pagemap is asked about (retire.c's) */
	size_t scap;
	int uffd;               /* a readable shared mapping is registered with
				 * userfaultfd: not read, the proof is not made */
};
void lc_proof_ready(struct lc_proof *p, pid_t pid);
void lc_proof_end(struct lc_proof *p);
/* World stopped, the regions' jumps gone: 1 if a register or a word of
 * the process's memory points into one of them (or it could not be told),
 * 0 if none does.  `p` may be NULL or not ready. */
int lc_regions_referenced(struct lc_threads *ts, const struct lc_unwind *u, struct lc_proof *p,
			  const struct lc_applied *a, size_t n);
/* World running, `th` stopped: unmaps the regions if not `referenced` and
 * no signal handler is in one; else retires them all (the header says so;
 * everything stays mapped as it was).  0, or -1 (warned). */
int lc_regions_let_go(struct lc_threads *ts, struct lc_thread *th, uint64_t insn,
		      struct lc_proc *pr, const struct lc_applied *a, size_t n, int referenced);
int lc_region_retire(struct lc_proc *pr, const struct lc_applied *a);
/* The retired regions of the process (for info), as lc_regions_scan. */
int lc_regions_retired(struct lc_proc *pr, struct lc_applied **out, size_t *n);

/* --- unwind.c: return addresses of a stopped thread (libdwfl) ------------ */

struct lc_unwind;
/* NULL (debug-logged) if the process's stacks cannot be unwound. */
struct lc_unwind *lc_unwind_begin(pid_t pid);
/* While on, the ELF files of the modules are opened once per run and shared
 * by every process's unwinder (patch -p all); off closes them. */
void lc_unwind_cache(int on);
void lc_unwind_end(struct lc_unwind *u);
/* The thread's pcs, innermost first (return addresses minus 1); count. */
int lc_unwind_thread(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max);
/* The same, but says whether the stack was unwound to its start: the count
 * if it was (every frame from CFI, ending where the CFI says there is no
 * caller), else -1 - count (an unwinding error, a frame without CFI, more
 * than `max` frames).  *reliable: how many of the innermost pcs are sure
 * (up to and including the first frame without CFI). */
int lc_unwind_stack(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max, int *reliable);
/* The same, and each frame's stack pointer in sps[] (may be NULL; 0 if
 * unknown): for an outer frame the CFA of the one inside it, whose return
 * address is at sps[f] - 8. */
int lc_unwind_stack_sp(struct lc_unwind *u, pid_t tid, uint64_t *pcs, uint64_t *sps, int max,
		       int *reliable);
/* The same from registers already read (the thread stopped). */
struct user_regs_struct;
int lc_unwind_stack_regs(struct lc_unwind *u, pid_t tid, const struct user_regs_struct *regs,
			 uint64_t *pcs, uint64_t *sps, int max, int *reliable);
struct lc_tramps;
/* Words read while unwinding are translated by lc_tramps_translate. */
void lc_unwind_tramps(struct lc_unwind *u, const struct lc_tramps *t);
/* Before the world stops: room to read the top of n threads' stacks at
 * once, `bytes` each (from the red zone up).  World stopped: that read,
 * for every stopped thread whose registers the stack check has
 * (th->regs_ok); lc_unwind_stack_regs of those threads starts from it. */
void lc_unwind_reserve(struct lc_unwind *u, size_t n, size_t bytes);
void lc_unwind_snap_all(struct lc_unwind *u, const struct lc_threads *ts);
/* What that read holds of thread tid's stack, if it reached the end of
 * the stack's mapping: [*lo, *lo + *len) at *data; 0, or -1. */
int lc_unwind_top(const struct lc_unwind *u, pid_t tid, uint64_t *lo, size_t *len,
		  const uint8_t **data);
/* rsp and rbp in frame i (0 innermost) of the previous lc_unwind_stack(_sp),
 * for frames of patch code, which libdwfl has no CFI for; 0 or -1. */
#define LC_UNWIND_REGS_MAX 256
int lc_unwind_frame_regs(const struct lc_unwind *u, int i, uint64_t *sp, uint64_t *bp);

/* --- stack.c: is any thread inside code about to change? ----------------- */

struct lc_range {
	uint64_t lo, hi;         /* busy if lo <= rip < hi */
	const char *name;
	uint64_t region;         /* patch code: its region (for its CFI); 0 otherwise */
};

/* busy.c: the ranges of patch `p` (its hunks in the image header `h`): at
 * most lc_patch_busy_count(); returns how many were written to `out`. */
size_t lc_patch_busy_count(const struct lc_patch *p, const struct lc_region_header *h);
size_t lc_patch_busy_ranges(const struct lc_patch *p, const struct lc_region_header *h,
			    struct lc_range *out);
/* For unpatch, besides the region's text: the hunks of short functions
 * (at most h->nhunks ranges written to `out`). */
size_t lc_region_busy_ranges(const struct lc_region_header *h, struct lc_range *out);

/* Where busy threads leave the busy functions: the return address of the
 * outermost busy frame of each (0 if a busy thread's way out is unknown). */
struct lc_exits {
	uint64_t addr[64];
	uint64_t slot[64];       /* the stack slot holding it (0: not known) */
	pid_t tid[64];
	size_t n;
	int unknown;
};

/* 0: no stopped thread executes in any range, nor has a return address
 * in one; 1: one does (reported in `why`, ways out in `ex` if not NULL).
 * `u` may be NULL: rip only. */
int lc_stack_check(struct lc_threads *ts, struct lc_unwind *u, const struct lc_range *r,
		   size_t n, struct lc_exits *ex, char *why, size_t why_len);

/* stackscan.c: a word of a thread's stack that is a return address into
 * a range (the outermost one). */
struct lc_stack_word {
	uint64_t ret, at;
	const struct lc_range *range;
};

/* For a stack that cannot be unwound to its start: every word from `rsp` to
 * the end of its mapping (one process_vm_readv) that points just after a
 * call instruction into a range.  1 found (in *w), 0 none, -1 the stack
 * cannot be read (debug-logged: the caller counts the thread busy). */
int lc_stack_scan(pid_t pid, pid_t tid, uint64_t rsp, int memfd, const struct lc_range *r,
		  size_t n, struct lc_stack_word *w);

/* --- tramp_cfi.c: the unwind information of a trampoline ---------------- */

#define LC_TRAMP_BYTES 96        /* one trampoline's code */
#define LC_TRAMP_CIE_SIZE 128    /* fixed sizes: libgcc keeps pointers to them */
#define LC_TRAMP_FDE_SIZE 1024
#define LC_TRAMP_LSDA_SIZE 1024

/* Where a trampoline's window and its CIE, FDE and LSDA are in the patient. */
struct lc_tramp_cfi_place {
	uint64_t win, win_size, cie_at, fde_at, lsda_at;
};
/* An unused window: the unwinder ends there. */
void lc_tramp_cfi_blank(const struct lc_tramp_cfi_place *w, uint8_t *cie, uint8_t *fde);
/* The CIE, FDE and LSDA that make a trampoline at w->win + *off unwind as
 * the return address `ret`; pushes[i] = { code offset, words pushed from
 * there }.  0, or -1 (debug-logged) if it cannot be done faithfully. */
int lc_tramp_cfi_make(struct lc_proc *pr, uint64_t ret, const struct lc_tramp_cfi_place *w,
		      const uint8_t (*pushes)[2], size_t npushes, uint32_t *off, uint8_t *cie,
		      uint8_t *fde, uint8_t *lsda);

/* --- trampoline.c: ways out of busy frames that record the return ------ */

struct lc_tramps;
/* Finds areas earlier doctors left and chooses where ours would go. */
struct lc_tramps *lc_tramps_new(struct lc_proc *pr, struct lc_unwind *u);
/* World stopped: the return slot `slot` of thread `tid`, holding `ret`,
 * is redirected to a trampoline that counts and goes on to `ret`.
 * 1 done, 0 done already, -1 not possible (the caller looks again later). */
int lc_tramps_plant(struct lc_tramps *t, struct lc_threads *ts, uint64_t insn, pid_t tid,
		    uint64_t slot, uint64_t ret);
/* Is our area there (or can it not be: then plant fails)?  lc_tramps_map
 * maps it from one thread stopped alone while the others run. */
int lc_tramps_ready(const struct lc_tramps *t);
int lc_tramps_map(struct lc_tramps *t, struct lc_threads *ts, uint64_t insn);
/* Did a counter move since the last call?  (reads the patient's memory) */
int lc_tramps_taken(struct lc_tramps *t);
/* Counts so far; returns 1 if an area is there (ours or an earlier doctor's): the
 * world must be stopped for lc_tramps_restore at the end. */
int lc_tramps_count(const struct lc_tramps *t, int *planted, int *taken);
/* A trampoline address (any area, also those earlier doctors left) as
 * the real return address; anything else unchanged.  t may be NULL. */
uint64_t lc_tramps_translate(const struct lc_tramps *t, uint64_t addr);
/* World stopped: a thread inside a trampoline gets the registers it had
 * at the real return address; rip goes there, or (`rearm`, for a while)
 * back to the trampoline's hold, so it stays out of the busy code. */
void lc_tramps_normalize(struct lc_tramps *t, struct lc_threads *ts, int rearm);
/* World stopped: slots still redirected get their return address back;
 * decides which areas can go.  1 if a reference to ours remains. */
int lc_tramps_restore(struct lc_tramps *t, struct lc_threads *ts);
/* World running: unmaps the areas that can go (from one stopped thread);
 * frees t (may be NULL). */
void lc_tramps_free(struct lc_tramps *t, struct lc_threads *ts, uint64_t insn);
/* The areas earlier doctors left (for info): count, addresses in addr[]. */
size_t lc_tramps_found(const struct lc_tramps *t, uint64_t *addr, size_t max);

/* --- transition.c: attach, prepare, stop, check, switch, resume ----------- */

enum lc_step {
	LC_STEP_NONE,
	LC_STEP_ATTACHED,        /* threads seized */
	LC_STEP_PREPARED,        /* the command's prepare ran (from one thread) */
	LC_STEP_STOPPED,         /* the world is stopped */
	LC_STEP_CHECKED,         /* no thread busy */
	LC_STEP_SWITCHED,        /* the command's writes are done */
	LC_STEP_RESUMED,         /* the world runs again */
};

struct lc_transition;

/* What differs between patch and unpatch.  Each may be NULL but do_switch. */
struct lc_transition_ops {
	const char *what;                        /* "patch", "unpatch" */
	/* One stopped thread `th`: map and fill what the switch needs. */
	int (*prepare)(struct lc_transition *t, struct lc_thread *th);
	/* The undo of prepare, from one stopped thread (NULL: none could be
	 * stopped; say what stays). */
	void (*unprepare)(struct lc_transition *t, struct lc_thread *th);
	/* World stopped, no thread busy: the writes, journalled; a failure
	 * puts back what it wrote. */
	int (*do_switch)(struct lc_transition *t);
	/* World running again, `th` stopped (or NULL): what goes now. */
	void (*finish)(struct lc_transition *t, struct lc_thread *th);
};

struct lc_transition {
	/* set by the command */
	pid_t pid;
	struct lc_proc *pr;
	uint64_t insn;                           /* a syscall instruction */
	const struct lc_range *busy;
	size_t nbusy;
	int timeout_ms;
	const char *why_suffix;                  /* appended to a give-up reason */
	const struct lc_transition_ops *ops;
	void *ctx;
	/* the machinery's */
	struct lc_threads ts;
	enum lc_step step;
	int coroutine_scan;
	struct lc_unwind *unwind;
	struct lc_tramps *tramps;
	int tramps_used;
	char why[256];
	/* what it cost (us) */
	uint64_t attach_us, prepare_us, wait_us, switch_us, cleanup_us;
	uint64_t stopped_us;                     /* every stop-the-world window */
	uint64_t thread_stop_us;                 /* one thread stopped alone */
	uint64_t check_us;                       /* the last check */
	int stops, planted, taken;
	int refs_scan;                           /* the switch runs lc_regions_referenced */
	struct lc_proof proof;                   /* ready before the stop if refs_scan */
};

/* Runs the steps; on failure undoes those reached, in reverse order, and
 * says why in one line (one line too if the patient died).  0 or -1. */
int lc_transition_run(struct lc_transition *t);
/* Test-only pause points (LIBCARE_TEST_PAUSE=NAME), see transition.c. */
void lc_test_pause(const char *point);

/* --- coroutine.c: frames suspended on stacks no thread runs on ----------- */

/* 1 if a word in a writable anonymous mapping that is no live thread's
 * stack is a return address into a range (after a call instruction): a
 * suspended coroutine's frame.  Reason in why.  0 none, -1 error. */
/* Could the process switch stacks itself?  Decided before the world stops,
 * from what its objects import (coroutine.c explains); LIBCARE_COROUTINE_SCAN
 * = always | never | auto (default) overrides.  1 yes, 0 no. */
int lc_coroutines_possible(const struct lc_proc *pr);
int lc_coroutines_check(struct lc_threads *ts, const struct lc_range *r, size_t n, char *why,
			size_t why_len);
/* Do the bytes before `ret` (read through /proc/PID/mem `fd`) decode as a
 * call instruction ending there? */
int lc_code_after_call(int fd, uint64_t ret);

/* --- guard.c: what the threads' /proc status forbids --------------------- */

/* Before anything is touched: refuses (one line naming the PID, -1) a
 * process traced by another tracer, one with a thread on a shadow stack
 * (x86 CET), or under seccomp when the doctor cannot suspend the filter
 * for its injected calls (no CAP_SYS_ADMIN). */
int lc_guard_check(pid_t pid);
/* 1 if a line of a status file is x86_Thread_features naming shstk (a
 * shadow stack enabled), else 0. */
int lc_guard_line_shstk(const char *line);
/* The Seccomp: mode of one thread: 0 none, 1 strict, 2 filter. */
int lc_guard_seccomp(pid_t pid, pid_t tid);

/* --- journal.c: the operation's state in the region header -------------- */

/* Writes the journal of the region at `addr` (state, hunks done, the
 * other region, this doctor's PID) into the patient; `h` is its header as
 * read (NULL: a region of this run), and a version 1 region has no journal
 * (nothing written).  0 or -1 (logged). */
int lc_journal_write(struct lc_proc *pr, uint64_t addr, const struct lc_region_header *h,
		     uint32_t state, uint32_t done, uint64_t other);
/* How many hunks of a region hold its jump now (the bytes are the truth). */
uint32_t lc_journal_jumps(struct lc_proc *pr, const struct lc_region_header *h);

/* --- lock.c: one doctor at a time changes a process ----------------------- */

/* Waits briefly for another doctor working on `pid`, then refuses (logged). */
int lc_lock_acquire(pid_t pid);
void lc_lock_release(pid_t pid);

/* --- verify.c: reading patch files -------------------------------------- */

struct lc_verify_opts {
	const char *keys;        /* --keys DIR, or NULL: $LIBCARE_KEYS, /etc/libcare/keys */
	int allow_unsigned;      /* --allow-unsigned */
};
extern struct lc_verify_opts lc_verify_opts;
const char *lc_keys_dir(void);
struct lc_signer;
/* Reads, verifies and loads a patch file (logged on failure). */
struct lc_patch *lc_patch_read(const char *path, struct lc_signer *signer);
/* While on, a file verified once is not read nor verified again while
 * stat(2) shows the same file: patch -p all.  Off forgets it all. */
void lc_verify_cache(int on);
/* Done with a patch of lc_patch_read: freed, or given back to that cache. */
void lc_patch_release(struct lc_patch *p);

/* --- validate.c: the linked image against the target's ELF ---------------- */

/* Every jump site of image `h` is the start of a function of `obj` in an
 * executable segment, and what it replaces lies inside that function.
 * 0, or -1 (logged, naming `file`). */
int lc_validate_image(const struct lc_object *obj, const struct lc_region_header *h,
		      const char *file);
/* Forgets the checks passed while proc.c's cache was on (lc_proc_cache(0)). */
void lc_validate_cache_clear(void);

/* --- select.c: whom -p all touches, and the --json report ----------------- */

struct lc_select_opts {
	int have_user;           /* --user NAME|UID */
	uid_t user;
};
extern struct lc_select_opts lc_select_opts;
struct lc_skipped {
	pid_t pid;
	char reason[200];
};
int lc_parse_user(const char *s, uid_t *uid);
/* Reads /etc/libcare/exclude ($LIBCARE_EXCLUDE) once: 0 or -1 (logged). */
int lc_select_load(void);
/* -p all leaves this process alone (recorded with the reason): 1, else 0. */
int lc_select_skip(pid_t pid);
/* The same question, nothing recorded: 1 left alone (the reason in why), 0
 * not, -1 left alone silently (gone). */
int lc_select_why(pid_t pid, char *why, size_t len);
/* Records a process left alone (lc_select_skipped; -v says so). */
void lc_select_record(pid_t pid, const char *why);
const struct lc_skipped *lc_select_skipped(size_t *n);
/* Would --json or -v show why a process was left alone? */
int lc_select_shown(void);
/* --json with -p all: stdout carries only the final document (the usual
 * lines go to stderr); each process's result is recorded with lc_report. */
void lc_report_begin(int json);
void lc_report(pid_t pid, const char *result, const char *fmt, ...) LC_PRINTF(3, 4);
void lc_report_end(void);
void lc_report_skipped_json(void);

/* --- subcommands ---------------------------------------------------------- */

/* Exit status: 0 done, 1 failed, 2 refused because the patch (this or a
 * higher level) is already applied - nothing to do, and nothing changed. */
#define LC_EXIT_FAILED  1
#define LC_EXIT_ALREADY 2
#define LC_SAFE_TIMEOUT_MS 2000         /* --timeout default */

int lc_cmd_patch(int argc, char **argv);
int lc_cmd_unpatch(int argc, char **argv);
int lc_cmd_info(int argc, char **argv);
int lc_cmd_check(int argc, char **argv);
int lc_cmd_server(int argc, char **argv);     /* server.c */
int lc_cmd_status(int argc, char **argv);     /* status.c */
#define LC_PATCH_DIR     "/var/lib/libcare/patches"
#define LC_SERVER_SOCKET "/run/libcare/server.sock"
/* status.c: the server's socket: opt, else $LIBCARE_SERVER_SOCKET, else the default. */
const char *lc_server_socket(const char *opt);
/* patch.c: one patch file into one process; `check_only` stops before the
 * first change to the process.  Returns an LC_EXIT_* status. */
int lc_patch_file(pid_t pid, const char *file, int timeout_ms, int check_only);
/* targets.c: "--timeout SECONDS" (decimals allowed) in ms; -1 (logged). */
int lc_parse_timeout(const char *s, int *ms);
/* targets.c: the process exists and a thread of it is neither a zombie nor
 * exiting (lc_proc_alive). */
int lc_pid_alive(pid_t pid);
/* targets.c: with -p all, a process's messages are held until it is known
 * whether it exited meanwhile (then they are dropped: skipped, no error). */
struct lc_stderr_held {
	FILE *tmp;               /* fallback if no memory file can be made */
	int fd;                  /* the memory file stderr goes to, or -1 */
	int saved;
};
void lc_stderr_hold(struct lc_stderr_held *h);
void lc_stderr_release(struct lc_stderr_held *h, int show);
/* targets.c: "-p PID" or "-p all" (LC_PID_ALL); -1 (logged) if bad. */
#define LC_PID_ALL ((pid_t)0)
int lc_parse_pid(const char *s, pid_t *pid);
/* Every process but the doctor and kernel threads, ascending. */
int lc_pids_all(pid_t **out, size_t *n);
/* lc_pids_all in two halves, for workers: every numeric entry of /proc but
 * the doctor, ascending (the exclude file read); then for each, what
 * lc_pids_all would decide: 0 keep, 1 left alone and recorded (reason in
 * why), 2 left alone silently (a kernel thread, gone). */
int lc_pids_listed(pid_t **out, size_t *n);
int lc_pid_select(pid_t pid, char *why, size_t len);
/* workers.c: fn(i) for every i < n (pids[i] is the process it is for) in
 * up to `jobs` worker processes, each i in one of them; what fn prints is
 * replayed, and done(i, fn's result, the note (LC_WORK_NOTE bytes) fn may
 * have written) called, here in order of i.  A worker that dies fails its
 * i (-1).  jobs 1: in this process. */
#define LC_WORK_NOTE 200
int lc_workers_run(const pid_t *pids, size_t n, int jobs,
		   int (*fn)(size_t i, char *note, void *ctx),
		   void (*done)(size_t i, int rc, const char *note, void *ctx), void *ctx);
/* One worker per online CPU. */
int lc_workers_default(void);
uint64_t lc_now_us(void);

/* cfi_unwind.c: LEB128 readers of CFI and LSDA bytes */
int lc_rd_uleb(const uint8_t **p, const uint8_t *e, uint64_t *v);
int lc_rd_sleb(const uint8_t **p, const uint8_t *e, int64_t *v);

#endif
