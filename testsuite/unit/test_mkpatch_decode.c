/*
 * mkpatch's decoding of the original's code (linker/decode.c, busy.c) on
 * hand-made bytes: instruction lengths, kinds and direct targets as
 * libopcodes reports them; the loop-head flag, .cold pieces, code without
 * a symbol reached by a jump, and the refusals (a branch into a jump site,
 * what follows a short function).
 */
#include <stdlib.h>
#include "busy.h"
#include "decode.h"
#include "test.h"

static void test_decode_one(void)
{
	/* mov go(%rip),%edx; test; je .-8; jmp .+2; call; jmp *; ret; jcc rel32;
	 * jrcxz; nopw; int3; xchg %ax,%ax; ud2; bnd ret; notrack jmp *%rax */
	static const uint8_t code[] = {
		0x8b, 0x15, 0, 0, 0, 0,         /* 0x1000 */
		0x85, 0xd2,                     /* 0x1006 */
		0x74, 0xf6,                     /* 0x1008 je 0x1000 */
		0xeb, 0x00,                     /* 0x100a jmp 0x100c */
		0xe8, 0x10, 0, 0, 0,            /* 0x100c call 0x1021 */
		0xff, 0x25, 0x10, 0, 0, 0,      /* 0x1011 jmp *0x10(%rip) */
		0xc3,                           /* 0x1017 ret */
		0x0f, 0x84, 0x10, 0, 0, 0,      /* 0x1018 je 0x102e */
		0xe3, 0x02,                     /* 0x101e jrcxz 0x1022 */
		0x66, 0x0f, 0x1f, 0x44, 0, 0,   /* 0x1020 nopw */
		0xcc,                           /* 0x1026 int3 */
		0x66, 0x90,                     /* 0x1027 xchg %ax,%ax */
		0x0f, 0x0b,                     /* 0x1029 ud2 */
		0xf2, 0xc3,                     /* 0x102b bnd ret */
		0x3e, 0xff, 0xe0,               /* 0x102d notrack jmp *%rax */
		0x0f,                           /* 0x1030 cut short */
	};
	static const struct { uint64_t addr; uint32_t len; enum lc_insn_kind kind; uint64_t target; }
	want[] = {
		{ 0x1000, 6, LC_INSN_OTHER, 0 },
		{ 0x1006, 2, LC_INSN_OTHER, 0 },
		{ 0x1008, 2, LC_INSN_CONDJUMP, 0x1000 },
		{ 0x100a, 2, LC_INSN_JUMP, 0x100c },
		{ 0x100c, 5, LC_INSN_CALL, 0x1021 },
		{ 0x1011, 6, LC_INSN_JUMP, 0 },
		{ 0x1017, 1, LC_INSN_STOP, 0 },
		{ 0x1018, 6, LC_INSN_CONDJUMP, 0x102e },
		{ 0x101e, 2, LC_INSN_CONDJUMP, 0x1022 },
		{ 0x1020, 6, LC_INSN_FILLER, 0 },
		{ 0x1026, 1, LC_INSN_FILLER, 0 },
		{ 0x1027, 2, LC_INSN_FILLER, 0 },
		{ 0x1029, 2, LC_INSN_STOP, 0 },
		{ 0x102b, 2, LC_INSN_STOP, 0 },
		{ 0x102d, 3, LC_INSN_JUMP, 0 },
	};
	uint64_t pc = 0x1000;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct lc_insn in;
		uint32_t n = lc_insn_decode(code, sizeof(code), 0x1000, pc, &in);
		CHECK(in.addr == want[i].addr);
		CHECK(n == want[i].len);
		CHECK(in.kind == want[i].kind);
		CHECK(in.target == want[i].target);
		if (n != want[i].len || in.kind != want[i].kind)
			fprintf(stderr, "  at 0x%llx: '%s' len %u kind %d\n", (unsigned long long)pc,
				in.text, n, in.kind);
		pc += want[i].len;
	}
	struct lc_insn in;
	CHECK(lc_insn_decode(code, sizeof(code), 0x1000, 0x1030, &in) == 0);   /* truncated */
	CHECK(lc_insn_decode(code, sizeof(code), 0x1000, 0x1031, &in) == 0);   /* outside */
	CHECK(lc_insn_decode(code, sizeof(code), 0x1000, 0xfff, &in) == 0);
	CHECK(!lc_insn_falls_through(LC_INSN_JUMP) && !lc_insn_falls_through(LC_INSN_STOP));
	CHECK(lc_insn_falls_through(LC_INSN_CONDJUMP) && lc_insn_falls_through(LC_INSN_CALL));
}

/*
 * 0x2000 loop:   8b 05 00 00 00 00   mov go(%rip),%eax
 * 0x2006         85 c0               test
 * 0x2008         74 f6               je loop           (its entry: a loop head)
 * 0x200a         c3                  ret
 * 0x200b         0f 1f 44 00 00      nopl (filler)
 * 0x2010 step:   85 ff               test %edi,%edi
 * 0x2012         0f 88 18 00 00 00   js 0x2030 (step.cold)
 * 0x2018         89 f8               mov %edi,%eax
 * 0x201a         c3                  ret
 * 0x201b         90 x5               filler
 * 0x2020 tiny:   c3                  ret (1 byte, filler after it)
 * 0x2021         90 x15
 * 0x2030 step.cold: eb 0e            jmp 0x2040 (code without a symbol)
 * 0x2032         90 x14
 * 0x2040         31 c0               xor %eax,%eax (no symbol)
 * 0x2042         eb d6               jmp 0x201a (back into step, past its site)
 * 0x2044         90 x12
 * 0x2050 other:  eb c0               jmp 0x2012 (into step's site: step+2)
 * 0x2052         c3
 */
static uint8_t img[0x53];
static const struct lc_obj_symbol syms[] = {
	{ "loop", 0x2000, 11, STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1 },
	{ "step", 0x2010, 11, STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1 },
	{ "tiny", 0x2020, 1, STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1 },
	{ "step.cold", 0x2030, 2, STB_LOCAL, STT_FUNC, STV_DEFAULT, 1 },
	{ "other", 0x2050, 3, STB_GLOBAL, STT_FUNC, STV_DEFAULT, 1 },
	{ "data", 0x2000, 4, STB_GLOBAL, STT_OBJECT, STV_DEFAULT, 1 },
};

static void img_put(uint64_t at, const uint8_t *b, size_t n)
{
	memcpy(img + (at - 0x2000), b, n);
}

static void img_init(void)
{
	memset(img, 0x90, sizeof(img));
	img_put(0x2000, (const uint8_t[]){ 0x8b, 0x05, 0, 0, 0, 0, 0x85, 0xc0, 0x74, 0xf6, 0xc3,
					   0x0f, 0x1f, 0x44, 0, 0 }, 16);
	img_put(0x2010, (const uint8_t[]){ 0x85, 0xff, 0x0f, 0x88, 0x18, 0, 0, 0, 0x89, 0xf8,
					   0xc3 }, 11);
	img_put(0x2020, (const uint8_t[]){ 0xc3 }, 1);
	img_put(0x2030, (const uint8_t[]){ 0xeb, 0x0e }, 2);
	img_put(0x2040, (const uint8_t[]){ 0x31, 0xc0, 0xeb, 0xd6 }, 4);
	img_put(0x2050, (const uint8_t[]){ 0xc3, 0xc3, 0xc3 }, 3);
}

static int analyze(struct lc_busy_func *f, size_t nf, struct lc_buf *out)
{
	struct lc_code_sec sec = { 0x2000, img, sizeof(img) };
	struct lc_code c = { &sec, 1, syms, sizeof(syms) / sizeof(syms[0]) };
	lc_buf_reset(out);
	return lc_busy_analyze(&c, f, nf, out);
}

static void test_busy(void)
{
	struct lc_buf out = LC_BUF_INIT;
	img_init();

	struct lc_busy_func f[] = {
		{ .name = "loop", .addr = 0x2000, .size = 11, .site = 5, .flags = 7 },
		{ .name = "step", .addr = 0x2010, .size = 11, .site = 5, .flags = 7 },
		{ .name = "tiny", .addr = 0x2020, .size = 1, .site = 5, .flags = 7 },
	};
	CHECK(analyze(f, 3, &out) == 0);
	CHECK(f[0].flags == LC_INFO_ENTRY_BUSY);
	CHECK(f[1].flags == 0);
	CHECK(f[2].flags == 0);
	/* step: step.cold, then the code without a symbol it jumps to
	 * (from the end of step.cold to the next symbol, `other`). */
	CHECK(out.len == 2 * sizeof(struct lc_busy_record));
	const struct lc_busy_record *r = (const void *)out.data;
	if (out.len == 2 * sizeof(*r)) {
		CHECK(r[0].addr == 0x2030 && r[0].len == 2 && r[0].rec == 1 &&
		      r[0].kind == LC_BUSY_PIECE);
		CHECK(r[1].addr == 0x2032 && r[1].len == 0x1e && r[1].rec == 1 &&
		      r[1].kind == LC_BUSY_PIECE);
	}

	/* A branch elsewhere into bytes 1..4 of step: refused. */
	img_put(0x2050, (const uint8_t[]){ 0xeb, 0xc0 }, 2);
	CHECK(analyze(&f[1], 1, &out) == -1);
	/* The same branch to step's first byte is a tail call: fine. */
	img_put(0x2050, (const uint8_t[]){ 0xeb, 0xbe }, 2);
	CHECK(analyze(&f[1], 1, &out) == 0);
	/* From step's own code (a loop at -O0 after the prologue): fine, a
	 * thread there is busy. */
	img_put(0x2018, (const uint8_t[]){ 0xeb, 0xf9 }, 2);       /* jmp step+3 */
	CHECK(analyze(&f[1], 1, &out) == 0);
	img_put(0x2018, (const uint8_t[]){ 0x89, 0xf8 }, 2);
	/* The piece jumping back to step+3: refused (a branch from code
	 * without a symbol; its place is named after the symbol before it). */
	img_put(0x2042, (const uint8_t[]){ 0xeb, 0xcf }, 2);
	CHECK(analyze(&f[1], 1, &out) == -1);
	img_init();

	/* tiny: the filler after it must be filler... */
	img_put(0x2022, (const uint8_t[]){ 0x31, 0xc0 }, 2);
	CHECK(analyze(&f[2], 1, &out) == -1);
	img_init();
	/* ...and it must not run on into it (cld instead of ret). */
	img_put(0x2020, (const uint8_t[]){ 0xfc }, 1);
	CHECK(analyze(&f[2], 1, &out) == -1);
	img_init();
	/* No branch into its padding either. */
	img_put(0x2050, (const uint8_t[]){ 0xeb, 0xd1 }, 2);       /* jmp 0x2023 */
	CHECK(analyze(&f[2], 1, &out) == -1);
	img_init();
	/* `other` (3 bytes) with no room after it: its jump goes into the
	 * filler before it, which must be unreachable filler back to the end
	 * of the code before it (step.cold, ending with a jmp). */
	struct lc_busy_func sh = { .name = "other", .addr = 0x2050, .size = 3, .site = 3,
				   .short_jump = 1 };
	CHECK(analyze(&sh, 1, &out) == -1);             /* 0x2040: code, no filler */
	memset(img + 0x40, 0x90, 4);
	sh.pad = sh.pad_lo = 0;
	CHECK(analyze(&sh, 1, &out) == -1);             /* step.cold jumps into it */
	img_put(0x2030, (const uint8_t[]){ 0x90, 0xc3 }, 2);        /* step.cold: nop; ret */
	sh.pad = sh.pad_lo = 0;
	CHECK(analyze(&sh, 1, &out) == 0 && sh.pad == 0x204b && sh.pad_lo == 0x2032);
	const struct lc_busy_record *pr = (const void *)out.data;
	CHECK(out.len == sizeof(*pr) && pr->addr == 0x204b && pr->len == 5 &&
	      pr->kind == LC_BUSY_PADJUMP && pr->rec == 0);
	img_put(0x2020, (const uint8_t[]){ 0xeb, 0x23 }, 2);        /* jmp 0x2045 */
	sh.pad = sh.pad_lo = 0;
	CHECK(analyze(&sh, 1, &out) == -1);             /* a branch into that filler */
	img_init();
	img_put(0x2030, (const uint8_t[]){ 0x90, 0xfc }, 2);        /* step.cold runs on */
	memset(img + 0x40, 0x90, 4);
	sh.pad = sh.pad_lo = 0;
	CHECK(analyze(&sh, 1, &out) == -1);
	img_init();
	/* A function outside the code given is not decoded (no refusal). */
	struct lc_busy_func far = { .name = "far", .addr = 0x9000, .size = 16, .site = 5, .flags = 7 };
	CHECK(analyze(&far, 1, &out) == 0 && far.flags == 0 && out.len == 0);
	lc_buf_free(&out);
}

int main(void)
{
	lc_log_init("test_mkpatch_decode");
	test_decode_one();
	test_busy();
	return TEST_DONE();
}
