/*
 * runtime_fixture.h - what the runtime's unit tests share: patch files made
 * from assembly (`as` turns data/runtime/NAME.s into the ET_REL payload,
 * which is sealed behind a header), and stderr captured so a test can check
 * what an error names.
 */
#ifndef LIBCARE_RUNTIME_FIXTURE_H
#define LIBCARE_RUNTIME_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/patchfile.h"

/* data/runtime/SRC.s -> a patch file for TARGET_NAME whose BuildID is 20
 * bytes of ID_BYTE, in *file. */
static void fixture_make_patch(const char *tmpdir, const char *src, const char *target_name,
			       uint8_t id_byte, struct lc_buf *file)
{
	char cmd[512], obj[300];
	struct lc_buf payload = LC_BUF_INIT;
	struct lc_patch_header h;

	snprintf(obj, sizeof(obj), "%s/%s.o", tmpdir, src);
	snprintf(cmd, sizeof(cmd), "as -o %s data/runtime/%s.s", obj, src);
	if (system(cmd) != 0 || lc_buf_read_file(&payload, obj) != 0)
		lc_die("cannot assemble data/runtime/%s.s", src);
	unlink(obj);
	memset(&h, 0, sizeof(h));
	h.build_id_len = 20;
	memset(h.build_id, id_byte, 20);
	h.level = 1;
	snprintf(h.target_name, sizeof(h.target_name), "%s", target_name);
	strcpy(h.id, "default");
	lc_patchfile_seal(&h, payload.data, payload.len);
	lc_buf_reset(file);
	lc_buf_add(file, &h, sizeof(h));
	lc_buf_add(file, payload.data, payload.len);
	lc_buf_free(&payload);
}

/* Errors go to stderr; tests read them back to check what they name. */
static char fixture_errtext[4096];
static int fixture_saved_fd = -1;
static FILE *fixture_errfile;

static void capture_begin(void)
{
	fflush(stderr);
	fixture_errfile = tmpfile();
	fixture_saved_fd = dup(2);
	dup2(fileno(fixture_errfile), 2);
}

static const char *capture_end(void)
{
	fflush(stderr);
	dup2(fixture_saved_fd, 2);
	close(fixture_saved_fd);
	rewind(fixture_errfile);
	size_t n = fread(fixture_errtext, 1, sizeof(fixture_errtext) - 1, fixture_errfile);
	fixture_errtext[n] = '\0';
	fclose(fixture_errfile);
	return fixture_errtext;
}

#endif
