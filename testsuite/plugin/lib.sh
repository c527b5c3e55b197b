# lib.sh - shared helpers of the plugin tests (sourced).
set -eu
export LC_ALL=C
CC=${LIBCARE_CC:-gcc}
PLUGIN=${LIBCARE_PLUGIN:?set LIBCARE_PLUGIN to build/lib/libcare.so}
GENSRC=${LIBCARE_GENSRC:-}
SRC=$(cd "$(dirname "$0")/src" && pwd)
WORK=$(mktemp -d /tmp/lc-plugin-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
finish() { [ "$FAILS" -eq 0 ] && echo "all passed" && exit 0; echo "$FAILS failure(s)" >&2; exit 1; }

# cc_orig/cc_patched FLAGS... : compile with the plugin at a stage
cc_orig() { "$CC" -fplugin="$PLUGIN" -fplugin-arg-libcare-stage=original "$@"; }
cc_patched() { "$CC" -fplugin="$PLUGIN" -fplugin-arg-libcare-stage=patched "$@"; }

# layout FILE: "name address size" of every allocated, non-empty section
# (empty ones such as .tm_clone_table come and go with -Wl,-q).
layout() {
	readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] //p' |
		awk '$1 !~ /^\.kpatch/ && $7 ~ /A/ && $5 != "000000" { print $1, $3, $5 }'
}

# symbols FILE: "name value size" of every symbol not of the .kpatch sections
syms() {
	nm -S "$1" | grep -v -e 'kpatch' -e ' [UwN] ' -e ' \.LC[0-9]' \
		-e ' __TMC_LIST__$' -e ' _edata$' -e ' __bss_start$' | sort
}
