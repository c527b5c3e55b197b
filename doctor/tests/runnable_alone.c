/*
 * runnable_alone.c - how the doctor tells a thread on its way to a stop
 * from one that is not coming (doctor/runnable.c).  A thread of this
 * program spinning on the CPU the main thread runs on (both pinned to it)
 * waits for that CPU while the main thread looks: its state reads 'R';
 * asleep in nanosleep it reads 'S'; a thread that is gone reads 0.  A
 * sleeping thread of a process with a runnable thread may be waiting for
 * it (progress); in a child process whose every thread sleeps, nothing
 * can make progress.  The wait policy: every thread is waited for
 * LC_STOP_WAIT_S, with progress up to LC_STOP_WAIT_RUNNABLE_S, none
 * longer.  Exit 0 if every check passes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../doctor.h"

static volatile int mode;               /* 0 spin, 1 sleep, 2 leave */
static volatile pid_t child_tid;

static void *child(void *arg)
{
	(void)arg;
	child_tid = (pid_t)syscall(SYS_gettid);
	while (mode != 2) {
		if (mode == 1) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int failed, passed;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	ok ? passed++ : failed++;
}

static void ms_sleep(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

int main(void)
{
	pid_t pid = getpid();
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	/* the child inherits the mask: it and this thread share one CPU */
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		perror("sched_setaffinity");
	pthread_t t;
	if (pthread_create(&t, NULL, child, NULL) != 0)
		return 2;
	while (!child_tid)
		sched_yield();
	/* Spinning: while this thread runs (and reads /proc) the child is on
	 * the run queue of the same CPU, waiting for it. */
	check(lc_thread_state(pid, child_tid) == 'R', "a spinning thread waiting for its CPU reads R");
	check(lc_thread_progress(pid, child_tid), "... and is on its way");
	mode = 1;
	int sleeping = 0;
	for (int i = 0; i < 2000 && !sleeping; i++) {
		ms_sleep(1);
		sleeping = lc_thread_state(pid, child_tid) == 'S';
	}
	check(sleeping, "a thread in nanosleep reads S");
	check(lc_thread_progress(pid, child_tid),
	      "a sleeping thread of a process with a runnable thread (this one) may get on");
	mode = 2;
	pthread_join(t, NULL);
	check(lc_thread_state(pid, child_tid) == 0, "a thread that is gone reads 0");
	check(lc_thread_state(pid, pid) == 'R', "the thread reading its own state reads R");

	/* A process whose two threads sleep for good. */
	pid_t c = fork();
	if (c == 0) {
		pthread_t s;
		pthread_create(&s, NULL, sleeper, NULL);
		sleeper(NULL);
	}
	int quiet = 0;
	for (int i = 0; i < 2000 && !quiet; i++) {
		ms_sleep(1);
		quiet = !lc_thread_progress(c, c);
	}
	check(quiet, "nothing in a process whose every thread sleeps can get on");
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);

	const uint64_t s = 1000000;
	check(lc_stop_wait_more(0, 0) && lc_stop_wait_more(LC_STOP_WAIT_S * s - 1, 0),
	      "every thread is waited for during the first seconds");
	check(!lc_stop_wait_more(LC_STOP_WAIT_S * s, 0),
	      "then a thread of a process that cannot get on is given up on");
	check(lc_stop_wait_more(LC_STOP_WAIT_S * s, 1) &&
		      lc_stop_wait_more(LC_STOP_WAIT_RUNNABLE_S * s - 1, 1),
	      "one of a process with a runnable thread is waited for longer");
	check(!lc_stop_wait_more(LC_STOP_WAIT_RUNNABLE_S * s, 1), "not for ever");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
