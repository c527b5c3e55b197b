/* A live process with no ELF object mapped, as every process is for a
 * moment of its exec (the new stack alone): a static program that copies a
 * few instructions to an anonymous page and, from there, unmaps every
 * mapping of its executable, then waits in pause() for ever.  `-p all`
 * has nothing of it to patch: it is skipped, not a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* unmap_all(table, n): munmap(table[2i], table[2i+1]) for each i, then
 * pause() in a loop; position-independent, no stack use. */
void unmap_all(const unsigned long *table, unsigned long n);
extern const char unmap_all_end[];
__asm__(".text\n"
	".globl unmap_all\n"
	"unmap_all:\n"
	"mov %rdi, %rbx\n"
	"mov %rsi, %r12\n"
	"1: test %r12, %r12\n"
	"jz 2f\n"
	"mov (%rbx), %rdi\n"
	"mov 8(%rbx), %rsi\n"
	"mov $11, %eax\n"                 /* SYS_munmap */
	"syscall\n"
	"add $16, %rbx\n"
	"dec %r12\n"
	"jmp 1b\n"
	"2: mov $34, %eax\n"              /* SYS_pause */
	"syscall\n"
	"jmp 2b\n"
	".globl unmap_all_end\n"
	"unmap_all_end:\n");

int main(void)
{
	char exe[4096], line[4096 + 128];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return 1;
	exe[len] = '\0';
	unsigned char *page = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 1;
	size_t code = (size_t)(unmap_all_end - (const char *)unmap_all);
	memcpy(page, (const void *)unmap_all, code);
	unsigned long *table = (unsigned long *)(page + 4096), n = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f) && n < 4096 / 16) {
		unsigned long lo, hi;
		char *path = strchr(line, '/');
		if (!path || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, exe) != 0)
			continue;
		table[2 * n] = lo;
		table[2 * n + 1] = hi - lo;
		n++;
	}
	fclose(f);
	printf("unmapping %lu mapping(s) of %s\n", n, exe);
	fflush(stdout);
	((void (*)(const unsigned long *, unsigned long))(void *)page)(table, n);
	return 0;
}
