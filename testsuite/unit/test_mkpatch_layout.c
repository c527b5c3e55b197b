/*
 * The layout check: PATCHED must keep every loaded section and every symbol
 * of ORIGINAL; the first difference by address is named with both addresses.
 */
#include <stdlib.h>
#include "layout.h"
#include "test.h"

enum { S_DYNSYM = 1, S_TEXT, S_DATA, S_BSS, S_COMMENT, S_KTEXT, S_TMC, NSEC };

static struct lc_obj_section base_sec[NSEC] = {
	[S_DYNSYM] = { ".dynsym", SHT_DYNSYM, SHF_ALLOC, 0x3c8, 0xa8, 8, 0, 0 },
	[S_TEXT] = { ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x1050, 0x11d, 16, 0, 0 },
	[S_DATA] = { ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x4008, 0x18, 8, 0, 0 },
	[S_BSS] = { ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x4020, 0x10, 32, 0, 0 },
	[S_COMMENT] = { ".comment", SHT_PROGBITS, 0, 0, 0x27, 1, 0, 0 },
	[S_KTEXT] = { ".kpatch.text", SHT_PROGBITS, 0, 0, 0x30, 1, 0, 0 },
	[S_TMC] = { ".tm_clone_table", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x4020, 0, 8, 0, 0 },
};

#define SYM(n, v, s, b, t, x) { n, v, s, b, t, STV_DEFAULT, x }
static const struct lc_obj_symbol base_sym[] = {
	SYM("", 0, 0, STB_LOCAL, STT_NOTYPE, SHN_UNDEF),
	SYM("x.c", 0, 0, STB_LOCAL, STT_FILE, SHN_ABS),
	SYM(".text", 0x1050, 0, STB_LOCAL, STT_SECTION, S_TEXT),
	SYM("count.0", 0x4010, 4, STB_LOCAL, STT_OBJECT, S_DATA),
	SYM("helper", 0x1139, 7, STB_LOCAL, STT_FUNC, S_TEXT),
	SYM("count.0", 0x4014, 4, STB_LOCAL, STT_OBJECT, S_DATA),
	SYM("main", 0x1140, 41, STB_GLOBAL, STT_FUNC, S_TEXT),
	SYM("twice", 0x1169, 4, STB_GLOBAL, STT_FUNC, S_TEXT),
	SYM("stderr@GLIBC_2.2.5", 0x4020, 8, STB_GLOBAL, STT_OBJECT, S_BSS),
	SYM("puts@GLIBC_2.2.5", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
	SYM("__TMC_END__", 0x4020, 0, STB_GLOBAL, STT_OBJECT, S_DATA),
};
#define NBASE (sizeof(base_sym) / sizeof(base_sym[0]))

struct pair {
	struct lc_obj o, p;
	struct lc_obj_section osec[NSEC], psec[NSEC];
	struct lc_obj_symbol osym[NBASE + 8], psym[NBASE + 8];
};

/* ORIGINAL without the .kpatch and -q-only sections; PATCHED with them. */
static void pair_init(struct pair *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->osec, base_sec, sizeof(base_sec));
	memcpy(t->psec, base_sec, sizeof(base_sec));
	/* Stand-ins for sections ORIGINAL does not have. */
	t->osec[S_KTEXT] = (struct lc_obj_section){ ".note.stand-in-1", SHT_NOTE, 0, 0, 0, 1, 0, 0 };
	t->osec[S_TMC] = (struct lc_obj_section){ ".note.stand-in-2", SHT_NOTE, 0, 0, 0, 1, 0, 0 };
	memcpy(t->osym, base_sym, sizeof(base_sym));
	memcpy(t->psym, base_sym, sizeof(base_sym));
	t->o = (struct lc_obj){ .path = "orig", .fd = -1, .sec = t->osec, .nsec = NSEC,
				.sym = t->osym, .nsym = NBASE };
	t->p = (struct lc_obj){ .path = "patched", .fd = -1, .sec = t->psec, .nsec = NSEC,
				.sym = t->psym, .nsym = NBASE };
}

static void add_psym(struct pair *t, struct lc_obj_symbol s)
{
	t->psym[t->p.nsym++] = s;
}

static int check(struct pair *t, struct lc_buf *why)
{
	return lc_layout_check(&t->o, &t->p, why);
}

int main(void)
{
	struct pair t;
	struct lc_buf why = LC_BUF_INIT;

	/* Same layout, plus what PATCHED may have extra. */
	pair_init(&t);
	add_psym(&t, (struct lc_obj_symbol)SYM("main.kpatch", 0, 48, STB_LOCAL, STT_FUNC, S_KTEXT));
	add_psym(&t, (struct lc_obj_symbol)SYM("getpid.kpatch_ext", 0, 0, STB_WEAK, STT_NOTYPE, SHN_UNDEF));
	/* .weak + .hidden: local after the link. */
	add_psym(&t, (struct lc_obj_symbol)SYM("printf.kpatch_ext", 0, 0, STB_LOCAL, STT_NOTYPE, SHN_UNDEF));
	add_psym(&t, (struct lc_obj_symbol)SYM("_ITM_deregisterTMCloneTable", 0, 0, STB_WEAK, STT_NOTYPE, SHN_UNDEF));
	add_psym(&t, (struct lc_obj_symbol)SYM("__TMC_LIST__", 0x4020, 0, STB_LOCAL, STT_OBJECT, S_TMC));
	t.psym[NBASE - 1].shndx = S_TMC;     /* __TMC_END__ now in the -q-only section */
	CHECK(check(&t, &why) == 0);
	CHECK(why.len == 0);

	/* Repeated local names are a multiset: swapping two entries changes nothing. */
	pair_init(&t);
	t.psym[3] = base_sym[5];
	t.psym[5] = base_sym[3];
	CHECK(check(&t, &why) == 0);

	/* One count.0 moved: it is named, with both addresses. */
	pair_init(&t);
	t.psym[5].value = 0x4018;
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "symbol 'count.0' moved: 0x4014 (4 bytes) in ORIGINAL, "
			    "0x4018 (4 bytes) in PATCHED");

	/* helper grew by one byte: main and twice moved too, .text grew; helper is first. */
	pair_init(&t);
	t.psym[4].size = 8;
	t.psym[6].value++;
	t.psym[7].value++;
	t.psec[S_TEXT].size++;
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "symbol 'helper' moved: 0x1139 (7 bytes) in ORIGINAL, "
			    "0x1139 (8 bytes) in PATCHED");

	/* Only the section differs (padding at its end). */
	pair_init(&t);
	t.psec[S_TEXT].size += 16;
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "section '.text' moved: 0x1050 (285 bytes) in ORIGINAL, "
			    "0x1050 (301 bytes) in PATCHED");

	/* .dynsym grew (a new import) and everything after it moved: .dynsym is named. */
	pair_init(&t);
	t.psec[S_DYNSYM].size += 0x18;
	for (int i = S_TEXT; i <= S_BSS; i++)
		t.psec[i].addr += 0x1000;
	for (size_t i = 2; i < NBASE; i++)
		if (t.psym[i].shndx != SHN_UNDEF)
			t.psym[i].value += 0x1000;
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "section '.dynsym' moved: 0x3c8 (168 bytes) in ORIGINAL, "
			    "0x3c8 (192 bytes) in PATCHED");

	/* A symbol of ORIGINAL is gone. */
	pair_init(&t);
	t.psym[7].name = "twice2";
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "symbol 'twice' (0x1169, 4 bytes) of ORIGINAL is missing from PATCHED");

	/* A new symbol in a loaded section of PATCHED. */
	pair_init(&t);
	add_psym(&t, (struct lc_obj_symbol)SYM("sneaky", 0x1160, 4, STB_LOCAL, STT_FUNC, S_TEXT));
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "symbol 'sneaky' (0x1160, 4 bytes) exists only in PATCHED, outside "
			    "the .kpatch sections");

	/* Assembler-local labels that ld -q keeps (.LC0 named by a relocation) are no layout. */
	pair_init(&t);
	add_psym(&t, (struct lc_obj_symbol)SYM(".LC0", 0x1160, 0, STB_LOCAL, STT_NOTYPE, S_TEXT));
	CHECK(check(&t, &why) == 0);

	/* The -q artefact: an empty .tm_clone_table kept, .bss pushed; the cause is hinted. */
	pair_init(&t);
	t.psec[S_TMC].addr = 0x4028;
	t.psec[S_BSS].addr = 0x4028;
	t.psym[8].value = 0x4028;
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "symbol 'stderr@GLIBC_2.2.5' moved: 0x4020 (8 bytes) in ORIGINAL, "
			    "0x4028 (8 bytes) in PATCHED (PATCHED has an empty section "
			    "'.tm_clone_table' at 0x4028 that ORIGINAL's link dropped: link PATCHED "
			    "with -specs=libcare.specs, or add -Wl,-T,libcare-patched.ld to its link)");

	/* With libcare-patched.ld the empty section sits unaligned; its marker moved, nothing else. */
	pair_init(&t);
	t.psec[S_TMC].addr = 0x401c;
	t.psym[NBASE - 1].shndx = S_TMC;
	t.psym[NBASE - 1].value = 0x401c;
	CHECK(check(&t, &why) == 0);
	t.psym[NBASE - 1].shndx = S_DATA;    /* the same move outside such a section counts */
	CHECK(check(&t, &why) == -1 && strstr(why.data, "symbol '__TMC_END__' moved"));

	/* A new strong undefined symbol (outside .kpatch code). */
	pair_init(&t);
	add_psym(&t, (struct lc_obj_symbol)SYM("getpid", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF));
	CHECK(check(&t, &why) == -1);
	CHECK(strstr(why.data, "references symbol 'getpid' that ORIGINAL does not"));

	/* A loaded section of ORIGINAL is gone; a non-loaded one may change. */
	pair_init(&t);
	t.psec[S_COMMENT].size = 99;
	CHECK(check(&t, &why) == 0);
	t.psec[S_BSS].name = ".bss2";
	CHECK(check(&t, &why) == -1);
	CHECK(strstr(why.data, "section '.bss' (0x4020) of ORIGINAL is missing from PATCHED"));

	/* A new loaded, non-empty section in PATCHED. */
	pair_init(&t);
	t.psec[S_TMC].size = 8;
	CHECK(check(&t, &why) == -1);
	CHECK_STR(why.data, "section '.tm_clone_table' (0x4020, 8 bytes) exists only in PATCHED");

	/* Stripped ORIGINAL: sections only. */
	pair_init(&t);
	t.o.nsym = 0;
	t.psym[4].size = 8;
	CHECK(check(&t, &why) == 0);
	t.psec[S_DATA].addr += 8;
	CHECK(check(&t, &why) == -1 && strstr(why.data, "section '.data' moved"));

	lc_buf_free(&why);
	return TEST_DONE();
}
