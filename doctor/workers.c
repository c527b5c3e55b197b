/*
 * workers.c - `-p all` over several processes at once.
 *
 * Once the list of processes is made (and what can be read once is read:
 * the patch file of `patch -p all FILE`), the doctor forks worker processes
 * that take the processes from a queue in shared memory, in list order.
 * Each process is handled by exactly one worker, start to end, as the one
 * doctor would: its lock (lock.c: a byte-range lock is its holder's; the
 * workers lock different bytes), its ptrace session (the worker is the
 * tracer), its journal (the worker's PID is the doctor's there: a killed
 * worker is a killed doctor).  The patients are independent processes, so
 * the order in which they are patched is not seen by any of them.
 *
 * What a worker prints for a process (stdout and stderr) goes to memory
 * files of its own; the doctor replays it, and records the result, in list
 * order as soon as every process before it is done.  So the output, the
 * --json report and the exit status are what one doctor going through the
 * list would give.  A worker that dies takes only the process it was on
 * (reported as failed); the processes nobody took are done by the doctor
 * itself.  Should the doctor die, a worker stops before its next process
 * (or dies of SIGPIPE at its next report, between two processes).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define WORKERS_MAX 64

enum { ITEM_QUEUED, ITEM_TAKEN, ITEM_DONE };

struct work_item {
	atomic_int state;
	int rc;
	int worker;
	off_t out0, out1, err0, err1;   /* its text in the worker's files */
	char note[LC_WORK_NOTE];
};

struct work_queue {
	atomic_size_t next;
	struct work_item item[];
};

int lc_workers_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (int)n;
}

static off_t fd_at(int fd)
{
	off_t at = lseek(fd, 0, SEEK_CUR);
	return at < 0 ? 0 : at;
}

static void worker_loop(struct work_queue *q, size_t n, int w, int notify, pid_t doctor,
			int (*fn)(size_t, char *, void *), void *ctx)
{
	int quiet = 0;
	/* where the text of the next process starts: where the last one's
	 * ended (nothing else is written between two) */
	fflush(stdout);
	fflush(stderr);
	off_t out = fd_at(1), err = fd_at(2);
	for (;;) {
		if (getppid() != doctor)
			break;          /* the doctor died: nobody would print what we do */
		size_t i = atomic_fetch_add(&q->next, 1);
		if (i >= n)
			break;
		struct work_item *it = &q->item[i];
		it->worker = w;
		it->out0 = out;
		it->err0 = err;
		atomic_store(&it->state, ITEM_TAKEN);
		int rc = fn(i, it->note, ctx);
		fflush(stdout);
		fflush(stderr);
		it->out1 = out = fd_at(1);
		it->err1 = err = fd_at(2);
		it->rc = rc;
		atomic_store(&it->state, ITEM_DONE);
		/* The doctor is woken for what it has to print, and now and then
		 * (a process that printed nothing can wait: the end wakes it too) */
		if (it->out1 == it->out0 && it->err1 == it->err0 && ++quiet < 64)
			continue;
		quiet = 0;
		uint32_t one = (uint32_t)i;
		while (write(notify, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

/* Copies bytes [from, to) of fd to f. */
static void replay(int fd, off_t from, off_t to, FILE *f)
{
	char buf[8192];
	while (from < to) {
		size_t want = (size_t)(to - from) < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		ssize_t got = pread(fd, buf, want, from);
		if (got <= 0)
			break;
		fwrite(buf, 1, (size_t)got, f);
		from += got;
	}
	fflush(f);
}

/* One process at a time, here. */
static void run_here(size_t from, size_t n, int (*fn)(size_t, char *, void *),
		     void (*done)(size_t, int, const char *, void *), void *ctx)
{
	for (size_t i = from; i < n; i++) {
		char note[LC_WORK_NOTE] = "";
		int rc = fn(i, note, ctx);
		done(i, rc, note, ctx);
	}
}

int lc_workers_run(const pid_t *pids, size_t n, int jobs,
		   int (*fn)(size_t, char *, void *),
		   void (*done)(size_t, int, const char *, void *), void *ctx)
{
	if (jobs > WORKERS_MAX)
		jobs = WORKERS_MAX;
	if ((size_t)jobs > n)
		jobs = (int)n;
	if (jobs <= 1) {
		run_here(0, n, fn, done, ctx);
		return 0;
	}
	size_t qsize = sizeof(struct work_queue) + n * sizeof(struct work_item);
	struct work_queue *q = mmap(NULL, qsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				    -1, 0);
	int notify[2];
	if (q == MAP_FAILED || pipe2(notify, O_CLOEXEC) != 0) {
		lc_debug("no worker processes (%s): one process at a time", strerror(errno));
		if (q != MAP_FAILED)
			munmap(q, qsize);
		run_here(0, n, fn, done, ctx);
		return 0;
	}
	atomic_init(&q->next, 0);
	for (size_t i = 0; i < n; i++)
		atomic_init(&q->item[i].state, ITEM_QUEUED);

	int out[WORKERS_MAX], err[WORKERS_MAX];
	pid_t kid[WORKERS_MAX];
	int nk = 0;
	pid_t self = getpid();
	fflush(stdout);
	fflush(stderr);
	for (int w = 0; w < jobs; w++) {
		out[nk] = memfd_create("libcare-doctor-out", MFD_CLOEXEC);
		err[nk] = memfd_create("libcare-doctor-err", MFD_CLOEXEC);
		pid_t k = out[nk] >= 0 && err[nk] >= 0 ? fork() : -1;
		if (k == 0) {
			close(notify[0]);
			dup2(out[nk], 1);
			dup2(err[nk], 2);
			signal(SIGPIPE, SIG_DFL);
			worker_loop(q, n, nk, notify[1], self, fn, ctx);
			fflush(stdout);
			fflush(stderr);
			_exit(0);
		}
		if (k < 0) {
			lc_debug("worker %d: %s", w, strerror(errno));
			if (out[nk] >= 0)
				close(out[nk]);
			if (err[nk] >= 0)
				close(err[nk]);
			break;
		}
		kid[nk++] = k;
	}
	close(notify[1]);
	lc_info("-p all: %d worker process(es)", nk);

	/* In list order: each process's text and result once it is done. */
	size_t emit = 0;
	for (;;) {
		while (emit < n && atomic_load(&q->item[emit].state) == ITEM_DONE) {
			struct work_item *it = &q->item[emit];
			replay(out[it->worker], it->out0, it->out1, stdout);
			replay(err[it->worker], it->err0, it->err1, stderr);
			done(emit, it->rc, it->note, ctx);
			emit++;
		}
		if (nk == 0)
			break;
		/* until every worker is gone (none is then left to block on a
		 * full pipe, nor killed by SIGPIPE after its last process) */
		uint32_t buf[64];
		ssize_t got = read(notify[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
	}
	close(notify[0]);
	for (int w = 0; w < nk; w++) {
		int st;
		while (waitpid(kid[w], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			lc_debug("worker %d (PID %d) ended with status 0x%x", w, (int)kid[w], st);
	}
	/* What the workers left: a process one of them died on fails; the
	 * ones nobody took are done here. */
	for (; emit < n; emit++) {
		struct work_item *it = &q->item[emit];
		int state = atomic_load(&it->state);
		if (state == ITEM_DONE) {
			replay(out[it->worker], it->out0, it->out1, stdout);
			replay(err[it->worker], it->err0, it->err1, stderr);
			done(emit, it->rc, it->note, ctx);
		} else if (state == ITEM_TAKEN) {
			replay(out[it->worker], it->out0, fd_at(out[it->worker]), stdout);
			replay(err[it->worker], it->err0, fd_at(err[it->worker]), stderr);
			lc_error("process %d: the doctor's worker (PID %d) died while on it",
				 (int)pids[emit], (int)kid[it->worker]);
			done(emit, -1, "", ctx);
		} else {
			run_here(emit, emit + 1, fn, done, ctx);
		}
	}
	for (int w = 0; w < nk; w++) {
		close(out[w]);
		close(err[w]);
	}
	munmap(q, qsize);
	return 0;
}
