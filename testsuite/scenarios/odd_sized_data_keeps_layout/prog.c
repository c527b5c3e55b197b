/*
 * odd_sized_data_keeps_layout: .data ends on an odd address (a 5-byte
 * array), so the empty .tm_clone_table that `ld -q` keeps would push .bss
 * in the patched link; libcare-patched.ld must keep every variable in
 * place.  The fix reads and writes both .data and .bss variables.
 */
#include <stdio.h>
#include <unistd.h>

char tag[5] = "tick";
int ticks;

__attribute__((noinline)) void beat(void)
{
	ticks++;
	printf("%s %d\n", tag, ticks);
	fflush(stdout);
}

int main(void)
{
	for (;;) {
		beat();
		usleep(50000);
	}
}
