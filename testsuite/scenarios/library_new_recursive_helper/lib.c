/*
 * libscen.so: tree_sum() sums a tree's values.  The fix (a typical
 * security fix) bounds the recursion depth through a new exported
 * recursive helper, tree_sum_depth(); with -fPIC GCC calls it from itself
 * through tree_sum_depth.localalias (`.set tree_sum_depth.localalias,
 * tree_sum_depth`), which the original library does not have.
 */
struct node {
	struct node *l, *r;
	int v;
};

int tree_sum(const struct node *n)
{
	int s = 0;
	for (; n; n = n->l)
		s += n->v;
	return s;
}
