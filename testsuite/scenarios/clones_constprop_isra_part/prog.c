/*
 * clones_constprop_isra_part: at -O2 GCC clones scaled() for its constant
 * argument (scaled.constprop.0), field() for the one member it reads
 * (field.isra.0) and splits the slow path of slow() (slow.part.0).  The fix
 * changes each of them; the clones are patched under their clone names.
 */
#include <stdio.h>
#include <unistd.h>

struct rec { int a, b, c, d; char pad[64]; };

static __attribute__((noinline)) int scaled(int n, int k)
{
	return n * k + 1;
}

static __attribute__((noinline)) int field(const struct rec *r)
{
	return r->b + 1;
}

static int slow_count;

static int slow(int n)
{
	if (__builtin_expect(n % 5 != 0, 1))
		return n;
	for (int i = 0; i < 2; i++) {
		slow_count += i * n;
		printf("slow path %d step %d%s\n", n, i, "");
		fflush(stdout);
		if (slow_count > 100000) {
			puts("slow path reset");
			slow_count = 0;
		}
	}
	return n;
}

__attribute__((noinline)) int use_a(int n) { return scaled(n, 3) + slow(n); }
__attribute__((noinline)) int use_b(int n) { return scaled(n + 1, 3) + slow(n + 1); }
__attribute__((noinline)) int use_c(int n)
{
	struct rec r = { n, n * 2, n * 3, n * 4, { 0 } };
	return field(&r) + slow(n + 2);
}

int main(void)
{
	for (int n = 0;; n++) {
		int a = use_a(n), b = use_b(n), c = use_c(n);
		printf("%d a %d b %d c %d%s\n", n, a, b, c, a > 50000 && b > 50000 && c > 50000 ? " new" : "");
		fflush(stdout);
		usleep(50000);
	}
}
