/*
 * tls_library_local_dynamic: two threads call tick() of libscen.so, which
 * counts in the library's __thread variable; thread B starts at 1000.
 */
#include <pthread.h>
#include <unistd.h>

void tick_start(int n);
void tick(const char *who);

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
