# tiff (bookworm): libtiff and the tools the series fixes; workload: the
# project's test suite (make check in test/: test programs and scripts that
# run the tools on sample images), with the ELF files under test put in place.
PKG_SOURCE=tiff
PKG_VERSION=4.5.0-6+deb12u4
PKG_ELFS=(libtiff/.libs/libtiff.so.6.0.0 tools/.libs/tiffcrop tools/.libs/tiffcp tools/.libs/raw2tiff)
PKG_SONAMES=(libtiff.so.6 tiffcrop tiffcp raw2tiff)
PKG_TARGETS=libtiff.so:tiffcrop:tiffcp:raw2tiff

pkg_configure() {
	[ -x configure ] || autoreconf -fi >autoreconf.log 2>&1
	./configure --disable-static --disable-fast-install --disable-jbig --disable-lerc \
		--disable-webp --disable-zstd --disable-lzma --disable-jpeg --disable-old-jpeg \
		--disable-libdeflate --disable-docs --disable-sphinx
}

pkg_build() {
	# CC on the command line: the Makefiles keep the CC of configure (another
	# build's specs file after --resume with another BUILD_DIR)
	local cc=(CC="$CC")
	[[ -z ${CORPUS_PLAIN:-} ]] || cc=(CC=gcc)
	make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C port && make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C libtiff libtiff.la &&
		make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C tools tiffcrop tiffcp raw2tiff
}

# pkg_test DIR OUT - make check in test/ with DIR's files in the tree.
pkg_test() {
	local dir=$1 out=$2 i
	local elfs=(libtiff/.libs/libtiff.so.6.0.0 tools/.libs/tiffcrop tools/.libs/tiffcp tools/.libs/raw2tiff)
	local names=(libtiff.so.6 tiffcrop tiffcp raw2tiff)
	for i in "${!elfs[@]}"; do
		cp -p "${elfs[i]}" "${elfs[i]}.corpus-keep"
		cp "$dir/${names[i]}" "${elfs[i]}"
	done
	timeout 900 make -C test -j2 -k check >test-check.log 2>&1 || true
	for i in "${!elfs[@]}"; do
		mv -f "${elfs[i]}.corpus-keep" "${elfs[i]}"
	done
	# one line per test: its result (PASS/FAIL/...), then the totals
	grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR):' test-check.log | sort >"$out"
	grep -E '^# (TOTAL|PASS|FAIL|ERROR)' test-check.log >>"$out" || true
}
