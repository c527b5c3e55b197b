/* One thread, libgcc_s loaded (the doctor registers the patch's CFI with
 * a call injected into it); counts the SIGSEGVs other processes send it
 * and prints the count with the version every 20 ms. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t segvs;

static void on_segv(int sig)
{
	(void)sig;
	segvs++;
}

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGSEGV, &sa, NULL);
	if (!dlopen("libgcc_s.so.1", RTLD_NOW))
		return 1;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("segv %d %s\n", (int)segvs, version());
		fflush(stdout);
		usleep(20000);
	}
}
