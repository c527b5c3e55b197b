/*
 * lib.c of tls_program_uses_library_variable: the library defines the
 * __thread variable the program counts in.
 */
__thread int ticks;

void tick_start(int n)
{
	ticks = n;
}

__attribute__((noinline)) const char *lib_tag(void)
{
	return "lib";
}
