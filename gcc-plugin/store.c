/*
 * store.c - where the original stage keeps a unit's assembly so that the
 * patched stage, compiling the same unit in the same tree after the source
 * patch, finds it.  The key is GCC's aux_base_name ("out/x" for
 * `-c x.c -o out/x.o`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asm.h"

void lc_store_path(struct lc_buf *path, const char *dir, const char *aux_base)
{
	if (!dir || !*dir) {
		lc_buf_addf(path, "%s.libcare.s", aux_base);
		return;
	}
	struct lc_buf key = LC_BUF_INIT;
	if (aux_base[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		lc_buf_adds(&key, cwd ? cwd : ".");
		lc_buf_adds(&key, "/");
		free(cwd);
	}
	lc_buf_adds(&key, aux_base);
	for (size_t i = 0; i < key.len; i++)
		if (key.data[i] == '/')
			key.data[i] = '%';
	lc_buf_addf(path, "%s/%s.s", dir, key.data);
	lc_buf_free(&key);
}

FILE *lc_store_open(const char *path, struct lc_buf *tmp, struct lc_buf *err)
{
	lc_buf_reset(tmp);
	lc_buf_addf(tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp->data, "w");
	if (!f)
		lc_buf_addf(err, "cannot create %s: %s", tmp->data, strerror(errno));
	return f;
}

int lc_store_commit(FILE *f, const char *tmp, const char *path, int werr, struct lc_buf *err)
{
	werr = werr || ferror(f);
	if (fclose(f) != 0 || werr) {
		lc_buf_addf(err, "cannot write %s: %s", tmp, strerror(errno ? errno : EIO));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		lc_buf_addf(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void lc_store_abort(FILE *f, const char *tmp)
{
	fclose(f);
	unlink(tmp);
}

int lc_store_write(const char *path, const char *text, size_t len, struct lc_buf *err)
{
	struct lc_buf tmp = LC_BUF_INIT;
	FILE *f = lc_store_open(path, &tmp, err);
	int ret = -1;
	if (f) {
		errno = 0;
		int werr = fwrite(text, 1, len, f) != len;
		ret = lc_store_commit(f, tmp.data, path, werr, err);
	}
	lc_buf_free(&tmp);
	return ret;
}
