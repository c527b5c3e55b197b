/*
 * info.c - `libcare-doctor info -p PID`: the objects of a process with
 * their BuildIDs, and the patches applied to each, as recorded in the
 * patient's own memory (the region headers).  Reads only; never attaches.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

static void info_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor info -p PID|all\n"
		"\n"
		"Lists the ELF objects of process PID with their BuildIDs and the patches\n"
		"applied to each (id, level, functions).  -p all shows every process that\n"
		"has a patch applied.\n"
		"\n"
		"  -p PID|all   the process(es)\n"
		"  -h, --help   this text\n");
}

static void info_patch(const struct lc_applied *a)
{
	const struct lc_region_header *h = a->hdr;
	char when[64] = "?";
	time_t t = (time_t)h->applied;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("  patch '%s' level %u, applied %s, region 0x%llx (%llu bytes), %u function(s):",
	       h->patch.id, h->patch.level, when, (unsigned long long)a->addr,
	       (unsigned long long)h->size, h->nhunks);
	for (uint32_t i = 0; i < h->nhunks; i++)
		printf(" %s", lc_region_name(h, lc_region_hunk(h, i)->name));
	printf("\n");
	if (h->patch.description[0])
		printf("    %s\n", h->patch.description);
}

static int info_run(pid_t pid, int many)
{
	struct lc_proc pr;
	struct lc_applied *a = NULL;
	size_t n = 0, shown = 0;
	int rc = -1;

	if (lc_proc_open(&pr, pid) != 0 || lc_regions_scan(&pr, &a, &n) != 0)
		goto out;
	rc = 1;
	if (many && n == 0)
		goto out;
	printf("process %d: %zu object(s), %zu patch(es) applied\n", (int)pid, pr.nobjs, n);
	for (size_t i = 0; i < pr.nobjs; i++) {
		const struct lc_object *o = &pr.objs[i];
		printf("%s BuildID %s\n", o->path, o->build_id_len ? o->build_id_hex : "(none)");
		for (size_t k = 0; k < n; k++)
			if (a[k].obj == o) {
				info_patch(&a[k]);
				shown++;
			}
	}
	for (size_t k = 0; k < n; k++)
		if (!a[k].obj) {
			printf("(object not loaded) target '%s'\n", a[k].hdr->patch.target_name);
			info_patch(&a[k]);
		}
	rc = 0;
out:
	lc_regions_free(a, n);
	lc_proc_close(&pr);
	return rc;
}

int lc_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pid", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t pid = 0;
	int c, have_pid = 0, verbose = lc_log_level();

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h': info_usage(stdout); return 0;
		case 'p':
			if (lc_parse_pid(optarg, &pid) != 0)
				return 1;
			have_pid = 1;
			break;
		case 'v': verbose++; break;
		case ':':
			lc_error("info: option '%s' needs a value (see libcare-doctor info --help)",
				 argv[optind - 1]);
			return 1;
		default:
			lc_error("info: bad option '%s' (see libcare-doctor info --help)", argv[optind - 1]);
			return 1;
		}
	}
	if (!have_pid || optind < argc) {
		lc_error("info: %s (see libcare-doctor info --help)",
			 !have_pid ? "-p PID is required" : "too many arguments");
		return 1;
	}
	lc_log_set_level(verbose);
	if (pid != LC_PID_ALL)
		return info_run(pid, 0) == 0 ? 0 : 1;
	/* -p all: the processes that have patches applied */
	pid_t *pids;
	size_t n, shown = 0;
	if (lc_pids_all(&pids, &n) != 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		char maps[64];
		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pids[i]);
		if (access(maps, R_OK) == 0 && info_run(pids[i], 1) == 0)
			shown++;
	}
	free(pids);
	if (!shown)
		printf("no process has a patch applied\n");
	return 0;
}
