/*
 * A worker thread waits in wait_go(), `while (!go);`: at -O2 GCC makes its
 * entry the loop head (wait_go: mov go,%eax; test %eax,%eax; je wait_go).
 * SIGUSR1 sets go; the worker then calls wait_go() every 50 ms.
 *
 * With the argument "entry", SIGUSR2 parks the worker exactly at the loop
 * head: its handler moves the interrupted rip (inside the loop) to the
 * entry, where the next iteration starts anyway, and waits there for go.
 * The stack then shows a thread about to run wait_go's first byte in the
 * middle of its loop, deterministically (a thread sampled while spinning is
 * rarely caught at that very instruction).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

__attribute__((noinline)) void wait_go(void)
{
	while (!go)
		;
}

static void say(const char *s)
{
	ssize_t n = write(1, s, strlen(s));
	(void)n;
}

static void on_usr2(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t f = (uintptr_t)wait_go, rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	struct timespec ms = { 0, 1000000 };
	(void)sig, (void)si;
	if (rip - f < 16) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)f;
		say("parked at the entry\n");
	} else {
		say("not in the loop\n");
	}
	while (!go)
		nanosleep(&ms, NULL);
}

static void *worker(void *arg)
{
	(void)arg;
	printf("worker tid %d\n", (int)gettid());
	fflush(stdout);
	for (int n = 0;; n++) {
		wait_go();
		printf("went %d\n", n);
		fflush(stdout);
		usleep(50000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	sigset_t usr2;
	signal(SIGUSR1, on_usr1);
	if (argc > 1 && strcmp(argv[1], "entry") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_usr2;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGUSR2, &sa, NULL);
	}
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, NULL);
	/* SIGUSR2 is for the worker alone */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	for (;;)
		pause();
}
