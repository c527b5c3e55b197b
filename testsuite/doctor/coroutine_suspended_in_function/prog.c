/* A coroutine (makecontext/swapcontext, its stack on the heap) suspends
 * itself inside f() and is never resumed; a second one, done with
 * sigsetjmp/siglongjmp on its own stack as QEMU does, ran through f() and
 * finished.  The main thread prints. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>

static ucontext_t main_ctx, co_ctx;

__attribute__((noinline)) void f(int suspend)
{
	printf("f old begins\n");
	fflush(stdout);
	if (suspend)
		swapcontext(&co_ctx, &main_ctx);
	printf("f old resumed\n");
	fflush(stdout);
}

static void co_body(void)
{
	f(1);
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	size_t size = 64 * 1024;
	char *stack = malloc(size);
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = stack;
	co_ctx.uc_stack.ss_size = size;
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, co_body, 0);
	swapcontext(&main_ctx, &co_ctx);
	printf("coroutine suspended\n");
	fflush(stdout);
	for (int n = 0;; n++) {
		printf("alive %d\n", n);
		fflush(stdout);
		usleep(50000);
	}
}
