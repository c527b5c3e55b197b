/*
 * select.c - whom `-p all` touches.  Every process of the system but the
 * doctor and kernel threads is a candidate (lc_pids_all); this file leaves
 * out, and records with the reason:
 *   - PID 1 (init): never touched unless named with -p 1;
 *   - with --user NAME|UID: processes not entirely that user's (real,
 *     effective and saved uid all equal to it);
 *   - what /etc/libcare/exclude names ($LIBCARE_EXCLUDE overrides the file):
 *       # a comment
 *       exe GLOB        the executable's path (/proc/PID/exe), fnmatch(3)
 *       comm NAME       the command name (/proc/PID/comm), exactly
 *       cgroup GLOB     any cgroup path of /proc/PID/cgroup, fnmatch(3)
 *     The file is read as root reads files: trusted owner and modes
 *     (lc_trust_read); a missing file excludes nothing, a bad one is an
 *     error before any process is touched.
 * A process named with -p PID is never filtered.  The skipped processes are
 * reported (lc_select_skipped) for --json and -v.
 */
#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "libcare/trust.h"
#include "doctor.h"

#define EXCLUDE_FILE "/etc/libcare/exclude"
#define EXCLUDE_MAX  (1u << 20)

struct lc_select_opts lc_select_opts;

enum rule_kind { RULE_EXE, RULE_COMM, RULE_CGROUP };
struct rule {
	enum rule_kind kind;
	char *pattern;
	unsigned line;
};

static struct rule *rules;
static size_t nrules;
static int rules_loaded;
static struct lc_skipped *skipped;
static size_t nskipped;

int lc_parse_user(const char *s, uid_t *uid)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*s && !*end && !errno && *s != '-' && v < (uid_t)-1) {
		*uid = (uid_t)v;
		return 0;
	}
	struct passwd *pw = getpwnam(s);
	if (!pw)
		return lc_error("--user '%s' is neither a user name nor a UID", s);
	*uid = pw->pw_uid;
	return 0;
}

static const char *exclude_file(void)
{
	const char *env = getenv("LIBCARE_EXCLUDE");
	return env && *env ? env : EXCLUDE_FILE;
}

/* Reads the exclude file once: 0, or -1 (logged) if it is bad. */
int lc_select_load(void)
{
	struct lc_buf b = LC_BUF_INIT;
	char why[512];
	const char *path = exclude_file();
	nskipped = 0;                   /* one list per scan (the server rescans) */
	if (rules_loaded)
		return 0;
	rules_loaded = 1;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (lc_trust_read(path, EXCLUDE_MAX, &b, why, sizeof(why)) != 0) {
		lc_buf_free(&b);
		return lc_error("cannot use the exclude file %s: %s", path, why);
	}
	unsigned ln = 0;
	int rc = 0;
	for (char *line = b.data, *next; line && *line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ln++;
		char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		char *word = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
		p += strspn(p, " \t");
		size_t n = strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			p[--n] = '\0';
		enum rule_kind k;
		if (strcmp(word, "exe") == 0)
			k = RULE_EXE;
		else if (strcmp(word, "comm") == 0)
			k = RULE_COMM;
		else if (strcmp(word, "cgroup") == 0)
			k = RULE_CGROUP;
		else {
			rc = lc_error("%s:%u: unknown rule '%s' (exe GLOB, comm NAME, cgroup GLOB)", path,
				      ln, word);
			break;
		}
		if (!*p) {
			rc = lc_error("%s:%u: '%s' needs a pattern", path, ln, word);
			break;
		}
		rules = lc_xrealloc(rules, (nrules + 1) * sizeof(*rules));
		rules[nrules++] = (struct rule){ k, lc_xstrdup(p), ln };
	}
	lc_buf_free(&b);
	return rc;
}

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* The uids of a process all equal `uid`: 1, 0 not, -1 unknown (gone). */
static int owned_by(pid_t pid, uid_t uid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) != 0)
		return -1;
	const char *u = strstr(buf, "\nUid:");
	unsigned long r, e, s;
	if (!u || sscanf(u + 5, "%lu %lu %lu", &r, &e, &s) != 3)
		return -1;
	return r == uid && e == uid && s == uid;
}

/* The rule of the exclude file that matches, or NULL. */
static const struct rule *excluded(pid_t pid)
{
	char path[64], exe[4096] = "", comm[64] = "", cg[8192] = "";
	int have_exe = 0, have_comm = 0, have_cg = 0;
	for (size_t i = 0; i < nrules; i++) {
		const struct rule *r = &rules[i];
		switch (r->kind) {
		case RULE_EXE:
			if (!have_exe) {
				snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
				ssize_t n = readlink(path, exe, sizeof(exe) - 1);
				exe[n > 0 ? n : 0] = '\0';
				if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
					exe[n - 10] = '\0';
				have_exe = 1;
			}
			if (*exe && fnmatch(r->pattern, exe, 0) == 0)
				return r;
			break;
		case RULE_COMM:
			if (!have_comm) {
				snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
				read_small(path, comm, sizeof(comm));
				comm[strcspn(comm, "\n")] = '\0';
				have_comm = 1;
			}
			if (strcmp(comm, r->pattern) == 0)
				return r;
			break;
		case RULE_CGROUP:
			if (!have_cg) {
				snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
				read_small(path, cg, sizeof(cg));
				have_cg = 1;
			}
			/* lines "ID:CONTROLLERS:PATH" */
			for (char *l = cg; *l;) {
				char *nl = strchr(l, '\n'), save = 0;
				if (nl) {
					save = *nl;
					*nl = '\0';
				}
				char *c = strchr(l, ':');
				c = c ? strchr(c + 1, ':') : NULL;
				int hit = c && fnmatch(r->pattern, c + 1, 0) == 0;
				if (nl)
					*nl = save;
				if (hit)
					return r;
				if (!nl)
					break;
				l = nl + 1;
			}
			break;
		}
	}
	return NULL;
}

void lc_select_record(pid_t pid, const char *why)
{
	skipped = lc_xrealloc(skipped, (nskipped + 1) * sizeof(*skipped));
	struct lc_skipped *s = &skipped[nskipped++];
	s->pid = pid;
	snprintf(s->reason, sizeof(s->reason), "%s", why);
	lc_info("process %d: skipped: %s", (int)pid, s->reason);
}

int lc_select_why(pid_t pid, char *why, size_t len)
{
	if (pid == 1) {
		snprintf(why, len, "PID 1 is touched only when named with -p 1");
		return 1;
	}
	if (lc_select_opts.have_user) {
		int own = owned_by(pid, lc_select_opts.user);
		if (own < 0)
			return -1;
		if (own == 0) {
			snprintf(why, len, "not a process of uid %u (--user)",
				 (unsigned)lc_select_opts.user);
			return 1;
		}
	}
	pid_t vp = lc_vfork_parent(pid);
	if (vp) {
		snprintf(why, len, "a vfork child of process %d (it shares its memory)", (int)vp);
		return 1;
	}
	const struct rule *r = excluded(pid);
	if (r) {
		snprintf(why, len, "excluded by %s:%u (%s %s)", exclude_file(), r->line,
			 r->kind == RULE_EXE ? "exe" : r->kind == RULE_COMM ? "comm" : "cgroup",
			 r->pattern);
		return 1;
	}
	return 0;
}

int lc_select_skip(pid_t pid)
{
	char why[sizeof(((struct lc_skipped *)0)->reason)];
	int rc = lc_select_why(pid, why, sizeof(why));
	if (rc > 0)
		lc_select_record(pid, why);
	return rc != 0;
}

const struct lc_skipped *lc_select_skipped(size_t *n)
{
	*n = nskipped;
	return skipped;
}

/* --- --json with -p all: what happened to every process ------------------ */

struct report_entry {
	pid_t pid;
	const char *result;
	char reason[200];
};
static struct report_entry *report;
static size_t nreport;
static int report_json, report_stdout = -1;

void lc_report_begin(int json)
{
	report_json = json;
	if (!json)
		return;
	/* the usual lines go to stderr; stdout is the JSON document alone */
	fflush(stdout);
	report_stdout = dup(1);
	if (report_stdout >= 0)
		dup2(2, 1);
}

/* Does the output show why a process was left alone (--json's "skipped",
 * -v's lines)?  If not, -p all may skip a process by its maps before the
 * selection looks at it. */
int lc_select_shown(void)
{
	return report_json || lc_log_level() > 0;
}

void lc_report(pid_t pid, const char *result, const char *fmt, ...)
{
	va_list ap;
	if (!report_json)
		return;
	report = lc_xrealloc(report, (nreport + 1) * sizeof(*report));
	struct report_entry *e = &report[nreport++];
	e->pid = pid;
	e->result = result;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void lc_report_end(void)
{
	if (!report_json)
		return;
	fflush(stdout);
	if (report_stdout >= 0) {
		dup2(report_stdout, 1);
		close(report_stdout);
		report_stdout = -1;
	}
	printf("{\"processes\": [");
	for (size_t i = 0; i < nreport; i++) {
		printf("%s\n  {\"pid\": %d, \"result\": \"%s\", \"reason\": ", i ? "," : "",
		       (int)report[i].pid, report[i].result);
		json_str(stdout, report[i].reason);
		printf("}");
	}
	printf("\n],\n\"skipped\": [");
	for (size_t i = 0; i < nskipped; i++) {
		printf("%s\n  {\"pid\": %d, \"reason\": ", i ? "," : "", (int)skipped[i].pid);
		json_str(stdout, skipped[i].reason);
		printf("}");
	}
	printf("\n]}\n");
	fflush(stdout);
}

/* info --json -p all: the "skipped" member of its document. */
void lc_report_skipped_json(void)
{
	printf(",\n\"skipped\": [");
	for (size_t i = 0; i < nskipped; i++) {
		printf("%s\n  {\"pid\": %d, \"reason\": ", i ? "," : "", (int)skipped[i].pid);
		json_str(stdout, skipped[i].reason);
		printf("}");
	}
	printf("\n]");
}
