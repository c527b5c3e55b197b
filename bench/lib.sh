# lib.sh - what the benchmarks share: the tools, building a program through
# the real pipeline, statistics, and the results file every benchmark adds
# its rows to (bench/run prints it as a table and as JSON).
#
# Sourced by bench/run, which sets $root (the repository), $build (the CMake
# build directory), $work (a fresh scratch directory), $results (the rows),
# and $quick (1 for --quick).

# bench_die MESSAGE - one line on stderr, exit 1 (the EXIT trap cleans up).
bench_die() {
	echo "bench: error: $*" >&2
	exit 1
}

# bench_note MESSAGE - progress on stderr, so stdout is only the table.
bench_note() {
	echo "bench: $*" >&2
}

# bench_kill PID... - SIGKILL each PID that is still a child of this shell.
# bash reaps a child as soon as it exits and the kernel reuses PIDs soon
# (pid_max 32768): a remembered PID may name another program's process by
# the time the benchmark cleans up (bench.smoke runs beside other tests).
bench_kill() {
	local p s
	for p in "$@"; do
		[[ $p =~ ^[0-9]+$ ]] || continue
		{ s=$(<"/proc/$p/stat"); } 2>/dev/null || continue
		s=${s##*) }
		s=${s#* }
		[[ ${s%% *} == "$$" || ${s%% *} == "$BASHPID" ]] && kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# bench_tools - set $plugin $mkpatch $doctor $ldscript ($LIBCARE_* override).
bench_tools() {
	plugin=${LIBCARE_PLUGIN:-$build/lib/libcare.so}
	mkpatch=${LIBCARE_MKPATCH:-$build/bin/libcare-mkpatch}
	doctor=${LIBCARE_DOCTOR:-$build/bin/libcare-doctor}
	ldscript=${LIBCARE_LDSCRIPT:-$build/lib/libcare-patched.ld}
	local t
	for t in "$plugin" "$mkpatch" "$doctor" "$ldscript"; do
		[[ -e $t ]] || bench_die "not built: $t (cmake -S $root -B $build && cmake --build $build)"
	done
	# patches signed with the build's test key, verified as in a deployment
	export LIBCARE_SIGN_KEY=${LIBCARE_SIGN_KEY-$build/test-keys/signing.pem}
	export LIBCARE_KEYS=${LIBCARE_KEYS-$build/test-keys/trusted}
	[[ -z $LIBCARE_SIGN_KEY || -e $LIBCARE_SIGN_KEY ]] || bench_die "no test signing key $LIBCARE_SIGN_KEY"
}

# bench_run LOG CMD... - run a command, its output in LOG.out/LOG.err; on
# failure stop with the command and its stderr.
bench_run() {
	local log=$1
	shift
	printf '%s\n' "$*" >"$log.cmd"
	"$@" >"$log.out" 2>"$log.err" ||
		bench_die "command failed (exit $?): $* -- $(tail -n 3 "$log.err" | tr '\n' ' ')"
}

# bench_pipeline NAME [CFLAGS...] - build bench/programs/NAME through the
# pipeline in $work/NAME: NAME-original (plugin, stage original), the
# program's fix.diff applied to the same tree, NAME-patched (stage patched,
# -Wl,-q and the linker script) and NAME.kpatch.  PIE, -O2.
bench_pipeline() {
	local name=$1
	shift
	local dir=$work/$name cflags=(-O2 -fPIE -Wall -pthread "$@")
	mkdir -p "$dir/src" "$dir/log"
	cp "$root/bench/programs/$name/$name.c" "$root/bench/programs/$name/fix.diff" "$dir/src/"
	(
		cd "$dir/src" || exit 1
		bench_run "$dir/log/orig-cc" gcc "${cflags[@]}" -fplugin="$plugin" \
			-fplugin-arg-libcare-stage=original -c "$name.c" -o "$name.o"
		bench_run "$dir/log/orig-ld" gcc -pie -pthread "$name.o" -o "$dir/$name-original"
		bench_run "$dir/log/diff" patch -p1 -i fix.diff
		bench_run "$dir/log/patched-cc" gcc "${cflags[@]}" -fplugin="$plugin" \
			-fplugin-arg-libcare-stage=patched -c "$name.c" -o "$name.o"
		bench_run "$dir/log/patched-ld" gcc -pie -pthread -Wl,-q -Wl,-T,"$ldscript" \
			"$name.o" -o "$dir/$name-patched"
		bench_run "$dir/log/mkpatch" "$mkpatch" -o "$dir/$name.kpatch" \
			"$dir/$name-original" "$dir/$name-patched"
	) || exit 1
	[[ -s $dir/$name.kpatch ]] || bench_die "mkpatch wrote no $dir/$name.kpatch"
}

# bench_stats NUMBER... - "MEDIAN MAX" (median of an even count: mean of the
# two middle values).
bench_stats() {
	printf '%s\n' "$@" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "n/a n/a"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6g %.6g\n", m, v[NR]
		}'
}

# bench_row SECTION LABEL MEDIAN MAX UNIT TARGET NOTE [FLOOR RATIO] - one row
# of results.  MEDIAN "n/a" with NOTE as the reason for a row that could not
# be measured.  TARGET is empty or "<= X" / ">= X" against the median, and
# may add ", /floor <= R" (met only if RATIO is too); the verdict is
# computed here.  FLOOR (same unit) and RATIO (doctor / floor, in
# time) for the rows measured beside the floor (bench/floor.c), else empty.
bench_row() {
	local section=$1 label=$2 median=$3 max=$4 unit=$5 target=$6 note=$7 verdict=
	local floor=${8:-} ratio=${9:-}
	if [[ -n $target && $median != n/a ]]; then
		verdict=$(awk -v m="$median" -v t="$target" -v r="$ratio" 'BEGIN {
			n = split(t, c, ", ")
			ok = 1
			for (i = 1; i <= n; i++) {
				split(c[i], a, " ")
				v = m
				if (a[1] == "/floor") {
					if (r !~ /^[0-9.]+$/) { ok = 0; continue }
					v = r
					a[1] = a[2]; a[2] = a[3]
				}
				ok = ok && (a[1] == "<=" ? v <= a[2] + 0 : v >= a[2] + 0)
			}
			print ok ? "met" : "MISSED"
		}')
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$label" "$median" "$max" \
		"$unit" "$target" "$verdict" "$note" "$floor" "$ratio" >>"$results"
}

# bench_floor_build - build bench/floor.c (the floor: the least any doctor
# must do, no LibCare code) into $floor_bin.
bench_floor_build() {
	floor_bin=$work/floor-bin/floor
	[[ -x $floor_bin ]] && return
	mkdir -p "$work/floor-bin"
	bench_run "$work/floor-bin/cc" gcc -O2 -std=c11 -Wall -Wextra -o "$floor_bin" "$root/bench/floor.c"
}

# bench_ratio A B - A / B to 3 significant digits, "n/a" if either is not
# a positive number.
bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 <= 0) { print "n/a"; exit }
		printf "%.3g\n", a / b
	}'
}

# bench_median NUMBER... - the median alone.
bench_median() {
	local m
	read -r m _ < <(bench_stats "$@")
	echo "$m"
}

# bench_doctor LOG ARGS... - run libcare-doctor ARGS under /usr/bin/time;
# output in LOG.out/LOG.err, "WALL_S PEAK_RSS_KIB" in LOG.time.  Returns the
# doctor's exit status.
bench_doctor() {
	local log=$1
	shift
	printf '%s\n' "$doctor $*" >"$log.cmd"
	/usr/bin/time -f '%e %M' -o "$log.time" "$doctor" "$@" >"$log.out" 2>"$log.err"
}

# bench_stopped LOG - the "stopped for N us" figure of a doctor's output.
bench_stopped() {
	sed -n 's/.*stopped for \([0-9.]*\) us.*/\1/p' "$1.out" | head -n 1
}

# bench_rss LOG - peak RSS (KiB) of a bench_doctor run.
bench_rss() {
	awk '{ v = $NF } END { print v }' "$1.time"
}

# bench_now_us - wall clock in microseconds, without a fork.
bench_now_us() {
	local t=${EPOCHREALTIME/./}
	echo $((10#$t))
}
