# source-tree.sh - sourced by the packaging tests: lc_source_tree SRCDIR DEST
# puts LibCare's source tree into DEST (a new directory) the way a release
# tarball would hold it.  From a git checkout: the committed tree (HEAD), so
# that half-edited files of the working tree do not end up in a package;
# LIBCARE_PACKAGE_WORKTREE=1 (or no git) takes the working tree instead,
# without build directories.
lc_source_tree() {
	local srcdir=$1 dest=$2
	mkdir -p "$dest"
	if [[ ${LIBCARE_PACKAGE_WORKTREE:-0} != 1 ]] && git -C "$srcdir" rev-parse --verify -q HEAD >/dev/null 2>&1; then
		echo "source: $srcdir at $(git -C "$srcdir" rev-parse --short HEAD) (committed tree)"
		git -C "$srcdir" archive --format=tar HEAD | tar xf - -C "$dest"
	else
		echo "source: $srcdir (working tree)"
		tar cf - -C "$srcdir" --exclude=./build --exclude='./build-*' --exclude=./.git \
			--exclude=./debian . | tar xf - -C "$dest"
	fi
}
