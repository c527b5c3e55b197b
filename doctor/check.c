/*
 * check.c - `libcare-doctor check -p PID FILE`: would this patch apply?
 *
 * Runs everything `patch` does before its first change to the process: the
 * file is verified (signature and trust as for patch), the object with its BuildID found, applied patches
 * compared (level, id, functions replaced by another patch), imports
 * resolved, a free region chosen and the image linked for it.  Nothing is
 * attached, nothing written.  Exit status as for patch: 0 it would apply,
 * 1 it would be refused (the error says why), 2 already applied.
 */
#include <getopt.h>
#include <stdio.h>
#include "libcare/log.h"
#include "doctor.h"

static void check_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor check -p PID FILE [--keys DIR] [--allow-unsigned] [-v]\n"
		"\n"
		"Checks, without changing process PID, that the patch FILE could be\n"
		"applied to it: the file is valid, the process has the object with its\n"
		"BuildID, no applied patch is in the way, every import resolves and a\n"
		"region is free.  Exit status: 0 yes, 1 no (one line says why),\n"
		"2 already applied.\n"
		"\n"
		"  -p PID       the process\n"
		"  --keys DIR   trusted public keys, as for patch\n"
		"  --allow-unsigned  as for patch\n"
		"  -v           details (-vv: debug)\n"
		"  -h, --help   this text\n");
}

int lc_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pid", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "keys", required_argument, NULL, 'K' },
		{ "allow-unsigned", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t pid = 0;
	int c, verbose = lc_log_level(), have_pid = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h': check_usage(stdout); return 0;
		case 'p':
			if (lc_parse_pid(optarg, &pid) != 0)
				return 1;
			have_pid = 1;
			break;
		case 'v': verbose++; break;
		case 'K': lc_verify_opts.keys = optarg; break;
		case 'U': lc_verify_opts.allow_unsigned = 1; break;
		case ':':
			lc_error("check: option '%s' needs a value (see libcare-doctor check --help)",
				 argv[optind - 1]);
			return 1;
		default:
			lc_error("check: bad option '%s' (see libcare-doctor check --help)",
				 argv[optind - 1]);
			return 1;
		}
	}
	if (!have_pid || pid == LC_PID_ALL || optind != argc - 1) {
		lc_error("check: %s (see libcare-doctor check --help)",
			 !have_pid ? "-p PID is required" : pid == LC_PID_ALL ? "-p all is not supported"
			 : optind >= argc ? "a patch FILE is required" : "too many arguments");
		return 1;
	}
	lc_log_set_level(verbose);
	return lc_patch_file(pid, argv[optind], 0, 1);
}
