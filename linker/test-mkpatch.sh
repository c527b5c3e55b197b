#!/bin/sh
# End-to-end test of libcare-mkpatch on hand-written assembly (no plugin):
# links ORIGINAL and PATCHED (PIE and -no-pie) with the real gcc/ld, runs
# mkpatch, and checks the payload's relocations, symbols and info records
# with readelf, then the refusals.
# Usage: test-mkpatch.sh MKPATCH DATADIR WORKDIR LDSCRIPT (libcare-patched.ld)
MKPATCH=$1 DATA=$2 WORK=$3 LDS=$4
# The checks read unsigned patch files (payload size = file size - header):
# no signing key from the environment (a packaging test's build, which runs
# these tests in %check / dh_auto_test, inherits the suite's test key).
unset LIBCARE_SIGN_KEY
case $MKPATCH in /*) ;; *) MKPATCH=$PWD/$MKPATCH ;; esac
failures=0 checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
# expect_line FILE REGEX WHAT
expect() { if grep -Eq -- "$2" "$1"; then ok; else fail "$3: no /$2/ in $1"; cat "$1" >&2; fi; }
expect_not() { if grep -Eq -- "$2" "$1"; then fail "$3: unexpected /$2/ in $1"; else ok; fi; }
# symbol value and size from ELF FILE: "value size"
sym() { readelf -sW "$1" | awk -v n="$2" '$8 == n && $7 != "UND" { print $2, $3; exit }'; }
# symbol value as readelf prints an addend: hex without leading zeros
addr() { set -- $(sym "$1" "$2"); printf '%x' $((0x$1)); }
hex() { printf '%x' "$1"; }
# refuse NAME REGEX ARGS...: mkpatch must exit 1 with one line naming the problem
refuse() {
	name=$1 re=$2; shift 2
	rm -f "$WORK/refused.kpatch"
	"$MKPATCH" -o "$WORK/refused.kpatch" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
	rc=$?
	if [ $rc -eq 1 ]; then ok; else fail "$name: exit status $rc, expected 1"; fi
	expect "$WORK/$name.err" "^libcare-mkpatch: error: .*$re" "$name"
	lines=$(wc -l < "$WORK/$name.err")
	if [ "$lines" -eq 1 ]; then ok; else fail "$name: $lines lines on stderr"; fi
	if [ -e "$WORK/refused.kpatch" ] || ls "$WORK"/refused.kpatch.* >/dev/null 2>&1; then
		fail "$name: output left behind"; else ok; fi
}

rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
cat "$DATA/orig.s" "$DATA/kpatch.s" > "$WORK/patched.s"
sed 's/^helper:$/helper:\n\tnop/' "$DATA/orig.s" > "$WORK/moved.s"
cat "$DATA/kpatch.s" >> "$WORK/moved.s"
cat "$DATA/orig.s" "$DATA/kpatch-tiny.s" > "$WORK/tiny.s"
cat "$DATA/orig.s" "$DATA/kpatch-tls.s" > "$WORK/tls.s"
# .data of 20 bytes: ld -q keeps crtend's empty .tm_clone_table (8-aligned), .bss moves.
grep -v '^	.long 0$' "$DATA/orig.s" > "$WORK/odd.s"
cat "$WORK/odd.s" "$DATA/kpatch.s" > "$WORK/odd-patched.s"

for mode in pie no-pie; do
	W=$WORK/$mode
	mkdir -p "$W"
	gcc -$mode -Wl,--build-id -o "$W/orig" "$DATA/orig.s" "$DATA/other.s" &&
	gcc -$mode -Wl,--build-id -Wl,-q -o "$W/patched" "$WORK/patched.s" "$DATA/other.s" ||
		{ fail "$mode: cannot link the inputs"; continue; }

	# Success, default output name in the current directory.
	id=$(readelf -n "$W/orig" | awk '/Build ID:/ { print $3 }')
	(cd "$W" && SOURCE_DATE_EPOCH=1700000000 "$MKPATCH" -v --level 3 --id cve-1 \
		--desc "fix main" orig patched) > "$W/mk.out" 2> "$W/mk.err"
	rc=$?
	if [ $rc -eq 0 ] && [ -s "$W/$id.kpatch" ]; then ok; else
		fail "$mode: mkpatch exit $rc, no $id.kpatch"; cat "$W/mk.err" >&2; continue; fi
	P=$W/$id.kpatch
	expect "$W/mk.err" "replace main at 0x[0-9a-f]+ \(41 bytes\) with main.kpatch \(48 bytes\)" "$mode -v"
	expect "$W/mk.err" "import getpid " "$mode -v"
	expect "$W/mk.err" "1 function replaced, 3 imports" "$mode -v"

	# Header: magic, version, level, names, created (little-endian).
	head -c 8 "$P" | grep -q '^LCPATCH1$' && ok || fail "$mode: magic"
	[ "$(od -An -tu4 -j8 -N4 "$P" | tr -d ' ')" = 2 ] && ok || fail "$mode: version"
	[ "$(od -An -tu4 -j84 -N4 "$P" | tr -d ' ')" = 3 ] && ok || fail "$mode: level"
	[ "$(od -An -tx1 -j16 -N20 "$P" | tr -d ' \n')" = "$id" ] && ok || fail "$mode: build id"
	[ "$(dd if="$P" bs=1 skip=88 count=4 2>/dev/null)" = orig ] && ok || fail "$mode: target"
	[ "$(dd if="$P" bs=1 skip=344 count=5 2>/dev/null)" = cve-1 ] && ok || fail "$mode: id"
	[ "$(od -An -tu8 -j664 -N8 "$P" | tr -d ' ')" = 1700000000 ] && ok || fail "$mode: created"
	size=$(wc -c < "$P")
	[ "$(od -An -tu8 -j672 -N8 "$P" | tr -d ' ')" = $((size - 712)) ] && ok || fail "$mode: size"
	# Reproducible with SOURCE_DATE_EPOCH.
	(cd "$W" && SOURCE_DATE_EPOCH=1700000000 "$MKPATCH" -o again.kpatch --level 3 --id cve-1 \
		--desc "fix main" orig patched) && cmp -s "$P" "$W/again.kpatch" && ok ||
		fail "$mode: not reproducible"

	# The payload.
	tail -c +713 "$P" > "$W/payload.o"
	readelf -hW "$W/payload.o" > "$W/h.txt" 2>&1
	expect "$W/h.txt" "Type: +REL " "$mode payload type"
	expect "$W/h.txt" "Machine: +Advanced Micro Devices X86-64" "$mode payload machine"
	readelf -SW "$W/payload.o" > "$W/s.txt"
	for s in '1\] \.kpatch\.text +PROGBITS' '2\] \.rela\.kpatch\.text +RELA' \
		 '3\] \.kpatch\.data +PROGBITS' '5\] \.kpatch\.info +PROGBITS' \
		 '7\] \.kpatch\.strtab +PROGBITS' '8\] \.kpatch\.eh_frame +PROGBITS' \
		 '10\] \.symtab +SYMTAB'; do
		expect "$W/s.txt" "$s" "$mode sections"
	done
	readelf -rW "$W/payload.o" > "$W/r.txt" 2>&1
	readelf -sW "$W/payload.o" > "$W/y.txt" 2>&1
	helper=$(addr "$W/orig" helper) twice=$(addr "$W/orig" twice)
	counter=$(addr "$W/orig" counter) main=$(addr "$W/orig" main)
	stderr=$(addr "$W/orig" stderr@GLIBC_2.2.5)
	# .rela.kpatch.text, in the order of main.kpatch's instructions.
	awk '/.rela.kpatch.text/,/^$/' "$W/r.txt" > "$W/rt.txt"
	expect "$W/rt.txt" "^0+1 +[0-9a-f]+ R_X86_64_PLT32 +0+ getpid - 4$" "$mode getpid import"
	expect "$W/rt.txt" "^0+6 +[0-9a-f]+ R_X86_64_PC32 +0+ __libcare_target \+ $(hex $((0x$helper - 4)))$" \
		"$mode static call via TARGET"
	expect "$W/rt.txt" "^0+b +[0-9a-f]+ R_X86_64_PLT32 +0+ __libcare_target \+ $(hex $((0x$twice - 4)))$" \
		"$mode other unit's function via TARGET"
	expect "$W/rt.txt" "^0+11 +[0-9a-f]+ R_X86_64_PC32 +0+ __libcare_target \+ $(hex $((0x$counter - 4)))$" \
		"$mode file static via TARGET"
	expect "$W/rt.txt" "^0+18 +[0-9a-f]+ R_X86_64_PC32 +0+ \.kpatch\.data \+ 4$" "$mode GOT slot"
	expect "$W/rt.txt" "^0+26 +[0-9a-f]+ R_X86_64_PC32 +0+ \.kpatch\.data - 4$" "$mode literal"
	expect "$W/rt.txt" "^0+2b +[0-9a-f]+ R_X86_64_PLT32 +0+ puts@GLIBC_2\.2\.5 - 4$" "$mode puts import"
	awk '/.rela.kpatch.data/,/^$/' "$W/r.txt" > "$W/rd.txt"
	expect "$W/rd.txt" "^0+8 +[0-9a-f]+ R_X86_64_64 +0+ stdout@GLIBC_2\.2\.5 \+ 0$" "$mode stdout import"
	expect "$W/rd.txt" "^0+10 +[0-9a-f]+ R_X86_64_64 +0+ __libcare_target \+ $stderr$" \
		"$mode COPY-relocated stderr via TARGET"
	awk '/.rela.kpatch.info/,/^$/' "$W/r.txt" > "$W/ri.txt"
	expect "$W/ri.txt" "^0+ +[0-9a-f]+ R_X86_64_64 +0+ __libcare_target \+ $main$" "$mode info daddr"
	expect "$W/ri.txt" "^0+8 +[0-9a-f]+ R_X86_64_64 +0+ \.kpatch\.text \+ 0$" "$mode info saddr"
	expect_not "$W/ri.txt" "R_X86_64_32|strtab" "$mode info name reloc dropped"
	expect "$W/y.txt" "0+ +48 FUNC +LOCAL +DEFAULT +1 main\.kpatch$" "$mode main.kpatch symbol"
	expect "$W/y.txt" "NOTYPE +GLOBAL +DEFAULT +UND __libcare_target$" "$mode TARGET symbol"
	expect "$W/y.txt" "NOTYPE +GLOBAL +DEFAULT +UND getpid$" "$mode getpid symbol"
	expect_not "$W/y.txt" "kpatch_ext" "$mode no .kpatch_ext names"
	# Info record: daddr, saddr zeroed (relocations), dlen 41, slen 48, name 0.
	objcopy --dump-section .kpatch.info="$W/info.bin" "$W/payload.o" "$W/scratch.o"
	[ "$(od -An -tu4 "$W/info.bin" | tr -s ' \n' ' ')" = " 0 0 0 0 41 48 0 0 " ] && ok ||
		fail "$mode info record: $(od -An -tu4 "$W/info.bin")"
	objcopy --dump-section .kpatch.strtab="$W/strtab.bin" "$W/payload.o" "$W/scratch.o"
	[ "$(tr -d '\0' < "$W/strtab.bin")" = main ] && ok || fail "$mode strtab"

	# Refusals.
	gcc -$mode -Wl,-q -o "$W/moved" "$WORK/moved.s" "$DATA/other.s" &&
		refuse moved-$mode "symbol 'helper' moved: 0x[0-9a-f]+ \(7 bytes\) in ORIGINAL, 0x[0-9a-f]+ \(8 bytes\) in PATCHED" "$W/orig" "$W/moved"
	gcc -$mode -Wl,-q -o "$W/plain-q" "$DATA/orig.s" "$DATA/other.s" &&
		refuse nokpatch-$mode "has no \.kpatch sections: was it built with -specs=libcare.specs and LIBCARE_STAGE=patched" "$W/orig" "$W/plain-q"
	gcc -$mode -o "$W/no-q" "$WORK/patched.s" "$DATA/other.s" &&
		refuse noq-$mode "no relocations for them: link it with -specs=libcare\.specs \(or -Wl,-q -Wl,-T,libcare-patched\.ld\)" "$W/orig" "$W/no-q"
	gcc -$mode -Wl,-q -o "$W/tiny" "$WORK/tiny.s" "$DATA/other.s" &&
		refuse tiny-$mode "function 'tiny' is too small to patch \(1 bytes, 1 up to the next symbol" "$W/orig" "$W/tiny"
	gcc -$mode -Wl,-q -o "$W/tls" "$WORK/tls.s" "$DATA/other.s" &&
		refuse tls-$mode "R_X86_64_TPOFF32 relocation in main\.kpatch\+0x4: not supported" "$W/orig" "$W/tls"
	gcc -$mode -o "$W/odd" "$WORK/odd.s" "$DATA/other.s" &&
	gcc -$mode -Wl,-q -Wl,-T,"$LDS" -o "$W/odd-patched-lds" "$WORK/odd-patched.s" "$DATA/other.s" &&
	"$MKPATCH" -o "$W/odd.kpatch" "$W/odd" "$W/odd-patched-lds" 2> "$W/odd.err" && ok ||
		{ fail "$mode: odd .data with libcare-patched.ld refused"; cat "$W/odd.err" >&2; }
	gcc -$mode -Wl,-q -Wl,-T,"$LDS" -o "$W/patched-lds" "$WORK/patched.s" "$DATA/other.s" &&
	SOURCE_DATE_EPOCH=1700000000 "$MKPATCH" -o "$W/lds.kpatch" --level 3 --id cve-1 \
		--desc "fix main" "$W/orig" "$W/patched-lds" 2> "$W/lds.err" &&
		cmp -s "$W/lds.kpatch" "$W/again.kpatch" && ok ||
		fail "$mode: libcare-patched.ld changes the patch of an aligned .data"
	gcc -$mode -Wl,-q -o "$W/odd-patched" "$WORK/odd-patched.s" "$DATA/other.s" &&
		refuse tmclone-$mode "moved: 0x[0-9a-f]*401c \(0 bytes\) in ORIGINAL, 0x[0-9a-f]*4020 \(0 bytes\) in PATCHED \(PATCHED has an empty section '\.tm_clone_table'" "$W/odd" "$W/odd-patched"
	gcc -$mode -Wl,--build-id=none -o "$W/orig-noid" "$DATA/orig.s" "$DATA/other.s" &&
		refuse noid-$mode "ORIGINAL '.*orig-noid' has no GNU BuildID" "$W/orig-noid" "$W/patched"
	refuse notelf-$mode "ORIGINAL '.*orig.s' is not an ELF file" "$DATA/orig.s" "$W/patched"
	refuse notelf2-$mode "PATCHED '.*kpatch.s' is not an ELF file" "$W/orig" "$DATA/kpatch.s"
	refuse missing-$mode "cannot open ORIGINAL '.*nonexistent'" "$W/nonexistent" "$W/patched"
	# Stripped ORIGINAL: sections only, with a warning.
	strip -o "$W/orig-stripped" "$W/orig"
	"$MKPATCH" -o "$W/stripped.kpatch" "$W/orig-stripped" "$W/patched" 2> "$W/stripped.err" &&
		[ -s "$W/stripped.kpatch" ] && ok || fail "$mode: stripped ORIGINAL refused"
	expect "$W/stripped.err" "warning: ORIGINAL .* has no \.symtab" "$mode stripped warning"
done

# A shared library (the target's load bias is __libcare_target's value).
L=$WORK/lib
mkdir -p "$L"
cat "$DATA/lib.s" "$DATA/kpatch-lib.s" > "$L/patched.s"
grep -v '^	.hidden' "$L/patched.s" > "$L/unhidden.s"
# patch code calling a symbol nothing defines (a dropped `.set f.localalias, f`)
{ cat "$L/patched.s"; printf '\t.section\t.kpatch.text,"",@progbits\n\tcall\tlib_walk.localalias\n'; } > "$L/undef.s"
if gcc -shared -o "$L/liborig.so" "$DATA/lib.s" &&
   gcc -shared -Wl,-q -Wl,-T,"$LDS" -o "$L/libpatched.so" "$L/patched.s" &&
   gcc -shared -Wl,-q -o "$L/libunhidden.so" "$L/unhidden.s" &&
   gcc -shared -Wl,-q -Wl,-T,"$LDS" -o "$L/libundef.so" "$L/undef.s"; then
	"$MKPATCH" -v -o "$L/lib.kpatch" "$L/liborig.so" "$L/libpatched.so" 2> "$L/mk.err" && ok ||
		{ fail "shared library refused"; cat "$L/mk.err" >&2; }
	expect "$L/mk.err" "replace lib_greet at 0x[0-9a-f]+ \(30 bytes\) with lib_greet.kpatch \(30 bytes\)" "lib -v"
	tail -c +713 "$L/lib.kpatch" > "$L/payload.o"
	readelf -rW "$L/payload.o" > "$L/r.txt"
	calls=$(addr "$L/liborig.so" calls)
	expect "$L/r.txt" "^0+2 +[0-9a-f]+ R_X86_64_PC32 +0+ __libcare_target \+ $(hex $((0x$calls - 5)))$" "lib static"
	expect "$L/r.txt" "^0+1a +[0-9a-f]+ R_X86_64_PLT32 +0+ printf@GLIBC_2\.2\.5 - 4$" "lib printf import"
	expect "$L/r.txt" "R_X86_64_64 +0+ __libcare_target \+ $(addr "$L/liborig.so" lib_greet)$" "lib daddr"
	refuse lib-unhidden "section '\.dynsym' moved: .* \(PATCHED exports 'printf\.kpatch_ext' in \.dynsym: patch code must declare its \*\.kpatch_ext symbols \.hidden as well as \.weak\)" "$L/liborig.so" "$L/libunhidden.so"
	refuse lib-undefined "section '\.dynsym' moved: .* \(PATCHED's \.dynsym has 'lib_walk\.localalias' \(undefined\), which ORIGINAL's has not: patch code uses a symbol that nothing in the patched link defines\)" "$L/liborig.so" "$L/libundef.so"
else
	fail "cannot link the shared library inputs"
fi

refuse pie-mismatch "ORIGINAL '.*pie/orig' is PIE or a library but PATCHED '.*no-pie/patched' is a non-PIE executable" \
	"$WORK/pie/orig" "$WORK/no-pie/patched"

refuse usage "expected ORIGINAL and PATCHED" onlyone
refuse level "--level 'x' is not a number" --level x a b
"$MKPATCH" --help | grep -q '^usage: libcare-mkpatch' && ok || fail "--help"

echo "$checks passed, $failures failed"
[ $failures -eq 0 ]
