# call.sh - benchmark 4, call overhead.
#
# The call patient (programs/call) times CALLS calls of small() in a loop
# where each call depends on the previous one.  Measured RUNS times before the
# patch, after it (every call now also takes the 5-byte jump to the
# replacement, which has the same instructions), and after unpatch.

# call_ask - one measurement: "NS_PER_CALL RESULT" into $answer.
call_ask() {
	echo m >&"${CALL[1]}"
	read -r -t 60 answer <&"${CALL[0]}" || bench_die "call patient (PID $call_patient) did not answer"
}

# call_measure WANT - RUNS measurements, each checking small(0) == WANT;
# "MEDIAN MAX" of ns per call.
call_measure() {
	local want=$1 i ns r
	local -a v=()
	for ((i = 0; i < call_runs; i++)); do
		call_ask
		read -r ns r _ <<<"$answer"
		[[ $r == "$want" ]] || bench_die "small(0) returned $r in the call patient, expected $want"
		v+=("$ns")
	done
	bench_stats "${v[@]}"
}

bench_call() {
	local calls before after undone log=$work/call/log/call
	if ((quick)); then
		calls=20000000 call_runs=3
	else
		calls=200000000 call_runs=7
	fi
	bench_note "4. call overhead: building the call patient"
	bench_pipeline call
	coproc CALL { exec "$work/call/call-original" "$calls" 2>"$work/call/patient.err"; }
	read -r -t 30 answer <&"${CALL[0]}" || bench_die "call patient did not start"
	call_patient=${answer#ready }

	bench_note "4. call overhead: $call_runs x $calls calls before, after patch, after unpatch"
	call_ask	# warm up
	before=$(call_measure 1)
	bench_doctor "$log-patch" patch -p "$call_patient" "$work/call/call.kpatch" ||
		bench_die "libcare-doctor patch -p $call_patient failed: $(head -n 1 "$log-patch.err")"
	after=$(call_measure 3)
	bench_doctor "$log-unpatch" unpatch -p "$call_patient" ||
		bench_die "libcare-doctor unpatch -p $call_patient failed: $(head -n 1 "$log-unpatch.err")"
	undone=$(call_measure 1)
	exec {CALL[1]}>&-
	kill -KILL "$call_patient" 2>/dev/null
	wait "$call_patient" 2>/dev/null
	call_patient=

	local b=${before% *} a=${after% *} extra
	extra=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a - b }')
	# shellcheck disable=SC2086
	bench_row 4 "before the patch" $before ns "" "$call_runs x $calls calls"
	bench_row 4 "patched (through the jump)" $after ns "" ""
	bench_row 4 "after unpatch" $undone ns "" ""
	bench_row 4 "extra per call: patched - before (medians)" "$extra" "" ns "<= 1" ""
}
