#!/bin/sh
# End-to-end test of what libcare-mkpatch reads from ORIGINAL's decoded code
# (linker/busy.c) on hand-written assembly (testsuite/unit/data/busy),
# linked PIE and -no-pie with the real gcc/ld: the .kpatch.busy record of a
# .cold piece, the loop-head flag, and the refusals (a branch into the
# bytes a jump overwrites, from another function or from a .cold piece
# jumping back; bytes after a short function that are not filler or that
# it runs on into), and a 2-byte function's jump in the filler before it
# (refused without such filler, or when a branch lands there).
# Usage: test-busy.sh MKPATCH DATADIR WORKDIR
MKPATCH=$1 DATA=$2 WORK=$3
case $MKPATCH in /*) ;; *) MKPATCH=$PWD/$MKPATCH ;; esac
failures=0 checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
expect() { if grep -Eq -- "$2" "$1"; then ok; else fail "$3: no /$2/ in $1"; cat "$1" >&2; fi; }
# symbol value and size (hex, as readelf prints them) from ELF FILE
sym() { readelf -sW "$1" | awk -v n="$2" '$8 == n && $7 != "UND" { print $2, $3; exit }'; }
# patched NAME MODE: PATCHED replacing function NAME
patched() {
	sed "s/NAME/$1/g" "$DATA/kpatch.s.in" | cat "$DATA/orig.s" - > "$WORK/$2/p-$1.s"
	gcc -"$2" -Wl,--build-id -Wl,-q -o "$WORK/$2/p-$1" "$WORK/$2/p-$1.s"
}
# section SECTION PAYLOAD: its bytes as unsigned 32-bit words, one line
section() {
	rm -f "$2$1.bin"
	objcopy --dump-section "$1=$2$1.bin" "$2" "$2.copy" 2>/dev/null
	[ -f "$2$1.bin" ] && od -An -tu4 -v "$2$1.bin" | tr -s ' \n' ' '
}
# make NAME MODE: mkpatch must succeed; the payload is $WORK/MODE/NAME.o
make() {
	patched "$1" "$2" || { fail "$2: cannot link for $1"; return 1; }
	if "$MKPATCH" -v -o "$WORK/$2/$1.kpatch" "$WORK/$2/orig" "$WORK/$2/p-$1" \
		> "$WORK/$2/$1.out" 2> "$WORK/$2/$1.err"; then ok; else
		fail "$2: mkpatch refused $1"; cat "$WORK/$2/$1.err" >&2; return 1; fi
	tail -c +713 "$WORK/$2/$1.kpatch" > "$WORK/$2/$1.o"
}
# refuse NAME MODE REGEX: mkpatch exits 1 with one line matching REGEX, no output
refuse() {
	patched "$1" "$2" || { fail "$2: cannot link for $1"; return; }
	rm -f "$WORK/refused.kpatch"
	"$MKPATCH" -o "$WORK/refused.kpatch" "$WORK/$2/orig" "$WORK/$2/p-$1" \
		> "$WORK/$2/$1.out" 2> "$WORK/$2/$1.err"
	rc=$?
	if [ $rc -eq 1 ]; then ok; else fail "$2 $1: exit status $rc, expected 1"; fi
	expect "$WORK/$2/$1.err" "^libcare-mkpatch: error: $3" "$2 $1"
	lines=$(wc -l < "$WORK/$2/$1.err")
	if [ "$lines" -eq 1 ]; then ok; else fail "$2 $1: $lines lines on stderr"; fi
	if [ -e "$WORK/refused.kpatch" ]; then fail "$2 $1: output left behind"; else ok; fi
}

rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
for mode in pie no-pie; do
	W=$WORK/$mode
	mkdir -p "$W"
	gcc -$mode -Wl,--build-id -o "$W/orig" "$DATA/orig.s" || { fail "$mode: cannot link"; continue; }
	hex() { printf '%x' "$1"; }
	addr() { set -- $(sym "$W/orig" "$1"); hex $((0x$1)); }

	# A loop head at the entry: flags = LC_INFO_ENTRY_BUSY (word 7 of the record).
	if make loophead $mode; then
		set -- $(section .kpatch.info "$W/loophead.o")
		[ "$8" = 1 ] && ok || fail "$mode loophead: info flags '$8', expected 1"
		expect "$W/loophead.err" "loophead: its own code jumps back to its entry" "$mode loophead -v"
		[ ! -s "$W/loophead.o.kpatch.busy.bin" ] || fail "$mode loophead: busy records"
	fi
	# step: no flag, one busy record = step.cold (addr lo, hi, len, rec 0, kind 1).
	if make step $mode; then
		set -- $(section .kpatch.info "$W/step.o")
		[ "$8" = 0 ] && ok || fail "$mode step: info flags '$8', expected 0"
		set -- $(sym "$W/orig" step.cold)
		want="$((0x$1)) 0 $2 0 1 0 "
		got=$(section .kpatch.busy "$W/step.o")
		[ "$got" = " $want" ] && ok || fail "$mode step: .kpatch.busy '$got', expected ' $want'"
		expect "$W/step.err" "step: busy also in step.cold \(0x$(addr step.cold), $2 bytes\)" "$mode step -v"
	fi
	# A 2-byte tail call with padding after it: the jump takes 3 bytes of it.
	if make tail2 $mode; then
		expect "$W/tail2.err" "replace tail2 at 0x[0-9a-f]+ \(5 bytes\)" "$mode tail2"
	fi

	refuse victim $mode "function 'victim' cannot be replaced: a branch at jumper\+0x2 \(0x$(hex $((0x$(addr jumper) + 2)))\) targets victim\+0x2, inside the 5 bytes its jump overwrites"
	refuse coldback $mode "function 'coldback' cannot be replaced: a branch at coldback.cold\+0x2 \(0x$(hex $((0x$(addr coldback.cold) + 2)))\) targets coldback\+0x3, inside the 5 bytes"
	# A 2-byte function with no room after it: a jmp rel8 to the jump in the
	# filler before it (.kpatch.busy: pad address, 5 bytes, record 0, kind 2).
	if make short_pad $mode; then
		pad=$((0x$(addr short_pad) - 5))
		expect "$W/short_pad.err" "replace short_pad at 0x[0-9a-f]+ \(2 bytes\)" "$mode short_pad"
		expect "$W/short_pad.err" "short_pad: 2 bytes, no room after it: a 2-byte jump to a 5-byte jump in the filler before it at 0x$(hex $pad)" "$mode short_pad -v"
		got=$(section .kpatch.busy "$W/short_pad.o")
		[ "$got" = " $pad 0 5 0 2 0 " ] && ok || fail "$mode short_pad: .kpatch.busy '$got', expected ' $pad 0 5 0 2 0 '"
	fi
	refuse short2 $mode "function 'short2' is too small to patch \(2 bytes, 2 up to the next symbol; a jump needs 5\) and the bytes before it cannot take the jump \(0 bytes of filler after near_short2\)"
	refuse short_pad2 $mode "function 'short_pad2' cannot be replaced: a branch at padjumper \(0x$(addr padjumper)\) targets 0x$(hex $((0x$(addr short_pad2) - 5))), in the filler before it where its jump would go"
	refuse nf $mode "function 'nf' cannot be replaced: it is 1 bytes, its jump needs 5, and the bytes after it are not alignment filler \(0x$(hex $((0x$(addr nf) + 1))): xor +%rax,%rax\)"
	refuse ft $mode "function 'ft' cannot be replaced: it is 1 bytes, its jump needs 5, and its last instruction \(cld\) runs on into the bytes after it"
done

echo "$checks passed, $failures failed"
[ $failures -eq 0 ]
