/*
 * The program of the ops tests: a worker that waits for the file named by
 * argv[1] (the test creates it once the patch is installed), then loads
 * libscen.so with dlopen() and calls serve() every 20 ms (after argv[2]
 * cycles of load, three calls, dlclose).  LC_TOKEN makes
 * its BuildID unique to the test run.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LC_TOKEN
#define LC_TOKEN "none"
#endif

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0 || argc < 2)
		return 1;
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "libscen.so");
	printf("worker %s started\n", LC_TOKEN);
	fflush(stdout);
	while (access(argv[1], F_OK) != 0)
		usleep(10000);
	/* argv[2]: load, call 3 times and unload it that many times first */
	for (int cycle = 0; argc > 2 && cycle < atoi(argv[2]); cycle++) {
		void *h = dlopen(path, RTLD_NOW);
		void (*f)(int) = h ? (void (*)(int))dlsym(h, "serve") : NULL;
		if (!f)
			return 1;
		for (int i = 1; i <= 3; i++)
			f(i);
		dlclose(h);
		printf("closed %d\n", cycle + 1);
		fflush(stdout);
	}
	void *lib = dlopen(path, RTLD_NOW);
	void (*serve)(int) = lib ? (void (*)(int))dlsym(lib, "serve") : NULL;
	if (!serve) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	for (int i = 1;; i++) {
		serve(i);
		usleep(20000);
	}
}
