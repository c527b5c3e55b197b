# What the plugin refuses, and that compile errors stay ordinary errors.
. "$(dirname "$0")/lib.sh"
cp "$SRC/prog.c" prog.c

# expect_fail NAME PATTERN CMD...: CMD fails and says PATTERN
expect_fail() {
	name=$1 pat=$2; shift 2
	if "$@" >out 2>&1; then fail "$name: succeeded"; return; fi
	grep -q -e "$pat" out && ok "$name" || { fail "$name: no '$pat' in:"; cat out; }
	if grep -q 'internal compiler error\|Segmentation' out; then fail "$name: crashed"; fi
}

expect_fail "patched without original" "no original assembly recorded for prog in prog.libcare.s" \
	cc_patched -O2 -c prog.c -o prog.o
expect_fail "unknown argument" "unknown argument.*-fplugin-arg-libcare-colour=red" \
	cc_orig -fplugin-arg-libcare-colour=red -c prog.c -o prog.o
expect_fail "bad stage" "unknown stage" \
	"$CC" -fplugin="$PLUGIN" -fplugin-arg-libcare-stage=final -c prog.c -o prog.o
expect_fail "-flto" "without.*-ffat-lto-objects" cc_orig -O2 -flto -c prog.c -o prog.o
cc_orig -O2 -flto -ffat-lto-objects -c prog.c -o prog.o && [ -f prog.libcare.s ] &&
	ok "-flto -ffat-lto-objects accepted" || fail "-flto -ffat-lto-objects"

# in lto1 (the link-time compile of -flto objects)
"$CC" -O2 -flto -c "$SRC/other.c" -o lto-other.o
printf 'int other(int);\nint main(void) { return other(1) - 1; }\n' > lto-main.c
"$CC" -O2 -flto -c lto-main.c -o lto-main.o
expect_fail "lto1" "libcare: cannot run in lto1" \
	cc_orig -O2 -flto lto-main.o lto-other.o -o lto-prog

# thread-local storage in changed code: TLS descriptors are refused (the
# default dialect is rewritten, see gcc-plugin/asm_tls.c)
printf 'extern __thread int tv;\nint f(void) { return tv; }\n' > tls.c
cc_orig -O2 -fPIC -mtls-dialect=gnu2 -c tls.c -o tls.o
printf 'extern __thread int tv;\nint f(void) { return tv + 1; }\n' > tls.c
expect_fail "TLS descriptors in changed code" "function 'f' uses 'tv@TLSDESC': TLS descriptors (-mtls-dialect=gnu2) cannot be live-patched" \
	cc_patched -O2 -fPIC -mtls-dialect=gnu2 -c tls.c -o tls.o

# changed initial value of existing data
rm -f prog.libcare.s
cc_orig -O2 -c prog.c -o prog.o
sed 's/int glob = 5;/int glob = 6;/' "$SRC/prog.c" > prog.c
expect_fail "data change" "data object 'glob' changed (size or initial value): cannot be live-patched" \
	cc_patched -O2 -c prog.c -o prog.o

# a compile error is an ordinary compile error, in both stages
printf 'int f(void) { return 1; }\nint g(void) { return x; }\n' > bad.c
expect_fail "compile error (original)" "'x' undeclared" cc_orig -O2 -c bad.c -o bad.o
expect_fail "compile error (patched)" "'x' undeclared" cc_patched -O2 -c bad.c -o bad.o
expect_fail "compile error (-pipe)" "'x' undeclared" cc_orig -O2 -pipe -c bad.c -o bad.o
cc_orig -fsyntax-only "$SRC/prog.c" && ok "-fsyntax-only" || fail "-fsyntax-only"

# -S -o - : the text goes to stdout, markers included
cp "$SRC/prog.c" prog.c
cc_orig -O2 -S -o - prog.c > stdout.s && grep -q '^# libcare:fn-begin greet' stdout.s &&
	grep -q '^greet:' stdout.s && ok "-S -o -" || fail "-S -o -"
finish
