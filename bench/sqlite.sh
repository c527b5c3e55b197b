# sqlite.sh - the large real C unit of benchmark 3: the SQLite amalgamation
# (sqlite3.c, about 240000 lines), generated from Debian's sqlite3 source
# package on first use and kept in BUILD/bench-cache.

# sqlite_source - set $sqlite_src to the path of sqlite3.c; on failure leave
# it empty and set $sqlite_na to the reason.  LIBCARE_BENCH_SQLITE=/path/sqlite3.c
# overrides.
sqlite_source() {
	local cache=$build/bench-cache src log
	sqlite_na= sqlite_src=
	if [[ -n ${LIBCARE_BENCH_SQLITE:-} ]]; then
		[[ -s $LIBCARE_BENCH_SQLITE ]] || { sqlite_na="LIBCARE_BENCH_SQLITE=$LIBCARE_BENCH_SQLITE: no such file"; return; }
		sqlite_src=$LIBCARE_BENCH_SQLITE
		return
	fi
	if [[ -s $cache/sqlite3.c ]]; then
		sqlite_src=$cache/sqlite3.c
		return
	fi
	command -v tclsh >/dev/null || { sqlite_na="tclsh missing to generate sqlite3.c (apt-get install tcl)"; return; }
	mkdir -p "$cache/src" || { sqlite_na="cannot create $cache"; return; }
	log=$cache/fetch.log
	bench_note "3. build overhead: fetching the sqlite3 source package into $cache (once)"
	if ! (cd "$cache/src" && apt-get source --download-only sqlite3) >"$log" 2>&1; then
		sqlite_na="apt-get source sqlite3 failed (a deb-src line is needed: 'Types: deb deb-src' in /etc/apt/sources.list.d/debian.sources, then apt-get update); see $log"
		return
	fi
	src=$(ls "$cache"/src/sqlite3_*.orig.tar.xz 2>/dev/null | head -n 1)
	[[ -n $src ]] || { sqlite_na="no sqlite3_*.orig.tar.xz in $cache/src"; return; }
	if ! (
		cd "$cache/src" && tar xJf "$src" && cd sqlite3-*/ && mkdir -p bld && cd bld &&
			../configure && make sqlite3.c && cp sqlite3.c "$cache/sqlite3.c.tmp"
	) >>"$log" 2>&1; then
		sqlite_na="generating sqlite3.c from $src failed; see $log"
		return
	fi
	mv "$cache/sqlite3.c.tmp" "$cache/sqlite3.c"
	rm -rf "$cache/src"
	sqlite_src=$cache/sqlite3.c
}
