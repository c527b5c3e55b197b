/*
 * decode.c - one x86-64 instruction through libopcodes.
 *
 * libopcodes prints an instruction through callbacks: the text goes to our
 * buffer, and for a direct branch it fills insn_info_valid / insn_type /
 * target (binutils >= 2.39 does this for x86).  What it does not tell
 * (indirect jumps, returns, traps, filler) is read from the mnemonic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <dis-asm.h>
#include "decode.h"

struct decode_out {
	char *buf;
	size_t len, cap;
};

static int decode_vprintf(struct decode_out *o, const char *fmt, va_list ap)
{
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
	return n;
}

static int decode_printf(void *stream, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = decode_vprintf(stream, fmt, ap);
	va_end(ap);
	return n;
}

static int decode_styled_printf(void *stream, enum disassembler_style style, const char *fmt, ...)
{
	(void)style;
	va_list ap;
	va_start(ap, fmt);
	int n = decode_vprintf(stream, fmt, ap);
	va_end(ap);
	return n;
}

static void decode_print_address(bfd_vma addr, struct disassemble_info *info)
{
	decode_printf(info->stream, "0x%llx", (unsigned long long)addr);
}

static void decode_memory_error(int status, bfd_vma addr, struct disassemble_info *info)
{
	(void)status, (void)addr, (void)info;   /* ran past the end: length 0 */
}

/* Prefix words objdump prints before a mnemonic. */
static int decode_is_prefix(const char *w, size_t n)
{
	static const char *const prefixes[] = {
		"bnd", "notrack", "data16", "data32", "addr32", "addr16", "cs", "ds", "ss", "es",
		"fs", "gs", "lock", "rep", "repz", "repnz", "repe", "repne", "xacquire",
		"xrelease", "{disp32}", "{disp8}", "{vex}", "{vex3}", "{evex}",
	};
	if (n >= 3 && strncmp(w, "rex", 3) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strlen(prefixes[i]) == n && strncmp(w, prefixes[i], n) == 0)
			return 1;
	return 0;
}

/* The mnemonic of `text` (past prefixes) and what follows it. */
static const char *decode_mnemonic(const char *text, size_t *n, const char **operands)
{
	const char *p = text;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t k = strcspn(p, " \t");
		if (k == 0 || !decode_is_prefix(p, k) || !p[k]) {
			*n = k;
			const char *q = p + k;
			while (*q == ' ' || *q == '\t')
				q++;
			*operands = q;
			return p;
		}
		p += k;
	}
}

static int decode_word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && strncmp(w, s, n) == 0;
}

static int decode_word_starts(const char *w, size_t n, const char *s)
{
	size_t k = strlen(s);
	return n >= k && strncmp(w, s, k) == 0;
}

static enum lc_insn_kind decode_kind_by_text(const char *text)
{
	size_t n;
	const char *ops;
	const char *w = decode_mnemonic(text, &n, &ops);
	if (decode_word_starts(w, n, "nop") || decode_word_is(w, n, "int3") ||
	    (decode_word_is(w, n, "xchg") && strncmp(ops, "%ax,%ax", 7) == 0))
		return LC_INSN_FILLER;
	if (decode_word_starts(w, n, "jmp") || decode_word_starts(w, n, "ljmp"))
		return LC_INSN_JUMP;
	if (decode_word_starts(w, n, "call") || decode_word_starts(w, n, "lcall"))
		return LC_INSN_CALL;
	if (decode_word_starts(w, n, "ret") || decode_word_starts(w, n, "lret") ||
	    decode_word_starts(w, n, "iret") || decode_word_starts(w, n, "sysret") ||
	    decode_word_starts(w, n, "sysexit") || decode_word_starts(w, n, "ud") ||
	    decode_word_is(w, n, "hlt"))
		return LC_INSN_STOP;
	if ((n >= 2 && w[0] == 'j') || decode_word_starts(w, n, "loop"))
		return LC_INSN_CONDJUMP;        /* an indirect form does not exist */
	return LC_INSN_OTHER;
}

/* libopcodes' state for the last buffer: set up once, not per instruction
 * (mkpatch decodes whole objects). */
static struct {
	disassembler_ftype disasm;
	struct disassemble_info di;
	struct decode_out o;
	const uint8_t *code;
	size_t len;
	uint64_t vma;
	int ready;
} dec;

uint32_t lc_insn_decode(const uint8_t *code, size_t len, uint64_t vma, uint64_t addr,
			struct lc_insn *out)
{
	memset(out, 0, offsetof(struct lc_insn, text));
	out->text[0] = '\0';
	out->addr = addr;
	if (addr < vma || addr - vma >= len)
		return 0;
	if (!dec.disasm)
		dec.disasm = disassembler(bfd_arch_i386, false, bfd_mach_x86_64, NULL);
	if (!dec.disasm)
		return 0;
	if (!dec.ready || dec.code != code || dec.len != len || dec.vma != vma) {
		init_disassemble_info(&dec.di, &dec.o, decode_printf, decode_styled_printf);
		dec.di.arch = bfd_arch_i386;
		dec.di.mach = bfd_mach_x86_64;
		dec.di.endian = BFD_ENDIAN_LITTLE;
		dec.di.buffer = (bfd_byte *)code;
		dec.di.buffer_length = len;
		dec.di.buffer_vma = vma;
		dec.di.print_address_func = decode_print_address;
		dec.di.memory_error_func = decode_memory_error;
		disassemble_init_for_target(&dec.di);
		dec.code = code;
		dec.len = len;
		dec.vma = vma;
		dec.ready = 1;
	}
	dec.o = (struct decode_out){ out->text, 0, sizeof(out->text) };
	dec.di.insn_info_valid = 0;
	dec.di.target = 0;
	int n = dec.disasm(addr, &dec.di);
	/* "(bad)": no instruction; ".byte 0x..": cut short by the end */
	if (n <= 0 || (uint64_t)n > len - (addr - vma) || strstr(out->text, "(bad)") ||
	    strncmp(out->text, ".byte", 5) == 0)
		return 0;
	out->len = (uint32_t)n;
	out->kind = decode_kind_by_text(out->text);
	if (dec.di.insn_info_valid && (dec.di.insn_type == dis_branch || dec.di.insn_type == dis_condbranch ||
				   dec.di.insn_type == dis_jsr || dec.di.insn_type == dis_condjsr)) {
		out->target = dec.di.target;
		if (dec.di.insn_type == dis_branch)
			out->kind = LC_INSN_JUMP;
		else if (dec.di.insn_type == dis_condbranch)
			out->kind = LC_INSN_CONDJUMP;
		else
			out->kind = LC_INSN_CALL;
	}
	return out->len;
}
