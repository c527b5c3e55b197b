/*
 * verify.h - the independent cross-check of a live patch (libcare-verify).
 *
 * It does not trust the plugin's text comparison: it compares the ORIGINAL
 * binary with a plain build (no plugin) of the patched source, function by
 * function, after turning every address into the name of what it points to
 * (vimage.c), and lists what differs.  Every differing function must be one
 * the patch replaces; every differing writable object is a miss in itself
 * (a live patch keeps the running value).
 *
 * This half is pure: images of hand-made items are compared in the unit
 * tests (testsuite/unit/test_verify.c).
 */
#ifndef LIBCARE_LINKER_VERIFY_H
#define LIBCARE_LINKER_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/buf.h"

enum lc_vkind {
	LC_VFUNC,       /* code: differs by its normalised instructions */
	LC_VRODATA,     /* read-only data: a function using it differs with it */
	LC_VRWDATA,     /* writable data: its initial value must not change */
};

/*
 * One function or data object of an image.  `text` is its normalised
 * content, one line per instruction or data slot: every address in it is the
 * name of its target ("call helper", "lea (%rip),%rdi # {"six"}"), so a
 * function that only moved is equal.  `refs` are the data items it uses
 * (indices into the same image); a change in one of them (transitively, from
 * data to data) makes the user differ too.
 */
struct lc_vitem {
	char *key;          /* pairing key: "file.c:name" for a local, "name" for a global */
	char *name;         /* the symbol name, for messages */
	uint64_t addr, size;
	int kind;           /* enum lc_vkind */
	char *text;
	size_t *refs;
	size_t nrefs;
};

struct lc_vimage {
	struct lc_vitem *item;
	size_t n, cap;
};

/* What differs between the two images, for one item of ORIGINAL. */
struct lc_vdiff {
	size_t item;        /* index in the ORIGINAL image */
	int kind;
	char *reason;       /* "code: `a` -> `b`", "uses 'CSWTCH.2', whose ..." */
};

struct lc_vdiffs {
	struct lc_vdiff *d;
	size_t n;
	size_t only_patched; /* functions only PLAIN_PATCHED has (new, or renamed) */
};

/* The functions a patch replaces: name and, when known, address in ORIGINAL. */
struct lc_vreplaced {
	char **name;
	uint64_t *addr;     /* 0 = unknown */
	size_t n;
};

void lc_vimage_init(struct lc_vimage *im);
void lc_vimage_free(struct lc_vimage *im);
/* Appends an item (the strings are copied; refs are added with lc_vimage_ref). */
size_t lc_vimage_add(struct lc_vimage *im, const char *key, const char *name, uint64_t addr,
		     uint64_t size, int kind, const char *text);
void lc_vimage_ref(struct lc_vimage *im, size_t from, size_t to);

/* Compares ORIGINAL `o` with PLAIN_PATCHED `p`. */
void lc_verify_diff(const struct lc_vimage *o, const struct lc_vimage *p, struct lc_vdiffs *out);
void lc_vdiffs_free(struct lc_vdiffs *d);

void lc_vreplaced_add(struct lc_vreplaced *r, const char *name, uint64_t addr);
void lc_vreplaced_free(struct lc_vreplaced *r);
/*
 * Whether the patch covers the function `it` of ORIGINAL: replaced by
 * address (or by name when no address is known); `foo.cold` with `foo`.
 */
int lc_verify_covered(const struct lc_vreplaced *r, const struct lc_vimage *o,
		      const struct lc_vitem *it);

/* The first line where `a` and `b` differ, as "`x` -> `y`" appended to `out`. */
void lc_verify_first_diff(const char *a, const char *b, struct lc_buf *out);

#endif
