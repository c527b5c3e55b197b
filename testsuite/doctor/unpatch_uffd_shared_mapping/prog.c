/* The program keeps a shared mapping registered with userfaultfd for
 * missing pages, whose fault handler (a thread of its own) never answers,
 * as one whose source stalled (a live migration's, say): a read of a page
 * of it not yet there waits for ever.  Four of its sixteen pages are
 * there.  The main loop calls setup() and prints its label every 50 ms; the
 * patched setup() keeps a NEW string literal (in the patch region) as the
 * label, so the region must be proven unreferenced before it goes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGES 16

static const char *label = "label old";

__attribute__((noipa)) void setup(void)
{
	if (!label)
		label = "label old";
}

/* Reads the fault messages and answers none of them. */
static void *handler(void *arg)
{
	int fd = *(int *)arg;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct uffd_msg m;
		if (poll(&p, 1, -1) > 0 && read(fd, &m, sizeof(m)) == sizeof(m) &&
		    m.event == UFFD_EVENT_PAGEFAULT)
			printf("fault at page %ld left unanswered\n",
			       (long)((m.arg.pagefault.address & ~4095ull) % (PAGES * 4096ull) / 4096));
		fflush(stdout);
	}
	return NULL;
}

int main(void)
{
	size_t len = PAGES * 4096;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	for (int i = 0; i < 4; i++)
		m[i * 4096] = 1;        /* four pages there before the registration */
	static int fd;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (unsigned long)m, len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) != 0 || ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
		printf("no userfaultfd: %s\n", strerror(errno));
		fflush(stdout);
		return 3;
	}
	pthread_t t;
	pthread_create(&t, NULL, handler, &fd);
	printf("token %s\n", LC_TOKEN);
	printf("registered %p\n", (void *)m);
	fflush(stdout);
	for (;;) {
		setup();
		printf("%s\n", label);
		fflush(stdout);
		usleep(50000);
	}
}
