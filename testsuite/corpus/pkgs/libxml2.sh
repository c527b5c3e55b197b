# libxml2 (bookworm): the library; workload testapi, testchar and xmllint
# (see pkg_test).
PKG_SOURCE=libxml2
PKG_VERSION=2.9.14+dfsg-1.3~deb12u6
# ELF files live-patched (built in the tree), and the names the stop library
# acts on.
PKG_ELFS=(.libs/libxml2.so.2.9.14)
PKG_SONAMES=(libxml2.so.2)
PKG_TARGETS=libxml2.so:testapi:testchar:xmllint

pkg_configure() {
	./configure --without-python --without-icu --without-lzma --without-zlib \
		--disable-static --without-debug >configure.log 2>&1
}

pkg_build() {
	# CC on the command line: the Makefiles keep the CC of configure (another
	# build's specs file after --resume with another BUILD_DIR)
	local cc=(CC="$CC")
	[[ -z ${CORPUS_PLAIN:-} ]] || cc=(CC=gcc)
	make -j"${CORPUS_JOBS:-2}" "${cc[@]}" libxml2.la testapi testchar xmllint
}

# pkg_test LIBDIR OUT - the workload against the libxml2.so.2 in LIBDIR;
# normalised results into OUT.  Debian's source drops the project's test/ and
# result/ (Files-Excluded, #331534), so runtest has nothing to run (it dies
# at start): the workload is testapi (every public function with the
# generated argument sets), testchar, and xmllint over the XML and HTML
# files the source keeps, one process per mode; each mode's output is
# recorded as its line count and checksum.
pkg_test() {
	local libdir=$1 out=$2 m
	local xml=(doc/*.xml doc/examples/*.xml python/tests/*.xml example/*.xml)
	local html=(doc/*.html doc/html/*.html doc/tutorial/*.html)
	local modes=("" "--c14n" "--sax" "--push --format --encode ISO-8859-1" "--xinclude --noblanks"
		"--recover --memory" "--copy --noent" "--stream --noout" "--noout --valid --noent"
		"--noout --xpath count(//*)")
	{
		LD_LIBRARY_PATH=$libdir timeout 600 ./.libs/testapi 2>&1 || echo "testapi exit $?"
		LD_LIBRARY_PATH=$libdir timeout 120 ./.libs/testchar 2>&1 || echo "testchar exit $?"
		for m in "${modes[@]}" "--html"; do
			local files=("${xml[@]}")
			[[ $m == --html ]] && files=("${html[@]}")
			LD_LIBRARY_PATH=$libdir timeout 120 ./.libs/xmllint --nonet --nocatalogs $m "${files[@]}" \
				>"$out.mode" 2>&1 || echo "exit $?" >>"$out.mode"
			echo "xmllint $m: $(wc -l <"$out.mode") lines, md5 $(md5sum <"$out.mode" | cut -c1-32)"
		done
	} >"$out"
	rm -f "$out.mode"
}
