/*
 * fuzz_elf.c - libFuzzer harness for mkpatch's ELF reader (linker/obj.c)
 * and what runs on what it read: the BuildID note, the text-relocation
 * check, the layout check of the object against itself and the extraction
 * of .kpatch sections with the object as both ORIGINAL and PATCHED.
 * The input goes to a memfd, opened by path as mkpatch opens its files.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "libcare/buildid.h"
#include "libcare/log.h"
#include "extract.h"
#include "layout.h"
#include "obj.h"
#include "payload.h"
#include "textrel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_log_set_level(-1);
	elf_version(EV_CURRENT);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create("fuzz-elf", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct lc_obj o;
	memset(&o, 0, sizeof(o));
	o.fd = -1;
	if (lc_obj_open(&o, "ORIGINAL", path) == 0) {
		uint8_t id[LC_BUILD_ID_MAX];
		lc_buildid_from_elf(o.elf, id);
		lc_textrel_check(&o, "ORIGINAL");
		struct lc_buf why = LC_BUF_INIT;
		lc_layout_check(&o, &o, &why);
		lc_buf_free(&why);
		if (lc_obj_section_index(&o, ".kpatch.text") || lc_obj_section_index(&o, ".kpatch.info")) {
			struct lc_payload pay;
			struct lc_extract_stats st;
			struct lc_buf out = LC_BUF_INIT;
			lc_payload_init(&pay);
			if (lc_extract(&o, &o, &pay, &st) == 0)
				lc_payload_write(&pay, &out);
			lc_payload_free(&pay);
			lc_buf_free(&out);
		}
	}
	lc_obj_close(&o);
	close(fd);
	return 0;
}
