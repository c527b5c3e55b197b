/*
 * unpatch.c - `libcare-doctor unpatch -p PID|all [-b BUILDID] [--id ID]`:
 * take applied patches out of a running process.
 *
 * The regions found in the patient say what to undo.  With the world
 * stopped and no thread inside a replacement (or its stubs), each jump is
 * checked to still be ours, the original bytes go back, and the region is
 * unmapped once the world runs again.  If any check fails nothing is
 * changed.  Patches of other ids stay (they replace other functions).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

static void unpatch_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor unpatch -p PID|all [-b BUILDID] [--id ID] [--timeout S]\n"
		"                              [--user NAME|UID] [--json] [-v]\n"
		"\n"
		"Removes the patches applied to process PID, or to every process with\n"
		"-p all (only those for the object with BUILDID, a hex prefix, if -b is\n"
		"given; only the patch with that id if --id is) and restores the original\n"
		"code.  Refused while a thread runs a replacement function.\n"
		"\n"
		"  -p PID|all   the process(es)\n"
		"  -b BUILDID   only patches of this object\n"
		"  -i, --id ID  only the patch with this id\n"
		"  -t, --timeout S  wait up to S seconds (default 2) for threads to leave\n"
		"               the replacement functions, then give up\n"
		"  --user NAME|UID  with -p all: only that user's processes (never PID 1,\n"
		"               nor what /etc/libcare/exclude names)\n"
		"  --json       with -p all: a JSON document of every process unpatched,\n"
		"               skipped or failed, with the reason (other lines: stderr)\n"
		"  -v           details (-vv: debug)\n"
		"  -h, --help   this text\n");
}

struct unpatch_opts {
	const char *buildid;    /* hex prefix, or NULL */
	const char *id;         /* --id, or NULL */
	int timeout_ms;
};

static int unpatch_selected(const struct lc_applied *a, const struct unpatch_opts *o)
{
	char hex[2 * LC_BUILD_ID_MAX + 1];
	uint32_t len = a->hdr->patch.build_id_len;
	const char *buildid = o->buildid;
	if (lc_region_state(a->hdr) == LC_REGION_RETIRED)
		return 0;       /* nothing leads there any more */
	if (o->id && strncmp(a->hdr->patch.id, o->id, sizeof(a->hdr->patch.id)) != 0)
		return 0;
	if (!buildid)
		return 1;
	if (len > LC_BUILD_ID_MAX)
		return 0;
	for (uint32_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", a->hdr->patch.build_id[i]);
	return strncasecmp(hex, buildid, strlen(buildid)) == 0;
}

struct unpatch_ctx {
	struct lc_proc *pr;
	struct lc_applied *a;
	size_t n;
	uint64_t insn;
	int referenced;         /* something may point into a region (retire.c) */
};

/* What a hunk's site holds: 1 its jump (to restore), 0 its old bytes or
 * the jump of another region being removed now (nothing to do here: a
 * half-done level upgrade or patch left by a killed doctor), -1 anything
 * else (not ours to touch). */
static int unpatch_site(struct unpatch_ctx *c, const struct lc_region_hunk *hk)
{
	uint8_t now[LC_HUNK_MAX_BYTES];
	if (lc_mem_read(c->pr, hk->addr, now, hk->len) != 0)
		return -1;
	if (memcmp(now, hk->new_bytes, hk->len) == 0)
		return 1;
	if (memcmp(now, hk->old_bytes, hk->len) == 0)
		return 0;
	for (size_t k = 0; k < c->n; k++)
		for (uint32_t i = 0; i < c->a[k].hdr->nhunks; i++) {
			const struct lc_region_hunk *o = lc_region_hunk(c->a[k].hdr, i);
			if (o->addr == hk->addr && o->len == hk->len &&
			    memcmp(now, o->new_bytes, hk->len) == 0)
				return 0;
		}
	return -1;
}

/* The transition's switch, world stopped: every site holds a jump of the
 * regions removed now (or already its old bytes), then, journalled region
 * by region, the old bytes go back. */
/* Was a site at addr restored already in this switch (by a region before
 * k, or by hunk j < i of region k)?  Then what it holds is read again. */
static int unpatch_site_written(const struct unpatch_ctx *c, size_t k, uint32_t i, uint64_t addr)
{
	for (size_t m = 0; m <= k; m++)
		for (uint32_t j = 0; j < (m < k ? c->a[m].hdr->nhunks : i); j++)
			if (lc_region_hunk(c->a[m].hdr, j)->addr == addr)
				return 1;
	return 0;
}

static int unpatch_switch(struct lc_transition *t)
{
	struct unpatch_ctx *c = t->ctx;
	struct lc_proc *pr = c->pr;
	size_t nh = 0;
	for (size_t k = 0; k < c->n; k++)
		nh += c->a[k].hdr->nhunks;
	/* what each site holds (unpatch_site), read once: the world is
	 * stopped and only this switch writes them */
	int *held = lc_xcalloc(nh ? nh : 1, sizeof(*held)), rc = -1;
	size_t x = 0;
	for (size_t k = 0; k < c->n; k++)
		for (uint32_t i = 0; i < c->a[k].hdr->nhunks; i++) {
			const struct lc_region_hunk *hk = lc_region_hunk(c->a[k].hdr, i);
			if ((held[x++] = unpatch_site(c, hk)) < 0) {
				lc_error("process %d: function '%s' at 0x%llx does not hold the "
					 "patch's jump; not touching it", (int)pr->pid,
					 lc_region_name(c->a[k].hdr, hk->name),
					 (unsigned long long)hk->addr);
				goto out;
			}
		}
	x = 0;
	for (size_t k = 0; k < c->n; k++) {
		const struct lc_region_header *h = c->a[k].hdr;
		if (lc_journal_write(pr, c->a[k].addr, h, LC_REGION_UNPATCHING, 0, 0) != 0)
			goto out;
		for (uint32_t i = 0; i < h->nhunks; i++, x++) {
			const struct lc_region_hunk *hk = lc_region_hunk(h, i);
			int now = unpatch_site_written(c, k, i, hk->addr) ? unpatch_site(c, hk) : held[x];
			if (now == 1 && lc_mem_write(pr, hk->addr, hk->old_bytes, hk->len) != 0) {
				lc_error("process %d: function '%s' at 0x%llx could not be restored",
					 (int)pr->pid, lc_region_name(h, hk->name),
					 (unsigned long long)hk->addr);
				goto out;
			}
			/* the count only informs (the bytes at the sites are the
			 * truth): none after the last restore, in the stop */
			if (i + 1 < h->nhunks)
				lc_journal_write(pr, c->a[k].addr, h, LC_REGION_UNPATCHING, i + 1, 0);
			if (i == 0)
				lc_test_pause("restoring");
		}
	}
	/* Still stopped, no jump left: may anything point into the regions? */
	c->referenced = lc_regions_referenced(&t->ts, t->unwind, &t->proof, c->a, c->n);
	rc = 0;
out:
	free(held);
	return rc;
}

/* The transition's finish, world running: the regions go, or are
 * retired if something may still point into them (retire.c). */
static void unpatch_finish(struct lc_transition *t, struct lc_thread *th)
{
	struct unpatch_ctx *c = t->ctx;
	lc_regions_let_go(&t->ts, th, c->insn, c->pr, c->a, c->n, c->referenced);
}

static const struct lc_transition_ops unpatch_ops = {
	"unpatch", NULL, NULL, unpatch_switch, unpatch_finish,
};

static int unpatch_run(pid_t pid, const struct unpatch_opts *o, int many)
{
	const char *buildid = o->buildid;
	struct lc_proc pr;
	struct lc_applied *all = NULL, *a = NULL;
	size_t nall = 0, n = 0, nranges = 0, nfuncs = 0;
	struct lc_range *busy = NULL;
	uint64_t insn;
	int rc = -1, locked = 0;

	int opened = many ? lc_proc_open_any(&pr, pid) : lc_proc_open(&pr, pid);
	if (opened > 0)
		rc = 1;         /* -p all: no ELF object (an exec under way), no patch */
	if (opened != 0)
		goto out;
again:
	if (lc_regions_scan(&pr, &all, &nall) != 0)
		goto out;
	a = lc_xcalloc(nall ? nall : 1, sizeof(*a));
	for (size_t i = 0; i < nall; i++)
		if (unpatch_selected(&all[i], o))
			a[n++] = all[i];
	/* The lock only for a process with something to undo (-p all must not
	 * wait for doctors busy elsewhere); what is applied is read again
	 * once it is held. */
	if (n > 0 && !locked) {
		if (lc_lock_acquire(pid) != 0)
			goto out;
		locked = 1;
		free(a);
		a = NULL;
		lc_regions_free(all, nall);
		all = NULL;
		nall = n = 0;
		goto again;
	}
	if (n == 0 && many) {
		rc = 1;
		goto out;
	}
	if (n == 0) {
		if (o->id)
			lc_error("process %d has no patch '%s' applied%s%s", (int)pid, o->id,
				 buildid ? " to an object with BuildID " : "", buildid ? buildid : "");
		else if (buildid)
			lc_error("process %d has no patch applied to an object with BuildID %s",
				 (int)pid, buildid);
		else
			lc_error("process %d has no patch applied", (int)pid);
		goto out;
	}
	if (lc_guard_check(pid) != 0 || lc_proc_syscall_insn(&pr, &insn) != 0)
		goto out;
	/* Busy: a thread in a replacement, a stub or the data? Text is enough. */
	for (size_t k = 0; k < n; k++)
		nfuncs += a[k].hdr->nhunks;
	busy = lc_xcalloc(n + nfuncs, sizeof(*busy));
	for (size_t k = 0; k < n; k++) {
		busy[nranges++] = (struct lc_range){ a[k].addr + a[k].hdr->text_offset,
			a[k].addr + a[k].hdr->text_offset + a[k].hdr->text_size,
			a[k].hdr->nhunks ? lc_region_name(a[k].hdr, lc_region_hunk(a[k].hdr, 0)->name) : "?",
			a[k].addr };
		nranges += lc_region_busy_ranges(a[k].hdr, busy + nranges);   /* busy.c */
	}
	struct unpatch_ctx ctx = { &pr, a, n, insn, 0 };
	struct lc_transition t;
	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.pr = &pr;
	t.insn = insn;
	t.busy = busy;
	t.nbusy = nranges;
	t.timeout_ms = o->timeout_ms;
	t.why_suffix = ", a replacement function";
	t.ops = &unpatch_ops;
	t.ctx = &ctx;
	t.refs_scan = 1;
	if (lc_transition_run(&t) != 0)
		goto out;
	lc_info("process %d: waiting for a safe point %llu us (%d stop(s), %d trampoline "
		"return(s)); stopped for %llu us in %d stop(s): last stack check %llu us, writes "
		"%llu us; unmapping %llu us", (int)pid, (unsigned long long)t.wait_us, t.stops,
		t.taken, (unsigned long long)t.stopped_us, t.stops, (unsigned long long)t.check_us,
		(unsigned long long)t.switch_us, (unsigned long long)t.cleanup_us);
	for (size_t k = 0; k < n; k++)
		for (uint32_t i = 0; i < a[k].hdr->nhunks; i++)
			lc_info("process %d: restored %s at 0x%llx", (int)pid,
				lc_region_name(a[k].hdr, lc_region_hunk(a[k].hdr, i)->name),
				(unsigned long long)lc_region_hunk(a[k].hdr, i)->addr);
	printf("unpatched %d: %zu patch(es), %zu function(s) restored, patient stopped for %llu us\n",
	       (int)pid, n, nfuncs, (unsigned long long)t.stopped_us);
	rc = 0;
out:
	if (locked)
		lc_lock_release(pid);
	free(busy);
	free(a);
	lc_regions_free(all, nall);
	lc_proc_close(&pr);
	return rc;
}

int lc_cmd_unpatch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pid", required_argument, NULL, 'p' },
		{ "buildid", required_argument, NULL, 'b' },
		{ "id", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	pid_t pid = 0;
	const char *buildid = NULL;
	int json = 0;
	struct unpatch_opts o = { NULL, NULL, LC_SAFE_TIMEOUT_MS };
	int c, verbose = lc_log_level(), have_pid = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:b:i:t:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h': unpatch_usage(stdout); return 0;
		case 'p':
			if (lc_parse_pid(optarg, &pid) != 0)
				return 1;
			have_pid = 1;
			break;
		case 'b': buildid = optarg; break;
		case 'i': o.id = optarg; break;
		case 't':
			if (lc_parse_timeout(optarg, &o.timeout_ms) != 0)
				return 1;
			break;
		case 'v': verbose++; break;
		case 'u':
			if (lc_parse_user(optarg, &lc_select_opts.user) != 0)
				return 1;
			lc_select_opts.have_user = 1;
			break;
		case 'j': json = 1; break;
		case ':':
			lc_error("unpatch: option '%s' needs a value (see libcare-doctor unpatch --help)",
				 argv[optind - 1]);
			return 1;
		default:
			lc_error("unpatch: bad option '%s' (see libcare-doctor unpatch --help)",
				 argv[optind - 1]);
			return 1;
		}
	}
	if (!have_pid || optind < argc) {
		lc_error("unpatch: %s (see libcare-doctor unpatch --help)",
			 !have_pid ? "-p PID is required" : "too many arguments");
		return 1;
	}
	if (buildid && (!*buildid || strspn(buildid, "0123456789abcdefABCDEF") != strlen(buildid))) {
		lc_error("unpatch: '%s' is not a BuildID (hex digits)", buildid);
		return 1;
	}
	lc_log_set_level(verbose);
	o.buildid = buildid;
	if ((lc_select_opts.have_user || json) && pid != LC_PID_ALL) {
		lc_error("unpatch: --user and --json go with -p all");
		return 1;
	}
	if (pid != LC_PID_ALL)
		return unpatch_run(pid, &o, 0) == 0 ? 0 : 1;
	pid_t *pids;
	size_t n, done = 0, failed = 0;
	if (lc_pids_all(&pids, &n) != 0)
		return 1;
	lc_report_begin(json);
	for (size_t i = 0; i < n; i++) {
		char maps[64];
		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pids[i]);
		if (access(maps, R_OK) != 0)
			continue;
		struct lc_stderr_held held;
		lc_stderr_hold(&held);
		int rc = unpatch_run(pids[i], &o, 1);
		int vanished = rc < 0 && !lc_pid_alive(pids[i]);
		lc_stderr_release(&held, !vanished);
		if (vanished) {
			lc_info("process %d exited meanwhile: skipped", (int)pids[i]);
			continue;
		}
		if (rc < 0)
			failed++;
		else if (rc == 0)
			done++;
		if (rc < 0)
			lc_report(pids[i], "failed", "refused or failed (the error is on stderr)");
		else if (rc == 0)
			lc_report(pids[i], "unpatched", "its patches were taken out");
		else
			lc_report(pids[i], "skipped", "no patch applied%s", buildid || o.id ? " that matches" : "");
	}
	free(pids);
	if (!done && !failed)
		printf("no process has a patch applied%s%s\n", buildid ? " to BuildID " : "",
		       buildid ? buildid : "");
	lc_report_end();
	return failed ? 1 : 0;
}
