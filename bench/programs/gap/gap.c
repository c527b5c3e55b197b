/*
 * gap - the patient of the stop-time benchmark (bench/stop.sh).
 *
 * N threads call work() in a loop.  Each records the largest delay between
 * two consecutive iterations beyond its own sleep (CLOCK_MONOTONIC): that is
 * how long the thread was kept from running, by the scheduler or by a
 * doctor's stop-the-world.  The benchmark patches work() (fix.diff makes it
 * return 2 instead of 1) while the threads run through it.
 *
 * usage: gap NTHREADS SLEEP_US
 * Commands on stdin, one per line, answers on stdout:
 *   r   open a new window: every thread forgets its maximum;
 *       "ok" once every thread has started an iteration in the new window
 *   q   close it: once every thread has completed an iteration after the
 *       query, "MAXDELAY_NS VERSION_MIN VERSION_MAX" (VERSION: what work()
 *       returned in each thread's latest iteration)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

struct slot {
	_Atomic uint64_t epoch;	/* window this thread is in */
	_Atomic uint64_t max;	/* largest delay in it, ns */
	_Atomic uint64_t iters;
	_Atomic int version;
	char pad[64 - 3 * sizeof(uint64_t) - sizeof(int)];
};

static _Atomic uint64_t window = 1;
static struct slot *slots;
static int nthreads;
static uint64_t sleep_ns;

/* The function the benchmark replaces. */
__attribute__((noipa)) int work(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
	struct slot *s = arg;
	struct timespec nap = { .tv_sec = (time_t)(sleep_ns / 1000000000u),
				.tv_nsec = (long)(sleep_ns % 1000000000u) };
	unsigned seed = (unsigned)(s - slots);
	uint64_t last = now_ns(), max = 0;

	for (;;) {
		int v = work(&seed);
		uint64_t t = now_ns(), w = atomic_load(&window);

		if (w != atomic_load_explicit(&s->epoch, memory_order_relaxed)) {
			max = 0;
			atomic_store(&s->max, 0);
			atomic_store(&s->epoch, w);
		} else if (t - last > sleep_ns && t - last - sleep_ns > max) {
			max = t - last - sleep_ns;
			atomic_store(&s->max, max);
		}
		atomic_store_explicit(&s->version, v, memory_order_relaxed);
		atomic_fetch_add(&s->iters, 1);
		last = t;
		if (sleep_ns)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

static void pause_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	nanosleep(&ts, NULL);
}

/* r: wait until every thread has seen the new window. */
static void window_open(void)
{
	uint64_t w = atomic_fetch_add(&window, 1) + 1;

	for (int i = 0; i < nthreads; i++)
		while (atomic_load(&slots[i].epoch) != w)
			pause_us(100);
	printf("ok\n");
}

/* q: wait until every thread has completed an iteration since now. */
static void window_close(void)
{
	uint64_t *seen = calloc((size_t)nthreads, sizeof(*seen)), max = 0;
	int vmin = 1 << 30, vmax = -1;

	if (!seen) {
		fprintf(stderr, "gap: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < nthreads; i++)
		seen[i] = atomic_load(&slots[i].iters);
	for (int i = 0; i < nthreads; i++) {
		while (atomic_load(&slots[i].iters) < seen[i] + 2)
			pause_us(100);
		uint64_t m = atomic_load(&slots[i].max);
		int v = atomic_load(&slots[i].version);

		max = m > max ? m : max;
		vmin = v < vmin ? v : vmin;
		vmax = v > vmax ? v : vmax;
	}
	free(seen);
	printf("%llu %d %d\n", (unsigned long long)max, vmin, vmax);
}

int main(int argc, char **argv)
{
	char line[64];

	if (argc != 3) {
		fprintf(stderr, "usage: gap NTHREADS SLEEP_US\n");
		return 2;
	}
	nthreads = atoi(argv[1]);
	sleep_ns = (uint64_t)atoll(argv[2]) * 1000u;
	if (nthreads < 1) {
		fprintf(stderr, "gap: bad thread count '%s'\n", argv[1]);
		return 2;
	}
	/* Sleeps end when asked, not up to 50 us later. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	slots = aligned_alloc(64, sizeof(*slots) * (size_t)nthreads);
	if (!slots) {
		fprintf(stderr, "gap: out of memory\n");
		return 1;
	}
	memset(slots, 0, sizeof(*slots) * (size_t)nthreads);
	for (int i = 0; i < nthreads; i++) {
		pthread_t t;
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 * 1024);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, worker, &slots[i])) {
			fprintf(stderr, "gap: cannot create thread %d\n", i);
			return 1;
		}
		pthread_attr_destroy(&a);
	}
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == 'r')
			window_open();
		else if (line[0] == 'q')
			window_close();
	}
	return 0;
}
