/*
 * stub.c - the code a thread runs while the doctor borrows it (an injected
 * syscall, inject.c; a call into the patient, call.c), written so that a
 * doctor killed at any instant leaves the thread able to go back to its
 * own code with its own registers by itself.
 *
 * Before it borrows a thread the doctor writes a frame below the thread's
 * red zone (S is the thread's rsp):
 *
 *	S - 136  rip      the thread's, as the kernel would resume it
 *	S - 144  rflags
 *	S - 264  rdi rsi rdx rcx rax r8 r9 r10 r11 rbx rbp r12 r13 r14 r15
 *	S - 272  its signal mask                        <- F, the frame
 *
 * and the stub (STUB_LEN bytes, position independent) is
 *
 *	 0  syscall                      an injected syscall runs here
 *	 2  rt_sigprocmask(SIG_SETMASK, F, NULL, 8)
 *	25  lea 8(%rsp),%rsp; pop r15..rdi; popfq; ret $128
 *	57  mov %rax,%r8; pop %rcx; pop %rbx        a call returns here
 *	    if rbx: xrstor64 (%rbx) with edx:eax = -1   (its saved extended state)
 *	    mov %rcx,%rsp; jmp 2
 *
 * An injected syscall starts at 0 with rsp = F; the doctor stops it at the
 * syscall's exit and puts the registers back itself (the tail never runs
 * then).  A called function returns to 57 with rsp pointing at F and the
 * extended-state area (or 0); the doctor sees the return as the entry stop
 * of the rt_sigprocmask at 23 (PTRACE_SYSCALL, a stop that delivers
 * nothing), the result in r8.  Without the doctor the tail restores the
 * mask, every general register, the flags, rsp (ret $128 lands it on S) and
 * rip: the thread resumes where it was.  A thread stopped inside an
 * interrupted system call (orig_rax >= 0, rax = -ERESTART...) gets in the
 * frame what the kernel would have done on resuming it without a signal:
 * rip back on the `syscall`, rax the call's number (restart_syscall for
 * -ERESTART_RESTARTBLOCK).  What differs from the kernel: a signal that
 * arrived while the thread was borrowed (blocked meanwhile) is delivered
 * when the tail unblocks it, in the stub, and the call is restarted after
 * its handler, where the kernel may have it return EINTR (pause and select
 * always, others when the handler has no SA_RESTART).
 *
 * Where it lives: in slack bytes that no code reaches - the tail of the
 * last page of an executable PT_LOAD segment of an object, after the
 * segment's end (the page is mapped r-x, the bytes belong to no function;
 * /proc/PID/mem writes them through a private copy of that page, as it
 * writes jumps).  It is written on first use and its original bytes (read
 * from the file) put back when the doctor detaches, unless a thread may
 * still be inside (a borrowed thread the doctor lost) or a killed doctor
 * left it there (a thread of that doctor's may still return into it): then
 * it stays, harmless.  No object with such slack: the old bare `syscall`
 * (lc_proc_syscall_insn) and its window.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

#define STUB_LEN     86
#define STUB_ROOM    96                 /* what it takes at the end of a page */
#define STUB_MARGIN  16                 /* kept free after the segment's end */

static const uint8_t stub_code[STUB_LEN] = {
	0x0f, 0x05,                                     /*  0 syscall */
	0xb8, 0x0e, 0x00, 0x00, 0x00,                   /*  2 mov $14,%eax */
	0xbf, 0x02, 0x00, 0x00, 0x00,                   /*  7 mov $2,%edi */
	0x48, 0x89, 0xe6,                               /* 12 mov %rsp,%rsi */
	0x31, 0xd2,                                     /* 15 xor %edx,%edx */
	0x41, 0xba, 0x08, 0x00, 0x00, 0x00,             /* 17 mov $8,%r10d */
	0x0f, 0x05,                                     /* 23 syscall */
	0x48, 0x8d, 0x64, 0x24, 0x08,                   /* 25 lea 8(%rsp),%rsp */
	0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, /* 30 pop r15 r14 r13 r12 */
	0x5d, 0x5b,                                     /* 38 pop rbp rbx */
	0x41, 0x5b, 0x41, 0x5a, 0x41, 0x59, 0x41, 0x58, /* 40 pop r11 r10 r9 r8 */
	0x58, 0x59, 0x5a, 0x5e, 0x5f,                   /* 48 pop rax rcx rdx rsi rdi */
	0x9d,                                           /* 53 popfq */
	0xc2, 0x80, 0x00,                               /* 54 ret $128 */
	0x49, 0x89, 0xc0,                               /* 57 mov %rax,%r8 */
	0x59,                                           /* 60 pop %rcx */
	0x5b,                                           /* 61 pop %rbx */
	0x48, 0x85, 0xdb,                               /* 62 test %rbx,%rbx */
	0x74, 0x0e,                                     /* 65 je 81 */
	0xb8, 0xff, 0xff, 0xff, 0xff,                   /* 67 mov $-1,%eax */
	0xba, 0xff, 0xff, 0xff, 0xff,                   /* 72 mov $-1,%edx */
	0x48, 0x0f, 0xae, 0x2b,                         /* 77 xrstor64 (%rbx) */
	0x48, 0x89, 0xcc,                               /* 81 mov %rcx,%rsp */
	0xeb, 0xac,                                     /* 84 jmp 2 */
};
_Static_assert(LC_STUB_RET == 57 && LC_STUB_TAIL_SYSCALL == 25, "stub offsets");

/* One process at a time (the doctor works on one, -p all one after the
 * other). */
static struct {
	pid_t pid;
	uint64_t addr;
	uint8_t orig[STUB_ROOM];
	int written;             /* by this doctor run */
	int keep;                /* a thread may be inside, or it was there already */
} stub;

static int stub_pwrite(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)lc_proc_task(pid));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = pwrite(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* The end of an executable PT_LOAD segment of `o` whose last page has room,
 * with the file offset of the stub's place; 0 if none. */
static uint64_t stub_slack(const struct lc_proc *pr, const struct lc_object *o, uint64_t *foff)
{
	int fd = open(o->file, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	uint64_t found = 0;
	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256) {
		close(fd);
		return 0;
	}
	for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			break;
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || ph.p_filesz != ph.p_memsz)
			continue;
		uint64_t end = o->bias + ph.p_vaddr + ph.p_memsz;
		uint64_t page_end = (end + LC_PAGE_SIZE - 1) & ~(uint64_t)(LC_PAGE_SIZE - 1);
		uint64_t at = page_end - STUB_ROOM;
		if (page_end < end + STUB_ROOM + STUB_MARGIN)
			continue;
		for (size_t k = 0; k < pr->nmaps; k++) {
			const struct lc_map *m = &pr->maps[k];
			if (m->start < end && m->end >= page_end && m->start <= at &&
			    strcmp(m->perms, "r-xp") == 0 && m->path && strcmp(m->path, o->path) == 0) {
				*foff = m->offset + (at - m->start);
				found = at;
				break;
			}
		}
	}
	close(fd);
	return found;
}

int lc_stub_place(struct lc_proc *pr, uint64_t *addr)
{
	if (stub.addr && stub.pid == pr->pid && stub.written) {
		*addr = stub.addr;      /* placed and written in this run: the same */
		return 0;
	}
	memset(&stub, 0, sizeof(stub)); /* nothing of another process (a PID reused) */
	for (size_t i = 0; i < pr->nobjs; i++) {
		const struct lc_object *o = &pr->objs[i];
		uint64_t foff = 0, at = stub_slack(pr, o, &foff);
		uint8_t now[STUB_ROOM];
		if (!at || lc_mem_read(pr, at, now, sizeof(now)) != 0)
			continue;
		memset(&stub, 0, sizeof(stub));
		int fd = open(o->file, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? pread(fd, stub.orig, sizeof(stub.orig), (off_t)foff) : -1;
		if (fd >= 0)
			close(fd);
		if (n < 0)
			memcpy(stub.orig, now, sizeof(now));    /* past the end of the file: zeros */
		stub.pid = pr->pid;
		stub.addr = at;
		/* A killed doctor's stub: a thread of its may still return into it. */
		stub.keep = memcmp(now, stub_code, STUB_LEN) == 0 &&
			    memcmp(stub.orig, stub_code, STUB_LEN) != 0;
		*addr = at;
		lc_debug("process %d: the doctor's stub goes at 0x%llx (the end of %s's code)%s",
			 (int)pr->pid, (unsigned long long)at, o->path,
			 stub.keep ? ", left there by an earlier doctor" : "");
		return 0;
	}
	return -1;
}

uint64_t lc_stub_get(pid_t pid, uint64_t insn)
{
	if (!stub.addr || stub.pid != pid || (insn && insn != stub.addr))
		return 0;
	if (!stub.written) {
		if (stub_pwrite(pid, stub.addr, stub_code, STUB_LEN) != 0) {
			lc_debug("process %d: cannot write the stub at 0x%llx: %s", (int)pid,
				 (unsigned long long)stub.addr, strerror(errno));
			return 0;
		}
		stub.written = 1;
	}
	return stub.addr;
}

void lc_stub_keep(pid_t pid)
{
	if (stub.pid == pid)
		stub.keep = 1;
}

void lc_stub_release(pid_t pid)
{
	if (stub.pid != pid || !stub.written)
		return;
	stub.written = 0;
	if (stub.keep || stub_pwrite(pid, stub.addr, stub.orig, STUB_LEN) != 0)
		lc_debug("process %d: the stub at 0x%llx stays", (int)pid,
			 (unsigned long long)stub.addr);
}

int lc_stub_frame(pid_t tid, const struct user_regs_struct *r, uint64_t mask, uint64_t *frame)
{
	uint64_t rip = r->rip, rax = r->rax;
	/* What the kernel does to a thread resumed in an interrupted call
	 * with no handler to run (arch_do_signal_or_restart). */
	if ((int64_t)r->orig_rax >= 0) {
		switch ((int64_t)r->rax) {
		case -512: case -513: case -514:        /* ERESTARTSYS, NOINTR, NOHAND */
			rax = r->orig_rax;
			rip -= 2;
			break;
		case -516:                              /* ERESTART_RESTARTBLOCK */
			rax = 219;                      /* restart_syscall */
			rip -= 2;
			break;
		}
	}
	const uint64_t f[18] = { mask, r->r15, r->r14, r->r13, r->r12, r->rbp, r->rbx, r->r11,
				 r->r10, r->r9, r->r8, rax, r->rcx, r->rdx, r->rsi, r->rdi,
				 r->eflags, rip };
	uint64_t at = r->rsp - 128 - sizeof(f);
	struct iovec local = { (void *)f, sizeof(f) }, remote = { (void *)at, sizeof(f) };
	if (process_vm_writev(tid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(f))
		return -1;
	*frame = at;
	return 0;
}
