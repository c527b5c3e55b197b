#!/bin/bash
# test_lc_kill.sh - the test harness kills only processes that are still its
# own (scenarios/lib.sh lc_kill): a remembered PID whose process was reaped
# may name another test's process by now.  Here a process that is not ours
# (its parent exited: re-parented) stands for such a reused PID.
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../scenarios/lib.sh
. "$here/../scenarios/lib.sh"
passed=0 failed=0
check() {   # check WHAT COMMAND...
	if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
state() { s=$(<"/proc/$1/stat"); s=${s##*) }; echo "${s%% *}"; }
alive() { [[ -e /proc/$1/stat && $(state "$1") != Z ]]; }

sleep 60 &
mine=$!
other=$( (sleep 60 >/dev/null 2>&1 & echo $!) )
supervisor_out=$(mktemp)
( sleep 60 & echo $! >"$supervisor_out"; wait ) &
supervisor=$!
until [[ -s $supervisor_out ]]; do sleep 0.01; done
worker=$(<"$supervisor_out")
rm -f "$supervisor_out"

check "lc_ppid names this shell as the parent of its child" [ "$(lc_ppid "$mine")" = "$$" ]
check "lc_ppid of a PID that does not exist is empty" [ -z "$(lc_ppid 0)" ]
lc_kill_wait "$other" "$mine" "$supervisor" "$worker" 999999999 not-a-pid
# the worker is no child of this shell (not reaped by lc_kill_wait): its
# death after SIGKILL is waited for, 30 s at most, not 0.1 s, which a
# loaded machine may not give it a CPU in
for _ in $(seq 3000); do alive "$worker" || break; sleep 0.01; done
check "a child of this shell is killed" test ! -e "/proc/$mine/stat"
check "a supervisor child of this shell is killed" test ! -e "/proc/$supervisor/stat"
check "the supervisor's worker given with it is killed" eval '! alive "$worker"'
check "a process this shell does not own is left running" alive "$other"
kill -KILL "$other" 2>/dev/null
echo "$passed passed, $failed failed"
((failed == 0))
