# Unit tests of the plugin's C core (gcc-plugin/), on assembly text.
lc_unit_test(test_gensrc_line test_gensrc_line.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_norm test_gensrc_norm.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_emit test_gensrc_emit.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_misc test_gensrc_misc.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_extdata test_gensrc_extdata.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_data test_gensrc_data.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_asm test_gensrc_asm.c LIBS lc_gensrc)
lc_unit_test(test_gensrc_cfi test_gensrc_cfi.c LIBS lc_gensrc)
