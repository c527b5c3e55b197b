/* One thread stays inside f() until SIGUSR1 (and ten forks more) and forks
 * a child every 20 ms from inside it: each child leaves f() through the
 * return address the doctor may have redirected, and exits 0 if f()
 * returned what it should.  Two more threads fork children that fork
 * grandchildren and exit.  Every child's exit status is checked; the main
 * thread prints the version. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int in_child;
static volatile sig_atomic_t release;

static void on_usr1(int sig)
{
	(void)sig;
	release = 1;
}

__attribute__((noipa)) int version(void)
{
	return 1;
}

__attribute__((noipa)) int f(void)
{
	for (int i = 0, after = 0; after < 10; i++) {
		pid_t c = fork();
		if (c == 0) {
			in_child = 1;
			return 1000 + i;         /* the child leaves f() here */
		}
		usleep(20000);
		after += release != 0;
	}
	return 7;
}

static int reap(int *bad)
{
	int st, n = 0;
	pid_t c;
	while ((c = waitpid(-1, &st, WNOHANG)) > 0) {
		n++;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			(*bad)++;
	}
	return n;
}

static void *busy(void *arg)
{
	(void)arg;
	printf("in f\n");
	fflush(stdout);
	int r = f();
	if (in_child)
		_exit(r >= 1000 ? 0 : 3);
	printf("left f: %d\n", r);
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

static void *storm(void *arg)
{
	(void)arg;
	for (;;) {
		pid_t c = fork();
		if (c == 0) {
			pid_t g = fork();
			if (g == 0)
				_exit(0);
			int st;
			_exit(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4);
		}
		usleep(2000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	int bad = 0, done = 0;
	signal(SIGUSR1, on_usr1);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, busy, NULL);
	pthread_create(&t, NULL, storm, NULL);
	pthread_create(&t, NULL, storm, NULL);
	for (;;) {
		done += reap(&bad);
		printf("v%d children %d bad %d\n", version(), done, bad);
		fflush(stdout);
		usleep(50000);
	}
}
