# size.sh - benchmark 5, patch size and doctor memory.
#
# Patch file size against the size of the code it replaces (the changed
# functions' st_size in the original binary) and the patch text itself
# (.kpatch.text of the patched link): for the gap patient of benchmark 1 and
# for a one-line change to the SQLite library built in benchmark 3.  Peak RSS
# of the doctor as measured in benchmarks 1 and 2 (/usr/bin/time).

# size_fn BINARY FUNCTION - st_size of FUNCTION in BINARY's .symtab.
size_fn() {
	local v
	v=$(readelf -sW "$1" | awk -v f="$2" '$4 == "FUNC" && $8 == f { print $3; exit }')
	[[ -z $v ]] || echo $((v))
}

# size_sect BINARY SECTION - size of SECTION in BINARY (0 if absent).
size_sect() {
	local v
	v=$(readelf -SW "$1" | sed 's/^ *\[ *[0-9]*\] *//' | awk -v s="$2" '$1 == s { print $5; exit }')
	echo $((16#${v:-0}))
}

# size_rows WHAT KPATCH ORIGINAL PATCHED FUNCTION - the size rows of one patch.
size_rows() {
	local what=$1 kp=$2 orig=$3 patched=$4 fn=$5 file code text
	file=$(stat -c %s "$kp")
	code=$(size_fn "$orig" "$fn")
	text=$(size_sect "$patched" .kpatch.text)
	[[ -n $code ]] || bench_die "no function '$fn' in $orig"
	bench_row 5 "$what: patch file" "$file" "" B "" "replaces $fn(), $code bytes of code; .kpatch.text $text bytes"
	bench_row 5 "$what: patch file / changed code" \
		"$(awk -v a="$file" -v b="$code" 'BEGIN { printf "%.1f", a / b }')" "" x "" ""
}

bench_size() {
	local dir=$work/sqlite
	bench_note "5. patch size and doctor memory"
	[[ -s $work/gap/gap.kpatch ]] || bench_pipeline gap
	size_rows "gap patient, work()" "$work/gap/gap.kpatch" "$work/gap/gap-original" \
		"$work/gap/gap-patched" work
	if [[ -n ${sqlite_build:-} ]]; then
		bench_run "$dir/log/ld-original" gcc -shared "$dir/original.o" -o "$dir/libsqlite3-original.so" -lm
		bench_run "$dir/log/ld-patched" gcc -shared -Wl,-q -Wl,-T,"$ldscript" "$dir/patched.o" \
			-o "$dir/libsqlite3-patched.so" -lm
		bench_run "$dir/log/mkpatch" "$mkpatch" -o "$dir/sqlite.kpatch" \
			"$dir/libsqlite3-original.so" "$dir/libsqlite3-patched.so"
		size_rows "libsqlite3.so, one-line fix" "$dir/sqlite.kpatch" "$dir/libsqlite3-original.so" \
			"$dir/libsqlite3-patched.so" sqlite3_libversion_number
	else
		bench_row 5 "libsqlite3.so, one-line fix: patch file" n/a "" B "" \
			"needs benchmark 3's objects: ${sqlite_na:-run with --only 3,5}"
	fi

	local why="not measured: benchmark 1 not run (--only)"
	# shellcheck disable=SC2046,SC2086
	{
		bench_row 5 "doctor peak RSS, patch -p PID, 1 thread" ${stop_rss[1]:-n/a ""} KiB "" \
			"$([[ -n ${stop_rss[1]:-} ]] || echo "$why")"
		bench_row 5 "doctor peak RSS, patch -p PID, 256 threads" ${stop_rss[256]:-n/a ""} KiB "" \
			"$([[ -n ${stop_rss[256]:-} ]] || echo "$why")"
	}
	why=${all_na:-"not measured: benchmark 2 not run (--only)"}
	local n=${nproc_:-500} f=${all_few:-10}
	# shellcheck disable=SC2046,SC2086
	{
		bench_row 5 "doctor peak RSS, patch -p all, $n of $n" ${all_rss[$n]:-n/a ""} KiB "" \
			"$([[ -n ${all_rss[$n]:-} ]] || echo "$why")"
		bench_row 5 "doctor peak RSS, patch -p all, $f of $n" ${all_rss[$f]:-n/a ""} KiB "" \
			"$([[ -n ${all_rss[$f]:-} ]] || echo "$why")"
	}
}
