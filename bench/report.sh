# report.sh - the machine, the table and the JSON of bench/run: one place
# that turns the rows the benchmarks wrote ($results, tab-separated:
# section, label, median, max, unit, target, verdict, note, floor, ratio)
# into output.

# bench_machine - describe the machine (set $machine_*) and print it.
bench_machine() {
	machine_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	machine_cores=$(nproc)
	machine_kernel=$(uname -sr)
	machine_virt=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor:[[:space:]]*//p')
	machine_mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	machine_gcc=$(gcc --version | head -n 1)
	machine_ld=$(ld --version | head -n 1)
	machine_libc=$(ldd --version 2>&1 | head -n 1)
	machine_commit=${LIBCARE_BENCH_COMMIT:-$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)}
	machine_date=$(date -u '+%Y-%m-%d %H:%M UTC')
	machine_load=$(cut -d" " -f1-3 /proc/loadavg)
	cat <<EOM
LibCare benchmarks  commit $machine_commit  $machine_date$( ((quick)) && echo "  (--quick)")
machine: $machine_cpu, $machine_cores cores${machine_virt:+ ($machine_virt guest)}, $machine_mem
         $machine_kernel; $machine_gcc; $machine_ld; $machine_libc
load average at start: $machine_load (other work on the machine disturbs the figures)
EOM
}

# bench_section_title N - heading of benchmark N.
bench_section_title() {
	case $1 in
	1) echo "1. Stop time: $reps patches and $reps unpatches per thread count, median and max" ;;
	2) echo "2. All processes: libcare-doctor patch -p all DIR" ;;
	3) echo "3. Build overhead: SQLite amalgamation (sqlite3.c), CPU time (user+sys) of gcc -c" ;;
	4) echo "4. Call overhead: tight loop through the patched function" ;;
	5) echo "5. Patch size and doctor memory" ;;
	6) echo "6. libcare-gensrc on units of many sections (-ffunction-sections, inline-asm .pushsection)" ;;
	esac
}

# bench_table - the results as a table on stdout; n/a rows give their reason.
bench_table() {
	local section last= label median max unit target verdict note floor ratio
	printf '\n%-56s %11s %11s %11s %7s %-6s %-9s %s\n' "" median max floor /floor unit target verdict
	while IFS=$'\037' read -r section label median max unit target verdict note floor ratio; do
		if [[ $section != "$last" ]]; then
			printf '%s\n' "$(bench_section_title "$section")"
			last=$section
		fi
		[[ -z $note ]] || note="($note)"
		[[ -z $note || -z $verdict ]] || note="  $note"
		[[ -z $ratio || $ratio == n/a ]] || ratio=${ratio}x
		printf '  %-54s %11s %11s %11s %7s %-6s %-9s %s%s\n' "$label" "$median" "$max" "$floor" \
			"$ratio" "$unit" "$target" "$verdict" "$note"
	done < <(tr '\t' '\037' <"$results")
	printf 'load average at end: %s\n' "$(cut -d" " -f1-3 /proc/loadavg)"
}

# bench_json - the machine and the rows as JSON on stdout.
bench_json() {
	local -a kv=(
		commit "$machine_commit" date "$machine_date" quick "$quick" repetitions "$reps"
		cpu "$machine_cpu" cores "$machine_cores" hypervisor "$machine_virt"
		memory "$machine_mem" kernel "$machine_kernel" gcc "$machine_gcc"
		load_start "$machine_load" load_end "$(cut -d" " -f1-3 /proc/loadavg)"
		ld "$machine_ld" libc "$machine_libc"
	)
	{
		printf '%s\n' "${kv[@]}"
		echo "@@rows"
		cat "$results"
	} | awk -F '\t' '
		function str(s) {
			gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s)
			return "\"" s "\""
		}
		function num(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ? s : "null" }
		BEGIN { printf "{\n  \"machine\": {"; n = 0; rows = 0 }
		!inrows && $0 == "@@rows" { inrows = 1; printf "\n  },\n  \"results\": ["; next }
		!inrows {
			if (key == "") { key = $0; next }
			printf "%s\n    %s: %s", n++ ? "," : "", str(key), str($0); key = ""; next
		}
		{
			printf "%s\n    {\"benchmark\": %s, \"name\": %s, \"median\": %s, \"max\": %s, " \
				"\"unit\": %s, \"target\": %s, \"verdict\": %s, \"note\": %s, " \
				"\"floor\": %s, \"ratio_to_floor\": %s}",
				rows++ ? "," : "", $1, str($2), num($3), num($4), str($5), str($6),
				str($7), str($8), num($9), num($10)
		}
		END { printf "\n  ]\n}\n" }'
}
