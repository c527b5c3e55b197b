/*
 * main.c - libcare-doctor: dispatch to the subcommands (patch, unpatch,
 * info, check), each in its own file with one entry point.
 */
#include <stdio.h>
#include <string.h>
#include "libcare/log.h"
#include "doctor.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor [-v] COMMAND [ARGS]\n"
		"\n"
		"Applies live patches to running processes.\n"
		"\n"
		"  patch -p PID|all FILE|DIR       apply FILE (<BuildID>.kpatch), or the\n"
		"                                  DIR/<BuildID>.kpatch of each object\n"
		"  unpatch -p PID|all [-b BUILDID] remove applied patches\n"
		"  unpatch ... [--id ID]           only the patch with this id\n"
		"  info -p PID|all [--json]        objects, BuildIDs and applied patches\n"
		"  check -p PID FILE               would FILE apply? (changes nothing)\n"
		"  server [--dir DIR]              keep every process patched from DIR\n"
		"  status [--json]                 what the running server knows\n"
		"\n"
		"Each command has --help.  Exit 0 on success, 1 with one line on stderr\n"
		"otherwise, 2 if the patch is already applied (patch, check).\n");
}

int main(int argc, char **argv)
{
	int i = 1, verbose = 0;

	lc_log_init("libcare-doctor");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose++;
		} else if (strcmp(argv[i], "-vv") == 0) {
			verbose += 2;
		} else {
			lc_error("bad option '%s' (see libcare-doctor --help)", argv[i]);
			return 1;
		}
	}
	if (i >= argc) {
		lc_error("no command given (see libcare-doctor --help)");
		return 1;
	}
	lc_log_set_level(verbose);
	const char *cmd = argv[i];
	if (strcmp(cmd, "patch") == 0)
		return lc_cmd_patch(argc - i, argv + i);
	if (strcmp(cmd, "unpatch") == 0)
		return lc_cmd_unpatch(argc - i, argv + i);
	if (strcmp(cmd, "info") == 0)
		return lc_cmd_info(argc - i, argv + i);
	if (strcmp(cmd, "check") == 0)
		return lc_cmd_check(argc - i, argv + i);
	if (strcmp(cmd, "server") == 0)
		return lc_cmd_server(argc - i, argv + i);
	if (strcmp(cmd, "status") == 0)
		return lc_cmd_status(argc - i, argv + i);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	lc_error("unknown command '%s' (see libcare-doctor --help)", cmd);
	return 1;
}
