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

# a changed type of existing data, same size and initial value (zero):
# only the plugin's type record shows it
printf 'struct pair { int a; int b; };\nstruct pair st;\nint f(void) { static int calls; return st.a + ++calls; }\n' > types.c
cc_orig -O2 -c types.c -o types.o
sed 's/{ int a; int b; }/{ int b; int a; }/' types.c > types2.c && mv types2.c types.c
expect_fail "struct layout changed" "data object 'st' changed type (struct{a:i32@0;b:i32@32} -> struct{b:i32@0;a:i32@32}): cannot be live-patched" \
	cc_patched -O2 -c types.c -o types.o
sed 's/{ int b; int a; }/{ int a; int b; }/; s/static int calls/static unsigned calls/' types.c > types2.c && mv types2.c types.c
expect_fail "static local type changed" "static variable 'calls' of function 'f' changed type (i32 -> u32): cannot be live-patched" \
	cc_patched -O2 -c types.c -o types.o
sed 's/static unsigned calls/static int calls/; s/^struct pair st;/float st;/; s/st.a/(int)st/' types.c > types2.c && mv types2.c types.c
expect_fail "global type changed" "data object 'st' changed type (struct{a:i32@0;b:i32@32} -> f32)" \
	cc_patched -O2 -c types.c -o types.o
# the type record is comments only: the original object stays a plain build's
printf 'struct pair { int a; int b; };\nstruct pair st;\nint f(void) { static int calls; return st.a + ++calls; }\n' > types.c
"$CC" -O2 -c types.c -o plain-types.o
cc_orig -O2 -c types.c -o types.o
cmp -s plain-types.o types.o && ok "type record leaves the object alone" || fail "type record changed the object"

# an original compile that did not run the plugin (a ccache hit, clang, flags
# dropped): its object without a store entry
rm -f cached.libcare.s
"$CC" -O2 -c "$SRC/prog.c" -o cached.o
cp "$SRC/prog.c" cached.c
expect_fail "cached original (no store entry)" "no original assembly recorded for cached in cached.libcare.s.*ccache.*clang" \
	cc_patched -O2 -c cached.c -o cached.o
# ... or a store entry older than the object: restored from a cache later
cc_orig -O2 -c cached.c -o cached.o
touch -d '-1 hour' cached.libcare.s
expect_fail "cached original (stale store entry)" "the original object cached.o is [0-9]* s newer than its recorded assembly cached.libcare.s.*cache" \
	cc_patched -O2 -c cached.c -o cached.o
touch cached.libcare.s
cc_patched -O2 -c cached.c -o cached.o && ok "fresh store entry accepted" || fail "fresh store entry"
# the patched stage run again (make rebuilt it): its own object, newer than
# the original's recording, is not taken for a cached original
touch -d '-1 hour' cached.libcare.s cached.o   # the original, built an hour ago
cc_patched -O2 -c cached.c -o cached.o &&
	cc_patched -O2 -c cached.c -o cached.o && ok "patched stage run twice" || fail "patched stage run twice"

# clang cannot load a GCC plugin: the compile fails (never a silent build
# without the recording); compiled by clang without it, the patched build
# names clang as a likely cause
if command -v clang >/dev/null 2>&1; then
	expect_fail "clang -fplugin" "unable to load plugin" \
		clang -O2 -fplugin="$PLUGIN" -fplugin-arg-libcare-stage=original -c "$SRC/prog.c" -o clang.o
	rm -f clang.libcare.s
	clang -O2 -c "$SRC/prog.c" -o clang.o
	cp "$SRC/prog.c" clang.c
	expect_fail "clang original (no store entry)" "no original assembly recorded for clang .*clang cannot load a GCC plugin" \
		cc_patched -O2 -c clang.c -o clang.o
else
	ok "clang not installed: clang cases skipped"
fi

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
