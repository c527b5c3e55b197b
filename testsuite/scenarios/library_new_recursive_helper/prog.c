/*
 * library_new_recursive_helper: the program sums a left spine of 150
 * nodes through libscen.so's tree_sum() every 30 ms; the patched library
 * refuses a tree deeper than 100 (-1).
 */
#include <stdio.h>
#include <unistd.h>

struct node {
	struct node *l, *r;
	int v;
};

int tree_sum(const struct node *n);

static struct node spine[150];

int main(void)
{
	for (int i = 0; i < 150; i++) {
		spine[i].v = 1;
		spine[i].l = i + 1 < 150 ? &spine[i + 1] : 0;
	}
	for (int n = 0;; n++) {
		printf("%d sum=%d\n", n, tree_sum(spine));
		fflush(stdout);
		usleep(30000);
	}
}
