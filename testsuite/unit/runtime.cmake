# runtime: the patch-loading engine against an in-memory target.
lc_unit_test(test_runtime test_runtime.c LIBS lc_runtime)
