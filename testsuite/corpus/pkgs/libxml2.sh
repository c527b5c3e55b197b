# libxml2 (bookworm): the library; workload runtest (the project's regression
# suite: XML, HTML, SAX, XPath, schemas, ... one process) and testchar.
PKG_SOURCE=libxml2
PKG_VERSION=2.9.14+dfsg-1.3~deb12u6
# ELF files live-patched (built in the tree), and the names the stop library
# acts on.
PKG_ELFS=(.libs/libxml2.so.2.9.14)
PKG_SONAMES=(libxml2.so.2)
PKG_TARGETS=libxml2.so:runtest:testchar

pkg_configure() {
	./configure --without-python --without-icu --without-lzma --without-zlib \
		--disable-static --without-debug >configure.log 2>&1
}

pkg_build() {
	make -j2 ${CORPUS_PLAIN:+CC=gcc} libxml2.la runtest testchar
}

# pkg_test LIBDIR OUT - the workload against the libxml2.so.2 in LIBDIR;
# normalised results into OUT (one line per failure, then the totals).
pkg_test() {
	local libdir=$1 out=$2
	{
		LD_LIBRARY_PATH=$libdir timeout 600 ./.libs/runtest -q 2>&1 || echo "runtest exit $?"
		LD_LIBRARY_PATH=$libdir timeout 120 ./.libs/testchar 2>&1 || echo "testchar exit $?"
	} | sed -e 's/ [0-9]* ms\b//' >"$out"
}
