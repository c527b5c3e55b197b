# build.sh - benchmark 3, build overhead.
#
# Compiles the SQLite amalgamation (sqlite.sh) RUNS times each way, in turn:
# plain gcc, the plugin's original stage, and the patched stage after a
# one-line change to sqlite3_libversion_number() in the same tree.  CPU time
# (user + sys of gcc and its children) rather than wall time, so that other
# load on the machine counts less; peak RSS too.  Twice: with -g (how Debian
# builds; the assembly the plugin handles is then mostly debug information)
# and without.  The objects of the -g set are kept for benchmark 5 (patch
# size of a real library).

# build_time LOG CMD... - run a compile; its CPU seconds in $bt_cpu, its peak
# RSS (KiB) in $bt_rss.
build_time() {
	local log=$1
	shift
	printf '%s\n' "$*" >"$log.cmd"
	/usr/bin/time -f '%U %S %M' -o "$log.time" "$@" >"$log.out" 2>"$log.err" ||
		bench_die "compile failed: $* -- $(tail -n 2 "$log.err" | tr '\n' ' ')"
	read -r bt_cpu bt_rss < <(awk '{ printf "%.2f %d\n", $1 + $2, $3 }' "$log.time")
}

# build_ratio A B - A / B to three decimals (peak RSS too: the ratio of the
# sizes).
build_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

# build_set DIR LABEL CFLAGS... - RUNS rounds of the three compiles in DIR,
# rows labelled LABEL.  The plain compile is the floor: each stage's row
# gives the plain median as its floor and the median of the paired ratios
# (stage / plain of the same round) as its ratio; the targets are issue 16's.
build_set() {
	local dir=$1 label=$2 i sp
	shift 2
	local -a cflags=("$@") plain=() orig=() patched=() rplain=() rorig=() rpatched=() ro=() rp=()
	local -a mo=() mp=()
	local fn='SQLITE_API int sqlite3_libversion_number(void){ return SQLITE_VERSION_NUMBER'

	mkdir -p "$dir/log"
	grep -F "$fn;" "$sqlite_src" >/dev/null ||
		bench_die "$sqlite_src has no '$fn;': not the expected SQLite amalgamation"
	bench_note "3. build overhead: $runs x 3 compiles of $(wc -l <"$sqlite_src") lines of sqlite3.c (${cflags[*]})"
	for ((i = 0; i < runs; i++)); do
		cp "$sqlite_src" "$dir/sqlite3.c"
		cd "$dir" || exit 1
		build_time "$dir/log/plain-$i" gcc "${cflags[@]}" -c sqlite3.c -o plain.o
		plain+=("$bt_cpu") rplain+=("$bt_rss")
		build_time "$dir/log/original-$i" gcc "${cflags[@]}" -fplugin="$plugin" \
			-fplugin-arg-libcare-stage=original -c sqlite3.c -o sqlite3.o
		orig+=("$bt_cpu") rorig+=("$bt_rss")
		cmp -s plain.o sqlite3.o || bench_die "the original stage changed sqlite3.o (differs from a plain build)"
		mv sqlite3.o original.o
		sed -i "s/$fn;/$fn + 1;/" sqlite3.c
		build_time "$dir/log/patched-$i" gcc "${cflags[@]}" -fplugin="$plugin" \
			-fplugin-arg-libcare-stage=patched -c sqlite3.c -o sqlite3.o
		patched+=("$bt_cpu") rpatched+=("$bt_rss")
		readelf -SW sqlite3.o | grep '\.kpatch\.text' >/dev/null ||
			bench_die "the patched stage of sqlite3.c emitted no .kpatch.text: $(tail -n 3 "$dir/log/patched-$i.err" | tr "\n" " ")"
		ro+=("$(build_ratio "${orig[i]}" "${plain[i]}")")
		rp+=("$(build_ratio "${patched[i]}" "${plain[i]}")")
		mo+=("$(build_ratio "${rorig[i]}" "${rplain[i]}")")
		mp+=("$(build_ratio "${rpatched[i]}" "${rplain[i]}")")
		cd "$root" || exit 1
	done
	mv "$dir/sqlite3.o" "$dir/patched.o"
	rm -f "$dir/plain.o" "$dir/sqlite3.c" "$dir/sqlite3.libcare.s"

	read -r sp _ < <(bench_stats "${plain[@]}")
	local rsp ro_m rp_m mo_m mp_m
	read -r rsp _ < <(bench_stats "${rplain[@]}")
	read -r ro_m _ < <(bench_stats "${ro[@]}")
	read -r rp_m _ < <(bench_stats "${rp[@]}")
	read -r mo_m _ < <(bench_stats "${mo[@]}")
	read -r mp_m _ < <(bench_stats "${mp[@]}")
	# shellcheck disable=SC2046
	{
		bench_row 3 "$label: plain gcc, CPU time" $(bench_stats "${plain[@]}") s "" \
			"${cflags[*]}, $runs run(s); the floor of the rows below"
		bench_row 3 "$label: original stage, CPU time" $(bench_stats "${orig[@]}") s "" "" \
			"$sp" "$ro_m"
		bench_row 3 "$label: patched stage, CPU time" $(bench_stats "${patched[@]}") s "" "" \
			"$sp" "$rp_m"
		bench_row 3 "$label: original / plain, CPU (median, worst run)" "$ro_m" \
			"$(bench_stats "${ro[@]}" | cut -d' ' -f2)" x "<= 1.01" "paired by round"
		bench_row 3 "$label: patched / plain, CPU (median, worst run)" "$rp_m" \
			"$(bench_stats "${rp[@]}" | cut -d' ' -f2)" x "<= 1.05" "paired by round"
		bench_row 3 "$label: plain gcc, peak RSS" $(bench_stats "${rplain[@]}") KiB "" \
			"the floor of the rows below"
		bench_row 3 "$label: original stage, peak RSS" $(bench_stats "${rorig[@]}") KiB "" "" \
			"$rsp" "$mo_m"
		bench_row 3 "$label: patched stage, peak RSS" $(bench_stats "${rpatched[@]}") KiB "" "" \
			"$rsp" "$mp_m"
		bench_row 3 "$label: original / plain, peak RSS (median, worst run)" "$mo_m" \
			"$(bench_stats "${mo[@]}" | cut -d' ' -f2)" x "<= 1.05" ""
		bench_row 3 "$label: patched / plain, peak RSS (median, worst run)" "$mp_m" \
			"$(bench_stats "${mp[@]}" | cut -d' ' -f2)" x "<= 1.3" ""
	}
}

bench_build() {
	local opt
	if ((quick)); then
		runs=1 opt=-O0
	else
		runs=3 opt=-O2
	fi
	sqlite_build=
	sqlite_source
	if [[ -z $sqlite_src ]]; then
		bench_row 3 "original stage / plain, CPU" n/a "" x "<= 1.01" "$sqlite_na"
		bench_row 3 "patched stage / plain, CPU" n/a "" x "<= 1.05" "$sqlite_na"
		return
	fi
	build_set "$work/sqlite" "$opt -g" "$opt" -g -fPIC
	sqlite_build=$work/sqlite
	build_set "$work/sqlite-nog" "$opt" "$opt" -fPIC
}
