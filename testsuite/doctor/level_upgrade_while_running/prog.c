/* Four threads print the version every millisecond. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (;;) {
		printf("%ld %s\n", id, version());
		usleep(1000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("token %s\n", LC_TOKEN);
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_join(t[0], NULL);
	return 0;
}
