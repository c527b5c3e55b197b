/*
 * mdwe PROGRAM ARGS... - runs PROGRAM under prctl(PR_SET_MDWE,
 * PR_MDWE_REFUSE_EXEC_GAIN) (what systemd's MemoryDenyWriteExecute= does
 * with seccomp): memory that was writable can never become executable.
 * Checks that the policy holds first; exit 77 if the kernel lacks it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0) {
		fprintf(stderr, "mdwe: PR_SET_MDWE: %s\n", strerror(errno));
		return 77;
	}
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0) {
		fprintf(stderr, "mdwe: writable memory still becomes executable\n");
		return 1;
	}
	munmap(p, 4096);
	execvp(argv[1], argv + 1);
	fprintf(stderr, "mdwe: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
