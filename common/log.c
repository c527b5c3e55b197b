/* log.c - the logging voice of log.h. */
#include <stdio.h>
#include <stdlib.h>
#include "libcare/log.h"

static const char *log_prog = "libcare";
static int log_level;
static char *log_capture;        /* lc_log_capture: errors kept here */
static size_t log_capture_len;

void lc_log_init(const char *prog) { log_prog = prog; }

void lc_log_capture(char *buf, size_t len)
{
	log_capture = len ? buf : NULL;
	log_capture_len = len;
	if (log_capture)
		buf[0] = '\0';
}
void lc_log_set_level(int level) { log_level = level; }
int lc_log_level(void) { return log_level; }

static void log_emit(const char *kind, const char *fmt, va_list ap)
{
	if (log_capture) {
		/* the first error is the reason; the rest (warnings too) is dropped */
		if (!log_capture[0] && kind[0] == 'e')
			vsnprintf(log_capture, log_capture_len, fmt, ap);
		return;
	}
	if (log_level < 0) {
		/* silenced (fuzzing): still format, the arguments get checked */
		char scratch[1024];
		(void)kind;
		vsnprintf(scratch, sizeof(scratch), fmt, ap);
		return;
	}
	fprintf(stderr, "%s: %s", log_prog, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int lc_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void lc_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit("warning: ", fmt, ap);
	va_end(ap);
}

void lc_info(const char *fmt, ...)
{
	va_list ap;
	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_emit("", fmt, ap);
	va_end(ap);
}

void lc_debug(const char *fmt, ...)
{
	va_list ap;
	if (log_level < 2)
		return;
	va_start(ap, fmt);
	log_emit("debug: ", fmt, ap);
	va_end(ap);
}

void lc_die(const char *fmt, ...)
{
	va_list ap;
	log_capture = NULL;
	va_start(ap, fmt);
	log_emit("error: ", fmt, ap);
	va_end(ap);
	exit(1);
}
