/* A thread vforks children one after the other; each child (sharing the
 * patient's memory, on its stack) stays 400 ms (kind 2: 3 s) inside
 * version(), says what it returned, then: kind 0 says its PID, sleeps 10 s
 * more and _exits 7, kind 1 execs `sleep 0.5`, kind 2 _exits 7 at once.  The parent prints each child's
 * exit status.  Another thread vforks a child every 2 ms that calls
 * version() and _exits 0 if it said "old" or "new"; the main thread prints
 * the version and how many of those children exited 0 and otherwise,
 * every 20 ms. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

__attribute__((noipa)) const char *version(long stay_us)
{
	if (stay_us)
		nap_us(stay_us);
	return "old";
}

static void say(const char *s)
{
	(void)!write(1, s, strlen(s));
}

static void *spawner(void *arg)
{
	(void)arg;
	for (int k = 0;; k++) {
		char line[64];
		pid_t c = vfork();
		if (c == 0) {
			snprintf(line, sizeof(line), "child %d in version pid %d\n", k, (int)getpid());
			say(line);
			/* kind 2 stays longer: -p all lists the processes once,
			 * at its start, which on a loaded machine can come after
			 * 400 ms (the test waits for this line, then starts it) */
			const char *r = version(k % 3 == 2 ? 3000000 : 400000);
			snprintf(line, sizeof(line), "child %d left version %s\n", k, r);
			say(line);
			if (k % 3 == 0) {
				snprintf(line, sizeof(line), "child %d pid %d sleeping\n", k,
					 (int)getpid());
				say(line);
				nap_us(10000000);
			}
			else if (k % 3 == 1)
				execlp("sleep", "sleep", "0.5", (char *)NULL);
			_exit(7);
		}
		int st = -1;
		if (c < 0 || waitpid(c, &st, 0) != c)
			snprintf(line, sizeof(line), "child %d lost\n", k);
		else
			snprintf(line, sizeof(line), "child %d exited %d\n", k,
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		say(line);
		nap_us(200000);
	}
	return NULL;
}

static unsigned long storm_ok, storm_bad;

static void *storm(void *arg)
{
	(void)arg;
	for (;;) {
		pid_t c = vfork();
		if (c == 0) {
			const char *v = version(0);
			_exit(strcmp(v, "old") == 0 || strcmp(v, "new") == 0 ? 0 : 1);
		}
		int st = -1;
		if (c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			__atomic_add_fetch(&storm_ok, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&storm_bad, 1, __ATOMIC_RELAXED);
		nap_us(2000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, spawner, NULL);
	pthread_create(&t, NULL, storm, NULL);
	for (;;) {
		printf("main %s %lu %lu\n", version(0), __atomic_load_n(&storm_ok, __ATOMIC_RELAXED),
		       __atomic_load_n(&storm_bad, __ATOMIC_RELAXED));
		fflush(stdout);
		nap_us(20000);
	}
}
