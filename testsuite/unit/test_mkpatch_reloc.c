/*
 * The relocation rules of the patch payload (linker/reloc.c), on a hand-made
 * PATCHED: what each kind of symbol in a .kpatch relocation becomes.
 */
#include <stdlib.h>
#include "reloc.h"
#include "test.h"

enum { S_TEXT = 1, S_DATA, S_BSS, S_TBSS, S_COMMENT, S_KTEXT, S_KDATA, NSEC };

static struct lc_obj_section sec[NSEC] = {
	[S_TEXT] = { ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x1050, 0x11d, 16, 0, 0 },
	[S_DATA] = { ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x4008, 0x18, 8, 0, 0 },
	[S_BSS] = { ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x4020, 0x10, 32, 0, 0 },
	[S_TBSS] = { ".tbss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE | SHF_TLS, 0x3db0, 8, 4, 0, 0 },
	[S_COMMENT] = { ".comment", SHT_PROGBITS, 0, 0, 0x27, 1, 0, 0 },
	[S_KTEXT] = { ".kpatch.text", SHT_PROGBITS, 0, 0, 0x30, 16, 0, 0 },
	[S_KDATA] = { ".kpatch.data", SHT_PROGBITS, 0, 0, 0x18, 8, 0, 0 },
};

#define SYM(n, v, s, b, t, x) { n, v, s, b, t, STV_DEFAULT, x }
static struct lc_obj_symbol sym[] = {
	/* 0 */ SYM("", 0, 0, STB_LOCAL, STT_NOTYPE, SHN_UNDEF),
	/* 1 */ SYM(".text", 0x1050, 0, STB_LOCAL, STT_SECTION, S_TEXT),
	/* 2 */ SYM(".kpatch.data", 0, 0, STB_LOCAL, STT_SECTION, S_KDATA),
	/* 3 */ SYM("main.kpatch", 0x10, 48, STB_LOCAL, STT_FUNC, S_KTEXT),
	/* 4 */ SYM("twice", 0x1169, 4, STB_GLOBAL, STT_FUNC, S_TEXT),
	/* 5 */ SYM("puts@GLIBC_2.2.5", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
	/* 6 */ SYM("stderr@GLIBC_2.2.5", 0x4020, 8, STB_GLOBAL, STT_OBJECT, S_BSS),
	/* 7 */ SYM("memfrob", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
	/* 8 */ SYM("__gmon_start__", 0, 0, STB_WEAK, STT_NOTYPE, SHN_UNDEF),
	/* 9 */ SYM("hidden_fn", 0x1100, 8, STB_LOCAL, STT_FUNC, S_TEXT),
	/* 10 */ SYM("local_fn", 0x1110, 8, STB_LOCAL, STT_FUNC, S_TEXT),
	/* 11 */ SYM("tls_var", 0, 4, STB_GLOBAL, STT_TLS, S_TBSS),
	/* 12 */ SYM("note", 0, 0, STB_LOCAL, STT_NOTYPE, S_COMMENT),
	/* 13 */ SYM("abs_sym", 0x10, 0, STB_GLOBAL, STT_NOTYPE, SHN_ABS),
	/* 14 */ SYM("dup", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
	/* 15 */ SYM("dup", 0x1120, 5, STB_GLOBAL, STT_FUNC, S_TEXT),
	/* 16 */ SYM("new_fn", 0x0, 8, STB_GLOBAL, STT_FUNC, S_KTEXT),
	/* 17 */ SYM("pick", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
	/* 18 */ SYM("pick@GLIBC_2.3", 0, 0, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
	/* 19 */ SYM("weak_data", 0, 0, STB_WEAK, STT_OBJECT, SHN_UNDEF),
	/* 20 */ SYM("ifn", 0x1130, 9, STB_GLOBAL, STT_GNU_IFUNC, S_TEXT),
	/* GNU ld: after the last FILE "" come the symbols forced local (hidden) */
	/* 21 */ SYM("", 0, 0, STB_LOCAL, STT_FILE, SHN_ABS),
	/* 22 */ SYM("forced_fn", 0x1140, 8, STB_LOCAL, STT_FUNC, S_TEXT),
	/* new global functions of the patch (the plugin's second name) */
	/* 23 */ SYM("fail.kpatch", 0x20, 8, STB_LOCAL, STT_FUNC, S_KTEXT),
	/* 24 */ SYM("fail.kpatch_global", 0x20, 0, STB_LOCAL, STT_FUNC, S_KTEXT),
	/* 25 */ SYM("twin.kpatch_global", 0x28, 0, STB_LOCAL, STT_FUNC, S_KTEXT),
	/* 26 */ SYM("twin.kpatch_global", 0x2c, 0, STB_LOCAL, STT_FUNC, S_KTEXT),
};
static struct lc_obj_dynver dynver[] = { { "memfrob", "GLIBC_2.2.5" } };

static struct lc_obj patched = {
	.path = "patched", .fd = -1, .sec = sec, .nsec = NSEC,
	.sym = sym, .nsym = sizeof(sym) / sizeof(sym[0]), .dynver = dynver, .ndynver = 1,
};

static struct lc_buf why = LC_BUF_INIT;
static struct lc_reloc r;

static int classify(const struct lc_obj_symbol *s, int64_t addend)
{
	lc_reloc_release(&r);
	lc_buf_reset(&why);
	return lc_reloc_classify(&patched, s, addend, &r, &why);
}

static int ext(const char *name, int64_t addend)
{
	struct lc_obj_symbol s = SYM(name, 0, 0, STB_WEAK, STT_NOTYPE, SHN_UNDEF);
	return classify(&s, addend);
}

#define IS_IMPORT(n, w) (r.kind == LC_RELOC_IMPORT && r.import && strcmp(r.import, n) == 0 && r.weak == (w))

int main(void)
{
	char tn[32];

	/* No symbol, absolute symbol: the value is in the addend. */
	CHECK(classify(NULL, 42) == 0 && r.kind == LC_RELOC_ABS && r.addend == 42);
	CHECK(classify(&sym[13], 4) == 0 && r.kind == LC_RELOC_ABS && r.addend == 0x14);

	/* Into a .kpatch section: that section, value (an offset) + addend. */
	CHECK(classify(&sym[2], -4) == 0 && r.kind == LC_RELOC_SECTION &&
	      strcmp(r.section, ".kpatch.data") == 0 && r.addend == -4);
	CHECK(classify(&sym[3], 0) == 0 && r.kind == LC_RELOC_SECTION &&
	      strcmp(r.section, ".kpatch.text") == 0 && r.addend == 0x10);

	/* The original object (static function via the .text section symbol). */
	CHECK(classify(&sym[1], 0xe5) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x1135);
	CHECK(classify(&sym[10], -4) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x110c);

	/* NAME.kpatch_ext, defined in the binary: the original object. */
	CHECK(ext("twice.kpatch_ext", -4) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x1165);
	/* ...also a COPY-relocated libc variable. */
	CHECK(ext("stderr.kpatch_ext", 0) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x4020);
	/* ...also a hidden symbol of another unit (local after the link)... */
	sym[9].vis = STV_HIDDEN;
	CHECK(ext("hidden_fn.kpatch_ext", 0) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x1100);
	/* ...as the linked .symtab has it: LOCAL, DEFAULT, in ld's forced-local group... */
	CHECK(ext("forced_fn.kpatch_ext", 0) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x1140);
	/* ...but never a plain static of another unit: that is somebody else's name. */
	CHECK(ext("local_fn.kpatch_ext", -4) == 0 && IS_IMPORT("local_fn", 0) && r.addend == -4);
	/* Defined wins over undefined, whatever the order. */
	CHECK(ext("dup.kpatch_ext", 0) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0x1120);

	/* Imported by the original: the version from the symtab name... */
	CHECK(ext("puts.kpatch_ext", -4) == 0 && IS_IMPORT("puts@GLIBC_2.2.5", 0) && r.addend == -4);
	CHECK(ext("pick.kpatch_ext", 0) == 0 && IS_IMPORT("pick@GLIBC_2.3", 0));
	/* ...or from .gnu.version_r of .dynsym; weak stays weak. */
	CHECK(ext("memfrob.kpatch_ext", 0) == 0 && IS_IMPORT("memfrob@GLIBC_2.2.5", 0));
	CHECK(ext("__gmon_start__.kpatch_ext", 0) == 0 && IS_IMPORT("__gmon_start__", 1));
	CHECK(ext("weak_data.kpatch_ext", 8) == 0 && IS_IMPORT("weak_data", 1) && r.addend == 8);
	/* Absent: default version at run time, and required. */
	CHECK(ext("getpid.kpatch_ext", -4) == 0 && IS_IMPORT("getpid", 0) && r.addend == -4);
	/* A .kpatch symbol never stands for an external one. */
	CHECK(ext("new_fn.kpatch_ext", 0) == 0 && IS_IMPORT("new_fn", 0));
	/* ...but a new global function of another unit does, by its second name
	 * (expat's CVE-2023-52425: runtests.c calls minicheck.c's new _fail;
	 * before: "import '_fail' is not defined in any object of the process") */
	CHECK(ext("fail.kpatch_ext", -4) == 0 && r.kind == LC_RELOC_SECTION &&
	      strcmp(r.section, ".kpatch.text") == 0 && r.addend == 0x1c);
	CHECK(ext("twin.kpatch_ext", 0) == -1 && strstr(why.data, "'twin' is defined twice"));

	/* Any other undefined symbol: by its name, weak stays weak. */
	CHECK(classify(&sym[7], 0) == 0 && IS_IMPORT("memfrob", 0));
	CHECK(classify(&sym[8], 0) == 0 && IS_IMPORT("__gmon_start__", 1));
	CHECK(classify(&sym[5], -4) == 0 && IS_IMPORT("puts@GLIBC_2.2.5", 0));

	/* Refusals name the symbol. */
	CHECK(classify(&sym[11], 0) == -1 && strstr(why.data, "thread-local symbol 'tls_var'"));
	CHECK(ext("tls_var.kpatch_ext", 0) == -1 && strstr(why.data, "'tls_var'"));

	/* The plugin's TLS pseudo-symbols (gcc-plugin/asm_tls.c).  Defined in
	 * PATCHED (value = offset in its TLS block): DTPOFF is a constant,
	 * DTPMOD and (not an executable: no ELF here) TPOFF stay TLS
	 * relocations against the target; undefined: a STT_TLS import. */
	CHECK(ext("tls_var.kpatch_dtpoff", 4) == 0 && r.kind == LC_RELOC_ABS && r.addend == 4 &&
	      lc_reloc_payload_type(&r, R_X86_64_32S) == R_X86_64_32S);
	CHECK(ext("tls_var.kpatch_dtpmod", 0) == 0 && r.kind == LC_RELOC_TARGET &&
	      lc_reloc_payload_type(&r, R_X86_64_64) == R_X86_64_DTPMOD64);
	CHECK(ext("tls_var.kpatch_tpoff", 0) == 0 && r.kind == LC_RELOC_TARGET && r.addend == 0 &&
	      lc_reloc_payload_type(&r, R_X86_64_32S) == R_X86_64_TPOFF32 &&
	      lc_reloc_payload_type(&r, R_X86_64_64) == R_X86_64_TPOFF64);
	CHECK(ext("other_tv.kpatch_dtpoff", 8) == 0 && IS_IMPORT("other_tv", 0) &&
	      r.sym_type == STT_TLS && r.addend == 8 &&
	      lc_reloc_payload_type(&r, R_X86_64_64) == R_X86_64_DTPOFF64);
	CHECK(ext("twice.kpatch_tpoff", 0) == -1 && strstr(why.data, "'twice'") &&
	      strstr(why.data, "not a TLS symbol"));
	CHECK(classify(&sym[12], 0) == -1 && strstr(why.data, "'note' is in section '.comment'"));
	CHECK(ext("ifn.kpatch_ext", 0) == -1 && strstr(why.data, "'ifn' is an IFUNC"));

	/* Types. */
	CHECK(lc_reloc_type_supported(R_X86_64_64) && lc_reloc_type_width(R_X86_64_64) == 8);
	CHECK(lc_reloc_type_supported(R_X86_64_PC32) && lc_reloc_type_width(R_X86_64_PC32) == 4);
	CHECK(lc_reloc_type_supported(R_X86_64_PLT32) && lc_reloc_type_supported(R_X86_64_32) &&
	      lc_reloc_type_supported(R_X86_64_32S) && lc_reloc_type_width(R_X86_64_PC64) == 8);
	CHECK(!lc_reloc_type_supported(R_X86_64_GOTPCREL) && !lc_reloc_type_supported(R_X86_64_REX_GOTPCRELX) &&
	      !lc_reloc_type_supported(R_X86_64_TPOFF32) && !lc_reloc_type_supported(R_X86_64_NONE) &&
	      !lc_reloc_type_supported(250));
	CHECK_STR(lc_reloc_type_name(R_X86_64_REX_GOTPCRELX, tn), "R_X86_64_REX_GOTPCRELX");
	CHECK_STR(lc_reloc_type_name(R_X86_64_GOTTPOFF, tn), "R_X86_64_GOTTPOFF");
	CHECK_STR(lc_reloc_type_name(250, tn), "type 250");

	lc_reloc_release(&r);
	lc_buf_free(&why);
	return TEST_DONE();
}
