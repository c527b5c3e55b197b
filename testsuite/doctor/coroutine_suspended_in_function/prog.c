/* A coroutine suspends itself inside f() on a heap-allocated stack and is
 * never resumed; the main thread prints.  Two kinds of switches:
 *   ucontext  swapcontext() inside f()
 *   sigjmp    as QEMU does: started with makecontext/swapcontext, then
 *             switched with sigsetjmp/siglongjmp - f() saves its place with
 *             sigsetjmp and jumps back to main with siglongjmp.
 *   other     the coroutine is suspended in g(), not in f(): f() may change. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static ucontext_t main_ctx, co_ctx;
static sigjmp_buf main_env, co_env;
static int use_sigjmp, in_other;

__attribute__((noipa)) void f(void)
{
	printf("f old begins\n");
	fflush(stdout);
	if (in_other) {
		/* called by the main thread: no switch */
	} else if (use_sigjmp) {
		if (!sigsetjmp(co_env, 0))
			siglongjmp(main_env, 1);
	} else {
		swapcontext(&co_ctx, &main_ctx);
	}
	printf("f old resumed\n");
	fflush(stdout);
}

__attribute__((noipa)) void g(void)
{
	swapcontext(&co_ctx, &main_ctx);
}

static void co_body(void)
{
	if (in_other)
		g();
	else
		f();
}

int main(int argc, char **argv)
{
	use_sigjmp = argc > 1 && strcmp(argv[1], "sigjmp") == 0;
	in_other = argc > 1 && strcmp(argv[1], "other") == 0;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	size_t size = 64 * 1024;
	char *stack = malloc(size);
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = stack;
	co_ctx.uc_stack.ss_size = size;
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, co_body, 0);
	if (!sigsetjmp(main_env, 0))
		swapcontext(&main_ctx, &co_ctx);
	printf("coroutine suspended (%s)\n", argc > 1 ? argv[1] : "ucontext");
	for (int n = 0;; n++) {
		printf("alive %d\n", n);
		fflush(stdout);
		usleep(50000);
		if (in_other)
			f();
	}
}
