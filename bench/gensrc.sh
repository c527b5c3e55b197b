# gensrc.sh - benchmark 6, libcare-gensrc (the plugin's C core) on units
# with many sections.
#
# -ffunction-sections and inline-asm records (.pushsection __jump_table,
# static keys, tracepoints) give real units tens of thousands of section
# directives; a lookup that walks the sections seen so far makes the
# patched stage quadratic in them (issue 16: 5,000 / 10,000 / 20,000
# .pushsection lines took 0.47 / 3.9 / 12 s).  Two generated units per
# size N, compared by libcare-gensrc as the patched stage would:
#   funcsec  N functions, each in its own .text.fN, one changed;
#   pushsec  one function with N inline-asm records, each in its own
#            .pushsection .rec.N, the function's last line changed.
# CPU time (user + sys) per size, and the growth from N to 2N: about 2 when
# the cost is linear in the sections, 4 when it is quadratic.

# gensrc_unit KIND N CHANGE OUT - write the unit (CHANGE: 0 original, 1 patched).
gensrc_unit() {
	awk -v kind="$1" -v n="$2" -v ch="$3" 'BEGIN {
		print "\t.file\t\"many.c\"\n\t.text"
		if (kind == "funcsec") {
			for (i = 0; i < n; i++) {
				v = (i == 0 && ch) ? 77 : i
				printf "\t.pushsection .text.f%d,\"ax\",@progbits\n\t.globl\tf%d\n", i, i
				printf "\t.type\tf%d, @function\nf%d:\n\tmovl\t$%d, %%eax\n\tret\n", i, i, v
				printf "\t.size\tf%d, .-f%d\n\t.popsection\n", i, i
			}
		} else {
			print "\t.globl\tf\n\t.type\tf, @function\nf:\n.LFB0:\n\t.cfi_startproc"
			for (i = 0; i < n; i++) {
				print "#APP\n# 10 \"many.c\" 1\n1:\tnop"
				printf "\t.pushsection .rec.%d,\"a\",@progbits\n\t.quad 1b\n\t.popsection\n", i
				print "# 0 \"\" 2\n#NO_APP"
			}
			printf "\tmovl\t$%d, %%eax\n\tret\n\t.cfi_endproc\n.LFE0:\n\t.size\tf, .-f\n", ch
		}
		print "\t.section\t.note.GNU-stack,\"\",@progbits"
	}' >"$4"
}

bench_gensrc() {
	local gensrc=${LIBCARE_GENSRC:-$build/bin/libcare-gensrc} dir=$work/gensrc kind n i t
	local -a sizes runs_n
	[[ -x $gensrc ]] || bench_die "not built: $gensrc"
	if ((quick)); then
		sizes=(10000 20000 40000) runs_n=3
	else
		sizes=(20000 40000 80000) runs_n=3
	fi
	mkdir -p "$dir/log"
	bench_note "6. gensrc: units of ${sizes[*]} sections, $runs_n run(s) each"
	for kind in funcsec pushsec; do
		local -A med=()
		for n in "${sizes[@]}"; do
			gensrc_unit $kind "$n" 0 "$dir/$kind-$n-orig.s"
			gensrc_unit $kind "$n" 1 "$dir/$kind-$n-patched.s"
			local -a cpu=()
			for ((i = 0; i < runs_n; i++)); do
				/usr/bin/time -f '%U %S' -o "$dir/log/$kind-$n.time" "$gensrc" \
					"$dir/$kind-$n-orig.s" "$dir/$kind-$n-patched.s" -o "$dir/$kind-$n-out.s" \
					>"$dir/log/$kind-$n.out" 2>"$dir/log/$kind-$n.err" ||
					bench_die "libcare-gensrc failed on $dir/$kind-$n-patched.s: $(tail -n 2 "$dir/log/$kind-$n.err" | tr '\n' ' ')"
				grep -q '^libcare-gensrc: changed: f' "$dir/log/$kind-$n.err" ||
					bench_die "libcare-gensrc found no change in $dir/$kind-$n-patched.s"
				t=$(awk '{ printf "%.2f", $1 + $2 }' "$dir/log/$kind-$n.time")
				cpu+=("$t")
			done
			read -r med[$n] _ < <(bench_stats "${cpu[@]}")
			# shellcheck disable=SC2046
			bench_row 6 "$kind, $n sections: CPU time" $(bench_stats "${cpu[@]}") s "" \
				"$(wc -l <"$dir/$kind-$n-orig.s") lines per unit"
		done
		for ((i = 1; i < ${#sizes[@]}; i++)); do
			bench_row 6 "$kind, ${sizes[i - 1]} -> ${sizes[i]} sections: growth" \
				"$(bench_ratio "${med[${sizes[i]}]}" "${med[${sizes[i - 1]}]}")" "" x "<= 2.5" \
				"2 if linear, 4 if quadratic"
		done
		unset med
	done
	rm -f "$dir"/*.s
}
