/*
 * busy.h - what the doctor must treat as "inside" a replaced function, and
 * which replacements are unsafe, from ORIGINAL's decoded code (decode.c).
 *
 * For each replaced function: its pieces outside its own symbol (GCC's
 * `foo.cold`, `foo.part.N` reached by a jump, code without a symbol that
 * only its jumps reach), whether its own code jumps back to its entry (a
 * loop head: LC_INFO_ENTRY_BUSY), and a refusal when any branch of the
 * object lands inside the bytes its jump overwrites, or when those bytes
 * extend past the function into something that is not unused filler.
 */
#ifndef LIBCARE_LINKER_BUSY_H
#define LIBCARE_LINKER_BUSY_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/buf.h"
#include "libcare/kpatch.h"
#include "obj.h"

/* ORIGINAL's code: its executable sections and the symbols naming it. */
struct lc_code_sec {
	uint64_t addr;
	const uint8_t *bytes;
	size_t size;
};

struct lc_code {
	const struct lc_code_sec *sec;
	size_t nsec;
	const struct lc_obj_symbol *sym;   /* any order; FUNC ones are used */
	size_t nsym;
};

/* One replaced function, as extract.c knows it. */
struct lc_busy_func {
	const char *name;
	uint64_t addr, size;     /* ORIGINAL's symbol */
	uint64_t site;           /* bytes the jump overwrites from addr (5; size if short_jump) */
	uint32_t flags;          /* out: LC_INFO_* */
	int short_jump;          /* 2..4 bytes, no room after it: needs a pad before it */
	uint64_t pad;            /* out (short_jump): where its 5-byte jump goes */
	uint64_t pad_lo;         /* out (short_jump): where the filler before it starts */
	uint64_t room;           /* short_jump: bytes up to the next symbol (messages) */
};

/* Analyses `nf` functions of `code`; appends struct lc_busy_record[] to
 * `records` and sets each function's flags.  -1 with one error line (the
 * refusal) on an unsafe replacement. */
int lc_busy_analyze(const struct lc_code *code, struct lc_busy_func *f, size_t nf,
		    struct lc_buf *records);

/* The code view of `o` (bytes of its SHF_EXECINSTR sections), symbols from
 * `syms` (ORIGINAL's, or PATCHED's if ORIGINAL is stripped).  Free with
 * lc_code_free. */
void lc_code_from_obj(struct lc_code *c, const struct lc_obj *o, const struct lc_obj *syms);
void lc_code_free(struct lc_code *c);

#endif
