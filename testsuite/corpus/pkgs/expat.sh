# expat (bookworm, the main archive's 2.5.0-1+deb12u2): the CMake build of
# expat/; live-patched: libexpat.so and tests/runtests (the project's test
# suite, which compiles the library's sources in); workload: runtests.
PKG_SOURCE=expat
PKG_VERSION=2.5.0-1+deb12u2
PKG_ELFS=(expat/build-corpus/libexpat.so.1.8.10 expat/build-corpus/tests/runtests)
PKG_SONAMES=(libexpat.so.1 runtests)
PKG_TARGETS=libexpat.so:runtests

pkg_configure() {
	cmake -S expat -B expat/build-corpus -DCMAKE_BUILD_TYPE=None -DEXPAT_BUILD_DOCS=OFF \
		-DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_FUZZERS=OFF -DEXPAT_BUILD_TESTS=ON
}

pkg_build() {
	cmake --build expat/build-corpus -j2 --target expat runtests
}

# pkg_test DIR OUT - runtests from DIR (its libexpat.so.1 beside it).
pkg_test() {
	local dir=$1 out=$2
	(cd expat/tests && LD_LIBRARY_PATH=$dir timeout 600 "$dir/runtests" 2>&1 || echo "runtests exit $?") |
		grep -v '^Expat version' >"$out"
}
