# stop.sh - benchmark 1, stop time.
#
# The gap patient (programs/gap) runs N threads through work(); the doctor
# patches and unpatches work() REPS times each.  For every operation: the
# largest delay any thread saw beyond its own sleep (the patient measures it
# with CLOCK_MONOTONIC between consecutive iterations) and the stop time the
# doctor reports.  An idle window of the same length before each patch gives
# the delay the machine causes anyway (baseline), for comparison.
#
# Beside every doctor operation, after its window is closed, bench/floor.c
# stops the same patient FLOOR_RUNS times the least way any doctor must
# (interrupt every thread, read its registers, resume them all): the floor.
# Each row gives the median floor and doctor / floor, the median over the
# operations of the doctor's stop time over the median of the floor runs
# beside it (paired, so the machine's load drifting over the run cancels).
#
# 1 thread spins; with 16 and 256 threads each sleeps N*50 us between
# iterations, so the machine (2 cores) runs about 20000 iterations/s either
# way instead of being oversubscribed by spinning threads.

# gap_ask CMD - send CMD to the patient, read its one-line answer into $answer.
gap_ask() {
	echo "$1" >&"${GAP[1]}"
	read -r -t 30 answer <&"${GAP[0]}" || bench_die "gap patient (PID $gap_pid) did not answer '$1'"
}

# stop_threads N - all the rows for N threads.
stop_threads() {
	local n=$1 us=$(($1 > 1 ? $1 * 50 : 0)) i op log t0 t1 window=20000
	local -a base=() gpatch=() gunpatch=() spatch=() sunpatch=() rss=()
	local -a fpatch=() funpatch=() rpatch=() runpatch=()
	local dir=$work/gap

	coproc GAP { exec "$dir/gap-original" "$n" "$us" 2>"$dir/patient-$n.err"; }
	gap_pid=
	read -r -t 30 answer <&"${GAP[0]}" || bench_die "gap patient with $n threads did not start"
	gap_pid=${answer#ready }
	stop_patient=$gap_pid
	sleep 0.3	# let every thread reach its loop

	for ((i = 0; i < reps; i++)); do
		# Baseline: an idle window as long as the last patch took.
		gap_ask r
		sleep "$(awk -v u="$window" 'BEGIN { printf "%.6f", u / 1e6 }')"
		gap_ask q
		base+=($((${answer%% *} / 1000)))

		for op in patch unpatch; do
			log=$dir/log/$n-$op-$i
			gap_ask r
			t0=$(bench_now_us)
			if [[ $op == patch ]]; then
				bench_doctor "$log" patch -p "$gap_pid" "$dir/gap.kpatch"
			else
				bench_doctor "$log" unpatch -p "$gap_pid"
			fi || bench_die "libcare-doctor $op -p $gap_pid failed: $(head -n 1 "$log.err")"
			t1=$(bench_now_us)
			gap_ask q
			read -r g vmin vmax <<<"$answer"
			local want=$([[ $op == patch ]] && echo 2 || echo 1)
			[[ $vmin == "$want" && $vmax == "$want" ]] ||
				bench_die "after $op the patient's threads run work() versions $vmin..$vmax, expected $want"
			local s
			s=$(bench_stopped "$log")
			[[ -n $s ]] || bench_die "no 'stopped for N us' in the doctor's output: $(cat "$log.out")"
			rss+=("$(bench_rss "$log")")
			local -a fl=()
			local j f
			for ((j = 0; j < floor_runs; j++)); do
				bench_run "$log-floor-$j" "$floor_bin" stop "$gap_pid"
				f=$(bench_stopped "$log-floor-$j")
				[[ -n $f ]] || bench_die "no 'stopped for N us' in the floor's output: $(cat "$log-floor-$j.out")"
				fl+=("$f")
			done
			f=$(bench_ratio "$s" "$(bench_median "${fl[@]}")")
			if [[ $op == patch ]]; then
				gpatch+=($((g / 1000)))
				spatch+=("$s")
				fpatch+=("${fl[@]}")
				rpatch+=("$f")
				window=$((t1 - t0))
			else
				gunpatch+=($((g / 1000)))
				sunpatch+=("$s")
				funpatch+=("${fl[@]}")
				runpatch+=("$f")
			fi
		done
	done
	exec {GAP[1]}>&-
	bench_kill "$gap_pid"
	wait "$gap_pid" 2>/dev/null
	stop_patient=

	# Issue 16's targets for the stop time (and its ratio to the floor);
	# issue 8's for the patient's delay, and the delay above the idle
	# window before the same patch (paired: the load of that moment cancels).
	local target_stop target_delay target_above=
	case $n in
	1) target_stop="<= 100, /floor <= 2" target_delay="<= 1000" ;;
	16) target_stop="<= 300" target_delay= ;;
	256) target_stop="<= 3000, /floor <= 1.5" target_delay="<= 10000" target_above="<= 3000" ;;
	*) target_stop= target_delay= ;;
	esac
	local -a apatch=() aunpatch=()
	for ((i = 0; i < ${#base[@]}; i++)); do
		apatch+=($((gpatch[i] - base[i])))
		aunpatch+=($((gunpatch[i] - base[i])))
	done
	local th="$n thread$([[ $n == 1 ]] || echo s)"
	# shellcheck disable=SC2046
	bench_row 1 "$th: patch, doctor's stop time" $(bench_stats "${spatch[@]}") us "$target_stop" "" \
		"$(bench_median "${fpatch[@]}")" "$(bench_median "${rpatch[@]}")"
	bench_row 1 "$th: patch, patient's largest delay" $(bench_stats "${gpatch[@]}") us "$target_delay" ""
	bench_row 1 "$th: patch, largest delay above the idle window" $(bench_stats "${apatch[@]}") us \
		"$target_above" "paired with the idle window before it"
	bench_row 1 "$th: unpatch, doctor's stop time" $(bench_stats "${sunpatch[@]}") us "$target_stop" "" \
		"$(bench_median "${funpatch[@]}")" "$(bench_median "${runpatch[@]}")"
	bench_row 1 "$th: unpatch, patient's largest delay" $(bench_stats "${gunpatch[@]}") us "$target_delay" ""
	bench_row 1 "$th: unpatch, largest delay above the idle window" $(bench_stats "${aunpatch[@]}") us \
		"$target_above" "paired with the idle window before the patch"
	bench_row 1 "$th: idle window, patient's largest delay" $(bench_stats "${base[@]}") us "" "baseline: no doctor"
	stop_rss[$n]=$(bench_stats "${rss[@]}")
}

# bench_stop - benchmark 1 for 1, 16 and 256 threads.
bench_stop() {
	local n
	bench_note "1. stop time: building the gap patient"
	bench_pipeline gap
	bench_floor_build
	floor_runs=3
	for n in 1 16 256; do
		bench_note "1. stop time: $n thread(s), $reps patch + $reps unpatch"
		stop_threads "$n"
	done
}
