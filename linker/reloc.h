/*
 * reloc.h - what one relocation of PATCHED's .kpatch.* sections becomes in
 * the patch payload (the rules of patchfile.h).
 */
#ifndef LIBCARE_LINKER_RELOC_H
#define LIBCARE_LINKER_RELOC_H

#include <stdint.h>
#include "libcare/buf.h"
#include "obj.h"

enum lc_reloc_kind {
	LC_RELOC_SECTION,   /* into a payload section: its section symbol + addend */
	LC_RELOC_TARGET,    /* the original object: LC_SYM_TARGET + link-time vaddr */
	LC_RELOC_IMPORT,    /* resolved by name in the patient's objects */
	LC_RELOC_ABS,       /* no symbol: the addend is the value */
};

struct lc_reloc {
	enum lc_reloc_kind kind;
	const char *section;    /* SECTION: ".kpatch.text", ... */
	char *import;           /* IMPORT: "name" or "name@VERSION" (owned) */
	int weak;               /* IMPORT: may stay unresolved (value 0) */
	int64_t addend;
	/* Thread-local storage and IFUNCs (see docs/patch-format.md): */
	int tls;                /* LC_TLS_*: the payload type is a TLS one */
	unsigned char sym_type; /* IMPORT: STT_TLS or STT_GNU_IFUNC, else 0 */
	uint64_t sym_value;     /* IMPORT of an IFUNC: vaddr of the target's GOT slot */
};

enum { LC_TLS_NONE, LC_TLS_TPOFF, LC_TLS_DTPOFF, LC_TLS_DTPMOD };

/* The payload relocation type for `r`, classified from a PATCHED
 * relocation of type `type` (the same, unless r is a TLS value). */
uint32_t lc_reloc_payload_type(const struct lc_reloc *r, uint32_t type);

/*
 * Classifies a relocation against PATCHED's symbol `sym` (NULL: symbol 0)
 * with addend `addend`.  Returns 0, or -1 with a one-line reason in `why`
 * (the caller adds where the relocation is).  Release with lc_reloc_release.
 */
int lc_reloc_classify(const struct lc_obj *patched, const struct lc_obj_symbol *sym,
		      int64_t addend, struct lc_reloc *out, struct lc_buf *why);
void lc_reloc_release(struct lc_reloc *r);

/* The relocation types a patch may carry: 64, PC32, PLT32, 32, 32S, PC64. */
int lc_reloc_type_supported(uint32_t type);
/* Width in bytes of the field a supported type writes. */
unsigned lc_reloc_type_width(uint32_t type);
/* "R_X86_64_GOTPCRELX", or "type 99" for unknown numbers. */
const char *lc_reloc_type_name(uint32_t type, char buf[32]);

#endif
