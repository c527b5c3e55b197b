/* buildid.h - reading an object's NT_GNU_BUILD_ID and printing it as hex. */
#ifndef LIBCARE_BUILDID_H
#define LIBCARE_BUILDID_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>
#include "libcare/patchfile.h"

/* From an open ELF (file or memory).  Returns the length, 0 if none, -1 on error. */
int lc_buildid_from_elf(Elf *elf, uint8_t id[LC_BUILD_ID_MAX]);
/* hex must hold 2 * LC_BUILD_ID_MAX + 1 bytes. */
void lc_buildid_hex(const uint8_t *id, size_t len, char *hex);

#endif
