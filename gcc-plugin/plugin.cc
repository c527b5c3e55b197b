/*
 * plugin.cc - libcare.so, the thin C++ shim between GCC and the C core.
 *
 * It hooks GCC at four points and otherwise hands text to the core:
 *   START_UNIT        asm_out_file -> a memory stream (the real FILE* kept);
 *   ALL_PASSES_START/END
 *                     boundary comments around one function's whole output
 *                     (its literals and jump tables included);
 *   FINISH_UNIT       the captured text, producer string cleaned, goes to the
 *                     store (stage=original) or through lc_gensrc against the
 *                     stored original (stage=patched), then to the real file;
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
#include <sys/stat.h>
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
	FILE *mem;
	char *mem_buf;
	size_t mem_size;
	char *func;
} cap;

/* Boundary comments must start a line; GCC always ends its lines, but do
 * not rely on it. */
static void capture_mark(const char *mark, const char *name)
{
	fflush(cap.mem);
	if (cap.mem_size && cap.mem_buf[cap.mem_size - 1] != '\n')
		fputc('\n', cap.mem);
	fprintf(cap.mem, "%s%s\n", mark, name);
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
	cap.mem = open_memstream(&cap.mem_buf, &cap.mem_size);
	if (!cap.mem) {
		error("libcare: cannot capture the assembly of %s: %m", main_input_filename);
		return;
	}
	cap.real = asm_out_file;
	asm_out_file = cap.mem;
	cap.active = 1;
}

static void on_all_passes_start(void *gcc_data, void *user_data)
{
	if (!cap.active || asm_out_file != cap.mem || !current_function_decl)
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
	if (cap.active && asm_out_file == cap.mem)
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

/* stage=original: the store gets the text, GCC the same text. */
static void finish_original(struct lc_buf *text, const char *store)
{
	struct lc_buf err = LC_BUF_INIT;
	if (lc_store_write(store, text->data, text->len, &err) < 0)
		error_at(UNKNOWN_LOCATION, "libcare: cannot record the original assembly of %s: %s",
		      main_input_filename, err.data);
	else if (cap.verbose)
		inform(UNKNOWN_LOCATION, "libcare: recorded %s in %s", main_input_filename, store);
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

/* stage=patched: text becomes the original text plus the .kpatch sections. */
static void finish_patched(struct lc_buf *text, const char *store)
{
	struct lc_buf orig = LC_BUF_INIT, out = LC_BUF_INIT, report = LC_BUF_INIT;
	struct lc_buf err = LC_BUF_INIT;
	if (lc_buf_read_file(&orig, store) < 0) {
		error_at(UNKNOWN_LOCATION, "libcare: no original assembly recorded for %s in %s: build the "
			 "original with stage=original first; if it was, its compile did not run "
			 "this plugin - a compiler cache hit (ccache: set %<CCACHE_DISABLE=1%>), another "
			 "compiler (clang cannot load a GCC plugin) or flags dropped by the build",
			 aux_base_name, store);
	} else if (store_is_stale(store)) {
		/* error given */
	} else if (lc_gensrc(orig.data, orig.len, text->data, text->len, &out, &report, &err) < 0) {
		report_lines(&report);
		error_at(UNKNOWN_LOCATION, "libcare: %s: %s", main_input_filename, err.data);
	} else {
		report_lines(&report);
		/* The object this compile writes replaces the original one: a
		 * rebuild of the patched stage must not take it for a cached
		 * original (store_is_stale). */
		utime(store, NULL);
		lc_buf_free(text);
		*text = out;
		out = (struct lc_buf)LC_BUF_INIT;
	}
	lc_buf_free(&orig);
	lc_buf_free(&out);
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

/* "# libcare:var KEY TYPE" for every variable the unit defines. */
static void vars_record(struct lc_buf *text)
{
	varpool_node *v;
	if (text->len && text->data[text->len - 1] != '\n')
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
	fflush(cap.mem);
	struct lc_buf text = LC_BUF_INIT, store = LC_BUF_INIT;
	lc_buf_add(&text, cap.mem_buf, cap.mem_size);
	asm_out_file = cap.real;
	fclose(cap.mem);
	free(cap.mem_buf);
	cap.mem = NULL;
	cap.mem_buf = NULL;
	cap.active = 0;

	vars_record(&text);
	lc_producer_clean(&text, cap.plugin_path);
	if (cap.store_dir && *cap.store_dir && mkdir(cap.store_dir, 0777) < 0 && errno != EEXIST)
		error_at(UNKNOWN_LOCATION, "libcare: cannot create store directory %s: %m", cap.store_dir);
	lc_store_path(&store, cap.store_dir, aux_base_name ? aux_base_name : dump_base_name);
	if (cap.stage == STAGE_ORIGINAL)
		finish_original(&text, store.data);
	else
		finish_patched(&text, store.data);
	fwrite(text.data, 1, text.len, asm_out_file);
	lc_buf_free(&text);
	lc_buf_free(&store);
}

/* After a compile error FINISH_UNIT never came: GCC has closed (or will
 * never use) our stream; the real file is ours to close. */
static void on_finish(void *gcc_data, void *user_data)
{
	capture_func_end();
	if (!cap.active)
		return;
	if (asm_out_file == cap.mem) {
		fclose(cap.mem);
		asm_out_file = NULL;
	}
	free(cap.mem_buf);
	if (cap.real && cap.real != stdout)
		fclose(cap.real);
	cap.real = NULL;
	cap.mem = NULL;
	cap.mem_buf = NULL;
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
