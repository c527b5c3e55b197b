/*
 * attach.c - the patient's threads under ptrace.
 *
 * PTRACE_SEIZE attaches without stopping anything; threads are stopped only
 * when the doctor needs them (PTRACE_INTERRUPT, then a wait for that
 * thread's stop), so the patient runs while the patch is prepared and
 * stops for as short a time as possible.  A signal that arrives meanwhile
 * shows up as a signal-delivery-stop, the signal already taken off the
 * queue by the kernel: it is delivered at once, never kept for later
 * (thread_settle).  A thread that exits meanwhile is marked gone.  A
 * thread of a stopped process (group-stop) is never resumed: it stays in
 * its ptrace-stop until the detach, which puts it back in the group-stop
 * (or lets it run if SIGCONT came meanwhile).
 *
 * A vfork child shares the patient's memory (its code, the trampolines, the
 * stack of the thread that vforked): with PTRACE_O_TRACEVFORK it is traced
 * from its birth and is one more thread of the patient (stopped with the
 * world, checked for busy frames) until it execs (PTRACE_O_TRACEEXEC, set
 * on it alone: it is then detached) or exits.  The thread that vforked is
 * held meanwhile at its PTRACE_EVENT_VFORK stop: resumed, it would wait in
 * vfork() for the child, where no ptrace request stops it (the doctor
 * waited 3 s for it and gave up); it would not run before the child is
 * done anyway.
 *
 * While threads are seized the doctor does not let SIGINT, SIGTERM, SIGHUP
 * or SIGQUIT kill it halfway through a change, and no wait for a thread
 * blocks forever: a thread that does not stop within WAIT_TIMEOUT_S (stuck
 * in uninterruptible sleep, say) fails the operation, which is undone,
 * unless it or another thread of the process is runnable then (waiting
 * for a CPU on a loaded machine) and the world is not stopped (one thread
 * borrowed, or threads being detached): that is waited for longer
 * (runnable.c).  A stop of the whole patient never waits past 3 s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

uint64_t lc_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define WAIT_TIMEOUT_S LC_STOP_WAIT_S

/*
 * The doctor's own waiting is measured in slices: each slice counts for
 * what it really lasted, but never more than SLICE_SLACK_US past its
 * nominal length (a loaded machine oversleeps by milliseconds, not by
 * seconds).  A
 * doctor that was itself stopped (SIGSTOP, a paused terminal) or not
 * scheduled for seconds thus does not take that time for the patient's:
 * it does not report "did not stop within 3 s" for a thread that stopped
 * at once, nor give up a wait it did not do.  SIGCHLD (which the kernel
 * sends the tracer for every stop of a tracee) is blocked while threads
 * are seized, and sigtimedwait() sleeps until one arrives or the slice
 * ends; no timer, no signal handler.
 */
#define SLICE_SLACK_US 20000u

uint64_t lc_slice_wait(uint64_t slice_us)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec tmo = { (time_t)(slice_us / 1000000u), (long)(slice_us % 1000000u) * 1000 };
	uint64_t t0 = lc_now_us();
	sigtimedwait(&chld, NULL, &tmo);
	uint64_t took = lc_now_us() - t0;
	return took < slice_us + SLICE_SLACK_US ? took : slice_us + SLICE_SLACK_US;
}


/* Why PTRACE_SEIZE said EPERM: 1 we trace the thread already (born while
 * seized: PTRACE_O_TRACECLONE, it was attached by the kernel), 0 it is exiting or gone (nothing to stop), -1 something else. */
static int thread_eperm_why(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	int why = 0, tracer = -1;
	char state = 'X';
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "State:", 6) == 0)
			sscanf(line + 6, " %c", &state);
		else if (strncmp(line, "TracerPid:", 10) == 0)
			tracer = atoi(line + 10);
	}
	fclose(f);
	if (tracer == (int)getpid())
		why = 1;
	else if (state == 'Z' || state == 'X')
		why = 0;
	else
		why = -1;
	return why;
}

/* A signal-delivery-stop for a signal of the patient's (the kernel has
 * taken it off the queue: the thread must leave this very stop with it, or
 * it is lost).  A SIGTRAP made by the kernel is the doctor's own int3 or
 * single-step; a syscall stop (SIGTRAP | 0x80) is no signal. */
static int stop_is_signal(pid_t tid, int st)
{
	if (!WIFSTOPPED(st) || (st >> 16) != 0)
		return 0;
	int sig = WSTOPSIG(st);
	return sig != (SIGTRAP | 0x80) && (sig != SIGTRAP || lc_sigtrap_sent(tid));
}

static struct lc_thread *thread_find(struct lc_threads *ts, pid_t tid)
{
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].tid == tid)
			return &ts->t[i];
	return NULL;
}

/* The vfork child `child` no longer shares the memory (it exec'd or
 * exited): the thread that vforked it goes on, now if the world runs. */
static void vfork_released(struct lc_threads *ts, pid_t child)
{
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *p = &ts->t[i];
		if (p->vfork_child != child)
			continue;
		p->vfork_child = 0;
		lc_debug("process %d: vfork child %d of thread %d released the memory",
			 (int)ts->pid, (int)child, (int)p->tid);
		if (!ts->world_stopped)
			lc_thread_resume(ts, p);
	}
}

/* A stop or an exit of a traced vfork child: 1 if it is done sharing the
 * memory (gone: exited, or exec'd and detached), else 0.  At its first stop
 * it is given PTRACE_O_TRACEEXEC, so its exec is seen. */
static int vchild_note(struct lc_threads *ts, struct lc_thread *th, int st)
{
	if (!th->vchild)
		return 0;
	if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_EXEC) {
		lc_debug("process %d: vfork child %d exec'd: detached", (int)ts->pid, (int)th->tid);
		ptrace(PTRACE_DETACH, th->tid, NULL, NULL);
	} else if (WIFSTOPPED(st)) {
		if (!th->vchild_opts &&
		    ptrace(PTRACE_SETOPTIONS, th->tid, NULL,
			   (void *)(long)(LC_TRACE_OPTIONS | PTRACE_O_TRACEEXEC)) == 0)
			th->vchild_opts = 1;
		return 0;
	}
	th->gone = 1;
	th->stopped = 0;
	vfork_released(ts, th->tid);
	return 1;
}

/* The syscall a thread of pid is blocked in, its first argument, stack
 * pointer and pc (/proc/PID/task/TID/syscall); -1 if it runs or is gone. */
static long thread_syscall(pid_t pid, pid_t tid, uint64_t *arg0, uint64_t *sp, uint64_t *pc)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	unsigned long long a[8];
	long nr;
	if (sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2],
		   &a[3], &a[4], &a[5], &a[6], &a[7]) != 9 || nr < 0)
		return -1;
	*arg0 = a[0];
	*sp = a[6];
	*pc = a[7];
	return nr;
}

/* Is thread tid of pid waiting in vfork() (vfork, or clone/clone3 with
 * CLONE_VFORK) for a child that shares its memory?  1 and the child, or 0. */
static int thread_in_vfork(pid_t pid, pid_t tid, pid_t *child)
{
	uint64_t arg0, sp, pc, flags = 0;
	long nr = thread_syscall(pid, tid, &arg0, &sp, &pc);
	if (nr == SYS_vfork)
		flags = CLONE_VFORK;
	else if (nr == SYS_clone)
		flags = arg0;
	else if (nr == SYS_clone3) {
		struct iovec l = { &flags, sizeof(flags) }, r = { (void *)(uintptr_t)arg0, sizeof(flags) };
		if (process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(flags))
			flags = 0;
	}
	if (!(flags & CLONE_VFORK))
		return 0;
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *p = buf, *end; *p; p = end) {
		long c = strtol(p, &end, 10);
		if (end == p)
			break;
		if (c > 0 && syscall(SYS_kcmp, (int)tid, (int)c, KCMP_VM, 0, 0) == 0) {
			*child = (pid_t)c;
			return 1;
		}
	}
	return 0;
}

static struct lc_vblocked *vblocked_find(struct lc_threads *ts, pid_t tid)
{
	for (size_t i = 0; i < ts->nvb; i++)
		if (ts->vb[i].tid == tid)
			return &ts->vb[i];
	return NULL;
}

int lc_vblocked_at(const struct lc_threads *ts, pid_t tid, uint64_t *sp, uint64_t *pc)
{
	uint64_t arg0;
	pid_t child;
	return thread_in_vfork(ts->pid, tid, &child) &&
	       thread_syscall(ts->pid, tid, &arg0, sp, pc) >= 0;
}

/* Thread tid waits in vfork() for `child`: the child is seized (a vchild,
 * stopped too if `stop`) and the thread is left unseized until the child
 * is done.  0, or -1 on error. */
static int vblocked_add(struct lc_threads *ts, pid_t tid, pid_t child, int stop)
{
	if (!vblocked_find(ts, tid)) {
		ts->vb = lc_xrealloc(ts->vb, (ts->nvb + 1) * sizeof(*ts->vb));
		ts->vb[ts->nvb++] = (struct lc_vblocked){ tid, child };
		lc_debug("process %d: thread %d waits in vfork() for %d", (int)ts->pid, (int)tid,
			 (int)child);
	}
	if (thread_find(ts, child))
		return 0;
	if (ptrace(PTRACE_SEIZE, child, NULL,
		   (void *)(long)(LC_TRACE_OPTIONS | PTRACE_O_TRACEEXEC)) != 0)
		return errno == ESRCH || errno == EPERM ? 0 : /* gone, or being reaped */
		       lc_error("cannot attach to process %d's vfork child %d: %s", (int)ts->pid,
				(int)child, strerror(errno));
	struct lc_thread *c = lc_threads_add(ts, child, 0);
	c->vchild = 1;
	c->vchild_opts = 1;
	/* It may have exec'd just before the seize (after that, the exec
	 * stop says so): then it is let go at once. */
	if (syscall(SYS_kcmp, (int)tid, (int)child, KCMP_VM, 0, 0) != 0) {
		if (lc_thread_stop(ts, c) == 0 && c->stopped && !c->gone)
			ptrace(PTRACE_DETACH, child, NULL, NULL);
		c = &ts->t[ts->n - 1];
		c->gone = 1;
		c->stopped = 0;
		return 0;
	}
	if (stop && lc_thread_stop(ts, &ts->t[ts->n - 1]) != 0)
		return -1;
	return 0;
}

/* Is tid a task of another process (a vfork child, or a thread of one)? */
static int tid_foreign(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	int tgid = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Tgid:", 5) == 0)
			tgid = atoi(line + 5);
	fclose(f);
	return tgid > 0 && tgid != (int)pid;
}

/* A thread stopped at PTRACE_EVENT_VFORK: held there while the child
 * shares the memory. */
static void vfork_note(struct lc_threads *ts, struct lc_thread *th, int st)
{
	unsigned long child = 0;
	if (!WIFSTOPPED(st) || (st >> 16) != PTRACE_EVENT_VFORK ||
	    ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &child) != 0 || child == 0)
		return;
	struct lc_thread *c = thread_find(ts, (pid_t)child);
	if (c && c->gone)
		return;         /* done already */
	th->vfork_child = (pid_t)child;
	lc_debug("process %d: thread %d vforked %d: held at its vfork stop", (int)ts->pid,
		 (int)th->tid, (int)child);
}

/* The vfork children of held threads not known yet (their first stop is
 * not reported yet): added, and stopped too if `stop`.  By index: adding
 * moves ts->t. */
static int vfork_children_add(struct lc_threads *ts, int stop)
{
	for (size_t i = 0; i < ts->n; i++) {
		pid_t c = ts->t[i].vfork_child;
		if (!c || thread_find(ts, c))
			continue;
		struct lc_thread *th = lc_threads_add(ts, c, 0);
		th->vchild = 1;
		if (stop && lc_thread_stop(ts, &ts->t[ts->n - 1]) != 0)
			return -1;
	}
	return 0;
}

/* Seizes the tids of /proc/PID/task not seized yet; returns how many were
 * new, or -1.  New threads are stopped too if `stop` (world stopped). */
static int threads_scan(struct lc_threads *ts, int stop)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)ts->pid);
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return lc_error("no process with PID %d (no such process)", (int)ts->pid);
		return lc_error("cannot read %s: %s", path, strerror(errno));
	}
	int added = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || thread_find(ts, tid))
			continue;
		/* Waiting in vfork(): seized once its child is done. */
		pid_t child;
		if (thread_in_vfork(ts->pid, tid, &child)) {
			if (vblocked_add(ts, tid, child, stop) != 0) {
				closedir(d);
				return -1;
			}
			continue;
		}
		struct lc_vblocked *vb = vblocked_find(ts, tid);
		if (vb)
			vb->tid = 0;    /* out of vfork(): seized now */
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)LC_TRACE_OPTIONS) != 0) {
			if (errno == ESRCH)
				continue;        /* exited meanwhile */
			if (errno == EPERM) {
				int why = thread_eperm_why(ts->pid, tid);
				if (why == 1)
					goto add;
				if (why == 0)
					continue;        /* exiting */
				errno = EPERM;
			}
			int err = errno;
			closedir(d);
			return lc_error("cannot attach to process %d thread %d: %s", (int)ts->pid,
					(int)tid, strerror(err));
		}
add:
		lc_threads_add(ts, tid, 0);
		lc_debug("process %d: seized thread %d", (int)ts->pid, (int)tid);
		added++;
		if (stop && lc_thread_stop(ts, &ts->t[ts->n - 1]) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return added;
}

struct lc_thread *lc_threads_add(struct lc_threads *ts, pid_t tid, int stopped)
{
	ts->t = lc_xrealloc(ts->t, (ts->n + 1) * sizeof(*ts->t));
	ts->t[ts->n] = (struct lc_thread){ .tid = tid, .stopped = stopped };
	return &ts->t[ts->n++];
}

struct lc_thread *lc_threads_find(struct lc_threads *ts, pid_t tid)
{
	return thread_find(ts, tid);
}

void lc_threads_reap(struct lc_threads *ts)
{
	for (;;) {
		int st;
		pid_t tid = waitpid(-1, &st, __WALL | WNOHANG);
		if (tid <= 0)
			return;
		struct lc_thread *th = thread_find(ts, tid);
		if (!th && WIFSTOPPED(st)) {
			/* born meanwhile, attached by the kernel: its first stop */
			th = lc_threads_add(ts, tid, 1);
			th->vchild = tid_foreign(ts->pid, tid);
			th->st = st;
			lc_debug("process %d: %s %d born while running", (int)ts->pid,
				 th->vchild ? "vfork child" : "thread", (int)tid);
			vchild_note(ts, th, st);
			lc_thread_resume(ts, th);
			continue;
		}
		if (!th)
			continue;
		if (vchild_note(ts, th, st))
			continue;
		if (!WIFSTOPPED(st)) {
			th->gone = 1;
			th->stopped = 0;
			continue;
		}
		th->stopped = 1;
		th->regs_ok = 0;
		th->st = st;
		vfork_note(ts, th, st);
		if (th->vfork_child)
			continue;       /* held until the child is done */
		int event = st >> 16, sig = WSTOPSIG(st);
		th->group_stop = event == PTRACE_EVENT_STOP && (sig == SIGSTOP || sig == SIGTSTP ||
								sig == SIGTTIN || sig == SIGTTOU);
		if (th->group_stop)
			continue;       /* it stays stopped */
		/* A signal arrived: delivered now (the thread is running anyway).
		 * A SIGTRAP the kernel made is a late one of the doctor's step. */
		if (stop_is_signal(tid, st))
			th->sig = sig;
		lc_thread_resume(ts, th);
	}
}

pid_t lc_vfork_parent(pid_t pid)
{
	/* /proc/PID/stat, not status: -p all asks this of every process, and
	 * the kernel makes stat's one line much faster */
	char path[64], line[512];
	int ppid = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	const char *p = strrchr(line, ')');     /* after "pid (comm)": state, ppid */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	if (ppid <= 1 || syscall(SYS_kcmp, (int)pid, ppid, KCMP_VM, 0, 0) != 0)
		return 0;
	return (pid_t)ppid;
}

int lc_threads_seize(struct lc_threads *ts, pid_t pid)
{
	sigset_t block;
	memset(ts, 0, sizeof(*ts));
	ts->pid = pid;
	ts->task_fd = -1;
	pid_t vp = lc_vfork_parent(pid);
	if (vp)
		return lc_error("process %d shares the memory of process %d (a vfork child): not "
				"touching it (process %d is patched with it)", (int)pid, (int)vp, (int)vp);
	ts->seized = 1;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);     /* lc_slice_wait */
	sigprocmask(SIG_BLOCK, &block, &ts->saved_mask);
	int n;
	while ((n = threads_scan(ts, 0)) > 0)
		;
	if (n < 0) {
		lc_threads_detach(ts);
		return -1;
	}
	if (ts->n == 0)
		return lc_error("process %d has no threads left", (int)pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	ts->task_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

/* Waits for the stop of a thread we interrupted or single-stepped, up to
 * WAIT_TIMEOUT_S of the doctor's own waiting (lc_slice_wait). */
int lc_thread_wait(struct lc_threads *ts, struct lc_thread *th, int *status)
{
	int st, spins = 0;
	uint64_t waited = 0;
	for (;;) {
		pid_t r = waitpid(th->tid, &st, __WALL | WNOHANG);
		if (r == 0) {
			/* Past WAIT_TIMEOUT_S only while the process can make
			 * progress (runnable.c), and never while the world is
			 * stopped: the other threads would wait with it, and a
			 * stop of the whole patient stays bounded by 3 s (the
			 * operation is undone, the patient runs on). */
			if (waited >= (uint64_t)WAIT_TIMEOUT_S * 1000000u &&
			    (ts->world_stopped ||
			     !lc_stop_wait_more(waited, lc_thread_progress(ts->pid, th->tid)))) {
				th->timed_out = 1;
				return lc_error("process %d: thread %d did not stop within %d s",
						(int)ts->pid, (int)th->tid,
						(int)((waited + 500000u) / 1000000u));
			}
			/* A stop comes within microseconds: asked for first without
			 * sleeping (the doctor stays on its CPU, so the windows in
			 * which a thread is stopped or has foreign registers are not
			 * stretched by the scheduler), then in slices. */
			if (++spins < 20)
				continue;
			waited += lc_slice_wait(waited < 10000 ? 200 : 10000);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0 && vchild_note(ts, th, st))
			return -1;      /* exec'd or exited: gone */
		if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			lc_debug("process %d: thread %d exited", (int)ts->pid, (int)th->tid);
			th->gone = 1;
			th->stopped = 0;
			return -1;
		}
		/* Stopped inside clone() for PTRACE_O_TRACECLONE: not a place to
		 * change registers (the syscall is not finished).  It goes on and
		 * is interrupted again (that stop took the interrupt it was sent). */
		if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_CLONE) {
			if (ptrace(PTRACE_CONT, th->tid, NULL, NULL) == 0 &&
			    ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) == 0)
				continue;
		}
		if (WIFSTOPPED(st))
			break;
	}
	th->stopped = 1;
	th->regs_ok = 0;
	th->st = st;
	vfork_note(ts, th, st);
	int sig = WSTOPSIG(st);
	th->group_stop = (st >> 16) == PTRACE_EVENT_STOP &&
			 (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU);
	lc_debug("process %d: thread %d stopped: signal %d, event %d%s", (int)ts->pid,
		 (int)th->tid, sig, st >> 16, th->group_stop ? " (group-stop)" : "");
	if (status)
		*status = st;
	return 0;
}

int lc_sigtrap_sent(pid_t tid)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) != 0)
		return 0;
	return si.si_code <= 0;         /* SI_USER, SI_TKILL, SI_QUEUE... */
}

/*
 * Untimed waits that Linux ends with EINTR whenever the thread is stopped
 * and resumed, a ptrace stop included, where other calls are restarted
 * (signal(7): epoll_wait, sigtimedwait, semop... "are never restarted"):
 * the doctor's interrupt wakes the wait, which sees a signal pending and
 * returns -EINTR, and with no signal to deliver the kernel hands that to
 * the program, for which an EINTR with no handler run is an error (a plain
 * server loop dies of it).  Before such a thread leaves the doctor's stop
 * its result becomes -ERESTARTNOHAND, the kernel's own "restart unless a
 * handler runs": the wait starts again as if nothing happened, and a
 * signal with a handler, pending or coming, still ends it with EINTR
 * (doctor.untimed_waits_not_interrupted).  A signal the program ignores
 * ends such a wait too while the doctor traces it (the kernel drops no
 * signal sent to a traced thread): delivered from its signal-delivery
 * stop (thread_settle), it leaves the thread at the interrupt stop that
 * follows with the same -EINTR, made a restart there.  Only waits with no
 * timeout: one started again would wait its whole timeout once more, so a
 * timed wait keeps its EINTR, as any debugger's stop gives it.
 * io_uring_enter too, only when it submits nothing (to_submit 0: the call
 * did nothing but wait, and Linux returns its EINTR only while no
 * completion is in the ring) and waits with no timeout (GETEVENTS without
 * EXT_ARG or EXT_ARG_REG, whose argument may hold one): a call that
 * submitted returns its count, not EINTR, but one started again would
 * submit whatever the ring then holds.  (On a ring set up with IOPOLL the
 * EINTR may follow completions it posted; started again, the call waits
 * for min_complete more: later, never lost.)
 */
#define LC_ERESTARTNOHAND 514

static int wait_syscall(long nr)
{
	return nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2 ||
	       nr == SYS_rt_sigtimedwait || nr == SYS_semop || nr == SYS_semtimedop ||
	       nr == SYS_io_getevents || nr == SYS_io_pgetevents || nr == SYS_io_uring_enter;
}

#define LC_IORING_ENTER_GETEVENTS 1u            /* linux/io_uring.h */
#define LC_IORING_ENTER_EXT_ARG (1u << 3)
#define LC_IORING_ENTER_EXT_ARG_REG (1u << 6)   /* Linux 6.13 */

/* io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz) that only waits */
static int io_uring_untimed(const struct user_regs_struct *r)
{
	return (uint32_t)r->rsi == 0 && (r->r10 & LC_IORING_ENTER_GETEVENTS) &&
	       !(r->r10 & (LC_IORING_ENTER_EXT_ARG | LC_IORING_ENTER_EXT_ARG_REG));
}

int lc_wait_restart(struct user_regs_struct *r)
{
	long nr = (long)r->orig_rax;
	if ((long long)r->rax != -EINTR || !wait_syscall(nr))
		return 0;
	int untimed = nr == SYS_epoll_wait || nr == SYS_epoll_pwait ? (int)r->r10 < 0 :
		      nr == SYS_rt_sigtimedwait ? r->rdx == 0 :
		      nr == SYS_semop ? 1 :
		      nr == SYS_io_getevents || nr == SYS_io_pgetevents ? r->r8 == 0 :
		      nr == SYS_io_uring_enter ? io_uring_untimed(r) :
		      r->r10 == 0;      /* epoll_pwait2, semtimedop */
	if (!untimed)
		return 0;
	r->rax = (unsigned long long)-LC_ERESTARTNOHAND;
	return 1;
}

/* As lc_wait_restart, on a stopped thread (its registers read in this stop
 * if they were, else asked for only if it is in such a call). */
static void thread_wait_restart(struct lc_threads *ts, struct lc_thread *th)
{
	struct user_regs_struct r;
	if (th->regs_ok) {
		r = th->regs;
		if (!lc_wait_restart(&r))
			return;
	} else {
		errno = 0;
		long nr = ptrace(PTRACE_PEEKUSER, th->tid,
				 (void *)offsetof(struct user, regs.orig_rax), NULL);
		if (errno || !wait_syscall(nr))
			return;
	}
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &r) != 0 || !lc_wait_restart(&r))
		return;
	if (ptrace(PTRACE_POKEUSER, th->tid, (void *)offsetof(struct user, regs.rax),
		   (void *)(long)r.rax) != 0)
		return;
	if (th->regs_ok)
		th->regs.rax = r.rax;
	lc_debug("process %d: thread %d: its system call %lld, ended with EINTR by the stop, "
		 "starts again", (int)ts->pid, (int)th->tid, (long long)r.orig_rax);
}

/*
 * A thread the doctor interrupted may stop for a signal first.  The signal
 * is delivered now: PTRACE_INTERRUPT while it is in that stop (another trap
 * is then certain to follow), PTRACE_CONT with the signal (its handler's
 * frame is set up, or its default action taken), and the wait for the
 * interrupt stop, which the kernel takes before dequeuing another signal.
 * Keeping the signal to pass it at the resume instead loses it whenever the
 * thread leaves this stop first (an injected syscall, a repark) or the
 * doctor dies: a restarting ptrace request gives a signal only from a
 * signal-delivery-stop, and the kernel has already dequeued it.  The thread
 * then sits at its handler's first instruction, the interrupted code in the
 * signal frame on its stack (where the busy check finds it).  -1 on error
 * (logged); a thread the signal killed is marked gone.
 */
static int thread_settle(struct lc_threads *ts, struct lc_thread *th, int *st)
{
	for (int n = 0; stop_is_signal(th->tid, *st); n++) {
		int sig = WSTOPSIG(*st);
		if (n == 64)
			return lc_error("process %d: thread %d keeps stopping for signal %d",
					(int)ts->pid, (int)th->tid, sig);
		lc_debug("process %d: thread %d: signal %d delivered", (int)ts->pid, (int)th->tid,
			 sig);
		if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0 ||
		    ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig) != 0) {
			if (errno == ESRCH) {
				th->gone = 1;
				th->stopped = 0;
				return 0;
			}
			return lc_error("process %d: cannot deliver signal %d to thread %d: %s",
					(int)ts->pid, sig, (int)th->tid, strerror(errno));
		}
		th->stopped = 0;
		if (lc_thread_wait(ts, th, st) != 0)
			return th->timed_out ? -1 : 0;
	}
	return 0;
}

void lc_thread_keep_signal(struct lc_thread *th, int sig)
{
	if (sig <= 0 || sig > 64 || sig == th->sig)
		return;
	if (!th->sig)
		th->sig = sig;
	else
		th->deferred |= 1ull << (sig - 1);
}

/* Before a stopped thread leaves its stop: a kept signal it cannot be given
 * there (not a signal-delivery-stop) and the deferred ones are queued again
 * (tgkill), in the order of their numbers, to be delivered as it runs.
 * Returns the signal to pass to the restarting request. */
static int thread_signals_out(struct lc_threads *ts, struct lc_thread *th)
{
	int sd_stop = WIFSTOPPED(th->st) && (th->st >> 16) == 0 &&
		      WSTOPSIG(th->st) != (SIGTRAP | 0x80);
	if (th->sig && !sd_stop) {
		th->deferred |= 1ull << (th->sig - 1);
		th->sig = 0;
	}
	for (int sig = 1; sig <= 64 && th->deferred; sig++) {
		if (!(th->deferred & (1ull << (sig - 1))))
			continue;
		th->deferred &= ~(1ull << (sig - 1));
		lc_debug("process %d: thread %d: signal %d queued again", (int)ts->pid,
			 (int)th->tid, sig);
		long r = th->vchild ? syscall(SYS_tkill, (int)th->tid, sig) /* another process */
				    : syscall(SYS_tgkill, (int)ts->pid, (int)th->tid, sig);
		if (r != 0 && errno != ESRCH)
			lc_warn("process %d: cannot queue signal %d for thread %d again: %s",
				(int)ts->pid, sig, (int)th->tid, strerror(errno));
	}
	return th->sig;
}

int lc_thread_stop(struct lc_threads *ts, struct lc_thread *th)
{
	int st;
	if (th->stopped || th->gone)
		return 0;
	if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0) {
		if (errno != ESRCH)
			return lc_error("process %d: cannot interrupt thread %d: %s", (int)ts->pid,
					(int)th->tid, strerror(errno));
	}
	if (lc_thread_wait(ts, th, &st) != 0)
		return th->timed_out ? -1 : 0;   /* gone: nothing to stop */
	return thread_settle(ts, th, &st);
}

int lc_thread_resume(struct lc_threads *ts, struct lc_thread *th)
{
	if (!th->stopped || th->gone)
		return 0;
	if (th->group_stop)
		return 0;       /* the process is stopped: it stays so until the detach */
	if (th->vfork_child)
		return 0;       /* held at its vfork stop while the child shares the memory */
	thread_wait_restart(ts, th);
	int sig = thread_signals_out(ts, th);
	if (ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig) != 0) {
		if (errno == ESRCH) {
			th->gone = 1;
			return 0;
		}
		return lc_error("process %d: cannot resume thread %d: %s", (int)ts->pid,
				(int)th->tid, strerror(errno));
	}
	th->sig = 0;
	th->stopped = 0;
	th->regs_ok = 0;
	return 0;
}

/*
 * World stopped (every known thread waited for): 1 if no thread of the
 * process is unknown to the doctor, told by the number of threads in the
 * group (the link count of /proc/PID/task, opened when seized: one fstat,
 * about a microsecond) instead of re-reading /proc/PID/task, which costs
 * the stop 10-20 us; 0 if that cannot be told (the task list is then
 * re-read, as it always was).
 *
 * Why it is sound: every known thread not seen to exit is in a
 * ptrace-stop now, so alive and counted in the group's nr_threads (a
 * traced thread that exits even stays counted, a zombie, until its tracer
 * reaps it: nr_threads goes down in release_task).  A thread waiting in
 * vfork() unseized is alive and counted too, but may have left vfork() and
 * run untraced since: then the list is re-read.  So nr_threads equal to
 * the known live threads means there is no other.  Any other thread makes it larger: one born to a seized
 * thread during the operation (PTRACE_O_TRACECLONE: attached by the
 * kernel, held at birth, counted from its creation), one whose clone()
 * began before its parent was seized and so is not traced (its parent's
 * stop, waited for above, comes after clone() has put it in the group),
 * a zombie leader; fewer (an exec, an exit_group under way) re-reads too.
 */
static int threads_all_known(struct lc_threads *ts)
{
	long known = 0;
	for (size_t i = 0; i < ts->nvb; i++)
		if (ts->vb[i].tid)
			return 0;
	for (size_t i = 0; i < ts->n; i++)
		known += !ts->t[i].gone && !ts->t[i].vchild;
	/* the directory's link count is 2 + the group's nr_threads */
	struct stat st;
	if (ts->task_fd < 0 || fstat(ts->task_fd, &st) != 0 || st.st_nlink < 2)
		return 0;
	return (long)st.st_nlink - 2 == known;
}

int lc_threads_stop_all(struct lc_threads *ts)
{
	if (!ts->world_stopped) {
		ts->stop_us = lc_now_us();
		ts->world_stopped = 1;
		ts->nstops++;
	}
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		if (!th->stopped && !th->gone && ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0 &&
		    errno != ESRCH)
			return lc_error("process %d: cannot interrupt thread %d: %s", (int)ts->pid,
					(int)th->tid, strerror(errno));
	}
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		int st;
		if (th->stopped || th->gone)
			continue;
		if (lc_thread_wait(ts, th, &st) == 0) {
			if (thread_settle(ts, th, &st) != 0)
				return -1;
		} else if (th->timed_out)
			return -1;
	}
	/* Threads born before their parent stopped are not seized yet, nor
	 * vfork children whose first stop is not reported yet. */
	int n = 0;
	if (!threads_all_known(ts)) {
		lc_debug("process %d: a thread may be unknown: its task list is re-read",
			 (int)ts->pid);
		while ((n = threads_scan(ts, 1)) > 0)
			;
	}
	if (n < 0 || vfork_children_add(ts, 1) != 0)
		return -1;
	for (size_t i = 0; i < ts->n; i++)
		if (!ts->t[i].gone)
			return 0;
	return lc_error("process %d exited", (int)ts->pid);
}

/* The end of a stop-the-world window: its length is added to what the
 * patient was stopped for in this operation. */
static void threads_window_end(struct lc_threads *ts)
{
	if (!ts->world_stopped)
		return;
	ts->world_stopped = 0;
	uint64_t end = lc_now_us();
	ts->stopped_us += end - ts->stop_us;
	/* For bench/profile (perf record -k CLOCK_MONOTONIC, perf report
	 * --time): with LIBCARE_STOP_WINDOWS set, at -v, so that no -vv line
	 * is written inside the window it measures. */
	void (*say)(const char *, ...) = getenv("LIBCARE_STOP_WINDOWS") ? lc_info : lc_debug;
	say("process %d: world stopped from %llu.%06llu to %llu.%06llu s (CLOCK_MONOTONIC)",
	    (int)ts->pid, (unsigned long long)(ts->stop_us / 1000000),
	    (unsigned long long)(ts->stop_us % 1000000), (unsigned long long)(end / 1000000),
	    (unsigned long long)(end % 1000000));
}

void lc_threads_resume_all(struct lc_threads *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		lc_thread_resume(ts, &ts->t[i]);
	threads_window_end(ts);
}

/* A stopped thread let go, with the signals it is to get. */
static void thread_detach(struct lc_threads *ts, struct lc_thread *th)
{
	thread_wait_restart(ts, th);
	int sig = thread_signals_out(ts, th);
	if (ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)sig) != 0 && errno != ESRCH)
		lc_warn("process %d: cannot detach from thread %d: %s", (int)ts->pid,
			(int)th->tid, strerror(errno));
	th->stopped = 0;
	th->sig = 0;
}

/* Is a stop or an exit of tid there to be waited for (not taken)? */
static int thread_reported(pid_t tid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) != 0)
		return 1;       /* no such child any more: lc_thread_wait says gone */
	return si.si_pid != 0;
}

void lc_threads_detach(struct lc_threads *ts)
{
	if (!ts->seized)
		return;
	/* Only a stopped thread can be detached.  Every running one is asked
	 * to stop at once and let go as soon as it has (in the order they
	 * come): no thread waits for another's stop, and the doctor waits for
	 * the scheduler once, not once per thread, on a loaded machine. */
	size_t left = 0;
	for (size_t i = 0; i < ts->n; i++) {
		struct lc_thread *th = &ts->t[i];
		th->detach_asked = 0;
		if (th->gone || th->timed_out)
			continue;        /* a stuck thread is detached when we exit */
		if (th->stopped) {
			thread_detach(ts, th);
		} else if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) == 0 || errno == ESRCH) {
			th->detach_asked = 1;
			left++;
		}
	}
	uint64_t waited = 0;
	for (int spins = 0; left;) {
		pid_t last = 0;
		for (size_t i = 0; i < ts->n; i++) {
			struct lc_thread *th = &ts->t[i];
			int st;
			if (!th->detach_asked)
				continue;
			last = th->tid;
			if (!thread_reported(th->tid))
				continue;
			th->detach_asked = 0;
			left--;
			if (lc_thread_wait(ts, th, &st) == 0 && thread_settle(ts, th, &st) == 0 &&
			    th->stopped && !th->gone)
				thread_detach(ts, th);
		}
		if (!left)
			break;
		if (waited >= (uint64_t)WAIT_TIMEOUT_S * 1000000u &&
		    !lc_stop_wait_more(waited, lc_thread_progress(ts->pid, last))) {
			lc_warn("process %d: %zu thread(s) did not stop to be detached within %d s: "
				"detached when the doctor exits", (int)ts->pid, left,
				(int)((waited + 500000u) / 1000000u));
			break;
		}
		if (++spins >= 20)
			waited += lc_slice_wait(waited < 10000 ? 200 : 10000);
	}
	threads_window_end(ts);
	sigprocmask(SIG_SETMASK, &ts->saved_mask, NULL);
	lc_stub_release(ts->pid);       /* no thread is borrowed any more */
	if (ts->task_fd >= 0)
		close(ts->task_fd);
	ts->task_fd = -1;
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
	free(ts->vb);
	ts->vb = NULL;
	ts->nvb = 0;
	ts->seized = 0;
}

int lc_thread_sigmask(struct lc_thread *th, const uint64_t *set, uint64_t *old)
{
	if (old && ptrace(PTRACE_GETSIGMASK, th->tid, (void *)sizeof(*old), old) != 0)
		return -1;
	return ptrace(PTRACE_SETSIGMASK, th->tid, (void *)sizeof(*set), (void *)set) == 0 ? 0 : -1;
}


int lc_thread_repark(struct lc_threads *ts, struct lc_thread *th)
{
	int st;
	if (!th->stopped || th->gone)
		return 0;
	/* The interrupt is taken before the thread runs a single instruction
	 * (the kernel checks traps before signals and before returning). */
	if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) != 0 ||
	    ptrace(PTRACE_CONT, th->tid, NULL, NULL) != 0)
		return -1;
	th->stopped = 0;
	if (lc_thread_wait(ts, th, &st) != 0 || thread_settle(ts, th, &st) != 0)
		return -1;
	/* Signals met on the doctor's code: queued again now that the
	 * thread's own registers and mask are back. */
	if (th->sig || th->deferred)
		thread_signals_out(ts, th);
	return 0;
}


static int thread_usable(const struct lc_thread *th)
{
	return !th->gone && !th->timed_out && !th->vchild && !th->vfork_child;
}

static struct lc_thread *threads_pick(struct lc_threads *ts)
{
	struct lc_thread *main = thread_find(ts, ts->pid);
	if (main && thread_usable(main))
		return main;
	for (size_t i = 0; i < ts->n; i++)
		if (thread_usable(&ts->t[i]) && ts->t[i].stopped)
			return &ts->t[i];
	for (size_t i = 0; i < ts->n; i++)
		if (thread_usable(&ts->t[i]))
			return &ts->t[i];
	return NULL;
}

struct lc_thread *lc_threads_pick(struct lc_threads *ts)
{
	struct lc_thread *th = threads_pick(ts);
	uint64_t waited = 0;
	/* Every thread left is held at a vfork stop: its child will exec or
	 * exit soon (posix_spawn, system) - unless the world is stopped. */
	while (!th && !ts->world_stopped && waited < (uint64_t)WAIT_TIMEOUT_S * 1000000u) {
		int held = 0;
		for (size_t i = 0; i < ts->n; i++)
			held |= !ts->t[i].gone && ts->t[i].vfork_child;
		if (!held)
			break;
		waited += lc_slice_wait(1000);
		lc_threads_reap(ts);
		th = threads_pick(ts);
	}
	return th;
}
