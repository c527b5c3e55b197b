# runtime: the patch-loading engine against an in-memory target.
lc_unit_test(test_runtime test_runtime.c LIBS lc_runtime)
lc_unit_test(test_runtime_gap test_runtime_gap.c LIBS lc_runtime)
lc_unit_test(test_runtime_tls test_runtime_tls.c LIBS lc_runtime)
