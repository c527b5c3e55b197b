/*
 * decode.h - x86-64 instructions of ORIGINAL's code, decoded with
 * libopcodes (binutils' disassembler, the one objdump uses).
 *
 * mkpatch needs only a few facts per instruction: its length, whether it
 * is a direct branch (and where to), whether execution can fall through to
 * the next instruction, and whether it is alignment filler.  Pure: bytes
 * in, facts out (unit-tested in testsuite/unit/test_mkpatch_decode.c).
 */
#ifndef LIBCARE_LINKER_DECODE_H
#define LIBCARE_LINKER_DECODE_H

#include <stddef.h>
#include <stdint.h>

enum lc_insn_kind {
	LC_INSN_OTHER,          /* falls through, no direct branch */
	LC_INSN_JUMP,           /* jmp (direct if `target`), no fall-through */
	LC_INSN_CONDJUMP,       /* jcc, loop, jrcxz: direct, may fall through */
	LC_INSN_CALL,           /* call (direct if `target`) */
	LC_INSN_STOP,           /* ret, ud2, hlt...: no fall-through */
	LC_INSN_FILLER,         /* nop (any length), int3: alignment padding */
};

struct lc_insn {
	uint64_t addr;
	uint32_t len;
	enum lc_insn_kind kind;
	uint64_t target;        /* a direct branch's destination, else 0 */
	char text[96];          /* as objdump prints it, for messages */
};

/* Decodes the instruction at `addr` of the code `code` (`len` bytes
 * loaded at `vma`).  Its length, or 0 if the bytes are no instruction (or
 * it runs past the end). */
uint32_t lc_insn_decode(const uint8_t *code, size_t len, uint64_t vma, uint64_t addr,
			struct lc_insn *out);

/* Whether `kind` lets execution continue at the next instruction. */
static inline int lc_insn_falls_through(enum lc_insn_kind kind)
{
	return kind != LC_INSN_JUMP && kind != LC_INSN_STOP;
}

#endif
