/*
 * stub_alone.c - the doctor's stub (doctor/stub.c) puts a borrowed thread
 * back by itself.  A forked "doctor" borrows the thread of a forked
 * patient exactly as inject.c and call.c do (the same restore frame, the
 * same stub bytes, every signal blocked) and is SIGKILLed at the worst
 * moments: right after the thread got the borrowed registers, at the entry
 * stop of the injected syscall or of the stub's rt_sigprocmask, at its exit
 * stop.  The patient must go on with every general register, rsp, xmm0,
 * the direction flag and its signal mask as they were (it spins checking
 * them), or, stopped inside nanosleep, sleep on (the interrupted call is
 * restarted as the kernel would) until the signal that ends the case.
 * Exit 0 if every case passes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include "../stub.c"

/* What stub.c takes from the rest of the doctor. */
pid_t lc_proc_task(pid_t pid)
{
	return pid;
}
int lc_mem_read(struct lc_proc *pr, uint64_t addr, void *buf, size_t len)
{
	(void)pr, (void)addr, (void)buf, (void)len;
	return -1;
}

static volatile sig_atomic_t stop_flag;
int spin_check(void);
long clobber(void);
uint64_t spin_vals[17] = {
	0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444,
	0x5555555555555555, 0x6666666666666666, 0x7777777777777777, 0x8888888888888888,
	0x9999999999999999, 0xaaaaaaaaaaaaaaaa, 0xbbbbbbbbbbbbbbbb, 0xcccccccccccccccc,
	0xdddddddddddddddd, 0xeeeeeeeeeeeeeeee, 0x0f0f0f0f0f0f0f0f, 0x1234567812345678, 0,
};
/* spin_check: every general register but rsp holds a value of spin_vals,
 * xmm0 the 16th; checked (and rsp against its value at the start) until
 * stop_flag is set: 0, or 1 at the first difference.  clobber: what a
 * called function may do to caller-saved state. */
__asm__(".text\n"
	".globl spin_check\n"
	"spin_check:\n"
	"push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"mov %rsp, spin_vals+128(%rip)\n"
	"movq spin_vals+120(%rip), %xmm0\n"
	"mov spin_vals+0(%rip), %rax\n"
	"mov spin_vals+8(%rip), %rbx\n"
	"mov spin_vals+16(%rip), %rcx\n"
	"mov spin_vals+24(%rip), %rdx\n"
	"mov spin_vals+32(%rip), %rsi\n"
	"mov spin_vals+40(%rip), %rdi\n"
	"mov spin_vals+48(%rip), %rbp\n"
	"mov spin_vals+56(%rip), %r8\n"
	"mov spin_vals+64(%rip), %r9\n"
	"mov spin_vals+72(%rip), %r10\n"
	"mov spin_vals+80(%rip), %r11\n"
	"mov spin_vals+88(%rip), %r12\n"
	"mov spin_vals+96(%rip), %r13\n"
	"mov spin_vals+104(%rip), %r14\n"
	"mov spin_vals+112(%rip), %r15\n"
	"1:\n"
	"cmp spin_vals+0(%rip), %rax; jne 2f\n"
	"cmp spin_vals+8(%rip), %rbx; jne 2f\n"
	"cmp spin_vals+16(%rip), %rcx; jne 2f\n"
	"cmp spin_vals+24(%rip), %rdx; jne 2f\n"
	"cmp spin_vals+32(%rip), %rsi; jne 2f\n"
	"cmp spin_vals+40(%rip), %rdi; jne 2f\n"
	"cmp spin_vals+48(%rip), %rbp; jne 2f\n"
	"cmp spin_vals+56(%rip), %r8; jne 2f\n"
	"cmp spin_vals+64(%rip), %r9; jne 2f\n"
	"cmp spin_vals+72(%rip), %r10; jne 2f\n"
	"cmp spin_vals+80(%rip), %r11; jne 2f\n"
	"cmp spin_vals+88(%rip), %r12; jne 2f\n"
	"cmp spin_vals+96(%rip), %r13; jne 2f\n"
	"cmp spin_vals+104(%rip), %r14; jne 2f\n"
	"cmp spin_vals+112(%rip), %r15; jne 2f\n"
	"cmp spin_vals+128(%rip), %rsp; jne 2f\n"
	"movq %xmm0, %rax; cmp spin_vals+120(%rip), %rax; jne 2f\n"
	"pushfq; pop %rax; test $0x400, %eax; jnz 2f\n"
	"mov spin_vals+0(%rip), %rax\n"
	"cmpl $0, stop_flag(%rip); je 1b\n"
	"xor %eax, %eax; jmp 3f\n"
	"2: mov $1, %eax\n"
	"3: pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx; ret\n"
	".globl clobber\n"
	"clobber:\n"
	"xorps %xmm0, %xmm0\n"
	"mov $-1, %rcx; mov $-1, %rdx; mov $-1, %rsi; mov $-1, %rdi\n"
	"mov $-1, %r8; mov $-1, %r9; mov $-1, %r10; mov $-1, %r11\n"
	"std\n"
	"mov $42, %eax; ret\n");

static void on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t sigbit(int sig)
{
	return 1ull << (sig - 1);
}

/* The patient: blocks SIGUSR1 (its own mask, to be kept), says it is
 * ready, then spins or sleeps until SIGALRM (sent once the doctor is dead,
 * or its own alarm after 20 s); exit 0 if nothing it had changed. */
static void patient(int ready, int sleeping)
{
	sigset_t set, now;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_SETMASK, &set, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;       /* no SA_RESTART: the sleep ends with EINTR */
	sigaction(SIGALRM, &sa, NULL);
	alarm(20);
	if (write(ready, "r", 1) != 1)
		_exit(3);
	int bad = 0;
	if (sleeping) {
		/* Interrupted by the doctor, it must be restarted, not return
		 * -ERESTART_RESTARTBLOCK (errno 516); SIGALRM ends it. */
		struct timespec ts = { 30, 0 };
		long rc = syscall(SYS_nanosleep, &ts, NULL);
		bad = !(rc == -1 && errno == EINTR && stop_flag);
	} else {
		bad = spin_check();
	}
	sigprocmask(SIG_SETMASK, NULL, &now);
	if (!sigismember(&now, SIGUSR1) || sigismember(&now, SIGALRM) || sigismember(&now, SIGTERM))
		bad |= 2;
	_exit(bad);
}

enum { EARLY, ENTRY, EXIT };

/* The doctor: borrows the patient's thread and dies (SIGKILL) at `when`. */
static void doctor(pid_t pid, int call, int when, uint64_t stub_addr)
{
	struct user_regs_struct saved, r;
	uint64_t mask, block = ~0ull, frame;
	int st;
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0 ||
	    ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) != 0 || waitpid(pid, &st, 0) != pid ||
	    ptrace(PTRACE_GETREGS, pid, NULL, &saved) != 0 ||
	    ptrace(PTRACE_GETSIGMASK, pid, (void *)sizeof(mask), &mask) != 0 ||
	    lc_stub_frame(pid, &saved, mask, &frame) != 0)
		_exit(10);
	r = saved;
	if (!call) {
		r.rip = stub_addr;
		r.rsp = frame;
		r.rax = SYS_getppid;
		r.orig_rax = (unsigned long long)-1;
	} else {
		static uint8_t xs_buf[64 * 1024];
		struct iovec xs = { xs_buf, sizeof(xs_buf) };
		uint64_t xarea = 0;
		if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &xs) == 0) {
			xarea = (frame - xs.iov_len) & ~63ull;
			struct iovec remote = { (void *)xarea, xs.iov_len };
			if (process_vm_writev(pid, &xs, 1, &remote, 1, 0) != (ssize_t)xs.iov_len)
				_exit(11);
		}
		uint64_t sp = (((xarea ? xarea : frame) - 16) & ~15ull) - 8;
		const uint64_t words[3] = { stub_addr + LC_STUB_RET, frame, xarea };
		struct iovec local = { (void *)words, sizeof(words) };
		struct iovec remote = { (void *)sp, sizeof(words) };
		if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(words))
			_exit(12);
		r.rip = (uint64_t)clobber;
		r.rsp = sp;
		r.rax = 0;
		r.orig_rax = (unsigned long long)-1;
		block = ~(sigbit(SIGSEGV) | sigbit(SIGBUS) | sigbit(SIGILL) | sigbit(SIGFPE) |
			  sigbit(SIGTRAP));
	}
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) != 0 ||
	    ptrace(PTRACE_SETSIGMASK, pid, (void *)sizeof(block), &block) != 0)
		_exit(13);
	int stops = when == EARLY ? 0 : when == ENTRY ? 1 : 2;
	for (int seen = 0; seen < stops;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) != 0 || waitpid(pid, &st, 0) != pid ||
		    !WIFSTOPPED(st) || ptrace(PTRACE_GETREGS, pid, NULL, &r) != 0)
			_exit(14);
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			_exit(15);
		/* A call: only the stub's own syscall counts. */
		if (!call || r.rip == stub_addr + LC_STUB_TAIL_SYSCALL || seen)
			seen++;
	}
	kill(getpid(), SIGKILL);
}

static int one_case(int sleeping, int call, int when, uint64_t stub_addr)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pat = fork();
	if (pat == 0) {
		close(p[0]);
		patient(p[1], sleeping);
	}
	close(p[1]);
	char c;
	if (read(p[0], &c, 1) != 1)
		return -1;
	close(p[0]);
	usleep(20000);       /* in its loop, or in its nanosleep */
	pid_t doc = fork();
	if (doc == 0)
		doctor(pat, call, when, stub_addr);
	int st, dst;
	waitpid(doc, &dst, 0);
	usleep(50000);       /* the patient runs on alone, then is told to stop */
	kill(pat, SIGALRM);
	if (waitpid(pat, &st, 0) != pat)
		return -1;
	if (!WIFSIGNALED(dst) || WTERMSIG(dst) != SIGKILL) {
		fprintf(stderr, "  the doctor did not get to its kill (status 0x%x)\n", dst);
		return -1;
	}
	if (WIFSIGNALED(st))
		fprintf(stderr, "  the patient died of signal %d\n", WTERMSIG(st));
	else if (WEXITSTATUS(st))
		fprintf(stderr, "  the patient exited with %d (1: a register or its sleep, 2: its mask)\n",
			WEXITSTATUS(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(void)
{
	static const char *whens[] = { "with the borrowed registers", "at the entry stop",
				       "at the exit stop" };
	uint8_t *page = mmap(NULL, LC_PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 2;
	memcpy(page + LC_PAGE_SIZE - STUB_ROOM, stub_code, STUB_LEN);
	if (mprotect(page, LC_PAGE_SIZE, PROT_READ | PROT_EXEC) != 0)
		return 2;
	uint64_t stub_addr = (uint64_t)(page + LC_PAGE_SIZE - STUB_ROOM);
	int failed = 0, passed = 0;
	for (int sleeping = 0; sleeping < 2; sleeping++)
		for (int call = 0; call < 2; call++)
			for (int when = EARLY; when <= EXIT; when++) {
				int rc = one_case(sleeping, call, when, stub_addr);
				printf("%s: patient %s, doctor killed %s of %s\n", rc ? "FAIL" : "ok",
				       sleeping ? "in nanosleep" : "spinning", whens[when],
				       call ? "a call into it" : "an injected syscall");
				rc ? failed++ : passed++;
			}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
