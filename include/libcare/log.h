/*
 * log.h - the one voice every LibCare command speaks with.
 *
 * Messages go to stderr as "<prog>: <text>"; errors and warnings always,
 * info with -v (level 1), debug with -vv (level 2).  Callers put the PID,
 * object and function a user needs into the text.
 */
#ifndef LIBCARE_LOG_H
#define LIBCARE_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LC_PRINTF(a, b) __attribute__((format(printf, a, b)))

void lc_log_init(const char *prog);
void lc_log_set_level(int level);   /* 0 quiet, 1 -v, 2 -vv; -1 silent (even errors) */
int lc_log_level(void);
/* While set, messages are not printed: the first error's text is kept in
 * buf (the in-process loader reports it as its one line); len 0 ends it. */
void lc_log_capture(char *buf, size_t len);

/* lc_error returns -1 so that `return lc_error(...)` reads as a refusal. */
int lc_error(const char *fmt, ...) LC_PRINTF(1, 2);
void lc_warn(const char *fmt, ...) LC_PRINTF(1, 2);
void lc_info(const char *fmt, ...) LC_PRINTF(1, 2);
void lc_debug(const char *fmt, ...) LC_PRINTF(1, 2);
_Noreturn void lc_die(const char *fmt, ...) LC_PRINTF(1, 2);

#endif
