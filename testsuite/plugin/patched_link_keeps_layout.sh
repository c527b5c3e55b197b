# Stage patched: a program whose greet() changed (new literal, new libc
# call, new static function with its own static, renumbered static local)
# links with -Wl,-q for PIE and -no-pie, -O0/-O2, with and without -g, and
# every allocated section and symbol keeps its address and size.
. "$(dirname "$0")/lib.sh"
for opt in -O0 -O2; do
	for pie in pie no-pie; do
		for g in "" -g; do
			cf="$opt $g"; lf="-$pie"
			[ $pie = no-pie ] && cf="$cf -fno-pie"
			name="$opt $lf $g"
			rm -f ./*.libcare.s ./*.o
			cp "$SRC/prog.c" prog.c; cp "$SRC/other.c" other.c
			# shellcheck disable=SC2086
			cc_orig $cf -c prog.c -o prog.o && cc_orig $cf -c other.c -o other.o &&
				"$CC" $lf prog.o other.o -o orig || { fail "$name: original build"; continue; }
			cp "$SRC/prog.patched.c" prog.c
			# shellcheck disable=SC2086
			cc_patched $cf -fplugin-arg-libcare-verbose -c prog.c -o prog.o 2>notes &&
				cc_patched $cf -c other.c -o other.o &&
				"$CC" $lf -Wl,-q prog.o other.o -o patched || { cat notes; fail "$name: patched build"; continue; }
			grep -q 'changed: greet (code: ' notes || fail "$name: greet not reported changed"
			grep -q 'new: visits' notes || fail "$name: visits not reported new"
			if grep -q 'changed: main\|changed: count\|changed: helper' notes; then
				fail "$name: unchanged function reported changed"; cat notes
			fi
			layout orig > o.lay; layout patched > p.lay
			if cmp -s o.lay p.lay; then ok "$name: layout identical ($(wc -l < o.lay) sections)"
			else fail "$name: layout differs"; diff o.lay p.lay || true; fi
			syms orig > o.sym; syms patched > p.sym
			if cmp -s o.sym p.sym; then ok "$name: symbols identical"
			else fail "$name: symbols differ"; diff o.sym p.sym || true; fi
			# one 32-byte record: greet
			size=$(readelf -SW patched | awk '$2 == ".kpatch.info" { print $6 }')
			[ "$size" = "000020" ] && ok "$name: one .kpatch.info record" ||
				fail "$name: .kpatch.info size '$size'"
			readelf -SW patched | grep '\.rela\.kpatch\.text' >/dev/null || fail "$name: no .rela.kpatch.text"
			readelf -sW patched | grep ' greet\.kpatch$' >/dev/null || fail "$name: no greet.kpatch symbol"
			# weak+hidden external: undefined, kept only as a relocation target
			readelf -sW patched | grep ' UND getpid\.kpatch_ext$' >/dev/null || fail "$name: no undefined getpid ext"
			readelf -rW patched | grep 'R_X86_64_PLT32 .* getpid\.kpatch_ext - 4' >/dev/null ||
				fail "$name: no PLT32 relocation to getpid.kpatch_ext"
			readelf --dyn-syms -W patched | grep kpatch >/dev/null && fail "$name: a kpatch symbol is dynamic"
			# kpatch sections are not allocated
			readelf -SW patched | awk '$2 ~ /^\.kpatch/ && $9 ~ /A/' | grep . >/dev/null &&
				fail "$name: a .kpatch section is allocated"
			true
		done
	done
done
finish
