/*
 * trust.c - may a root tool act on this file?  The checks sshd's StrictModes
 * makes: the file and every directory above it belong to root (or the
 * effective user, who may act on their own processes anyway) and nobody
 * else can write them; a world-writable sticky directory (/tmp) passes,
 * because only the owner of an entry in it can replace the entry.
 * Files are opened without following a final symlink and without blocking
 * (a FIFO planted as a patch would hang the reader), and size-capped
 * before they are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libcare/trust.h"

static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static const char *kind(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "symbolic link"
	       : S_ISFIFO(m) ? "FIFO" : S_ISSOCK(m) ? "socket" : S_ISCHR(m) ? "character device"
	       : S_ISBLK(m) ? "block device" : "special file";
}

/* One path component (already resolved): owner and mode. */
static int trust_one(const char *p, const struct stat *st, int last, char *why, size_t why_len)
{
	if (!owner_ok(st->st_uid)) {
		snprintf(why, why_len, "%s is owned by uid %u, not by root%s (mode %04o): not trusted",
			 p, (unsigned)st->st_uid, geteuid() ? " or you" : "",
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		if (!last && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
			return 0;       /* sticky: the next entry's owner decides */
		snprintf(why, why_len, "%s is writable by %s (mode %04o): not trusted", p,
			 (st->st_mode & S_IWOTH) ? "others" : "its group",
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Every directory from / down to `dir` (resolved, absolute). */
static int trust_dirs(const char *dir, char *why, size_t why_len)
{
	char p[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);
	if (n >= sizeof(p) || dir[0] != '/') {
		snprintf(why, why_len, "%s: not an absolute path", dir);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && dir[i] != '/')
			continue;
		if (i == 0) {
			strcpy(p, "/");
		} else {
			if (dir[i - 1] == '/')
				continue;       /* "/" itself again, or "//" */
			memcpy(p, dir, i);
			p[i] = '\0';
		}
		if (lstat(p, &st) != 0) {
			snprintf(why, why_len, "%s: %s", p, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, why_len, "%s is a %s, not a directory", p, kind(st.st_mode));
			return -1;
		}
		if (trust_one(p, &st, 0, why, why_len) != 0)
			return -1;
	}
	return 0;
}

/* The resolved directory of `path` and its last component. */
static int trust_split(const char *path, char *dir, char *base, char *why, size_t why_len)
{
	char tmp[PATH_MAX];
	if (strlen(path) >= sizeof(tmp) || !*path) {
		snprintf(why, why_len, "%s: bad path", path);
		return -1;
	}
	strcpy(tmp, path);
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *slash = strrchr(tmp, '/');
	const char *b = slash ? slash + 1 : tmp;
	if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) {
		/* "/", "dir/.", "..": resolve it whole */
		if (!realpath(tmp, dir)) {
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
			return -1;
		}
		base[0] = '\0';
		return 0;
	}
	snprintf(base, NAME_MAX + 1, "%s", b);
	if (slash == tmp)
		strcpy(tmp, "/");
	else if (slash)
		*slash = '\0';
	else
		strcpy(tmp, ".");
	if (!realpath(tmp, dir)) {
		snprintf(why, why_len, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

int lc_trust_path(const char *path, char *why, size_t why_len)
{
	char dir[PATH_MAX], base[NAME_MAX + 1], full[PATH_MAX + NAME_MAX + 2];
	struct stat st;

	if (why_len)
		why[0] = '\0';
	if (trust_split(path, dir, base, why, why_len) != 0 || trust_dirs(dir, why, why_len) != 0)
		return -1;
	if (!base[0])
		return 0;
	snprintf(full, sizeof(full), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base);
	if (lstat(full, &st) != 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		/* the link's target must pass too, and the link is in a trusted
		 * directory (checked above) */
		char target[PATH_MAX];
		if (!realpath(full, target)) {
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
			return -1;
		}
		return lc_trust_path(target, why, why_len);
	}
	return trust_one(full, &st, 1, why, why_len);
}

int lc_trust_read(const char *path, size_t max, struct lc_buf *out, char *why, size_t why_len)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	struct stat st;

	if (why_len)
		why[0] = '\0';
	if (trust_split(path, dir, base, why, why_len) != 0 || trust_dirs(dir, why, why_len) != 0)
		return -1;
	if (!base[0]) {
		snprintf(why, why_len, "%s is a directory, not a file", path);
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(why, why_len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int err = errno;
	close(dfd);
	if (fd < 0) {
		if (err == ELOOP)
			snprintf(why, why_len, "%s is a symbolic link (not followed for a file read as "
				 "root: name the file itself)", path);
		else
			snprintf(why, why_len, "%s: %s", path, strerror(err));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "%s is a %s, not a regular file", path, kind(st.st_mode));
		close(fd);
		return -1;
	}
	if (trust_one(path, &st, 1, why, why_len) != 0) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(why, why_len, "%s is too large (%lld bytes, at most %zu)", path,
			 (long long)st.st_size, max);
		close(fd);
		return -1;
	}
	lc_buf_reset(out);
	lc_buf_grow(out, (size_t)st.st_size);
	for (;;) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			snprintf(why, why_len, "%s grew beyond %zu bytes while read", path, max);
			close(fd);
			return -1;
		}
		lc_buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

char *lc_escape(const char *s, size_t max, char *out, size_t out_len)
{
	size_t o = 0;
	if (!out_len)
		return out;
	for (size_t i = 0; i < max && s[i] && o + 5 < out_len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (c == '\n' || c == '\t' || c == '\r') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}
