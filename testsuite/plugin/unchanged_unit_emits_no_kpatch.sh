# Stage patched on an unchanged unit: the original text alone, so the
# object equals the original stage's object and has no .kpatch section.
. "$(dirname "$0")/lib.sh"
for src in variety.c other.c; do
	for flags in "-O0" "-O2 -g" "-O2 -fPIC" "-O2 -fno-pie"; do
		cp "$SRC/$src" u.c
		rm -f u.libcare.s
		# shellcheck disable=SC2086
		cc_orig $flags -c u.c -o u.o    # the store key is the object's name: u
		mv u.o orig.o
		# shellcheck disable=SC2086
		cc_patched $flags -fplugin-arg-libcare-verbose -c u.c -o u.o 2>notes
		grep -q 'no change' notes || fail "$src $flags: no 'no change' note"
		if readelf -SW u.o | grep kpatch >/dev/null; then fail "$src $flags: .kpatch sections emitted"
		else ok "$src $flags: no .kpatch sections"; fi
		cmp -s orig.o u.o && ok "$src $flags: same object" || fail "$src $flags: object differs"
	done
done
# the same through a store directory given by LIBCARE_STORE
cp "$SRC/other.c" u.c
rm -f u.libcare.s
LIBCARE_STORE="$WORK/st" cc_orig -O2 -c u.c -o u.o
mv u.o orig.o
LIBCARE_STORE="$WORK/st" cc_patched -O2 -c u.c -o u.o
cmp -s orig.o u.o && [ ! -f u.libcare.s ] && ok "LIBCARE_STORE round trip" || fail "LIBCARE_STORE round trip"
finish
