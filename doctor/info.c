/*
 * info.c - `libcare-doctor info -p PID`: the objects of a process with
 * their BuildIDs, and the patches applied to each, as recorded in the
 * patient's own memory (the region headers).  Reads only; never attaches.
 * As text, or with --json one JSON document: {"processes": [...]}.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "libcare/log.h"
#include "libcare/trust.h"
#include "doctor.h"

static void info_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor info -p PID|all [--json] [--user NAME|UID]\n"
		"\n"
		"Lists the ELF objects of process PID with their BuildIDs and the patches\n"
		"applied to each (id, level, functions).  -p all shows every process that\n"
		"has a patch applied.\n"
		"\n"
		"  -p PID|all   the process(es)\n"
		"  -j, --json   one JSON document instead of text (-p all: with \"skipped\",\n"
		"               the processes left alone and why)\n"
		"  --user NAME|UID  with -p all: only that user's processes\n"
		"  -h, --help   this text\n");
}

static int info_signed(const struct lc_region_header *h)
{
	if (h->version < 4)
		return 0;               /* applied by a doctor before signing */
	for (size_t i = 0; i < sizeof(h->signer_sha256); i++)
		if (h->signer_sha256[i])
			return 1;
	return 0;
}

/* Is the region's patch wholly in place?  The journal says what its doctor
 * was doing, the bytes at the hunks say what is there; a patch counts as
 * applied only if both agree. */
static int region_applied(struct lc_proc *pr, const struct lc_applied *a)
{
	return lc_region_state(a->hdr) == LC_REGION_APPLIED &&
	       lc_journal_jumps(pr, a->hdr) == a->hdr->nhunks;
}

static size_t count_applied(struct lc_proc *pr, const struct lc_applied *a, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += region_applied(pr, &a[i]);
	return k;
}

/* A region that is not simply applied, in words: what its journal says,
 * how many jumps are in place, and whether its doctor still runs. */
static void info_state(struct lc_proc *pr, const struct lc_applied *a, char *buf, size_t len)
{
	const struct lc_region_header *h = a->hdr;
	uint32_t state = lc_region_state(h), jumps = lc_journal_jumps(pr, h);
	int live = h->version >= 2 && h->journal.doctor && kill((pid_t)h->journal.doctor, 0) == 0;
	const char *how = state == LC_REGION_RETIRED ? "retired (kept mapped, no jump leads here)" :
			  state == LC_REGION_APPLIED ? "applied, but some jumps are gone" :
			  state == LC_REGION_PREPARING ? "being prepared, not applied" :
			  state == LC_REGION_SWITCHING ? "half applied" : "half unpatched";
	snprintf(buf, len, "%s: %u of %u jump(s) in place%s", how, jumps, h->nhunks,
		 state == LC_REGION_RETIRED || state == LC_REGION_APPLIED ? "" :
		 live ? " (its doctor is at work)" :
		 " (its doctor was killed: 'patch' or 'unpatch' finishes it)");
}

static void info_patch(struct lc_proc *pr, const struct lc_applied *a)
{
	const struct lc_region_header *h = a->hdr;
	if (!region_applied(pr, a)) {
		char st[160];
		info_state(pr, a, st, sizeof(st));
		printf("  patch '%s' level %u, %s, region 0x%llx (%llu bytes), %u function(s):",
		       h->patch.id, h->patch.level, st, (unsigned long long)a->addr,
		       (unsigned long long)h->size, h->nhunks);
		for (uint32_t i = 0; i < h->nhunks; i++)
			printf(" %s", lc_region_name(h, lc_region_hunk(h, i)->name));
		printf("\n");
		return;
	}
	char when[64] = "?";
	time_t t = (time_t)h->applied;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	char esc[4 * LC_DESC_MAX + 1], fpr[LC_FPR_HEX_LEN];
	printf("  patch '%s' level %u, applied %s, region 0x%llx (%llu bytes), %u function(s):",
	       lc_escape(h->patch.id, sizeof(h->patch.id), esc, sizeof(esc)), h->patch.level, when,
	       (unsigned long long)a->addr, (unsigned long long)h->size, h->nhunks);
	for (uint32_t i = 0; i < h->nhunks; i++)
		printf(" %s", lc_escape(lc_region_name(h, lc_region_hunk(h, i)->name), 256, esc,
					sizeof(esc)));
	printf("\n");
	if (info_signed(h)) {
		lc_fpr_hex(h->signer_sha256, fpr);
		printf("    signed by %s (%s)\n", lc_escape(h->signer_key, sizeof(h->signer_key), esc,
							  sizeof(esc)), fpr);
	} else {
		printf("    unsigned (applied with --allow-unsigned)\n");
	}
	if (h->patch.description[0])
		printf("    %s\n", lc_escape(h->patch.description, sizeof(h->patch.description), esc,
					     sizeof(esc)));
}

static void info_retired(const struct lc_applied *a)
{
	const struct lc_region_header *h = a->hdr;
	printf("  retired: patch '%s' level %u, region 0x%llx (%llu bytes), kept mapped: it may "
	       "still be referenced\n", h->patch.id, h->patch.level, (unsigned long long)a->addr,
	       (unsigned long long)h->size);
}

static uint64_t retired_bytes(const struct lc_applied *r, size_t n)
{
	uint64_t b = 0;
	for (size_t k = 0; k < n; k++)
		b += r[k].hdr->size;
	return b;
}

static void json_string(const char *s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_patch(struct lc_proc *pr, const struct lc_applied *a, const char *sep);

/* An object's (or no object's: obj NULL) retired regions as "retired": [...]. */
static void json_retired(struct lc_proc *pr, const struct lc_applied *r, size_t n,
			 const struct lc_object *obj)
{
	const char *sep = "";
	printf(", \"retired\": [");
	for (size_t k = 0; k < n; k++)
		if (r[k].obj == obj) {
			json_patch(pr, &r[k], sep);
			sep = ",";
		}
	printf("]");
}

static void json_patch(struct lc_proc *pr, const struct lc_applied *a, const char *sep)
{
	const struct lc_region_header *h = a->hdr;
	char when[64] = "";
	time_t t = (time_t)h->applied;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\n        {\"id\": ", sep);
	json_string(h->patch.id, sizeof(h->patch.id));
	printf(", \"level\": %u, \"state\": \"%s\", \"jumps_in_place\": %u, \"applied_wholly\": %s, "
	       "\"description\": ", h->patch.level, lc_region_state_name(lc_region_state(h)),
	       lc_journal_jumps(pr, h), region_applied(pr, a) ? "true" : "false");
	json_string(h->patch.description, sizeof(h->patch.description));
	printf(", \"signer\": ");
	if (info_signed(h)) {
		char fpr[LC_FPR_HEX_LEN];
		lc_fpr_hex(h->signer_sha256, fpr);
		printf("{\"key\": ");
		json_string(h->signer_key, sizeof(h->signer_key));
		printf(", \"sha256\": \"%s\"}", fpr + 7);
	} else {
		printf("null");
	}
	printf(", \"applied\": %llu, \"applied_utc\": \"%s\", \"region\": %llu, "
	       "\"region_size\": %llu, \"functions\": [", (unsigned long long)h->applied, when,
	       (unsigned long long)a->addr, (unsigned long long)h->size);
	for (uint32_t i = 0; i < h->nhunks; i++) {
		printf("%s", i ? ", " : "");
		json_string(lc_region_name(h, lc_region_hunk(h, i)->name), (size_t)-1);
	}
	printf("]}");
}

/* One process as a JSON object (the caller separates them). */
static int info_json(pid_t pid, int many, int first)
{
	struct lc_proc pr;
	struct lc_applied *a = NULL, *ret = NULL;
	size_t n = 0, nret = 0;
	int rc = -1;

	if (lc_proc_open(&pr, pid) != 0 || lc_regions_scan(&pr, &a, &n) != 0 ||
	    lc_regions_retired(&pr, &ret, &nret) != 0)
		goto out;
	rc = 1;
	if (many && n == 0)
		goto out;
	printf("%s\n  {\"pid\": %d, \"patches_applied\": %zu, \"retired_regions\": %zu, "
	       "\"retired_bytes\": %llu, \"objects\": [", first ? "" : ",", (int)pid,
	       count_applied(&pr, a, n), nret, (unsigned long long)retired_bytes(ret, nret));
	for (size_t i = 0; i < pr.nobjs; i++) {
		const struct lc_object *o = &pr.objs[i];
		const char *sep = "";
		printf("%s\n      {\"path\": ", i ? "," : "");
		json_string(o->path, (size_t)-1);
		printf(", \"build_id\": ");
		if (o->build_id_len)
			printf("\"%s\"", o->build_id_hex);
		else
			printf("null");
		printf(", \"patches\": [");
		for (size_t k = 0; k < n; k++)
			if (a[k].obj == o) {
				json_patch(&pr, &a[k], sep);
				sep = ",";
			}
		printf("]");
		json_retired(&pr, ret, nret, o);
		printf("}");
	}
	printf("\n    ]");
	int orphans = 0;
	for (size_t k = 0; k < n; k++)
		if (!a[k].obj) {
			printf("%s", orphans++ ? "," : ", \"patches_of_unloaded_objects\": [");
			json_patch(&pr, &a[k], "");
		}
	if (orphans)
		printf("]");
	json_retired(&pr, ret, nret, NULL);
	printf("}");
	rc = 0;
out:
	lc_regions_free(ret, nret);
	lc_regions_free(a, n);
	lc_proc_close(&pr);
	return rc;
}

static int info_run(pid_t pid, int many)
{
	struct lc_proc pr;
	struct lc_applied *a = NULL, *ret = NULL;
	size_t n = 0, shown = 0, nret = 0;
	int rc = -1;

	if (lc_proc_open(&pr, pid) != 0 || lc_regions_scan(&pr, &a, &n) != 0 ||
	    lc_regions_retired(&pr, &ret, &nret) != 0)
		goto out;
	rc = 1;
	if (many && n == 0)
		goto out;
	size_t whole = count_applied(&pr, a, n);
	printf("process %d: %zu object(s), %zu patch(es) applied", (int)pid, pr.nobjs, whole);
	if (whole < n)
		printf(", %zu not wholly applied (see below)", n - whole);
	if (nret)
		printf(", %zu retired region(s) (%llu bytes)", nret,
		       (unsigned long long)retired_bytes(ret, nret));
	printf("\n");
	for (size_t i = 0; i < pr.nobjs; i++) {
		const struct lc_object *o = &pr.objs[i];
		char esc[4096];
		printf("%s BuildID %s\n", lc_escape(o->path, 1024, esc, sizeof(esc)),
		       o->build_id_len ? o->build_id_hex : "(none)");
		for (size_t k = 0; k < n; k++)
			if (a[k].obj == o) {
				info_patch(&pr, &a[k]);
				shown++;
			}
		for (size_t k = 0; k < nret; k++)
			if (ret[k].obj == o)
				info_retired(&ret[k]);
	}
	for (size_t k = 0; k < n; k++)
		if (!a[k].obj) {
			char esc[4 * LC_NAME_MAX + 1];
			printf("(object not loaded) target '%s'\n",
			       lc_escape(a[k].hdr->patch.target_name, LC_NAME_MAX, esc, sizeof(esc)));
			info_patch(&pr, &a[k]);
		}
	for (size_t k = 0; k < nret; k++)
		if (!ret[k].obj) {
			printf("(object not loaded) target '%s'\n", ret[k].hdr->patch.target_name);
			info_retired(&ret[k]);
		}
	rc = 0;
out:
	lc_regions_free(ret, nret);
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
		{ "json", no_argument, NULL, 'j' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t pid = 0;
	int c, have_pid = 0, verbose = lc_log_level(), json = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:vj", opts, NULL)) != -1) {
		switch (c) {
		case 'h': info_usage(stdout); return 0;
		case 'p':
			if (lc_parse_pid(optarg, &pid) != 0)
				return 1;
			have_pid = 1;
			break;
		case 'v': verbose++; break;
		case 'j': json = 1; break;
		case 'u':
			if (lc_parse_user(optarg, &lc_select_opts.user) != 0)
				return 1;
			lc_select_opts.have_user = 1;
			break;
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
	if (json && pid != LC_PID_ALL) {
		printf("{\"processes\": [");
		int rc = info_json(pid, 0, 1);
		printf("\n]}\n");
		return rc == 0 ? 0 : 1;
	}
	if (pid != LC_PID_ALL)
		return info_run(pid, 0) == 0 ? 0 : 1;
	/* -p all: the processes that have patches applied */
	pid_t *pids;
	size_t n, shown = 0;
	if (lc_pids_all(&pids, &n) != 0)
		return 1;
	if (json)
		printf("{\"processes\": [");
	for (size_t i = 0; i < n; i++) {
		char maps[64];
		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pids[i]);
		if (access(maps, R_OK) == 0 &&
		    (json ? info_json(pids[i], 1, shown == 0) : info_run(pids[i], 1)) == 0)
			shown++;
	}
	free(pids);
	if (json) {
		printf("\n]");
		lc_report_skipped_json();
		printf("}\n");
	}
	else if (!shown)
		printf("no process has a patch applied\n");
	return 0;
}
