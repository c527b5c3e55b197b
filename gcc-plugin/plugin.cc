/*
 * plugin.cc - libcare.so, the thin C++ shim between GCC and the C core.
 *
 * It hooks GCC at four points and otherwise hands text to the core:
 *   START_UNIT        asm_out_file -> a memory stream (the real FILE* kept);
 *   ALL_PASSES_START/END
 *                     boundary comments around one function's whole output
 *                     (its literals and jump tables included);
 *   FINISH_UNIT       stage=original: the text went on to the real file and
 *                     the store as it came (capture.c, tee); stage=patched:
 *                     the text kept in memory without its DWARF lines,
 *                     producer string cleaned, goes through lc_gensrc_fd
 *                     against the stored original, which goes to the real
 *                     file as it is read, followed by the .kpatch sections;
 *   FINISH            a capture still open (compile errors) is closed.
 * See docs/plugin.md and /work/shared/GCC-PLUGIN-NOTES.md for the traps.
 */
#include "gcc-plugin.h"
#include "plugin-version.h"
#include "tree.h"
#include "function.h"
#include "output.h"
#include "options.h"
#include "diagnostic-core.h"
#include "opts.h"
#include "toplev.h"
#include "cgraph.h"
#include "stor-layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "asm.h"

int plugin_is_GPL_compatible;

/* Seconds an original object may be newer than its store entry (the
 * assembler runs after cc1 wrote the store). */
#define LC_STORE_SLACK_S 30

enum capture_stage { STAGE_NONE, STAGE_ORIGINAL, STAGE_PATCHED };

static struct {
	enum capture_stage stage;
	const char *store_dir;
	const char *plugin_path;
	int verbose;
	int active;         /* asm_out_file is our memory stream */
	int in_func;
	FILE *real;         /* GCC's asm_out_file */
	struct lc_capture c;        /* what GCC writes to meanwhile */
	FILE *store;        /* stage=original: the store's temporary file */
	struct lc_buf store_path, store_tmp;
	char *func;
} cap;

/* Boundary comments must start a line; GCC always ends its lines, but do
 * not rely on it. */
static void capture_mark(const char *mark, const char *name)
{
	fflush(cap.c.f);
	if (cap.c.last != '\n')
		fputc('\n', cap.c.f);
	fprintf(cap.c.f, "%s%s\n", mark, name);
}

static void capture_func_end(void)
{
	if (!cap.in_func)
		return;
	capture_mark(LC_MARK_END, cap.func);
	free(cap.func);
	cap.func = NULL;
	cap.in_func = 0;
}

static void on_start_unit(void *gcc_data, void *user_data)
{
	if (in_lto_p) {
		error("libcare: cannot run in lto1 (link-time optimisation): build without %<-flto%>");
		return;
	}
	if (flag_generate_lto && !flag_fat_lto_objects) {
		error("libcare: %<-flto%> without %<-ffat-lto-objects%> emits no assembly to "
		      "patch; build without %<-flto%> or add %<-ffat-lto-objects%>");
		return;
	}
	if (!asm_out_file)
		return;   /* -fsyntax-only and the like */
	if (cap.store_dir && *cap.store_dir && mkdir(cap.store_dir, 0777) < 0 && errno != EEXIST)
		error_at(UNKNOWN_LOCATION, "libcare: cannot create store directory %s: %m", cap.store_dir);
	lc_buf_reset(&cap.store_path);
	lc_store_path(&cap.store_path, cap.store_dir, aux_base_name ? aux_base_name : dump_base_name);
	if (cap.stage == STAGE_ORIGINAL) {
		struct lc_buf err = LC_BUF_INIT;
		cap.store = lc_store_open(cap.store_path.data, &cap.store_tmp, &err);
		if (!cap.store) {
			error_at(UNKNOWN_LOCATION, "libcare: cannot record the original assembly of %s: %s",
				 main_input_filename, err.data);
			lc_buf_free(&err);
			return;
		}
		if (lc_capture_tee(&cap.c, asm_out_file, cap.store, cap.plugin_path) < 0) {
			error("libcare: cannot capture the assembly of %s: %m", main_input_filename);
			lc_store_abort(cap.store, cap.store_tmp.data);
			cap.store = NULL;
			return;
		}
	} else if (lc_capture_mem(&cap.c) < 0) {
		error("libcare: cannot capture the assembly of %s: %m", main_input_filename);
		lc_capture_free(&cap.c);
		return;
	}
	cap.real = asm_out_file;
	asm_out_file = cap.c.f;
	cap.active = 1;
}

static void on_all_passes_start(void *gcc_data, void *user_data)
{
	if (!cap.active || asm_out_file != cap.c.f || !current_function_decl)
		return;
	capture_func_end();
	const char *name = IDENTIFIER_POINTER(DECL_ASSEMBLER_NAME(current_function_decl));
	if (name[0] == '*')
		name++;
	cap.func = xstrdup(name);
	cap.in_func = 1;
	capture_mark(LC_MARK_BEGIN, name);
}

static void on_all_passes_end(void *gcc_data, void *user_data)
{
	if (cap.active && asm_out_file == cap.c.f)
		capture_func_end();
}

/* The core's report: warnings always, the rest with verbose. */
static void report_lines(const struct lc_buf *report)
{
	if (!report->len)
		return;
	const char *p = report->data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		if (!strncmp(p, "warning: ", 9))
			warning_at(UNKNOWN_LOCATION, 0, "libcare: %s: %.*s", main_input_filename,
				   n - 9, p + 9);
		else if (cap.verbose)
			inform(UNKNOWN_LOCATION, "libcare: %s: %.*s", main_input_filename, n, p);
		p += n + (nl ? 1 : 0);
	}
}

/* stage=original: the text went to the store as GCC wrote it (the tee);
 * the temporary file takes the store's name now that it is whole. */
static void finish_original(void)
{
	struct lc_buf err = LC_BUF_INIT;
	if (lc_store_commit(cap.store, cap.store_tmp.data, cap.store_path.data, cap.c.store_err != 0,
			    &err) < 0)
		error_at(UNKNOWN_LOCATION, "libcare: cannot record the original assembly of %s: %s",
		      main_input_filename, err.data);
	else if (cap.verbose)
		inform(UNKNOWN_LOCATION, "libcare: recorded %s in %s", main_input_filename,
		       cap.store_path.data);
	cap.store = NULL;
	lc_buf_free(&err);
}

/*
 * The original object is written by the assembler right after cc1 wrote
 * its assembly to the store.  An object much newer than the store entry was
 * not made by that compile: restored from a cache (ccache never runs cc1 on
 * a hit), or built without the plugin afterwards; the recorded assembly may
 * then be of another version of the source.  Only `-o DIR/NAME.o` objects
 * (aux_base_name + ".o") are checked.
 */
static int store_is_stale(const char *store)
{
	struct stat so, ss;
	if (!aux_base_name)
		return 0;
	char *obj = concat(aux_base_name, ".o", NULL);
	int stale = stat(obj, &so) == 0 && stat(store, &ss) == 0 &&
		    so.st_mtime > ss.st_mtime + LC_STORE_SLACK_S;
	if (stale)
		error_at(UNKNOWN_LOCATION, "libcare: the original object %s is %ld s newer than its "
			 "recorded assembly %s: it was not made by the compile that recorded it "
			 "(a compiler cache hit? ccache: %<CCACHE_DISABLE=1%>) - rebuild the original "
			 "with stage=original (or touch %s if the object was only post-processed)",
			 obj, (long)(so.st_mtime - ss.st_mtime), store, store);
	free(obj);
	return stale;
}

/* stage=patched: the original text, read from the store as it goes out
 * to the real file, plus the .kpatch sections (when the unit cannot be
 * patched the compile fails, whatever the file holds). */
static void finish_patched(const char *text, size_t len, const char *store)
{
	struct lc_buf report = LC_BUF_INIT, err = LC_BUF_INIT;
	int fd = open(store, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_at(UNKNOWN_LOCATION, "libcare: no original assembly recorded for %s in %s: build the "
			 "original with stage=original first; if it was, its compile did not run "
			 "this plugin - a compiler cache hit (ccache: set %<CCACHE_DISABLE=1%>), another "
			 "compiler (clang cannot load a GCC plugin) or flags dropped by the build",
			 aux_base_name, store);
	} else if (store_is_stale(store)) {
		/* error given */
	} else if (lc_gensrc_fd(fd, text, len, asm_out_file, &report, &err) < 0) {
		report_lines(&report);
		error_at(UNKNOWN_LOCATION, "libcare: %s: %s", main_input_filename, err.data);
	} else {
		report_lines(&report);
		/* The object this compile writes replaces the original one: a
		 * rebuild of the patched stage must not take it for a cached
		 * original (store_is_stale). */
		utime(store, NULL);
	}
	if (fd >= 0)
		close(fd);
	lc_buf_free(&report);
	lc_buf_free(&err);
}

/*
 * The layout of a type, for the "# libcare:var" lines (asm_vars.c):
 * i32/u8/f64/bool, struct{name:TYPE@bitpos;...}, union{...}, TYPE[n],
 * *NAME for pointers (the pointee by name only: no recursion), enumN.
 */
static void type_sig(struct lc_buf *out, tree t, int depth)
{
	if (!t || t == error_mark_node) {
		lc_buf_adds(out, "?");
		return;
	}
	t = TYPE_MAIN_VARIANT(t);
	switch (TREE_CODE(t)) {
	case INTEGER_TYPE:
		lc_buf_addf(out, "%c%d", TYPE_UNSIGNED(t) ? 'u' : 'i', (int)TYPE_PRECISION(t));
		return;
	case BOOLEAN_TYPE:
		lc_buf_addf(out, "bool%d", (int)TYPE_PRECISION(t));
		return;
	case ENUMERAL_TYPE:
		lc_buf_addf(out, "enum%c%d", TYPE_UNSIGNED(t) ? 'u' : 'i', (int)TYPE_PRECISION(t));
		return;
	case REAL_TYPE:
		lc_buf_addf(out, "f%d", (int)TYPE_PRECISION(t));
		return;
	case POINTER_TYPE:
	case REFERENCE_TYPE: {
		tree p = TYPE_MAIN_VARIANT(TREE_TYPE(t));
		tree n = TYPE_NAME(p);
		if (n && TREE_CODE(n) == TYPE_DECL)
			n = DECL_NAME(n);
		lc_buf_adds(out, "*");
		if (n && TREE_CODE(n) == IDENTIFIER_NODE)
			lc_buf_addf(out, "%s%s", TREE_CODE(p) == RECORD_TYPE ? "struct " :
				    TREE_CODE(p) == UNION_TYPE ? "union " : "", IDENTIFIER_POINTER(n));
		else if (depth < 4 && TREE_CODE(p) != RECORD_TYPE && TREE_CODE(p) != UNION_TYPE)
			type_sig(out, p, depth + 1);
		else
			lc_buf_adds(out, "anon");
		return;
	}
	case ARRAY_TYPE: {
		type_sig(out, TREE_TYPE(t), depth + 1);
		tree sz = TYPE_SIZE_UNIT(t), esz = TYPE_SIZE_UNIT(TREE_TYPE(t));
		if (sz && esz && tree_fits_uhwi_p(sz) && tree_fits_uhwi_p(esz) && tree_to_uhwi(esz))
			lc_buf_addf(out, "[%lu]", (unsigned long)(tree_to_uhwi(sz) / tree_to_uhwi(esz)));
		else
			lc_buf_adds(out, "[]");
		return;
	}
	case RECORD_TYPE:
	case UNION_TYPE: {
		lc_buf_adds(out, TREE_CODE(t) == RECORD_TYPE ? "struct{" : "union{");
		int first = 1;
		for (tree f = TYPE_FIELDS(t); f; f = DECL_CHAIN(f)) {
			if (TREE_CODE(f) != FIELD_DECL)
				continue;
			if (!first)
				lc_buf_adds(out, ";");
			first = 0;
			lc_buf_addf(out, "%s:", DECL_NAME(f) ? IDENTIFIER_POINTER(DECL_NAME(f)) : "");
			if (depth < 8)
				type_sig(out, TREE_TYPE(f), depth + 1);
			if (DECL_BIT_FIELD(f) && DECL_SIZE(f) && tree_fits_uhwi_p(DECL_SIZE(f)))
				lc_buf_addf(out, ":%lu", (unsigned long)tree_to_uhwi(DECL_SIZE(f)));
			if (DECL_FIELD_OFFSET(f) && tree_fits_shwi_p(DECL_FIELD_OFFSET(f)))
				lc_buf_addf(out, "@%ld", (long)int_bit_position(f));
		}
		lc_buf_adds(out, "}");
		return;
	}
	default:
		lc_buf_addf(out, "%s", get_tree_code_name(TREE_CODE(t)));
		if (TYPE_SIZE_UNIT(t) && tree_fits_uhwi_p(TYPE_SIZE_UNIT(t)))
			lc_buf_addf(out, "%lu", (unsigned long)tree_to_uhwi(TYPE_SIZE_UNIT(t)));
		return;
	}
}

/* "# libcare:var KEY TYPE" for every variable the unit defines, after
 * the text written so far (`last`: its last byte). */
static void vars_record(struct lc_buf *text, char last)
{
	varpool_node *v;
	if (last != '\n')
		lc_buf_adds(text, "\n");
	FOR_EACH_DEFINED_VARIABLE(v) {
		tree d = v->decl;
		if (!DECL_NAME(d) || DECL_ARTIFICIAL(d))
			continue;
		lc_buf_adds(text, LC_MARK_VAR);
		tree ctx = DECL_CONTEXT(d);
		if (ctx && TREE_CODE(ctx) == FUNCTION_DECL) {
			const char *fn = IDENTIFIER_POINTER(DECL_ASSEMBLER_NAME(ctx));
			lc_buf_addf(text, "%s::%s ", fn[0] == '*' ? fn + 1 : fn,
				    IDENTIFIER_POINTER(DECL_NAME(d)));
		} else {
			const char *an = IDENTIFIER_POINTER(DECL_ASSEMBLER_NAME(d));
			lc_buf_addf(text, "%s ", an[0] == '*' ? an + 1 : an);
		}
		type_sig(text, TREE_TYPE(d), 0);
		lc_buf_adds(text, "\n");
	}
}

static void on_finish_unit(void *gcc_data, void *user_data)
{
	if (!cap.active)
		return;
	capture_func_end();
	struct lc_buf vars = LC_BUF_INIT;
	fflush(cap.c.f);
	vars_record(&vars, cap.c.last);
	fwrite(vars.data, 1, vars.len, cap.c.f);
	lc_buf_free(&vars);
	asm_out_file = cap.real;
	cap.active = 0;
	lc_capture_close(&cap.c);   /* stage=original: the last line goes out */
	if (cap.stage == STAGE_ORIGINAL) {
		finish_original();
	} else {
		size_t len = lc_producer_clean_text(cap.c.kept.text, cap.c.kept.len, cap.plugin_path,
						    NULL);
		finish_patched(cap.c.kept.text, len, cap.store_path.data);
	}
	lc_capture_free(&cap.c);
}

/* After a compile error FINISH_UNIT never came: GCC has closed (or will
 * never use) our stream; the real file is ours to close, the store's
 * temporary file is removed. */
static void on_finish(void *gcc_data, void *user_data)
{
	capture_func_end();
	if (!cap.active)
		return;
	if (asm_out_file == cap.c.f) {
		lc_capture_close(&cap.c);
		asm_out_file = NULL;
	} else {
		cap.c.f = NULL;     /* GCC closed it */
	}
	lc_capture_free(&cap.c);
	if (cap.store)
		lc_store_abort(cap.store, cap.store_tmp.data);
	cap.store = NULL;
	if (cap.real && cap.real != stdout)
		fclose(cap.real);
	cap.real = NULL;
	cap.active = 0;
}

/*
 * With -g, DW_AT_producer lists the command line.  Text surgery on the
 * string alone is not enough: .debug_str is written in hash-table order, so
 * a longer producer string also moves other strings.  Our options are
 * therefore hidden from GCC's record of the command line (the producer and
 * -frecord-gcc-switches read it) before anything is emitted; the text pass
 * in producer.c stays as a safety net.
 */
static void options_hide_ours(const struct plugin_name_args *info)
{
	size_t blen = strlen(info->base_name);
	for (unsigned i = 0; i < save_decoded_options_count; i++) {
		struct cl_decoded_option *o = &save_decoded_options[i];
		const char *arg = o->arg;
		if (!arg)
			continue;
		if (o->opt_index == OPT_fplugin_arg_ && !strncmp(arg, info->base_name, blen) &&
		    arg[blen] == '-')
			o->opt_index = OPT_SPECIAL_ignore;
		else if (o->opt_index == OPT_fplugin_ && (!strcmp(arg, info->full_name) ||
			 !strcmp(arg, info->base_name) ||
			 !strcmp(lbasename(arg), "libcare.so")))
			o->opt_index = OPT_SPECIAL_ignore;
	}
}

static struct plugin_info libcare_info = {
	"0.1",
	"-fplugin-arg-libcare-stage=original|patched (else $LIBCARE_STAGE; none: do nothing)\n"
	"-fplugin-arg-libcare-store=DIR (else $LIBCARE_STORE; default: beside the object)\n"
	"-fplugin-arg-libcare-verbose (report changed functions)"
};

int plugin_init(struct plugin_name_args *info, struct plugin_gcc_version *version)
{
	const char *stage = NULL;
	if (!plugin_default_version_check(version, &gcc_version)) {
		error("libcare: plugin %s was built for another GCC (%s); rebuild it",
		      info->full_name, gcc_version.basever);
		return 1;
	}
	cap.plugin_path = info->full_name;
	for (int i = 0; i < info->argc; i++) {
		const char *key = info->argv[i].key, *val = info->argv[i].value;
		if (!strcmp(key, "stage") && val)
			stage = val;
		else if (!strcmp(key, "store") && val)
			cap.store_dir = val;
		else if (!strcmp(key, "verbose") && !val)
			cap.verbose = 1;
		else {
			error("libcare: unknown argument %<-fplugin-arg-%s-%s%s%s%>", info->base_name,
			      key, val ? "=" : "", val ? val : "");
			return 1;
		}
	}
	if (!stage)
		stage = getenv("LIBCARE_STAGE");
	if (!cap.store_dir)
		cap.store_dir = getenv("LIBCARE_STORE");
	/* Loaded without a stage (libcare.specs in an ordinary build): the
	 * object must still be a plain build's, DW_AT_producer included. */
	options_hide_ours(info);
	if (!stage || !*stage)
		return 0;
	if (!strcmp(stage, "original"))
		cap.stage = STAGE_ORIGINAL;
	else if (!strcmp(stage, "patched"))
		cap.stage = STAGE_PATCHED;
	else {
		error("libcare: unknown stage %qs (use original or patched)", stage);
		return 1;
	}
	register_callback(info->base_name, PLUGIN_INFO, NULL, &libcare_info);
	register_callback(info->base_name, PLUGIN_START_UNIT, on_start_unit, NULL);
	register_callback(info->base_name, PLUGIN_ALL_PASSES_START, on_all_passes_start, NULL);
	register_callback(info->base_name, PLUGIN_ALL_PASSES_END, on_all_passes_end, NULL);
	register_callback(info->base_name, PLUGIN_FINISH_UNIT, on_finish_unit, NULL);
	register_callback(info->base_name, PLUGIN_FINISH, on_finish, NULL);
	return 0;
}
