# counts.sh - checks shared by the thread-local scenarios (sourced from
# their `check`, inside run-scenario).
#
# lc_check_thread_counts FILE - every line is "NAME ticks N[ ...]"; per NAME
# the counts go up by exactly one from line to line, thread A from 1 and B
# from 1001: each thread saw its own variable in old, patched and restored
# code.
lc_check_thread_counts() {
	local line name n rest
	declare -A prev=([A]=0 [B]=1000)
	declare -A seen=()
	while read -r line; do
		[[ $line =~ ^([AB])\ ticks\ ([0-9]+)(.*)$ ]] || fail "unexpected line" "$line"
		name=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]} rest=${BASH_REMATCH[3]}
		((n == prev[$name] + 1)) ||
			fail "thread $name's own count did not carry on: expected $((prev[$name] + 1))" "$line"
		prev[$name]=$n
		[[ -n $rest ]] && seen[$name]=1
	done <"$1"
	[[ -n ${seen[A]:-} && -n ${seen[B]:-} ]] ||
		fail "both threads should have printed patched lines (A: ${seen[A]:-no}, B: ${seen[B]:-no})"
}
