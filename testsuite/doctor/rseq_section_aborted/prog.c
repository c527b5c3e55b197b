/* The program's one thread runs, over and over, a restartable sequence
 * (rseq, registered by glibc) that spins about a millisecond between its
 * start and its commit, as per-CPU caches (tcmalloc's, librseq's) do in a
 * few instructions: the kernel aborts such a sequence (to its abort
 * handler) whenever the thread is preempted, migrated or sent a signal
 * inside it, so a sequence that commits ran uninterrupted.  The program
 * times each committed sequence from its start: one that took far longer
 * than its spin was stopped inside and went on, which is the per-CPU data
 * corruption rseq exists to prevent. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/rseq.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One sequence: 1 committed, 0 aborted. */
static int sequence(struct rseq *rs, unsigned long spins)
{
	int done;
	__asm__ volatile(
		".pushsection .data.rel.ro.lc_rseq, \"aw\"\n\t"
		".balign 32\n"
		"3:\n\t"
		".long 0, 0\n\t"                        /* version, flags */
		".quad 1f, 4f - 1f, 5f\n\t"             /* start_ip, post_commit_offset, abort_ip */
		".popsection\n\t"
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, %c[cs](%[rs])\n"           /* rseq_cs = the sequence */
		"1:\n\t"
		"movq %[spins], %%rcx\n"
		"2:\n\t"
		"decq %%rcx\n\t"
		"jnz 2b\n\t"
		"movl $1, %[done]\n"                    /* the commit */
		"4:\n\t"
		"jmp 6f\n\t"
		".byte 0x0f, 0xb9, 0x3d\n\t"            /* ud1 with the signature */
		".long 0x53053053\n"
		"5:\n\t"
		"movl $0, %[done]\n"
		"6:\n\t"
		: [done] "=m"(done)
		: [rs] "r"(rs), [cs] "i"(__builtin_offsetof(struct rseq, rseq_cs)), [spins] "r"(spins)
		: "rax", "rcx", "memory", "cc");
	return done;
}

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

int main(void)
{
	struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	printf("token %s\n", LC_TOKEN);
	if (__rseq_size == 0) {
		printf("no rseq area registered by glibc: nothing to test\n");
		return 1;       /* the test fails: it could prove nothing */
	}
	/* about a millisecond of spinning */
	unsigned long spins = 1000;
	for (;;) {
		uint64_t t0 = now_ns();
		while (!sequence(rs, spins))
			t0 = now_ns();
		if (now_ns() - t0 > 1000000)
			break;
		spins *= 2;
	}
	printf("spins %lu\n", spins);
	fflush(stdout);
	unsigned long commits = 0, aborts = 0;
	uint64_t longest = 0, last = now_ns();
	for (;;) {
		uint64_t t0 = now_ns();
		if (sequence(rs, spins)) {
			uint64_t d = now_ns() - t0;
			commits++;
			if (d > longest)
				longest = d;
		} else {
			aborts++;
		}
		if (now_ns() - last > 50000000) {
			printf("%s commits %lu aborts %lu longest %llu ms\n", version(), commits, aborts,
			       (unsigned long long)(longest / 1000000));
			fflush(stdout);
			last = now_ns();
		}
	}
}
