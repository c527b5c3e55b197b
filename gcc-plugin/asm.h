/*
 * asm.h - the plugin's C core: GCC assembly text of one translation unit,
 * parsed into function slices, data objects and literals; compared with
 * the unit's original build; emitted as .kpatch.* sections.
 *
 * No GCC header here: the core is shared by the plugin shim (plugin.cc)
 * and the libcare-gensrc command, and unit-tested on plain text.
 */
#ifndef LIBCARE_GCC_PLUGIN_ASM_H
#define LIBCARE_GCC_PLUGIN_ASM_H

#include <stddef.h>
#include <stdio.h>
#if defined(__cplusplus) && !defined(_Noreturn)
#define _Noreturn __attribute__((noreturn))   /* log.h is C11 */
#endif
#ifdef __cplusplus
extern "C" {
#endif
#include "libcare/buf.h"

/* Comment lines that keep function boundaries in the stored text. */
#define LC_MARK_BEGIN "# libcare:fn-begin "
#define LC_MARK_END   "# libcare:fn-end "
/* One line per variable of the unit: "# libcare:var KEY TYPE" (asm_vars.c). */
#define LC_MARK_VAR   "# libcare:var "

/* ---- strmap.c: string -> int map (names are not copied) -------------- */
struct lc_strmap {
	const char **keys;
	size_t *lens;
	int *vals;
	size_t cap, count;
};
void lc_strmap_put(struct lc_strmap *m, const char *key, size_t len, int val);
/* Returns the value, or -1 when the key is absent. */
int lc_strmap_get(const struct lc_strmap *m, const char *key, size_t len);
void lc_strmap_free(struct lc_strmap *m);

/* ---- asm_line.c: one line of GCC's x86-64 AT&T output ----------------- */
enum lc_line_kind { LC_LINE_BLANK, LC_LINE_COMMENT, LC_LINE_LABEL,
		    LC_LINE_DIRECTIVE, LC_LINE_INSN };

struct lc_line_info {
	enum lc_line_kind kind;
	const char *word;   /* label name, directive (".long") or mnemonic */
	size_t word_len;
	const char *args;   /* what follows the directive, trimmed */
	size_t args_len;
};
void lc_line_classify(const char *s, size_t len, struct lc_line_info *li);
/* Whether the line's word is `word` (inline: strlen of a literal folds). */
static inline int lc_line_is(const struct lc_line_info *li, const char *word)
{
	size_t n = __builtin_strlen(word);
	return li->word_len == n && __builtin_memcmp(li->word, word, n) == 0;
}
/* ASCII letters and digits (1) and '_', '.', '$' (2), whatever the
 * locale (cc1 runs in the user's): what the symbols of GCC's output are
 * made of, told without a libc call (asm_line.c). */
extern const unsigned char lc_ident_table[256];
static inline int lc_is_alnum(char c)
{
	return lc_ident_table[(unsigned char)c] == 1;
}
/* A character of a symbol name: [A-Za-z0-9_.$]. */
static inline int lc_is_ident_char(char c)
{
	return lc_ident_table[(unsigned char)c] != 0;
}
/* A directive that only lays down data (.long, .string, .zero ...). */
int lc_line_is_data(const struct lc_line_info *li);
/* A label that only exists for debug info and unwinding (.LVL3, .LFB0 ...). */
int lc_label_is_debug(const char *s, size_t len);
/* `.LC<digits>`: a constant literal of the unit. */
int lc_label_is_literal(const char *s, size_t len);
/* `1:`, `990:`: gas's numeric local labels (1b / 1f), never renamed. */
int lc_label_is_numeric(const char *s, size_t len);

/* A symbol reference found in a line.  `reloc` is what follows '@'
 * (PLT, GOTPCREL, tpoff ...), empty if none. */
struct lc_sym_ref {
	const char *s;
	size_t len;
	const char *reloc;
	size_t reloc_len;
	int is_def;         /* the label of a label line */
};
/*
 * Rewrites one line into `out`, calling `fn` for every symbol in it; fn
 * appends the replacement and returns 1 if it also consumed "@reloc",
 * else 0 (the walker then copies "@reloc" itself).  Registers, mnemonics,
 * numbers, strings and @specifiers are copied as they are.
 */
typedef int (*lc_sym_fn)(void *ctx, const struct lc_sym_ref *ref, struct lc_buf *out);
void lc_line_rewrite(const char *s, size_t len, lc_sym_fn fn, void *ctx, struct lc_buf *out);
/* The same for a line already classified (li from lc_line_classify of it). */
void lc_line_rewrite_li(const char *s, size_t len, const struct lc_line_info *li, lc_sym_fn fn,
			void *ctx, struct lc_buf *out);

/* ---- asm_unit.c: a parsed unit ------------------------------------------ */
enum lc_sec_kind { LC_SEC_TEXT, LC_SEC_DATA, LC_SEC_OTHER };

struct lc_asm_line {
	const char *s;          /* into the unit's text, not NUL-terminated */
	size_t len;
	const char *section;    /* section in effect (interned name) */
	enum lc_sec_kind sec_kind;
	int func;               /* index of the function slice, or -1 */
	int object;             /* index of the data object it belongs to, or -1 */
	int literal;            /* index of the literal it belongs to, or -1 */
};

struct lc_asm_func {
	char *name;
	size_t first, end;      /* lines [first, end) */
};

/* A data object (.type x,@object / .comm) or a literal (.LC3, CSWTCH.8). */
struct lc_asm_object {
	char *name;
	const char *section;
	long size;              /* from .size / .comm, -1 when unknown */
	long comm_align;        /* .comm alignment, 0 if not common */
	int tls;
	long align_line;        /* alignment directive just before, or -1 */
	long label;             /* the "name:" line, -1 for .comm */
	size_t first, end;      /* data lines after the label */
	int func;               /* slice it sits in, or -1 */
	int ro;                 /* in a read-only section (.rodata*, .data.rel.ro*) */
	int global;             /* .globl / .weak / unique: other units may use it */
};

struct lc_asm_unit {
	const char *text;
	size_t text_len;
	struct lc_asm_line *lines;
	size_t nlines;
	struct lc_asm_func *funcs;
	size_t nfuncs;
	struct lc_asm_object *objs;
	size_t nobjs;
	struct lc_asm_object *lits;
	size_t nlits;
	char **sections;        /* interned section names */
	unsigned char *section_ro;  /* per section: read-only data */
	size_t nsections;
	struct lc_strmap section_map;   /* interned name -> index in sections */
	int has_markers;
	struct lc_strmap func_map, obj_map, lit_map;
	struct lc_strmap defs;  /* every non-.L symbol the unit defines */
	struct lc_strmap data_labels;   /* .L labels (not .LC) in data sections -> line */
	struct lc_strmap aliases;       /* .set/.weakref NAME, SYMBOL -> line */
};

/* Parses text (kept by reference: it must outlive the unit). */
int lc_unit_parse(struct lc_asm_unit *u, const char *text, size_t len, struct lc_buf *err);
void lc_unit_free(struct lc_asm_unit *u);
int lc_unit_find_func(const struct lc_asm_unit *u, const char *name, size_t len);
int lc_unit_find_obj(const struct lc_asm_unit *u, const char *name, size_t len);
int lc_unit_find_lit(const struct lc_asm_unit *u, const char *name, size_t len);
int lc_unit_defines(const struct lc_asm_unit *u, const char *name, size_t len);
/*
 * `.set NAME, TARGET` (GCC's `.set f.localalias, f`) or `.weakref NAME,
 * TARGET` with a symbol as TARGET: sets *t, *tlen and returns 1 (2 for a
 * weakref); 0 if NAME is no such alias.
 */
int lc_unit_alias(const struct lc_asm_unit *u, const char *name, size_t len, const char **t,
		  size_t *tlen);
/*
 * `.set NAME, TARGET`, `.set NAME, TARGET+N` or `-N` (GCC's pool constant
 * that is a part of another: `.set .LC283,.LC137+4`): sets *t, *tlen, *off
 * and returns 1; 0 for anything else (a weakref, an expression).
 */
int lc_unit_alias_off(const struct lc_asm_unit *u, const char *name, size_t len, const char **t,
		      size_t *tlen, long *off);
/* Literal-like names: .LC<n> and GCC's switch tables CSWTCH.<n>. */
int lc_name_is_literal(const char *s, size_t len);
/*
 * Local read-only data that code and data may reference and whose content,
 * not its name, is what counts: a literal (.LC, CSWTCH), a local object in a
 * read-only section, or a .L label in a data section.  Sets [*first, *end)
 * to its data lines and returns 1; 0 for anything else.
 */
int lc_unit_local_data(const struct lc_asm_unit *u, const char *name, size_t len,
		       size_t *first, size_t *end);

/* ---- asm_symmap.c: patched-unit names -> the original's ------------------ */
/*
 * Static locals and clones get per-unit counters: count.0 in the original
 * may be count.1 in the patched unit.  The map holds patched -> original
 * for every `base.N` that pairs up unambiguously; "fresh" patched names
 * exist in the original but name another symbol there.
 */
struct lc_symmap {
	struct lc_strmap map;   /* key: patched name, value: index in names */
	char **names;           /* original names */
	size_t n;
	struct lc_strmap fresh;
};
void lc_symmap_build(struct lc_symmap *m, const struct lc_asm_unit *orig,
		     const struct lc_asm_unit *patched, struct lc_buf *report);
/* The original's name for a patched-unit symbol (the name itself if none);
 * *len is updated. */
const char *lc_symmap_lookup(const struct lc_symmap *m, const char *s, size_t *len);
int lc_symmap_is_fresh(const struct lc_symmap *m, const char *s, size_t len);
void lc_symmap_free(struct lc_symmap *m);

/* ---- asm_norm.c: text that differs only where meaning differs ----------- */
/* Normalised text of function slice `fi` (map: NULL for the original). */
void lc_norm_func(const struct lc_asm_unit *u, size_t fi, const struct lc_symmap *map,
		  struct lc_buf *out);
void lc_norm_object(const struct lc_asm_unit *u, const struct lc_asm_object *o,
		    const struct lc_symmap *map, struct lc_buf *out);
/*
 * The same with options: `shallow` writes each reference to local data
 * (lc_unit_local_data) as "{}" instead of its content; `refs`, if not NULL,
 * receives the names of those references at the top level, in order.
 */
struct lc_norm_refs {
	const char **s;
	size_t *len;
	size_t n;
};
void lc_norm_func_ex(const struct lc_asm_unit *u, size_t fi, const struct lc_symmap *map,
		     int shallow, struct lc_norm_refs *refs, struct lc_buf *out);
/* The content of local data `name`, one normalised entry per line. */
void lc_norm_data(const struct lc_asm_unit *u, const char *name, size_t len,
		  const struct lc_symmap *map, struct lc_buf *out);
void lc_norm_refs_free(struct lc_norm_refs *r);

/* ---- asm_match.c: what changed ------------------------------------------ */
enum lc_change { LC_SAME, LC_CHANGED, LC_NEW };
struct lc_match {
	enum lc_change *func;   /* per patched function */
	int *func_orig;         /* its index in the original, or -1 */
	enum lc_change *obj;    /* per patched object: SAME, NEW, or CHANGED (local
				 * read-only data emitted anew) */
	size_t nchanged, nnew, nnewobj, nchangedobj;
};
/* Returns -1 (with err) when the change cannot be live-patched. */
int lc_match_units(struct lc_match *m, const struct lc_asm_unit *orig,
		   const struct lc_asm_unit *patched, const struct lc_symmap *map,
		   struct lc_buf *report, struct lc_buf *err);
void lc_match_free(struct lc_match *m);
/* Why normalised texts a (original) and b (patched) differ: appends
 * "code: `first differing line` -> `its patched version`" to report. */
void lc_match_why(const struct lc_buf *a, const struct lc_buf *b, struct lc_buf *report);
/* Why two contents of data (lc_norm_data) differ: "entry N changed: `a` -> `b`". */
void lc_match_data_why(const struct lc_buf *a, const struct lc_buf *b, struct lc_buf *report);

/* ---- asm_extdata.c: direct references to data outside the unit ---------- */
/* Whether `sym` is outside the unit (not defined by it nor by patch code). */
typedef int (*lc_extdata_fn)(void *ctx, const char *sym, size_t len);
/*
 * A load from or the address of an outside symbol into a general register
 * (`movq environ(%rip), %rax`, `leaq t+8(%rip), %rdi`, `movl $environ, %edi`)
 * becomes a load of its address through `sym@GOTPCREL(%rip)` into that
 * register and, for a load or an offset, a second instruction through it.
 * Appends the lines (newline-separated, no final newline) and returns 1;
 * returns 0 and appends nothing for any other line.
 */
int lc_extdata_rewrite(const char *s, size_t len, lc_extdata_fn is_ext, void *ctx,
		       struct lc_buf *out);

/* ---- asm_cfi.c: unwind information of patch code as explicit bytes ------- */
/* Appends the symbol as emitted code names it (the emitter's renaming). */
typedef void (*lc_cfi_resolve_fn)(void *ctx, const char *s, size_t len, struct lc_buf *out);
struct lc_cfi_lsda {
	char *name;             /* .LLSDA5 (the unit's name) */
	int start;              /* its FDE's start label, .Lkpcfi.<start> */
};
struct lc_cfi {
	lc_cfi_resolve_fn resolve;
	void *ctx;
	const char *func;       /* for messages */
	struct lc_buf frame;    /* .kpatch.eh_frame text: CIEs and FDEs */
	struct lc_buf ops;      /* call-frame instructions of the open FDE */
	int nlabels, nfdes;
	int in_proc, simple;
	int here;               /* label at the current place, -1 none yet */
	int start, last;        /* FDE start label, last advanced-to label */
	long cfa_offset;        /* for .cfi_adjust_cfa_offset */
	long state[16];
	int nstate;
	char *personality, *lsda;
	struct lc_cfi_lsda *lsdas;
	size_t nlsdas;
	int lsda_start;         /* FDE of the LSDA being copied, -1 none */
	char *lsda_base;        /* its call sites' base label, as emitted */
	char **kept;            /* names the emitter may still point into */
	size_t nkept;
};
/* A .cfi_* directive met in emitted text of function `func`: a label at its
 * place goes to `out`, the instruction to the open FDE.  -1 with err when
 * it cannot be expressed. */
int lc_cfi_directive(struct lc_cfi *c, const char *func, const struct lc_line_info *li,
		     struct lc_buf *out, struct lc_buf *err);
/* Bytes of code follow in .kpatch.text: the next directive is elsewhere. */
void lc_cfi_text(struct lc_cfi *c);
/* .gcc_except_table(.*): the LSDA sections copied into .kpatch.data. */
int lc_cfi_is_lsda_section(const char *section);
/* Emitted LSDA lines: call-site offsets rebased on their FDE's start. */
void lc_cfi_lsda_lines(struct lc_cfi *c, const char *text, size_t len, struct lc_buf *out);
/* The .kpatch.eh_frame section, if any FDE was written; -1 with err. */
int lc_cfi_finish(struct lc_cfi *c, struct lc_buf *out, struct lc_buf *err);
void lc_cfi_free(struct lc_cfi *c);

/* ---- asm_emit.c: the .kpatch.* sections ---------------------------------- */
int lc_emit_kpatch(const struct lc_asm_unit *orig, const struct lc_asm_unit *patched,
		   const struct lc_symmap *map, const struct lc_match *m,
		   struct lc_buf *out, struct lc_buf *err);

/* ---- asm_ifunc.c: IFUNCs of the unit ------------------------------------ */
/* Whether the unit declares `name` `.type name, @gnu_indirect_function`. */
int lc_unit_is_ifunc(const struct lc_asm_unit *u, const char *name, size_t len);

/* ---- asm_tls.c: thread-local storage operands in patched code ----------- */
struct lc_tls_emit {
	char **decl;            /* pseudo-symbols to declare .weak/.hidden */
	size_t ndecl;
	char **slot;            /* .Lkptls.* slots already laid down */
	size_t nslot;
};
/* Whether `reloc` (what follows '@') is a TLS operand. */
int lc_tls_is_operand(const char *reloc, size_t len);
/* Appends the replacement of `name@reloc` to out, and any slot it needs to
 * `slots` (.kpatch.data text).  -1 with a reason in `why` if refused. */
int lc_tls_rewrite(struct lc_tls_emit *t, const char *name, size_t len, const char *reloc,
		   size_t rlen, struct lc_buf *slots, struct lc_buf *out, struct lc_buf *why);
/* The .weak/.hidden declarations of the pseudo-symbols used. */
void lc_tls_declare_all(const struct lc_tls_emit *t, struct lc_buf *out);
void lc_tls_emit_free(struct lc_tls_emit *t);

/* ---- asm_vars.c: the types of the unit's variables ------------------------ */
/* -1 with err when a variable recorded in both texts changed type. */
int lc_vars_compare(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
		    struct lc_buf *err);

/* ---- gensrc.c: the whole comparison ------------------------------------- */
/*
 * Appends to `out` the original text followed by the .kpatch sections for
 * what changed in `patched`.  One line per function in `report`
 * ("changed: foo (code)", "new: bar").  Returns 0, or -1 with a one-line
 * reason in `err`.
 */
int lc_gensrc(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
	      struct lc_buf *out, struct lc_buf *report, struct lc_buf *err);
/* The same without the copy of the original text: appends only what
 * follows it (a newline if it lacks a final one, then the sections). */
int lc_gensrc_kpatch(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
		     struct lc_buf *out, struct lc_buf *report, struct lc_buf *err);
/*
 * The patched stage's way: the original text read from fd (the store) in
 * pieces, each written to `out` as it comes and only its non-DWARF lines
 * kept (lc_nodebug), then the .kpatch sections written after it.  The
 * patched text may have its DWARF lines or not.  -1 with err (the original
 * text may then be in out already).
 */
int lc_gensrc_fd(int fd, const char *patched, size_t patched_len, FILE *out,
		 struct lc_buf *report, struct lc_buf *err);

/* ---- producer.c: the DWARF producer string ------------------------------ */
/* Removes -fplugin=<plugin> and -fplugin-arg-libcare-* from the producer
 * string(s) in text; returns how many options were removed. */
int lc_producer_clean(struct lc_buf *text, const char *plugin_path);
/* The same in place on text[0, len) (whole lines); returns the new length. */
size_t lc_producer_clean_text(char *text, size_t len, const char *plugin_path, int *removed);

/* ---- store.c: where the original assembly of a unit is kept -------------- */
/* dir NULL/"": "<aux>.libcare.s"; else "DIR/<abs aux, '/' -> '%'>.s". */
void lc_store_path(struct lc_buf *path, const char *dir, const char *aux_base);
/* tmp + rename; returns -1 with err. */
int lc_store_write(const char *path, const char *text, size_t len, struct lc_buf *err);
/* The same in steps, for text written as it comes: a temporary file
 * (its name in tmp) that commit renames over path, or abort removes.
 * werr: a write already failed.  NULL / -1 with err. */
FILE *lc_store_open(const char *path, struct lc_buf *tmp, struct lc_buf *err);
int lc_store_commit(FILE *f, const char *tmp, const char *path, int werr, struct lc_buf *err);
void lc_store_abort(FILE *f, const char *tmp);

/* ---- capture.c: a unit's text without its DWARF lines ------------------- */
/*
 * Fed the text in pieces of any size, keeps every line but those that
 * lc_unit_parse drops as DWARF (.debug_* sections: with -g most of the
 * text), so that a unit parsed from the kept text has the same lines as
 * one parsed from the whole.  The text is kept in one mapping that grows
 * without copying.
 */
struct lc_nodebug {
	char *text;             /* the kept lines, NUL-terminated */
	size_t len, reserved;
	struct lc_buf pending;  /* a line not finished yet */
	int in_app, no_filter, debug, prev_debug, depth;
	int stack[16];
};
int lc_nodebug_init(struct lc_nodebug *t);      /* -1: no memory */
int lc_nodebug_feed(struct lc_nodebug *t, const char *buf, size_t n);
/* The last line, if it lacks a newline.  -1: no memory (feed as well). */
int lc_nodebug_end(struct lc_nodebug *t);
void lc_nodebug_free(struct lc_nodebug *t);

/* ---- capture.c: the stream GCC writes the unit's assembly to ------------ */
/*
 * tee (stage original): every line goes on to GCC's file and to the
 * store as it comes, nothing kept but the line being written (our options
 * out of a producer string, as lc_producer_clean).  mem (stage patched):
 * the text is kept without its DWARF lines (kept, lc_nodebug).
 */
struct lc_capture {
	FILE *f;                /* what GCC writes to (asm_out_file) */
	FILE *real, *store;     /* tee: GCC's own file, the store's temporary */
	const char *plugin_path;
	int real_err, store_err;        /* errno of a failed write, 0 */
	struct lc_buf pending;  /* tee: the unfinished last line */
	struct lc_nodebug kept; /* mem: the text without its DWARF lines */
	char last;              /* the last byte written, '\n' at first */
};
int lc_capture_tee(struct lc_capture *c, FILE *real, FILE *store, const char *plugin_path);
int lc_capture_mem(struct lc_capture *c);
/* Closes c->f (the last line goes out); -1 if a write to GCC's file failed. */
int lc_capture_close(struct lc_capture *c);
void lc_capture_free(struct lc_capture *c);

#ifdef __cplusplus
}
#endif

#endif
