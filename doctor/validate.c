/*
 * validate.c - what a linked patch would write must fit the target, checked
 * against the target object's own ELF file before anything is touched.
 *
 * A patch file names its target by BuildID and says where each jump goes
 * (the relocated daddr of its .kpatch.info records) and how many bytes the
 * replaced function has.  Nothing in the file proves that these agree with
 * the object: a resealed header with another object's BuildID, or a
 * changed record, would make the doctor write `jmp` anywhere (it once wrote
 * e9 db 7b ff fe into libc's .hash).  So each jump site must be
 *   - inside an executable PT_LOAD segment of the target, and
 *   - the start of a function of the target: a FUNC symbol (.symtab, else
 *     .dynsym) whose value is that address, or, stripped, an .eh_frame FDE
 *     whose initial location is that address (libdw's CFI);
 *   - and the replaced size (the jump, and the function size recorded for
 *     the busy check) lies inside that function (a function shorter than
 *     the 5-byte jump passes when no other function starts within the
 *     jump's bytes, as mkpatch requires).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "libcare/log.h"
#include "libcare/trust.h"
#include "doctor.h"

static int validate_file(const struct lc_object *obj, const struct lc_region_header *h,
			 const char *file);

struct fn_extent {
	int found;              /* 1 symbol, 2 FDE */
	uint64_t size;          /* 0: unknown (a 0-size symbol) */
	uint64_t next;          /* lowest other function start above it, or UINT64_MAX */
	uint64_t pad_lo;        /* a short function's hunk starts in the padding at
	                         * pad_lo: no function may cover [pad_lo, vaddr) */
	int pad_covered;        /* one does */
};

/* Symbols of one symbol table: a FUNC at vaddr, and the next function start. */
static void fn_from_symtab(Elf_Scn *scn, uint64_t vaddr, struct fn_extent *fe)
{
	GElf_Shdr sh;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!gelf_getshdr(scn, &sh) || !d || !sh.sh_entsize)
		return;
	size_t n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
			continue;
		int t = GELF_ST_TYPE(s.st_info);
		if (t != STT_FUNC && t != STT_GNU_IFUNC)
			continue;
		if (fe->pad_lo < vaddr && s.st_value < vaddr && s.st_value + s.st_size > fe->pad_lo)
			fe->pad_covered = 1;
		if (s.st_value == vaddr) {
			if (!fe->found || s.st_size > fe->size)
				fe->size = s.st_size;
			fe->found = 1;
		} else if (s.st_value > vaddr && s.st_value < fe->next) {
			fe->next = s.st_value;
		}
	}
}

static void fn_from_fde(Elf *elf, uint64_t vaddr, struct fn_extent *fe)
{
	Dwarf_CFI *cfi = dwarf_getcfi_elf(elf);
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr start, end;
	if (!cfi)
		return;
	/* dwarf_frame_info gives the range of one row of the CFI table, not
	 * of the FDE: a function's first row ends at its first push.  The
	 * extent is the run of rows that follow each other from vaddr (it
	 * may take in a function right after this one, never bytes without
	 * CFI such as .hash or .rodata). */
	if (dwarf_cfi_addrframe(cfi, vaddr, &frame) == 0 &&
	    dwarf_frame_info(frame, &start, &end, NULL) >= 0 && start == vaddr) {
		fe->found = 2;
		for (int rows = 0; rows < 1000000 && end > start; rows++) {
			Dwarf_Frame *next = NULL;
			Dwarf_Addr s2, e2;
			if (dwarf_cfi_addrframe(cfi, end, &next) != 0 ||
			    dwarf_frame_info(next, &s2, &e2, NULL) < 0 || s2 != end) {
				free(next);
				break;
			}
			free(next);
			end = e2;
		}
		fe->size = end - vaddr;
	}
	free(frame);
	dwarf_cfi_end(cfi);
}

static int validate_hunk(Elf *elf, const struct lc_object *obj, const struct lc_region_hunk *hk,
			 const char *name, const char *file, int *have_symtab)
{
	char esc[1024];
	lc_escape(name, 256, esc, sizeof(esc));
	if (hk->addr < obj->bias || hk->len == 0 || hk->len > LC_HUNK_MAX_BYTES)
		return lc_error("%s: function '%s': jump site 0x%llx is not in %s", file, esc,
				(unsigned long long)hk->addr, obj->path);
	uint64_t vaddr = hk->addr - obj->bias, pad_lo = vaddr;
	/* a function shorter than the jump: the hunk is a jmp rel32 in the
	 * padding before it and a jmp rel8 at its start (runtime/busy.c) */
	int short_fn = hk->old_size < LC_JMP_SIZE && hk->len >= 2 + LC_JMP_SIZE &&
		       hk->new_bytes[hk->len - 2] == 0xeb;
	size_t nph;
	int in_exec = 0;
	if (elf_getphdrnum(elf, &nph) != 0)
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz &&
		    hk->len <= ph.p_filesz - (vaddr - ph.p_vaddr))
			in_exec = 1;
	}
	if (!in_exec)
		return lc_error("%s: function '%s': jump site 0x%llx (0x%llx in %s) is not in an "
				"executable segment of it; refused", file, esc,
				(unsigned long long)hk->addr, (unsigned long long)vaddr, obj->path);

	if (short_fn)
		vaddr += hk->len - 2;
	struct fn_extent fe = { 0, 0, UINT64_MAX, pad_lo, 0 };
	Elf_Scn *scn = NULL, *dynsym = NULL;
	*have_symtab = 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			*have_symtab = 1;
			fn_from_symtab(scn, vaddr, &fe);
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
		}
	}
	if (!fe.found && dynsym)
		fn_from_symtab(dynsym, vaddr, &fe);
	if (!fe.found)
		fn_from_fde(elf, vaddr, &fe);
	if (!fe.found)
		return lc_error("%s: function '%s': 0x%llx is not the start of a function of %s (no "
				"symbol%s starts there); refused", file, esc,
				(unsigned long long)vaddr, obj->path,
				*have_symtab ? "" : " and no .eh_frame FDE");
	if (short_fn && fe.pad_covered)
		return lc_error("%s: function '%s': its jump at 0x%llx lies in another function of %s; "
				"refused", file, esc, (unsigned long long)pad_lo, obj->path);
	/* The bytes the jump covers and the size the busy check uses must lie
	 * inside the function; a tiny one may be covered up to the next one. */
	uint64_t room = fe.size, len = short_fn ? 2 : hk->len;
	if (room < LC_JMP_SIZE && fe.next - vaddr >= LC_JMP_SIZE)
		room = LC_JMP_SIZE;
	if (len > room || hk->old_size > room)
		return lc_error("%s: function '%s' at 0x%llx in %s is %llu bytes, but the patch "
				"replaces %u (jump %u); refused", file, esc,
				(unsigned long long)vaddr, obj->path, (unsigned long long)fe.size,
				hk->old_size, hk->len);
	return 0;
}

/*
 * -p all checks the same jump sites of the same file in process after
 * process: while proc.c's cache is on (the object has a file_key), the
 * sites that passed are remembered relative to the load bias, with
 * everything of them the checks look at.
 */
struct site {
	uint64_t vaddr;
	uint32_t len, old_size;
	uint8_t tail[2];        /* the last bytes of the hunk (a short function's jmp rel8) */
};
struct passed {
	const void *key;
	uint32_t n;
	struct site *sites;
};
static struct passed *passed;
static size_t npassed;

static struct site *sites_of(const struct lc_object *obj, const struct lc_region_header *h)
{
	struct site *s = lc_xcalloc(h->nhunks ? h->nhunks : 1, sizeof(*s));
	for (uint32_t i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		s[i].vaddr = hk->addr - obj->bias;
		s[i].len = hk->len;
		s[i].old_size = hk->old_size;
		if (hk->len >= 2 && hk->len <= LC_HUNK_MAX_BYTES)
			memcpy(s[i].tail, hk->new_bytes + hk->len - 2, 2);
	}
	return s;
}

static int passed_before(const struct lc_object *obj, const struct lc_region_header *h,
			 const struct site *s)
{
	for (size_t i = 0; obj->file_key && i < npassed; i++)
		if (passed[i].key == obj->file_key && passed[i].n == h->nhunks &&
		    memcmp(passed[i].sites, s, h->nhunks * sizeof(*s)) == 0)
			return 1;
	return 0;
}

void lc_validate_cache_clear(void)
{
	for (size_t i = 0; i < npassed; i++)
		free(passed[i].sites);
	free(passed);
	passed = NULL;
	npassed = 0;
}

int lc_validate_image(const struct lc_object *obj, const struct lc_region_header *h,
		      const char *file)
{
	struct site *sites = sites_of(obj, h);
	if (passed_before(obj, h, sites)) {
		free(sites);
		lc_debug("%s: %u jump site(s) are function starts of %s", file, h->nhunks, obj->path);
		return 0;
	}
	int rc = validate_file(obj, h, file);
	if (rc == 0 && obj->file_key) {
		passed = lc_xrealloc(passed, (npassed + 1) * sizeof(*passed));
		passed[npassed++] = (struct passed){ obj->file_key, h->nhunks, sites };
	} else {
		free(sites);
	}
	return rc;
}

static int validate_file(const struct lc_object *obj, const struct lc_region_header *h,
			 const char *file)
{
	int fd = open(obj->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc_error("%s: cannot open %s to check the jump sites", file, obj->path);
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int rc = 0, have_symtab = 0;
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		rc = lc_error("%s: cannot read %s as ELF to check the jump sites", file, obj->path);
	} else {
		for (uint32_t i = 0; i < h->nhunks && rc == 0; i++) {
			const struct lc_region_hunk *hk = lc_region_hunk(h, i);
			rc = validate_hunk(elf, obj, hk, lc_region_name(h, hk->name), file,
					   &have_symtab);
		}
	}
	if (rc == 0)
		lc_debug("%s: %u jump site(s) are function starts of %s", file, h->nhunks, obj->path);
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}
