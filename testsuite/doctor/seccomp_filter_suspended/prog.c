/* Once set up, the process (both threads) runs under a seccomp filter:
 * with argv[1] "kill" mmap, mprotect and munmap kill it
 * (SECCOMP_RET_KILL_PROCESS), with "errno" they fail with EPERM (as under
 * systemd's MemoryDenyWriteExecute).  getpriority always fails with EPERM:
 * a canary the main loop checks, so the filter cannot be off for the
 * process's own calls.  The main thread prints what f() says every 50 ms. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noipa)) const char *f(void)
{
	return "old";
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

#define DENY(nr, action) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (action))

int main(int argc, char **argv)
{
	int kill_mode = argc > 1 && strcmp(argv[1], "kill") == 0;
	unsigned deny = kill_mode ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | EPERM;
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, NULL);
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(SYS_mmap, deny),
		DENY(SYS_mprotect, deny),
		DENY(SYS_munmap, deny),
		DENY(SYS_getpriority, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
		perror("seccomp");
		return 1;
	}
	if (!kill_mode && (mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
			   MAP_FAILED || errno != EPERM)) {
		printf("mmap is not refused\n");
		return 1;
	}
	printf("filter on (%s)\n", kill_mode ? "kill" : "errno");
	fflush(stdout);
	for (;;) {
		errno = 0;
		if (getpriority(PRIO_PROCESS, 0) != -1 || errno != EPERM) {
			printf("the filter is off\n");
			fflush(stdout);
			abort();
		}
		printf("%s\n", f());
		fflush(stdout);
		usleep(50000);
	}
}
