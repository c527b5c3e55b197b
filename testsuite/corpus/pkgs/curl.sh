# curl (bookworm): libcurl and the curl tool; workload: a slice of the
# project's test suite (tests/runtests.pl: the curl tool against its own
# local HTTP/FTP test servers, HTTP basics, cookies, redirects, auth), with
# the ELF files under test put in place.
PKG_SOURCE=curl
PKG_VERSION=7.88.1-10+deb12u15
PKG_ELFS=(lib/.libs/libcurl.so.4.8.0 src/.libs/curl)
PKG_SONAMES=(libcurl.so.4 curl)
PKG_TARGETS=libcurl.so:curl
PKG_TESTS=${CORPUS_CURL_TESTS:-"1 to 60 300 to 310 327 329 331 392 1105 1218 1228 1258"}

pkg_configure() {
	./configure --disable-static --disable-fast-install --with-openssl --without-libpsl \
		--without-brotli --without-zstd --without-libidn2 --without-librtmp --without-libssh2 \
		--without-nghttp2 --disable-ldap --disable-ldaps --disable-manual --without-gssapi
}

pkg_build() {
	# CC on the command line: the Makefiles keep the CC of configure (another
	# build's specs file after --resume with another BUILD_DIR)
	local cc=(CC="$CC")
	[[ -z ${CORPUS_PLAIN:-} ]] || cc=(CC=gcc)
	make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C lib libcurl.la && make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C src curl
}

pkg_test() {
	local dir=$1 out=$2 i
	local elfs=(lib/.libs/libcurl.so.4.8.0 src/.libs/curl) names=(libcurl.so.4 curl)
	for i in "${!elfs[@]}"; do
		cp -p "${elfs[i]}" "${elfs[i]}.corpus-keep"
		cp "$dir/${names[i]}" "${elfs[i]}"
	done
	# shellcheck disable=SC2086
	(cd tests && make -j"${CORPUS_JOBS:-2}" >/dev/null 2>&1; timeout 900 perl runtests.pl -a -n $PKG_TESTS) >test-run.log 2>&1 || true
	for i in "${!elfs[@]}"; do
		mv -f "${elfs[i]}.corpus-keep" "${elfs[i]}"
	done
	grep -E '^test [0-9]+\.\.\.|^TESTFAIL|^TESTDONE|FAILED' test-run.log | sed 's/ --- .*//; s/ [0-9.]* s$//; s/ during [0-9]* seconds//' >"$out" || true
	# the totals, without the run time ("considered during 20 seconds")
	grep -E '^TESTDONE|^TESTFAIL' test-run.log | sed 's/ during [0-9]* seconds//' >>"$out" || true
}
