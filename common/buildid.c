/*
 * buildid.c - NT_GNU_BUILD_ID of an ELF object.  The BuildID is how a patch
 * names its target: the same bytes on the build host and in the patient.
 */
#include <gelf.h>
#include <string.h>
#include "libcare/buildid.h"

static int buildid_from_note_data(Elf_Data *data, uint8_t id[LC_BUILD_ID_MAX])
{
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;
	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0) {
			size_t len = nh.n_descsz;
			if (len == 0 || len > LC_BUILD_ID_MAX)
				return -1;
			memcpy(id, (char *)data->d_buf + desc_off, len);
			return (int)len;
		}
	}
	return 0;
}

int lc_buildid_from_elf(Elf *elf, uint8_t id[LC_BUILD_ID_MAX])
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t nphdr;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		int n = data ? buildid_from_note_data(data, id) : 0;
		if (n != 0)
			return n;
	}
	/* No section headers (or none with the note): try program headers. */
	if (elf_getphdrnum(elf, &nphdr) != 0)
		return 0;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
						      ph.p_filesz, ELF_T_NHDR);
		int n = data ? buildid_from_note_data(data, id) : 0;
		if (n != 0)
			return n;
	}
	return 0;
}

void lc_buildid_hex(const uint8_t *id, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[2 * len] = '\0';
}
