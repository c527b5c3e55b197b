/* usage: prog none|stack|thread|reg FLAG
 * The main thread calls version() and prints "version V uses U" every
 * 50 ms.  Two more threads have their stacks in ONE mapping: the keeper
 * in its lower half, a sleeper (created after it) in its upper half.
 * Once FLAG exists the keeper (stack, reg) asks label() once and keeps
 * the pointer it returns - a NEW string literal in the patch region once
 * patched - reading through it after every sleep (U counts the reads):
 *   stack: in a local variable of the frame it never leaves (on its
 *          stack, below the sleeper's stack pointer), nowhere else;
 *   thread: the same, the keeper on a stack of its own (pthread's);
 *   reg:   in r12 only.
 *   none:  never (FLAG is never made): nothing points into the region. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STACK (256 << 10)

static const char *flag;
static _Atomic unsigned long uses;

__attribute__((noipa)) int version(void)
{
	return 1;
}

__attribute__((noipa)) const char *label(void)
{
	return "label old";
}

static void nap(void)
{
	struct timespec ts = { 0, 50000000 };
	nanosleep(&ts, NULL);
}

static void wait_flag(void)
{
	while (access(flag, F_OK) != 0)
		nap();
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		nap();
	return NULL;
}

static void *stack_keeper(void *arg)
{
	if (arg) {              /* thread: where its own stack is */
		pthread_attr_t at;
		void *base;
		size_t size;
		if (pthread_getattr_np(pthread_self(), &at) != 0 ||
		    pthread_attr_getstack(&at, &base, &size) != 0)
			abort();
		printf("keeper stack %lx %lx\n", (unsigned long)base, (unsigned long)base + size);
		fflush(stdout);
	}
	wait_flag();
	const char *volatile kept = label();    /* its only copy: this slot */
	for (;;) {
		nap();
		if (((const char *)kept)[0] != 'l')
			abort();
		atomic_fetch_add(&uses, 1);
	}
	return NULL;
}

static void *reg_keeper(void *arg)
{
	(void)arg;
	wait_flag();
	register const char *kept asm("r12") = label();
	for (;;) {
		struct timespec ts = { 0, 50000000 };
		long ret;
		/* nanosleep with the pointer in r12 (callee-saved: nothing
		 * spills it, the syscall keeps it) */
		__asm__ volatile("syscall"
				 : "=a"(ret)
				 : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0), "r"(kept)
				 : "rcx", "r11", "memory");
		(void)ret;
		unsigned char c;
		__asm__ volatile("movb (%1), %0" : "=r"(c) : "r"(kept) : "memory");
		if (c != 'l')
			abort();
		atomic_fetch_add(&uses, 1);
	}
	return NULL;
}

static void spawn(void *(*fn)(void *), char *stack)
{
	pthread_attr_t at;
	pthread_t t;
	if (pthread_attr_init(&at) != 0 || pthread_attr_setstack(&at, stack, STACK) != 0 ||
	    pthread_create(&t, &at, fn, NULL) != 0) {
		fprintf(stderr, "cannot start a thread\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	flag = argv[2];
	char *stacks = mmap(NULL, 2 * STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	if (stacks == MAP_FAILED)
		return 3;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	if (strcmp(argv[1], "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, stack_keeper, stacks) != 0)
			return 3;
	} else {
		printf("keeper stack %lx %lx\n", (unsigned long)stacks, (unsigned long)(stacks + STACK));
		fflush(stdout);
		spawn(strcmp(argv[1], "reg") == 0 ? reg_keeper : stack_keeper, stacks);
	}
	usleep(20000);          /* the sleeper: a higher thread id */
	spawn(sleeper, stacks + STACK);
	for (;;) {
		printf("version %d uses %lu\n", version(), (unsigned long)atomic_load(&uses));
		fflush(stdout);
		nap();
	}
}
