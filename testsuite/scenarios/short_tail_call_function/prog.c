/*
 * short_tail_call_function: relay() only passes its argument on; at -O2
 * it is a 2-byte tail call, `relay: jmp show` (eb xx), shorter than the
 * 5-byte jump a patch writes, and the last function of .text: .fini starts
 * 2 bytes after it.  The alignment filler after show() (before relay) takes
 * the 5-byte jump and relay's 2 bytes become a short jump to it.  The fix
 * changes relay.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) void show(int n)
{
	printf("value %d\n", n);
	fflush(stdout);
}

__attribute__((noipa)) void relay(int n)
{
	show(n);
}

int main(void)
{
	for (int n = 1;; n++) {
		relay(n);
		usleep(50000);
	}
}
