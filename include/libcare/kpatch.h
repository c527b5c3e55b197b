/*
 * kpatch.h - what the GCC plugin emits into a patched object and what
 * libcare-mkpatch reads back out of the patched (-Wl,-q) link.
 *
 * Defined once here; the plugin's emitter, mkpatch and the runtime all take
 * the names and the record layout from this file.
 *
 * Why the .kpatch.* sections are NOT allocated (flags ""): an allocated
 * orphan section would be placed by ld among the original sections and move
 * everything after it; a reference from it to a symbol the original never
 * imported would add PLT/GOT/.dynsym entries.  Non-allocated sections sit
 * after every allocated one, so the patched link keeps the original layout
 * byte for byte, and -Wl,-q keeps their relocations for mkpatch.
 *
 * ld refuses (non-debug) non-alloc relocations against symbols of shared
 * libraries and GOT relocations in non-alloc sections, so in patched code the
 * plugin:
 *   - renames every reference to a symbol not defined in the unit,
 *     `puts` -> `puts.kpatch_ext`, and declares it `.weak` and `.hidden`
 *     (ld leaves it undefined, value 0, and a -shared link does not export
 *     it in .dynsym; mkpatch resolves it against the binary, else by name
 *     at run time);
 *   - turns `sym@GOTPCREL(%rip)` into `.Lkpgot.sym(%rip)` with an 8-byte
 *     slot `.Lkpgot.sym: .quad sym` in .kpatch.data.
 */
#ifndef LIBCARE_KPATCH_H
#define LIBCARE_KPATCH_H

#include <stdint.h>

#define LC_SECTION_TEXT   ".kpatch.text"   /* changed and new functions */
#define LC_SECTION_DATA   ".kpatch.data"   /* new data, literals, GOT slots */
#define LC_SECTION_INFO   ".kpatch.info"   /* struct lc_info_record[] */
#define LC_SECTION_STRTAB ".kpatch.strtab" /* NUL-terminated names */
#define LC_SECTION_BUSY   ".kpatch.busy"   /* struct lc_busy_record[] (payload only) */
/* CIEs and FDEs of .kpatch.text in .eh_frame format, pointers absolute
 * (DW_EH_PE_absptr); no terminator (the runtime adds it).  The plugin
 * writes it as bytes (gcc-plugin/asm_cfi.c): `.cfi_*` directives would
 * grow the allocated .eh_frame. */
#define LC_SECTION_EH_FRAME ".kpatch.eh_frame"

#define LC_PATCHED_SUFFIX ".kpatch"      /* foo's replacement: foo.kpatch */
#define LC_EXTERN_SUFFIX  ".kpatch_ext"  /* unit-external reference */
/* A new function or object that is global in its unit: `.set foo.kpatch_global,
 * foo.kpatch` (local like every patch symbol; another unit's `foo.kpatch_ext`
 * binds to it) */
#define LC_GLOBAL_SUFFIX  ".kpatch_global"
#define LC_GOT_PREFIX     ".Lkpgot."     /* plugin-made GOT slot */
#define LC_LABEL_PREFIX   ".Lkp"         /* .L12 in patched code -> .Lkp.L12 */

/*
 * One record per replaced function.  In the plugin's assembly:
 *
 *	.section .kpatch.info,"",@progbits
 *	.quad	foo			# daddr: R_X86_64_64 against foo
 *	.quad	foo.kpatch		# saddr: R_X86_64_64 against foo.kpatch
 *	.long	0, 0			# dlen, slen: mkpatch fills them in
 *	.long	.Lkpname.3		# name: R_X86_64_32 into .kpatch.strtab
 *	.long	0			# flags
 *
 * In the payload of a patch file, `name` and `dlen`/`slen` are plain values
 * (mkpatch resolved them); daddr and saddr stay relocations that the
 * runtime applies.
 */
struct lc_info_record {
	uint64_t daddr;   /* the original function */
	uint64_t saddr;   /* its replacement in .kpatch.text */
	uint32_t dlen;    /* size of the original function */
	uint32_t slen;    /* size of the replacement */
	uint32_t name;    /* offset of the name in .kpatch.strtab */
	uint32_t flags;   /* LC_INFO_* (set by mkpatch) */
};

_Static_assert(sizeof(struct lc_info_record) == 32, "info record is 32 bytes");

/* The original's own code jumps back to its first byte (GCC -O2 makes
 * `while (!go);` a loop whose head is the entry): a thread there may be in
 * the middle of the old loop, so the entry is busy too. */
#define LC_INFO_ENTRY_BUSY 0x1u

/*
 * .kpatch.busy (in a patch file's payload, written by mkpatch from its
 * decoding of ORIGINAL): code of the original outside the symbol of a
 * replaced function that belongs to it, e.g. `foo.cold` (GCC's unlikely
 * part) or code reached only by jumps from foo.  A thread there, or with a
 * return address there, is in the old function: the doctor waits.  Plain
 * values, no relocations.  Optional: a payload without it has none.
 */
struct lc_busy_record {
	uint64_t addr;    /* link-time address in the target (+ load bias) */
	uint32_t len;     /* bytes */
	uint32_t rec;     /* index of the .kpatch.info record it belongs to */
	uint32_t kind;    /* LC_BUSY_* */
	uint32_t reserved;
};

#define LC_BUSY_PIECE 1u  /* a part of the function (a .cold/.part piece) */
/* A function of 2 to 4 bytes with no room after it (GCC -O2's `f: jmp g`
 * as the last function of .text): its 5-byte jump goes into the alignment
 * filler just before it (addr = the function - 5, len 5), and its first 2
 * bytes become a `jmp rel8` there.  The runtime writes both as one hunk. */
#define LC_BUSY_PADJUMP 2u

_Static_assert(sizeof(struct lc_busy_record) == 24, "busy record is 24 bytes");

#endif
