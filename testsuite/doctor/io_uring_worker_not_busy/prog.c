/* The program queues a read of an empty pipe on an io_uring with
 * IOSQE_ASYNC: the kernel hands it to an io_uring worker thread (iou-wrk-N),
 * which blocks in the kernel.  Such a worker is listed among the process's
 * threads and is stopped with them, but it runs no user code: its user
 * registers are empty.  The main thread prints its version in a loop. */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

int main(void)
{
	struct io_uring_params p;
	int pp[2];
	static char c;

	printf("token %s\n", LC_TOKEN);
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0 || pipe(pp) != 0) {
		printf("no io_uring here\n");
		fflush(stdout);
		return 77;
	}
	char *sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned),
			PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
					 MAP_SHARED, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqes == MAP_FAILED) {
		printf("no io_uring here\n");
		fflush(stdout);
		return 77;
	}
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail), *arr = (unsigned *)(sq + p.sq_off.array);
	unsigned t = *tail, i = t & (p.sq_entries - 1);
	memset(&sqes[i], 0, sizeof(sqes[i]));
	sqes[i].opcode = IORING_OP_READ;
	sqes[i].fd = pp[0];
	sqes[i].addr = (uintptr_t)&c;
	sqes[i].len = 1;
	sqes[i].flags = IOSQE_ASYNC;            /* to a worker thread */
	arr[i] = i;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	long r = syscall(SYS_io_uring_enter, fd, 1, 0, 0, NULL, 0);
	printf("submitted %ld\n", r);
	for (;;) {
		printf("version %s\n", version());
		fflush(stdout);
		usleep(20000);
	}
}
