/*
 * vimage.h - the normalised image of a linked binary for libcare-verify:
 * every function disassembled (libopcodes) and every data object dumped,
 * with each address replaced by the name of its target (verify.h).
 */
#ifndef LIBCARE_LINKER_VIMAGE_H
#define LIBCARE_LINKER_VIMAGE_H

#include "obj.h"
#include "verify.h"

/* Fills `im` from `o` (opened with lc_obj_open); -1 with the error logged. */
int lc_vimage_build(struct lc_vimage *im, const struct lc_obj *o, const char *what);

#endif
