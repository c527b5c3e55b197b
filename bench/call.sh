# call.sh - benchmark 4, call overhead.
#
# The call patient (programs/call) times CALLS calls of small() in a loop
# where each call depends on the previous one.  RUNS rounds of: measure,
# patch (every call now also takes the 5-byte jump to the replacement, which
# has the same instructions), measure, unpatch.  Pairing the two
# measurements of a round keeps drift of the machine's load out of the
# difference.

# call_ask WANT - one measurement, checking small(0) == WANT; ns per call in
# $answer.
call_ask() {
	local r
	echo m >&"${CALL[1]}"
	read -r -t 60 answer r _ <&"${CALL[0]}" || bench_die "call patient (PID $call_patient) did not answer"
	[[ $r == "$1" ]] || bench_die "small(0) returned $r in the call patient, expected $1"
}

# call_doctor LOG ARGS... - a doctor run that must succeed.
call_doctor() {
	local log=$1
	shift
	bench_doctor "$log" "$@" ||
		bench_die "libcare-doctor $* failed: $(head -n 1 "$log.err")"
}

bench_call() {
	local calls runs i log=$work/call/log/call
	local -a before=() after=() extra=()
	if ((quick)); then
		calls=20000000 runs=3
	else
		calls=200000000 runs=11
	fi
	bench_note "4. call overhead: building the call patient"
	bench_pipeline call
	coproc CALL { exec "$work/call/call-original" "$calls" 2>"$work/call/patient.err"; }
	read -r -t 30 answer <&"${CALL[0]}" || bench_die "call patient did not start"
	call_patient=${answer#ready }

	bench_note "4. call overhead: $runs rounds of $calls calls before and after the patch"
	call_ask 1	# warm up
	for ((i = 0; i < runs; i++)); do
		call_ask 1
		before+=("$answer")
		call_doctor "$log-patch-$i" patch -p "$call_patient" "$work/call/call.kpatch"
		call_ask 3
		after+=("$answer")
		call_doctor "$log-unpatch-$i" unpatch -p "$call_patient"
		extra+=("$(awk -v a="$answer" -v b="${before[i]}" 'BEGIN { printf "%.3f", a - b }')")
	done
	call_ask 1	# unpatched again
	exec {CALL[1]}>&-
	bench_kill "$call_patient"
	wait "$call_patient" 2>/dev/null
	call_patient=

	# shellcheck disable=SC2046
	{
		bench_row 4 "before the patch" $(bench_stats "${before[@]}") ns "" "$runs rounds of $calls calls"
		bench_row 4 "patched (through the jump)" $(bench_stats "${after[@]}") ns "" ""
		bench_row 4 "extra per call: patched - before, per round" $(bench_stats "${extra[@]}") ns "<= 1" ""
	}
}
