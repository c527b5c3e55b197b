# lib.sh - what every scenario runner shares: finding the tools, building a
# program through the real pipeline (plugin original build, source diff in
# the same tree, plugin patched build, mkpatch), running the patient and
# reading its output.  Sourced by run-scenario and run-bad-input.
#
# Conventions: $work is the test's fresh work directory; every command run
# through `step` leaves its stdout/stderr in $work/log/, and `fail` prints
# what was expected, what was seen, and the stderr of those commands.

lc_steps=0
pid=

# fail WHAT [SEEN...] - report a failure and stop.  The EXIT trap kills the
# patient.
fail() {
	local what=$1
	shift
	{
		echo "FAIL: $what"
		if (($# > 0)); then
			echo "--- seen:"
			printf '%s\n' "$@"
		fi
		if [[ -n ${work:-} && -d $work/log ]]; then
			local f
			for f in "$work"/log/*.err; do
				[[ -s $f ]] || continue
				echo "--- stderr of: $(cat "${f%.err}.cmd")"
				cat "$f"
			done
		fi
		if [[ -n ${out:-} && -f $out ]]; then
			echo "--- last lines of the patient's output ($out):"
			tail -n 8 "$out"
		fi
	} >&2
	exit 1
}

# step CMD... - run a command of the pipeline, keep its output, stop on failure.
step() {
	lc_steps=$((lc_steps + 1))
	local base
	base=$work/log/$(printf '%02d' "$lc_steps")
	printf '%s\n' "$*" >"$base.cmd"
	echo "+ $*"
	local rc=0
	"$@" >"$base.out" 2>"$base.err" || rc=$?
	((rc == 0)) || fail "command failed (exit $rc): $*" "$(cat "$base.out")"
}

# lc_tools BUILD - set $plugin $mkpatch $doctor (LIBCARE_PLUGIN etc. override,
# the ctest registration passes the targets' real paths that way).
lc_tools() {
	local build=$1
	plugin=${LIBCARE_PLUGIN:-$build/lib/libcare.so}
	mkpatch=${LIBCARE_MKPATCH:-$build/bin/libcare-mkpatch}
	doctor=${LIBCARE_DOCTOR:-$build/bin/libcare-doctor}
	ldscript=${LIBCARE_LDSCRIPT:-$build/lib/libcare-patched.ld}
	verify=${LIBCARE_VERIFY:-$build/bin/libcare-verify}
	# LIBCARE_CC: the compiler driver (gcc-11 with its plugin build, ...);
	# LIBCARE_CXX its C++ driver (default: g++ for gcc, g++-11 for gcc-11).
	cc=${LIBCARE_CC:-gcc}
	cxx=${LIBCARE_CXX:-}
	if [[ -z $cxx ]]; then
		local dir=${cc%/*} base=${cc##*/}
		[[ $dir == "$cc" ]] && dir= || dir=$dir/
		cxx=$dir${base/gcc/g++}
	fi
	local t
	for t in "$plugin" "$mkpatch" "$doctor" "$ldscript" "$verify"; do
		[[ -e $t ]] || fail "not built: $t (cmake --build $build)"
	done
	lc_test_keys "$build"
}

# lc_test_keys BUILD - patches are signed and verified as in a deployment:
# mkpatch signs with the build's test key, the doctor trusts only its public
# half (testsuite/CMakeLists.txt makes them).  Set in the environment, so
# every mkpatch and doctor run below uses them; a test of unsigned input
# unsets LIBCARE_SIGN_KEY or passes its own --keys.
lc_test_keys() {
	export LIBCARE_SIGN_KEY=${LIBCARE_SIGN_KEY-$1/test-keys/signing.pem}
	export LIBCARE_KEYS=${LIBCARE_KEYS-$1/test-keys/trusted}
	[[ -z $LIBCARE_SIGN_KEY || -e $LIBCARE_SIGN_KEY ]] ||
		fail "no test signing key $LIBCARE_SIGN_KEY (cmake --build $1 makes it)"
}

# lc_flags VARIANT OPT - set the arrays $cflags and $ldflags.
lc_flags() {
	case $1 in
	pie) cflags=(-fPIE) ldflags=(-pie) ;;
	nopie) cflags=(-fno-pie) ldflags=(-no-pie) ;;
	*) fail "unknown variant '$1' (pie | nopie)" ;;
	esac
	case $2 in
	O0 | O2 | O3) cflags+=("-$2") ;;
	*) fail "unknown optimisation '$2' (O0 | O2 | O3)" ;;
	esac
	cflags+=(-Wall ${LIBCARE_SCENARIO_CFLAGS:-})
}

# lc_pipeline SCENARIO_DIR - in $work: src/ (a copy of the scenario), the
# original build kept as prog-original, the diff applied to the SAME tree,
# the patched build (-Wl,-q and libcare-patched.ld, which keeps ld -q's
# .tm_clone_table from moving .bss) and the patch prog.kpatch.  Sets $target,
# the object the patch is for.
# With a lib.c in the scenario, the patch is for that shared library
# (libscen.so, -fPIC; prog-original links to it) and prog.c is built plainly.
# A prog.cc instead of prog.c is C++, built and linked with $cxx.
lc_pipeline() {
	local scen=$1 extra=() unit=prog ext=c ucc=$cc
	# An optional `cflags` file adds compiler flags (e.g. -g) to every compile.
	[[ -f $scen/cflags ]] && read -ra extra <"$scen/cflags"
	cflags+=("${extra[@]}")
	# An optional `flags` script may add to the arrays cflags and ldflags
	# (e.g. the output of dpkg-buildflags); with a lib.c also to libcflags
	# and libldflags (the library only: -fvisibility=hidden, -Wl,-Bsymbolic,
	# --version-script=lib.map ...), progldflags (the program's link), and
	# set dlopen=1: the program does not link to the library (it dlopen()s
	# it).
	libcflags=() libldflags=() progldflags=() dlopen=
	if [[ -f $scen/flags ]]; then
		# shellcheck source=/dev/null
		. "$scen/flags"
	fi
	mkdir -p "$work/src" "$work/log"
	if [[ -f $scen/prog.cc ]]; then
		ext=cc ucc=$cxx
		command -v "$ucc" >/dev/null || fail "no C++ compiler $ucc for this C++ scenario"
	fi
	cp "$scen/prog.$ext" "$scen/fix.diff" "$work/src/"
	cd "$work/src"
	local ucflags=("${cflags[@]}") ulink=("${ldflags[@]}") out_orig=$work/prog-original
	local out_patched=$work/prog-patched
	if [[ -f $scen/lib.c ]]; then
		cp "$scen/lib.c" "$work/src/"
		cp "$scen"/*.map "$work/src/" 2>/dev/null || true
		unit=lib
		ucflags=("${cflags[@]/-fno-pie/-fPIC}")
		ucflags=("${ucflags[@]/-fPIE/-fPIC}" "${libcflags[@]}")
		# a soname: the patched link writes the same name into .dynstr
		ulink=(-shared -Wl,-soname,libscen.so "${libldflags[@]}")
		out_orig=$work/libscen.so
		out_patched=$work/libscen-patched.so
	fi
	target=$out_orig

	# The plugin's original stage must not change the object (DESIGN.md).
	step "$ucc" "${ucflags[@]}" -c $unit.$ext -o plain.o
	step "$ucc" "${ucflags[@]}" -fplugin="$plugin" -fplugin-arg-libcare-stage=original \
		-c $unit.$ext -o $unit.o
	cmp -s plain.o $unit.o ||
		fail "original stage changed the object: $unit.o differs from a plain build" \
		     "$(cmp plain.o $unit.o 2>&1)"
	rm -f plain.o
	step "$ucc" "${ulink[@]}" $unit.o -o "$out_orig"
	local linklib=()
	if [[ $unit == lib ]]; then
		# with the plugin too: fix.diff may change the program as well
		[[ -n $dlopen ]] || linklib=(-L"$work" -lscen)
		step "$cc" "${cflags[@]}" -fplugin="$plugin" -fplugin-arg-libcare-stage=original \
			-c prog.c -o prog.o
		step "$cc" "${ldflags[@]}" prog.o -o "$work/prog-original" "${linklib[@]}" \
			-Wl,-rpath,"$work" "${progldflags[@]}"
	fi

	patch -p1 --quiet <fix.diff >"$work/log/patch.out" 2>&1 ||
		fail "fix.diff does not apply" "$(cat "$work/log/patch.out")"

	step "$ucc" "${ucflags[@]}" -fplugin="$plugin" -fplugin-arg-libcare-stage=patched \
		-fplugin-arg-libcare-verbose -c $unit.$ext -o $unit.o
	# An optional `expect_changed` lists the plugin's report lines (changed:, changed data:,
	# new:, new data: ... without the "(why)") that must be exactly these;
	# expect_changed.O2 (.O0) instead at that level when it exists.
	local expect_changed=$scen/expect_changed
	[[ -f $expect_changed.${opt:-} ]] && expect_changed=$expect_changed.$opt
	if [[ -f $expect_changed ]]; then
		sed -n 's/^.*note: libcare: [^:]*: \(changed\|changed data\|new\|new data\|removed\): \([^ ]*\).*$/\1: \2/p' \
			"$work/log/$(printf %02d "$lc_steps").err" | sort >"$work/changed.txt"
		sort "$expect_changed" | diff - "$work/changed.txt" >"$work/changed.diff" ||
			fail "the plugin's report of changed functions is not $expect_changed (< expected, > reported)" \
			     "$(cat "$work/changed.diff")"
	fi
	step "$ucc" "${ulink[@]}" -Wl,-q -Wl,-T,"$ldscript" $unit.o -o "$out_patched"
	step "$mkpatch" -o "$work/prog.kpatch" "$out_orig" "$out_patched"
	[[ -s $work/prog.kpatch ]] || fail "mkpatch exited 0 but wrote no $work/prog.kpatch"
	# The independent cross-check: a plain build of the fixed source must
	# differ from the original only in functions the patch replaces.
	step "$ucc" "${ucflags[@]}" -c $unit.$ext -o plain-patched.o
	step "$ucc" "${ulink[@]}" plain-patched.o -o "$work/plain-patched"
	step "$verify" "$out_orig" "$work/plain-patched" "$work/prog.kpatch"
	# A fix for the library AND the program: a patch for each, applied
	# together from a directory of <BuildID>.kpatch files ($patch_arg).
	patch_arg=$work/prog.kpatch
	if [[ $unit == lib ]] && ! cmp -s prog.c "$scen/prog.c"; then
		local id
		mkdir -p "$work/patches"
		id=$(readelf -n "$out_orig" | awk '/Build ID/ {print $3}')
		cp "$work/prog.kpatch" "$work/patches/$id.kpatch"
		step "$cc" "${cflags[@]}" -fplugin="$plugin" -fplugin-arg-libcare-stage=patched \
			-c prog.c -o prog.o
		step "$cc" "${ldflags[@]}" -Wl,-q -Wl,-T,"$ldscript" prog.o -o "$work/prog-patched" \
			"${linklib[@]}" -Wl,-rpath,"$work" "${progldflags[@]}"
		id=$(readelf -n "$work/prog-original" | awk '/Build ID/ {print $3}')
		step "$mkpatch" -o "$work/patches/$id.kpatch" "$work/prog-original" "$work/prog-patched"
		patch_arg=$work/patches
	fi
	cd "$work"
}

# lc_start BINARY OUTFILE - start the patient, its output to OUTFILE; sets $pid.
lc_start() {
	out=$2
	: >"$out"
	"$1" >"$out" 2>&1 </dev/null &
	pid=$!
	trap lc_stop EXIT
}

# lc_ppid PID - the parent of PID (from /proc/PID/stat), empty if none.
lc_ppid() {
	local s
	{ s=$(<"/proc/$1/stat"); } 2>/dev/null || return 0
	s=${s##*) }
	s=${s#* }
	echo "${s%% *}"
}

# lc_kill SIGNAL PID... - send SIGNAL to each PID that is still ours: a child
# of this shell, or a child of another PID given (a supervisor's worker).
# bash reaps a background child as soon as it exits, and the kernel reuses
# its PID (pid_max is 32768 here): killing a remembered PID without this
# check once killed another test's process running beside this one.  The
# parents are read for all before any is killed (a worker whose supervisor
# was killed first would be re-parented and skipped).
lc_kill() {
	local sig=$1 p q ppid ours=()
	shift
	for p in "$@"; do
		[[ $p =~ ^[0-9]+$ ]] || continue
		ppid=$(lc_ppid "$p")
		[[ -n $ppid ]] || continue
		if [[ $ppid == "$$" || $ppid == "$BASHPID" ]]; then
			ours+=("$p")
			continue
		fi
		for q in "$@"; do
			if [[ $ppid == "$q" && $(lc_ppid "$q") =~ ^($$|$BASHPID)$ ]]; then
				ours+=("$p")
				break
			fi
		done
	done
	((${#ours[@]} == 0)) || kill "-$sig" "${ours[@]}" 2>/dev/null || true
}

# lc_kill_wait PID... - SIGKILL each PID still ours (lc_kill), then reap them.
lc_kill_wait() {
	local p
	lc_kill KILL "$@"
	for p in "$@"; do
		wait "$p" 2>/dev/null || true
	done
}

# Kill the patient, whatever happened (EXIT trap).
lc_stop() {
	[[ -z $pid ]] || lc_kill_wait "$pid"
}

# lc_lines - number of COMPLETE lines in $out (a line being written is not).
lc_lines() {
	wc -l <"$out"
}

# lc_wait_lines N [TIMEOUT_S] - wait until $out has N complete lines (30 s
# by default: a deadline, not a timing: on a loaded machine a patient may
# wait seconds for a CPU, and the wait ends as soon as the lines are there).
lc_wait_lines() {
	local n=$1 deadline=$((SECONDS + ${2:-30}))
	while (($(lc_lines) < n)); do
		lc_alive || fail "the patient (PID $pid) died while waiting for $n lines"
		((SECONDS < deadline)) || fail "the patient printed $(lc_lines) lines, expected $n within ${2:-30} s"
		sleep 0.02
	done
}

# lc_alive - the patient exists, is no zombie and is not stopped.
lc_alive() {
	local state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ $state != Z && $state != X ]]
}

# lc_free_port - a TCP port free on 127.0.0.1 now (the kernel's choice for
# a bind to port 0): not a random one, which another test's daemon may hold.
lc_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# lc_listens PID PORT - PID holds the socket listening on 127.0.0.1:PORT
# (a daemon that could not bind exits, but a connect may meanwhile reach
# another process that took the port: up means ours listens).
lc_listens() {
	local hex l st inode= fd
	printf -v hex '%04X' "$2"
	while read -r _ l _ st _ _ _ _ _ inode _; do
		[[ $l == "0100007F:$hex" && $st == 0A ]] && break
		inode=
	done </proc/net/tcp
	[[ -n $inode ]] || return 1
	for fd in /proc/"$1"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == "socket:[$inode]" ]] && return 0
	done
	return 1
}

# lc_start_listening OUT CMD... - start a daemon, CMD with each word PORT
# replaced by a free port (lc_free_port), its output to OUT, and wait (60 s
# at most) until it listens on 127.0.0.1 (lc_listens); one that exits (the
# port taken meanwhile) is started again on another, 5 ports at most.  Sets
# $pid and $port, and connects fd 3 to it.
lc_start_listening() {
	local o=$1 try deadline w args
	shift
	for try in 1 2 3 4 5; do
		port=$(lc_free_port)
		args=()
		for w in "$@"; do
			if [[ $w == PORT ]]; then args+=("$port"); else args+=("$w"); fi
		done
		"${args[@]}" >"$o" 2>&1 </dev/null &
		pid=$!
		deadline=$((SECONDS + 60))
		until lc_listens "$pid" "$port"; do
			lc_alive || break
			((SECONDS < deadline)) || fail "$1 (PID $pid) does not listen on 127.0.0.1:$port after 60 s" "$(cat "$o")"
			sleep 0.05
		done
		if lc_listens "$pid" "$port"; then
			exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to $1 (PID $pid) on 127.0.0.1:$port"
			return 0
		fi
		lc_kill_wait "$pid"
	done
	fail "$1 did not start on 127.0.0.1 (5 ports tried)" "$(cat "$o")"
}

# lc_state - one-character state of the patient (R, S, T, t, Z...).
lc_state() {
	awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone
}

# lc_head N - the first N complete lines of the output.
lc_head() {
	head -n "$1" "$out"
}

# lc_snapshot FILE - /proc/PID/maps and a hash of every file-backed r-x
# mapping's bytes, to prove a refused patch changed nothing.
lc_snapshot() {
	local f=$1 start end perms rest
	cp "/proc/$pid/maps" "$f.maps"
	: >"$f.text"
	while read -r range perms _ _ _ rest; do
		[[ $perms == r-x? && $rest == /* ]] || continue
		start=$((16#${range%-*}))
		end=$((16#${range#*-}))
		printf '%s %s ' "$range" "$rest" >>"$f.text"
		dd if="/proc/$pid/mem" bs=4096 skip=$((start / 4096)) count=$(((end - start) / 4096)) \
			status=none | sha256sum >>"$f.text"
	done <"$f.maps"
	[[ -s $f.text ]] || fail "no r-x mapping found in /proc/$pid/maps" "$(cat "$f.maps")"
}
