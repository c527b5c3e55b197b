/*
 * The patch payload and header as mkpatch writes them: an ET_REL with the
 * fixed section list of patchfile.h, locals before globals, relocations
 * pointing at the right symbols; a header that seals and checks.
 */
#include <gelf.h>
#include <stdlib.h>
#include "header.h"
#include "payload.h"
#include "test.h"

static const char *sym_name(Elf *elf, GElf_Shdr *symsh, Elf_Data *syms, size_t i)
{
	GElf_Sym s;
	if (!gelf_getsym(syms, (int)i, &s))
		return "?";
	if (GELF_ST_TYPE(s.st_info) == STT_SECTION) {
		size_t shstrndx;
		GElf_Shdr sh;
		elf_getshdrstrndx(elf, &shstrndx);
		gelf_getshdr(elf_getscn(elf, s.st_shndx), &sh);
		return elf_strptr(elf, shstrndx, sh.sh_name);
	}
	return elf_strptr(elf, symsh->sh_link, s.st_name);
}

static void test_payload(void)
{
	struct lc_payload p;
	struct lc_buf out = LC_BUF_INIT;
	static const unsigned char text[] = { 0xe8, 1, 2, 3, 4, 0xc3 };

	lc_payload_init(&p);
	lc_buf_add(&p.data[LC_PAY_TEXT], text, sizeof(text));
	p.align[LC_PAY_TEXT] = 16;
	lc_buf_addz(&p.data[LC_PAY_INFO], 32);
	lc_buf_add(&p.data[LC_PAY_STRTAB], "main", 5);
	/* Globals added before a local: the writer still puts locals first. */
	uint32_t imp = lc_payload_add_undef(&p, "puts@GLIBC_2.2.5", 1);
	uint32_t tgt = lc_payload_add_undef(&p, "__libcare_target", 0);
	CHECK(lc_payload_add_undef(&p, "puts@GLIBC_2.2.5", 0) == imp);   /* one per name */
	CHECK(lc_payload_add_undef(&p, "maybe", 1) != imp);
	lc_payload_add_local(&p, "main.kpatch", LC_PAY_TEXT, STT_FUNC, 0, 6);
	lc_payload_add_rela(&p, LC_PAY_TEXT, 1, R_X86_64_PLT32, imp, -4);
	lc_payload_add_rela(&p, LC_PAY_INFO, 0, R_X86_64_64, tgt, 0x1140);
	lc_payload_add_rela(&p, LC_PAY_INFO, 8, R_X86_64_64, lc_payload_section_sym(LC_PAY_TEXT), 0);
	CHECK(lc_payload_write(&p, &out) == 0);
	lc_payload_free(&p);

	elf_version(EV_CURRENT);
	Elf *elf = elf_memory(out.data, out.len);
	GElf_Ehdr eh;
	CHECK(elf && gelf_getehdr(elf, &eh));
	if (!elf || !gelf_getehdr(elf, &eh))
		return;
	CHECK(eh.e_type == ET_REL && eh.e_machine == EM_X86_64 && gelf_getclass(elf) == ELFCLASS64);
	static const char *const names[] = { "", ".kpatch.text", ".rela.kpatch.text",
		".kpatch.data", ".rela.kpatch.data", ".kpatch.info", ".rela.kpatch.info",
		".kpatch.strtab", ".kpatch.eh_frame", ".rela.kpatch.eh_frame", ".symtab",
		".strtab", ".shstrtab" };
	size_t nsec, shstrndx;
	CHECK(elf_getshdrnum(elf, &nsec) == 0 && nsec == 13);
	CHECK(elf_getshdrstrndx(elf, &shstrndx) == 0 && shstrndx == 12);
	for (size_t i = 1; i < nsec && i < 13; i++) {
		GElf_Shdr sh;
		gelf_getshdr(elf_getscn(elf, i), &sh);
		CHECK_STR(elf_strptr(elf, shstrndx, sh.sh_name), names[i]);
		if (sh.sh_type == SHT_RELA)
			CHECK(sh.sh_link == 10 && sh.sh_info == i - 1);
	}
	GElf_Shdr text_sh, data_sh, symsh;
	gelf_getshdr(elf_getscn(elf, 1), &text_sh);
	gelf_getshdr(elf_getscn(elf, 3), &data_sh);
	CHECK(text_sh.sh_size == 6 && text_sh.sh_addralign == 16 &&
	      text_sh.sh_flags == (SHF_ALLOC | SHF_EXECINSTR));
	CHECK(data_sh.sh_size == 0);     /* always present, even empty */

	Elf_Scn *symscn = elf_getscn(elf, 10);
	Elf_Data *syms = elf_getdata(symscn, NULL);
	gelf_getshdr(symscn, &symsh);
	size_t nsym = syms->d_size / sizeof(Elf64_Sym);
	CHECK(nsym == 10);      /* null, 5 sections, main.kpatch, 3 undefined */
	CHECK(symsh.sh_info == 7);
	for (size_t i = 1; i < nsym; i++) {
		GElf_Sym s;
		gelf_getsym(syms, (int)i, &s);
		CHECK((GELF_ST_BIND(s.st_info) == STB_LOCAL) == (i < symsh.sh_info));
	}
	CHECK_STR(sym_name(elf, &symsh, syms, 6), "main.kpatch");
	GElf_Sym s;
	gelf_getsym(syms, 7, &s);
	CHECK_STR(sym_name(elf, &symsh, syms, 7), "puts@GLIBC_2.2.5");
	CHECK(GELF_ST_BIND(s.st_info) == STB_GLOBAL && s.st_shndx == SHN_UNDEF); /* a strong use */
	gelf_getsym(syms, 9, &s);
	CHECK_STR(sym_name(elf, &symsh, syms, 9), "maybe");
	CHECK(GELF_ST_BIND(s.st_info) == STB_WEAK);

	/* Relocations refer to the symbols by their written index. */
	GElf_Rela ra;
	Elf_Data *rt = elf_getdata(elf_getscn(elf, 2), NULL), *ri = elf_getdata(elf_getscn(elf, 6), NULL);
	CHECK(rt->d_size == sizeof(Elf64_Rela) && ri->d_size == 2 * sizeof(Elf64_Rela));
	gelf_getrela(rt, 0, &ra);
	CHECK(ra.r_offset == 1 && GELF_R_TYPE(ra.r_info) == R_X86_64_PLT32 && ra.r_addend == -4);
	CHECK_STR(sym_name(elf, &symsh, syms, GELF_R_SYM(ra.r_info)), "puts@GLIBC_2.2.5");
	gelf_getrela(ri, 0, &ra);
	CHECK_STR(sym_name(elf, &symsh, syms, GELF_R_SYM(ra.r_info)), "__libcare_target");
	CHECK(ra.r_addend == 0x1140);
	gelf_getrela(ri, 1, &ra);
	CHECK_STR(sym_name(elf, &symsh, syms, GELF_R_SYM(ra.r_info)), ".kpatch.text");
	CHECK(lc_payload_section_by_name(".kpatch.data") == LC_PAY_DATA);
	CHECK(lc_payload_section_by_name(".kpatch.other") == -1);
	elf_end(elf);
	lc_buf_free(&out);
}

static void test_header(void)
{
	static const uint8_t id[20] = { 0x70, 0x50, 0x76, 0xe2 };
	struct lc_header_opts o = { "/srv/bin/server", id, 20, 3, "cve-1", "fix main", 0 };
	struct lc_patch_header h;
	struct lc_buf why = LC_BUF_INIT;
	const struct lc_patch_header *ch;
	const void *cp;
	char payload[] = "\177ELF...", file[sizeof(h) + sizeof(payload)], reason[256];
	uint64_t created;

	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	CHECK(lc_header_created(&created, &why) == 0 && created == 1700000000);
	o.created = created;
	CHECK(lc_header_fill(&h, &o, &why) == 0);
	CHECK_STR(h.target_name, "server");
	CHECK_STR(h.id, "cve-1");
	CHECK_STR(h.description, "fix main");
	CHECK(h.level == 3 && h.build_id_len == 20 && h.build_id[3] == 0xe2 && h.created == 1700000000);
	lc_patchfile_seal(&h, payload, sizeof(payload));
	memcpy(file, &h, sizeof(h));
	memcpy(file + sizeof(h), payload, sizeof(payload));
	CHECK(lc_patchfile_check(file, sizeof(file), &ch, &cp, reason, sizeof(reason)) == 0);
	CHECK(ch->payload_size == sizeof(payload) && memcmp(ch->magic, "LCPATCH1", 8) == 0);

	char longid[LC_ID_MAX + 1];
	memset(longid, 'x', LC_ID_MAX);
	longid[LC_ID_MAX] = '\0';
	o.id = longid;
	lc_buf_reset(&why);
	CHECK(lc_header_fill(&h, &o, &why) == -1 && strstr(why.data, "--id") &&
	      strstr(why.data, "too long"));
	o.id = "ok";
	o.target_path = "plain-name";
	CHECK(lc_header_fill(&h, &o, &why) == 0);
	CHECK_STR(h.target_name, "plain-name");

	setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
	lc_buf_reset(&why);
	CHECK(lc_header_created(&created, &why) == -1 && strstr(why.data, "SOURCE_DATE_EPOCH"));
	unsetenv("SOURCE_DATE_EPOCH");
	CHECK(lc_header_created(&created, &why) == 0 && created > 1700000000);
	lc_buf_free(&why);
}

int main(void)
{
	test_payload();
	test_header();
	return TEST_DONE();
}
