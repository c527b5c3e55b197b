/*
 * memory.c - this process's own memory, for the engine: its mappings
 * (/proc/self/maps), reads that cannot fault, and writes into code.
 *
 * Code is written through /proc/self/mem, which the kernel lets a process
 * do to its own read-only pages (copy on write) without changing any
 * protection: under MemoryDenyWriteExecute= (a seccomp filter refusing
 * PROT_EXEC in mprotect) or PR_SET_MDWE a page made writable could not be
 * made executable again.  (apply.c fills a whole region this way when
 * such a policy refuses the usual mmap rw-, mprotect r-x.)  Without /proc the page is made rwx for the write and
 * put back; rwx, not rw-, so a refused restore cannot leave it unexecutable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "engine.h"

int lc_self_maps(struct lc_self *s)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	memset(s, 0, sizeof(*s));
	if (!f)
		return lc_error("cannot read /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &start, &end, perms) != 3)
			continue;
		s->maps = lc_xrealloc(s->maps, (s->n + 1) * sizeof(*s->maps));
		s->maps[s->n++] = (struct lc_selfmap){
			start, end,
			(perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
				(perms[2] == 'x' ? PROT_EXEC : 0),
		};
		/* a line longer than the buffer: skip its rest */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	fclose(f);
	return 0;
}

void lc_self_free(struct lc_self *s)
{
	free(s->maps);
	memset(s, 0, sizeof(*s));
}

/* The mapping holding addr, or NULL. */
static const struct lc_selfmap *self_at(const struct lc_self *s, uint64_t addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (addr >= s->maps[i].start && addr < s->maps[i].end)
			return &s->maps[i];
	return NULL;
}

int lc_self_read(const struct lc_self *s, uint64_t addr, void *buf, size_t len)
{
	for (uint64_t a = addr; a < addr + len;) {
		const struct lc_selfmap *m = self_at(s, a);
		if (!m || !(m->prot & PROT_READ))
			return lc_error("cannot read %zu bytes at 0x%llx: not mapped readable", len,
					(unsigned long long)addr);
		a = m->end;
	}
	memcpy(buf, (const void *)(uintptr_t)addr, len);
	return 0;
}

static int write_by_protect(const struct lc_self *s, uint64_t addr, const void *buf, size_t len)
{
	uint64_t page = addr & ~(uint64_t)(LC_PAGE_SIZE - 1);
	uint64_t end = (addr + len + LC_PAGE_SIZE - 1) & ~(uint64_t)(LC_PAGE_SIZE - 1);
	if (!self_at(s, addr) || !self_at(s, addr + len - 1))
		return lc_error("code at 0x%llx is not mapped", (unsigned long long)addr);
	if (mprotect((void *)(uintptr_t)page, end - page, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		return lc_error("cannot write the code at 0x%llx (no /proc/self/mem, and mprotect "
				"rwx is refused: %s)", (unsigned long long)addr, strerror(errno));
	memcpy((void *)(uintptr_t)addr, buf, len);
	/* each page back to the protection of its mapping */
	for (size_t i = 0; i < s->n; i++) {
		const struct lc_selfmap *m = &s->maps[i];
		uint64_t a = m->start > page ? m->start : page, b = m->end < end ? m->end : end;
		if (a < b && mprotect((void *)(uintptr_t)a, b - a, m->prot) != 0)
			lc_warn("the code page at 0x%llx stays rwx: %s", (unsigned long long)a,
				strerror(errno));
	}
	return 0;
}

int lc_self_write_code(const struct lc_self *s, uint64_t addr, const void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)addr);
		close(fd);
		if (n == (ssize_t)len)
			return 0;
	}
	return write_by_protect(s, addr, buf, len);
}
