# libcare-mkpatch's pure parts (linker/lc_mkpatch) on hand-made inputs.
# The end-to-end test with real gcc/ld links is unit.mkpatch_e2e (linker/).
lc_unit_test(test_mkpatch_layout test_mkpatch_layout.c LIBS lc_mkpatch)
lc_unit_test(test_mkpatch_reloc test_mkpatch_reloc.c LIBS lc_mkpatch)
lc_unit_test(test_mkpatch_payload test_mkpatch_payload.c LIBS lc_mkpatch)
# mkpatch's decoding of the original's code (linker/decode.c, busy.c).
lc_unit_test(test_mkpatch_decode test_mkpatch_decode.c LIBS lc_mkpatch)
# libcare-verify's comparison (linker/verify.c) on hand-made images.
lc_unit_test(test_verify test_verify.c LIBS lc_verify)
