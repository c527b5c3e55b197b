# all.sh - benchmark 2, all processes.
#
# NPROC copies of the idle patient (programs/idle) wait in pause();
# `libcare-doctor patch -p all DIR` (DIR holding <BuildID>.kpatch) patches
# every one: wall time and processes per second.  Then the same with only
# FEW of NPROC processes running the patched binary, the others another
# build of it (another BuildID) that must be skipped cheaply.  For reference,
# the same work as a shell loop of `libcare-doctor patch -p PID FILE`.
# A doctor without -p all gives "n/a" rows with its error line.
#
# The floor: right after each -p all run, with the same processes up,
# bench/floor.c opens and reads /proc/PID/maps of every process on the
# machine (what -p all must do at least) FLOOR_RUNS times, timed the same
# way (wall time of the command).  The rows give the bare loop's median and
# doctor / bare, the median over the runs of the doctor's wall time over the
# median bare wall time beside it.  The patients are built with the run's
# scratch directory as LC_TOKEN, so their BuildIDs belong to this run only.

# all_start BINARY COUNT - start COUNT copies, wait until each runs BINARY
# and sleeps; their PIDs are added to all_pids.
all_start() {
	local bin=$1 count=$2 i p state deadline=$((SECONDS + 60))
	local -a mine=()
	for ((i = 0; i < count; i++)); do
		"$bin" </dev/null >/dev/null 2>&1 &
		mine+=($!)
	done
	all_pids+=("${mine[@]}")
	for p in "${mine[@]}"; do
		while :; do
			state=
			[[ /proc/$p/exe -ef $bin ]] && read -r _ _ state _ <"/proc/$p/stat" 2>/dev/null
			[[ $state == S ]] && break
			((SECONDS < deadline)) || bench_die "process $p of $bin not sleeping after 60 s"
			sleep 0.01
		done
	done
}

# all_stop - kill every started process.
all_stop() {
	((${#all_pids[@]} == 0)) && return
	bench_kill "${all_pids[@]}"
	wait "${all_pids[@]}" 2>/dev/null
	all_pids=()
}

# all_patched PID - "1" if the doctor's info shows a patch applied in PID.
all_patched() {
	"$doctor" info -p "$1" 2>/dev/null | grep ' [1-9][0-9]* patch(es) applied' >/dev/null && echo 1 || echo 0
}

# all_case FEW - one -p all case: FEW processes of the patched binary, NPROC -
# FEW of the other one; ALL_RUNS repetitions.  Sets all_na to the reason if
# the doctor cannot do it.
all_case() {
	local few=$1 i t0 t1 rc log
	local -a wall=() rate=() rss=() bwall=() brate=() ratio=()
	local dir=$work/idle
	for ((i = 0; i < all_runs; i++)); do
		all_start "$dir/idle-original" "$few"
		local first=${all_pids[0]}
		((nproc_ > few)) && all_start "$dir/idle-other" $((nproc_ - few))
		log=$dir/log/all-$few-$i
		t0=$(bench_now_us)
		bench_doctor "$log" patch -p all "$dir/patches"
		rc=$?
		t1=$(bench_now_us)
		if ((rc != 0)); then
			all_na="libcare-doctor patch -p all: $(head -n 1 "$log.err")"
			all_stop
			return
		fi
		local j b0 b1 bw=()
		for ((j = 0; j < floor_runs; j++)); do
			b0=$(bench_now_us)
			bench_run "$log-floor-$j" "$floor_bin" maps
			b1=$(bench_now_us)
			bw+=($((b1 - b0)))
			bwall+=("$(((b1 - b0) / 1000))")
			brate+=("$(awk -v n="$nproc_" -v us="$((b1 - b0))" 'BEGIN { printf "%.1f", n / (us / 1e6) }')")
		done
		ratio+=("$(bench_ratio "$((t1 - t0))" "$(bench_median "${bw[@]}")")")
		[[ $(all_patched "$first") == 1 ]] || bench_die "after -p all, process $first shows no patch applied"
		[[ $(all_patched "${all_pids[-1]}") == $((few == nproc_)) ]] ||
			bench_die "after -p all, process ${all_pids[-1]} is not as expected (patched iff it runs the patched binary)"
		all_stop
		wall+=("$(((t1 - t0) / 1000))")
		rate+=("$(awk -v n="$nproc_" -v us="$((t1 - t0))" 'BEGIN { printf "%.1f", n / (us / 1e6) }')")
		rss+=("$(bench_rss "$log")")
	done
	# shellcheck disable=SC2046
	local r
	r=$(bench_median "${ratio[@]}")
	# shellcheck disable=SC2046
	bench_row 2 "-p all, $few of $nproc_ have the object: wall time" $(bench_stats "${wall[@]}") ms "" "" \
		"$(bench_median "${bwall[@]}")" "$r"
	# shellcheck disable=SC2046
	bench_row 2 "-p all, $few of $nproc_: processes per second" $(bench_stats "${rate[@]}") "proc/s" \
		"$(all_target "$few")" "median, and the best run" "$(bench_median "${brate[@]}")" "$r"
	all_rss[$few]=$(bench_stats "${rss[@]}")
}

# all_target FEW - the target of the processes/s row (issue 16): all of
# them patched, or skipping nearly all.
all_target() {
	(($1 == nproc_)) && echo ">= 3000" || echo ">= 20000"
}

# all_loop FEW - the reference: one `patch -p PID FILE` per process.
all_loop() {
	local few=$1 p t0 t1 ok=0
	local dir=$work/idle
	all_start "$dir/idle-original" "$few"
	((nproc_ > few)) && all_start "$dir/idle-other" $((nproc_ - few))
	t0=$(bench_now_us)
	for p in "${all_pids[@]}"; do
		"$doctor" patch -p "$p" "$dir/idle.kpatch" >/dev/null 2>&1 && ok=$((ok + 1))
	done
	t1=$(bench_now_us)
	all_stop
	((ok == few)) || bench_die "the -p PID loop patched $ok processes, expected $few"
	bench_row 2 "loop of -p PID FILE, $few of $nproc_: processes per second" \
		"$(awk -v n="$nproc_" -v us="$((t1 - t0))" 'BEGIN { printf "%.1f", n / (us / 1e6) }')" "" \
		"proc/s" "" "reference: one doctor per process, $(((t1 - t0) / 1000)) ms in all"
}

bench_all() {
	local dir=$work/idle few
	if ((quick)); then
		nproc_=50 few=1 all_runs=1
	else
		nproc_=500 few=10 all_runs=5
	fi
	all_few=$few
	all_na=
	declare -gA all_rss=()
	bench_note "2. all processes: building the idle patient"
	bench_pipeline idle -DLC_TOKEN="\"$work\""
	bench_run "$dir/log/other" gcc -O2 -fPIE -pie -DOTHER=1 -DLC_TOKEN="\"$work\"" "$dir/src/idle.c" \
		-o "$dir/idle-other"
	bench_floor_build
	floor_runs=3
	mkdir -p "$dir/patches"
	(cd "$dir/patches" && bench_run "$dir/log/mkpatch-dir" "$mkpatch" "$dir/idle-original" "$dir/idle-patched") ||
		exit 1

	bench_note "2. all processes: -p all over $nproc_ processes, $all_runs run(s)"
	all_case "$nproc_"
	[[ -z $all_na ]] && all_case "$few"
	if [[ -n $all_na ]]; then
		bench_row 2 "-p all, $nproc_ of $nproc_: processes per second" n/a "" "proc/s" "$(all_target "$nproc_")" \
			"$all_na"
		bench_row 2 "-p all, $few of $nproc_: processes per second" n/a "" "proc/s" "$(all_target "$few")" \
			"$all_na"
	fi
	bench_note "2. all processes: reference loop of -p PID over $nproc_ processes"
	all_loop "$nproc_"
	all_loop "$few"
}
