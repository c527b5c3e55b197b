/*
 * refuse_library_data_written_directly: the fix makes f() push optind, libc
 * data the program never used (so it has no COPY of it), from inline
 * assembly: `pushq optind(%rip)` needs a 32-bit displacement to a library
 * gigabytes away, and an instruction that moves %rsp cannot borrow a
 * register for the address.  mkpatch refuses, naming the symbol and the
 * function (the plugin rewrites every other use of such data).
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) long f(int n)
{
	printf("%d\n", n);
	return 0;
}

int main(void)
{
	f(1);
	return 0;
}
