/*
 * ifunc_glibc_and_own_resolver: the program calls serve() from
 * libscen.so every 50 ms; the patch is for the library, not the program.
 */
#include <unistd.h>

void serve(int n);

int main(void)
{
	for (int n = 1;; n++) {
		serve(n);
		usleep(50000);
	}
}
