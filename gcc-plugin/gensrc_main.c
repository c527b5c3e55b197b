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
	struct lc_buf orig = LC_BUF_INIT, patched = LC_BUF_INIT, out = LC_BUF_INIT;
	struct lc_buf report = LC_BUF_INIT, err = LC_BUF_INIT;
	int ret = 1;
	if (lc_buf_read_file(&orig, argv[optind]) < 0) {
		lc_error("cannot read %s: %s", argv[optind], strerror(errno));
		goto out;
	}
	if (lc_buf_read_file(&patched, argv[optind + 1]) < 0) {
		lc_error("cannot read %s: %s", argv[optind + 1], strerror(errno));
		goto out;
	}
	int r = lc_gensrc(orig.data, orig.len, patched.data, patched.len, &out, &report, &err);
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
	struct stat sb;
	if (strcmp(outpath, "-") == 0) {
		if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
			lc_error("cannot write to stdout");
			goto out;
		}
	} else if (stat(outpath, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		/* /dev/null, a pipe: write in place, never rename over it */
		FILE *f = fopen(outpath, "w");
		int bad = !f || fwrite(out.data, 1, out.len, f) != out.len;
		if ((f && fclose(f) != 0) || bad) {
			lc_error("cannot write %s: %s", outpath, strerror(errno));
			goto out;
		}
	} else if (lc_store_write(outpath, out.data, out.len, &err) < 0) {
		lc_error("%s", err.data);
		goto out;
	}
	ret = 0;
out:
	lc_buf_free(&orig);
	lc_buf_free(&patched);
	lc_buf_free(&out);
	lc_buf_free(&report);
	lc_buf_free(&err);
	return ret;
}
