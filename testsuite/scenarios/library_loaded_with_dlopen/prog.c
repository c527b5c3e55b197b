/*
 * library_loaded_with_dlopen: the program is not linked to libscen.so; it
 * loads it with dlopen() after 100 ms of running, then calls serve() every
 * 50 ms.  The patch is for the library, applied after the load.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return 1;
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "libscen.so");
	usleep(100000);
	void *lib = dlopen(path, RTLD_NOW);
	void (*serve)(int) = lib ? (void (*)(int))dlsym(lib, "serve") : NULL;
	if (!serve) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	for (int i = 1;; i++) {
		serve(i);
		usleep(50000);
	}
}
