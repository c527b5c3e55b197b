/*
 * gensrc_main.c - libcare-gensrc ORIG.s PATCHED.s -o OUT.s [-v]: the
 * plugin's patched stage on two assembly files (plain `gcc -S` output or
 * the plugin's stored text), for tests, debugging and non-plugin builds.
 * What changed is always reported on stderr, one line per function.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "asm.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: libcare-gensrc ORIG.s PATCHED.s -o OUT.s [-v]\n"
		"Writes ORIG.s followed by .kpatch.* sections holding the functions of\n"
		"PATCHED.s that changed or are new.  Prints on stderr one line per\n"
		"function (\"changed: foo (code)\", \"new: bar\", \"removed: baz ...\").\n"
		"A change that cannot be live-patched (existing data changed) is refused:\n"
		"exit status 1 with a one-line reason.\n"
		"  -o OUT.s   output file (\"-\" for stdout)\n"
		"  -v         more detail (renamed static locals, ...)\n"
		"  --help     this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char *outpath = NULL;
	int c, verbose = 0;
	lc_log_init("libcare-gensrc");
	while ((c = getopt_long(argc, argv, "ho:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'o':
			outpath = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || !outpath) {
		usage(stderr);
		return 2;
	}
	lc_log_set_level(verbose);
	struct lc_buf patched = LC_BUF_INIT, tmp = LC_BUF_INIT;
	struct lc_buf report = LC_BUF_INIT, err = LC_BUF_INIT;
	struct lc_nodebug kept = { 0 };
	FILE *out = NULL;
	char *memtext = NULL;
	size_t memlen = 0;
	int ret = 1, fd = -1, regular = 0;
	struct stat sb;
	if ((fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0) {
		lc_error("cannot read %s: %s", argv[optind], strerror(errno));
		goto out;
	}
	/* the patched text as the plugin holds it: without its DWARF lines */
	if (lc_buf_read_file(&patched, argv[optind + 1]) < 0) {
		lc_error("cannot read %s: %s", argv[optind + 1], strerror(errno));
		goto out;
	}
	if (lc_nodebug_init(&kept) < 0 || lc_nodebug_feed(&kept, patched.data, patched.len) < 0 ||
	    lc_nodebug_end(&kept) < 0)
		lc_die("no memory for %s", argv[optind + 1]);
	lc_buf_free(&patched);
	/* a regular file is written to a temporary renamed over it; anything
	 * else (stdout, /dev/null, a pipe) gets the text only once it is whole */
	regular = strcmp(outpath, "-") != 0 && !(stat(outpath, &sb) == 0 && !S_ISREG(sb.st_mode));
	out = regular ? lc_store_open(outpath, &tmp, &err) : open_memstream(&memtext, &memlen);
	if (!out) {
		lc_error("%s", regular ? err.data : "no memory for the output");
		goto out;
	}
	int r = lc_gensrc_fd(fd, kept.text, kept.len, out, &report, &err);
	for (char *line = report.data, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (verbose || strncmp(line, "renamed: ", 9) != 0)
			fprintf(stderr, "libcare-gensrc: %s\n", line);
	}
	if (r < 0) {
		lc_error("%s: %s", argv[optind + 1], err.data);
		goto out;
	}
	if (regular) {
		FILE *f = out;
		out = NULL;
		errno = 0;
		if (lc_store_commit(f, tmp.data, outpath, 0, &err) < 0) {
			lc_error("%s", err.data);
			goto out;
		}
	} else {
		if (fclose(out) != 0)
			lc_die("no memory for the output");
		out = NULL;
		FILE *f = strcmp(outpath, "-") == 0 ? stdout : fopen(outpath, "w");
		int bad = !f || fwrite(memtext, 1, memlen, f) != memlen;
		if (f && (f == stdout ? fflush(f) : fclose(f)) != 0)
			bad = 1;
		if (bad) {
			lc_error("cannot write %s: %s", f == stdout ? "to stdout" : outpath,
				 strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	if (out && regular)
		lc_store_abort(out, tmp.data);
	else if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	free(memtext);
	lc_nodebug_free(&kept);
	lc_buf_free(&patched);
	lc_buf_free(&tmp);
	lc_buf_free(&report);
	lc_buf_free(&err);
	return ret;
}
