/*
 * mem.c - the patient's memory through /proc/PID/mem: reads for the
 * runtime and the region scan, writes of the region image and the jumps
 * (the kernel writes through read-only text with FOLL_FORCE).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

int lc_mem_open(struct lc_proc *pr)
{
	char path[64];
	if (pr->memfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)lc_proc_task(pr->pid));
	pr->memfd = open(path, O_RDWR | O_CLOEXEC);
	if (pr->memfd < 0)
		return lc_error("cannot open %s: %s", path, strerror(errno));
	return 0;
}

int lc_mem_read(struct lc_proc *pr, uint64_t addr, void *buf, size_t len)
{
	if (lc_mem_open(pr) != 0)
		return -1;
	while (len) {
		ssize_t n = pread(pr->memfd, buf, len, (off_t)addr);
		if (n <= 0)
			return -1;
		buf = (char *)buf + n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int lc_mem_write(struct lc_proc *pr, uint64_t addr, const void *buf, size_t len)
{
	if (lc_mem_open(pr) != 0)
		return -1;
	while (len) {
		ssize_t n = pwrite(pr->memfd, buf, len, (off_t)addr);
		if (n <= 0)
			return lc_error("process %d: cannot write %zu bytes at 0x%llx: %s", (int)pr->pid,
					len, (unsigned long long)addr, n < 0 ? strerror(errno) : "short write");
		buf = (const char *)buf + n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
