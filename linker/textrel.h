/*
 * textrel.h - refusing objects with text relocations (textrel.c).
 */
#ifndef LIBCARE_LINKER_TEXTREL_H
#define LIBCARE_LINKER_TEXTREL_H

#include "obj.h"

/* 0, or -1 (logged, naming `what` and the path) if `o` has DT_TEXTREL. */
int lc_textrel_check(const struct lc_obj *o, const char *what);

#endif
