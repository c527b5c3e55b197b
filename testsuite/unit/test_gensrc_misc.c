/*
 * test_gensrc_misc.c - the plugin's helpers around the comparison: the
 * DWARF producer string loses exactly our options, and the store path.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asm.h"
#include "test.h"

static char *clean(const char *text, const char *plugin, int *n)
{
	struct lc_buf b = LC_BUF_INIT;
	lc_buf_adds(&b, text);
	*n = lc_producer_clean(&b, plugin);
	return b.data;
}

int main(void)
{
	int n;
	char *s = clean("\t.string\t\"GNU C17 12.2.0 -mtune=generic -g -O2 -fplugin=/x/libcare.so "
			"-fplugin-arg-libcare-stage=original -fPIC\"\n\t.long\t5\n", "/x/libcare.so", &n);
	CHECK_STR(s, "\t.string\t\"GNU C17 12.2.0 -mtune=generic -g -O2 -fPIC\"\n\t.long\t5\n");
	CHECK(n == 2);
	free(s);
	/* other plugins' options and non-producer strings stay */
	s = clean("\t.string\t\"GNU C17 12.2.0 -fplugin=/y/annobin.so -fplugin-arg-annobin-x "
		  "-fplugin-arg-libcare-store=/s\"\n\t.string\t\"-fplugin=/x/libcare.so\"\n", NULL, &n);
	CHECK_STR(s, "\t.string\t\"GNU C17 12.2.0 -fplugin=/y/annobin.so -fplugin-arg-annobin-x\"\n"
		  "\t.string\t\"-fplugin=/x/libcare.so\"\n");
	CHECK(n == 1);
	free(s);

	struct lc_buf p = LC_BUF_INIT;
	lc_store_path(&p, NULL, "out/x");
	CHECK_STR(p.data, "out/x.libcare.s");
	lc_buf_reset(&p);
	lc_store_path(&p, "/st", "/src/out/x");
	CHECK_STR(p.data, "/st/%src%out%x.s");
	lc_buf_reset(&p);
	lc_store_path(&p, "/st", "x");
	char *cwd = getcwd(NULL, 0);
	CHECK(p.data[0] == '/' && strstr(p.data, "%x.s") && strlen(p.data) == 4 + strlen(cwd) + 4);
	free(cwd);

	/* atomic write leaves no temporary behind */
	char dir[] = "/tmp/lcstoreXXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	lc_buf_reset(&p);
	lc_buf_addf(&p, "%s/a.s", dir);
	struct lc_buf err = LC_BUF_INIT, back = LC_BUF_INIT;
	CHECK(lc_store_write(p.data, "text\n", 5, &err) == 0);
	CHECK(lc_buf_read_file(&back, p.data) == 0 && back.len == 5);
	CHECK(lc_store_write("/nonexistent-dir/a.s", "x", 1, &err) < 0 && strstr(err.data, "cannot create"));
	unlink(p.data);
	CHECK(rmdir(dir) == 0);   /* fails if a temporary was left */
	lc_buf_free(&p);
	lc_buf_free(&err);
	lc_buf_free(&back);

	/* variable types (asm_vars.c): the same type is no change, another is
	 * refused with the name and both layouts; a local static is named with
	 * its function; texts without records are not checked */
	{
		const char *o = "f:\n\tret\n# libcare:var st struct{a:i32@0;b:i32@32}\n"
				"# libcare:var f::calls i32\n";
		const char *same = "# libcare:var f::calls i32\n"
				   "# libcare:var st struct{a:i32@0;b:i32@32}\n# libcare:var new i8\n";
		const char *swapped = "# libcare:var st struct{b:i32@0;a:i32@32}\n";
		const char *local = "# libcare:var f::calls u32\n";
		struct lc_buf e = LC_BUF_INIT;
		CHECK(lc_vars_compare(o, strlen(o), same, strlen(same), &e) == 0 && !e.len);
		CHECK(lc_vars_compare(o, strlen(o), swapped, strlen(swapped), &e) < 0);
		CHECK_STR(e.data, "data object 'st' changed type (struct{a:i32@0;b:i32@32} -> "
			  "struct{b:i32@0;a:i32@32}): cannot be live-patched");
		lc_buf_reset(&e);
		CHECK(lc_vars_compare(o, strlen(o), local, strlen(local), &e) < 0);
		CHECK_STR(e.data, "static variable 'calls' of function 'f' changed type (i32 -> u32): "
			  "cannot be live-patched");
		lc_buf_reset(&e);
		CHECK(lc_vars_compare("f:\n", 3, swapped, strlen(swapped), &e) == 0);
		/* a key that is a prefix of another is not confused with it */
		const char *o2 = "# libcare:var stx i32\n", *p2 = "# libcare:var st i64\n";
		CHECK(lc_vars_compare(o2, strlen(o2), p2, strlen(p2), &e) == 0);
		lc_buf_free(&e);
	}
	return TEST_DONE();
}
