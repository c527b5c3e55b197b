# libcare-gensrc on plain `gcc -S` output (no plugin markers): functions
# are split by parsing; the result assembles and links with -Wl,-q
# keeping the original layout.
. "$(dirname "$0")/lib.sh"
: "${GENSRC:?set LIBCARE_GENSRC}"
"$GENSRC" --help | grep '^usage: libcare-gensrc' >/dev/null && ok "--help" || fail "--help"
for opt in -O0 -O2; do
	for pie in pie no-pie; do
		cf="$opt"; [ $pie = no-pie ] && cf="$cf -fno-pie"
		name="$opt -$pie"
		cp "$SRC/prog.c" prog.c
		# shellcheck disable=SC2086
		"$CC" $cf -S prog.c -o orig.s
		cp "$SRC/prog.patched.c" prog.c
		# shellcheck disable=SC2086
		"$CC" $cf -S prog.c -o patched.s
		"$GENSRC" orig.s patched.s -o out.s 2>report || { fail "$name: gensrc"; cat report; continue; }
		grep -q '^libcare-gensrc: changed: greet (code: .*)$' report || fail "$name: report"
		"$CC" -c orig.s -o orig.o && "$CC" -c out.s -o out.o &&
			"$CC" -$pie orig.o -o orig && "$CC" -$pie -Wl,-q out.o -o patched ||
			{ fail "$name: build"; continue; }
		layout orig > o.lay; layout patched > p.lay
		cmp -s o.lay p.lay && ok "$name: layout identical" || { fail "$name: layout"; diff o.lay p.lay || true; }
		syms orig > o.sym; syms patched > p.sym
		cmp -s o.sym p.sym && ok "$name: symbols identical" || { fail "$name: symbols"; diff o.sym p.sym || true; }
	done
done
# a non-regular output (a pipe, /dev/null) is written in place, never replaced
mkfifo pipe.s
cat pipe.s > from-pipe.s &
"$GENSRC" orig.s patched.s -o pipe.s 2>/dev/null
wait
[ -p pipe.s ] && cmp -s from-pipe.s out.s && ok "-o FIFO written in place" || fail "-o FIFO"
# a refused change: one line, non-zero
sed 's/int glob = 5;/int glob = 6;/' "$SRC/prog.c" > prog.c
"$CC" -O2 -S prog.c -o bad.s
"$CC" -O2 -S "$SRC/prog.c" -o orig.s
if "$GENSRC" orig.s bad.s -o out.s 2>err; then fail "refused change accepted"
else grep -q "^libcare-gensrc: error: .*data object 'glob' changed" err && [ "$(wc -l < err)" -eq 1 ] &&
	ok "refused change: one line" || { fail "refused change message"; cat err; }
fi
finish
