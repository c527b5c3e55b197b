/*
 * tls_program_uses_library_variable: two threads count in `ticks`, a
 * __thread variable of libscen.so that the program uses directly (the
 * initial-exec model: a TP offset in the program's GOT); thread B starts at
 * 1000.  fix.diff changes the program and the library: both are patched.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

extern __thread int ticks;
void tick_start(int n);
const char *lib_tag(void);

__attribute__((noinline)) void tick(const char *who)
{
	ticks++;
	printf("%s ticks %d %s\n", who, ticks, lib_tag());
	fflush(stdout);
}

static void *run(void *arg)
{
	const char *who = arg;
	if (*who == 'B')
		tick_start(1000);
	for (;;) {
		tick(who);
		usleep(30000);
	}
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, run, "A");
	pthread_create(&b, NULL, run, "B");
	pthread_join(a, NULL);
	return 0;
}
