/* Threads blocked in untimed waits that Linux ends with EINTR whenever the
 * thread is stopped and resumed, a ptrace stop included (signal(7): "never
 * restarted"): epoll_wait, epoll_pwait, sigwaitinfo (rt_sigtimedwait), semop,
 * and io_uring_enter waiting for a completion.
 * The program has no handler for the stops, so for it an EINTR is an error
 * it dies of, as a plain server loop does ("epoll_wait: Interrupted system
 * call").  The main thread's epoll_wait must still end with EINTR when a
 * signal with a handler comes (SIGUSR2, sent by the test): that EINTR is
 * the program's own, and it says so. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t usr2;

static void on_usr2(int sig)
{
	(void)sig;
	usr2 = 1;
}

static void died(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	fflush(stdout);
	_exit(1);
}

static void *waits_epoll_pwait(void *arg)
{
	int ep = epoll_create1(0), fd = eventfd(0, 0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	sigset_t none;
	(void)arg;
	sigemptyset(&none);
	sigaddset(&none, SIGUSR2);      /* the main thread's */
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	for (;;)
		if (epoll_pwait(ep, &out, 1, -1, &none) < 0)
			died("epoll_pwait");
}

static void *waits_sigwaitinfo(void *arg)
{
	sigset_t set;
	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);       /* never sent */
	for (;;)
		if (sigwaitinfo(&set, NULL) < 0)
			died("sigwaitinfo");
}

/* io_uring_enter(fd, 0, 1, GETEVENTS): a wait for one completion with
 * nothing submitted and no timeout (as liburing's io_uring_wait_cqe). */
static void *waits_io_uring(void *arg)
{
	struct io_uring_params p;
	(void)arg;
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		printf("io_uring_setup: %s\n", strerror(errno));
		fflush(stdout);
		return NULL;
	}
	for (;;)
		if (syscall(SYS_io_uring_enter, fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
			died("io_uring_enter");
}

static void *waits_semop(void *arg)
{
	int id = semget(IPC_PRIVATE, 1, 0600);
	struct sembuf down = { 0, -1, 0 };
	(void)arg;
	if (id < 0)
		died("semget");
	printf("semid %d\n", id);      /* the test removes it when it ends */
	fflush(stdout);
	for (;;)
		if (semop(id, &down, 1) < 0) {
			int e = errno;
			semctl(id, 0, IPC_RMID);
			errno = e;
			died("semop");
		}
}

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

int main(void)
{
	sigset_t block;
	pthread_t t;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;        /* no SA_RESTART: epoll_wait ends with EINTR */
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);       /* the threads' mask */
	pthread_create(&t, NULL, waits_epoll_pwait, NULL);
	pthread_create(&t, NULL, waits_sigwaitinfo, NULL);
	pthread_create(&t, NULL, waits_semop, NULL);
	pthread_create(&t, NULL, waits_io_uring, NULL);
	sigdelset(&block, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);     /* SIGUSR2 comes to main */

	int ep = epoll_create1(0), fd = eventfd(0, 0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	printf("token %s\n", LC_TOKEN);
	/* main waits in epoll_wait with no timeout; SIGUSR2 wakes it */
	for (;;) {
		printf("waiting %s\n", version());
		fflush(stdout);
		if (epoll_wait(ep, &out, 1, -1) < 0) {
			if (errno != EINTR || !usr2)
				died("epoll_wait");
			usr2 = 0;
			printf("epoll_wait: EINTR for SIGUSR2, as it must\n");
		} else {
			uint64_t v;
			read(fd, &v, sizeof(v));
		}
	}
}
