# Stage original: the object is byte-identical to a build without the
# plugin (with -g too: our options are kept out of DW_AT_producer), and
# the unit's assembly is recorded in the store.
. "$(dirname "$0")/lib.sh"
for src in variety.c prog.c other.c; do
	for flags in "-O0" "-O2" "-O0 -g" "-O2 -g" "-O2 -fno-pie" "-O2 -g -fPIC" \
		     "-O1 -g -fno-pie" "-Os -g3" "-O2 -g -frecord-gcc-switches" \
		     "-O2 -ffunction-sections -fdata-sections"; do
		cp "$SRC/$src" u.c
		rm -f u.libcare.s
		# shellcheck disable=SC2086
		"$CC" $flags -c u.c -o plain.o
		# shellcheck disable=SC2086
		cc_orig $flags -c u.c -o u.o
		if cmp -s plain.o u.o; then ok "$src $flags identical"; else fail "$src $flags: object differs"; fi
		grep -q '^# libcare:fn-begin ' u.libcare.s || fail "$src $flags: store u.libcare.s has no function markers"
	done
done
# -pipe (cc1 writes to stdout) and an explicit store directory
cp "$SRC/variety.c" u.c
"$CC" -O2 -g -c u.c -o plain.o
cc_orig -O2 -g -pipe -fplugin-arg-libcare-store="$WORK/store" -c u.c -o u.o
cmp -s plain.o u.o && ok "-pipe identical" || fail "-pipe: object differs"
ls "$WORK/store/"*"%u.s" >/dev/null 2>&1 && ok "store dir keyed by absolute aux name" ||
	fail "store dir: no $WORK/store/...%u.s"
# environment instead of arguments
rm -f u.libcare.s
LIBCARE_STAGE=original "$CC" -fplugin="$PLUGIN" -O2 -c u.c -o u.o
[ -f u.libcare.s ] && ok "LIBCARE_STAGE" || fail "LIBCARE_STAGE=original recorded nothing"
# no stage: the plugin does nothing
rm -f u.libcare.s
"$CC" -fplugin="$PLUGIN" -O2 -c u.c -o u.o
[ ! -f u.libcare.s ] && ok "no stage, no store" || fail "no stage but a store was written"
# no stage, -g (libcare.specs in an ordinary build): a plain build's object,
# DW_AT_producer included
"$CC" -O2 -g -c u.c -o plain.o
"$CC" -fplugin="$PLUGIN" -O2 -g -c u.c -o u.o
cmp -s plain.o u.o && ok "no stage, -g: identical" || fail "no stage, -g: object differs (DW_AT_producer?)"
finish
