# expat (bookworm, the main archive's 2.5.0-1+deb12u2), built as Debian
# builds it: buildconf.sh (autoreconf) and configure in expat/, the flags of
# debian/rules (-Wall, -Wl,-Bsymbolic-functions).  (The CMake build has
# `#define XML_DTD` with no value: the series' CVE-2024-8176 backport tests
# `#if XML_DTD == 1` and does not compile there.)  Live-patched: libexpat.so
# and tests/runtests (the project's test suite, linked with the library's
# objects, so the program itself is patched); workload: runtests.
PKG_SOURCE=expat
PKG_VERSION=2.5.0-1+deb12u2
PKG_ELFS=(expat/lib/.libs/libexpat.so.1.8.10 expat/tests/runtests)
PKG_SONAMES=(libexpat.so.1 runtests)
PKG_TARGETS=libexpat.so:runtests

pkg_configure() {
	cd expat && ./buildconf.sh >buildconf.log 2>&1 &&
		CFLAGS="$CFLAGS -Wall" LDFLAGS="-Wl,-Bsymbolic-functions $LDFLAGS" \
			./configure --without-docbook --without-examples >configure.log 2>&1
}

pkg_build() {
	# CC on the command line: the Makefiles keep the CC of configure
	local cc=(CC="$CC")
	[[ -z ${CORPUS_PLAIN:-} ]] || cc=(CC=gcc)
	make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C expat/lib &&
		make -j"${CORPUS_JOBS:-2}" "${cc[@]}" -C expat/tests runtests
}

# pkg_test DIR OUT - runtests from DIR.
pkg_test() {
	local dir=$1 out=$2
	(cd expat/tests && LD_LIBRARY_PATH=$dir timeout 600 "$dir/runtests" 2>&1 || echo "runtests exit $?") |
		grep -v '^Expat version' >"$out"
}
