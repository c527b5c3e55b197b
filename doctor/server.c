/*
 * server.c - `libcare-doctor server [--dir DIR] [--keys DIR]`: the daemon
 * that keeps the machine patched.
 *
 * It watches the patch directory (inotify): a new or replaced
 * <BuildID>.kpatch is checked once and then applied, through the doctor's
 * own entry point (lc_patch_file), to every process that has the object
 * loaded and not this patch (or a higher level) applied.  A rescan every
 * --rescan seconds (default 5) catches the processes the in-process loader
 * could not reach (started without LD_AUDIT, a dlopen whose link had to
 * wait) and retries refused ones with a growing delay.  A rescan is cheap:
 * one read of /proc/PID/maps per process; the BuildIDs of mapped files are
 * read once per file (device, inode).  A process is left alone during its
 * first second: its dynamic linker may still be relocating it.
 *
 * Every action is one line on stderr (the journal under systemd) with the
 * PID, the object, the patch id and level, and the stop time.  It answers
 * `libcare-doctor status` on a unix socket in a root-only directory
 * (status.c).  A bad patch file is reported and ignored; a patient that
 * dies meanwhile is dropped; nothing stops the server but a signal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gelf.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/buildid.h"
#include "libcare/log.h"
#include "doctor.h"

#define YOUNG_MS      1000      /* a process this young may still be relocating */
#define RETRY_MAX_MS  300000    /* refused: retried after 2^tries rescans, at most this */

enum srv_state { SRV_PENDING, SRV_PATCHED, SRV_REFUSED };
static const char *const srv_state_names[] = { "pending", "patched", "refused" };

struct srv_patch {
	char *file;                     /* DIR/NAME */
	char *name;
	int ok;                         /* checked and loadable */
	char why[256];                  /* if not */
	char build_id[2 * LC_BUILD_ID_MAX + 1];
	char id[LC_ID_MAX + 1], target[LC_NAME_MAX + 1];
	uint32_t level;
	uint64_t generation;            /* bumped when the file changes */
};

struct srv_proc {
	pid_t pid;
	unsigned long long start;       /* /proc/PID/stat starttime: tells PID reuse */
	char comm[32];
	char object[256];
	struct srv_patch *patch;
	uint64_t generation;            /* of the patch file acted on */
	enum srv_state state;
	char why[256];
	int tries;
	uint64_t next_try_us;
	uint64_t stopped_us;
	time_t when;
	int seen;                       /* in the last rescan */
	int excluded;                   /* lc_select_skip: never touched */
};

struct srv_file {                       /* BuildID of a mapped file */
	unsigned long long dev, ino;
	char build_id[2 * LC_BUILD_ID_MAX + 1];
};

static struct {
	const char *dir, *keys, *sock_path;
	int timeout_ms, rescan_ms;
	struct srv_patch **patches;     /* stable pointers: processes point at them */
	size_t npatches;
	struct srv_proc *procs;
	size_t nprocs;
	struct srv_file *files;
	size_t nfiles;
	int inotify, watching, listen;
	volatile sig_atomic_t stop;
	uint64_t started_us;
	unsigned long long ticks;       /* sysconf(_SC_CLK_TCK) */
} srv;

static void srv_signal(int sig)
{
	(void)sig;
	srv.stop = 1;
}

static int srv_is_patch_name(const char *name)
{
	size_t n = strlen(name);
	return n > 7 && strcmp(name + n - 7, ".kpatch") == 0 && name[0] != '.';
}

/* --- patches ---------------------------------------------------------------- */

static struct srv_patch *srv_patch_find(const char *name)
{
	for (size_t i = 0; i < srv.npatches; i++)
		if (strcmp(srv.patches[i]->name, name) == 0)
			return srv.patches[i];
	return NULL;
}

/* (Re)reads one patch file: checked like the doctor checks it. */
static void srv_patch_load(const char *name)
{
	static uint64_t generation;
	struct srv_patch *p = srv_patch_find(name);
	if (!p) {
		srv.patches = lc_xrealloc(srv.patches, (srv.npatches + 1) * sizeof(*srv.patches));
		p = srv.patches[srv.npatches++] = lc_xcalloc(1, sizeof(*p));
		p->name = lc_xstrdup(name);
		struct lc_buf b = LC_BUF_INIT;
		lc_buf_addf(&b, "%s/%s", srv.dir, name);
		p->file = lc_xstrdup(b.data);
		lc_buf_free(&b);
	}
	p->generation = ++generation;
	char why[256];
	lc_log_capture(why, sizeof(why));
	/* the doctor's own reading: trusted place, signature, structure */
	struct lc_patch *lp = lc_patch_read(p->file, NULL);
	lc_log_capture(NULL, 0);
	p->ok = lp != NULL;
	if (!lp) {
		snprintf(p->why, sizeof(p->why), "%s", why);
		fprintf(stderr, "libcare-doctor server: patch %s refused: %s\n", p->name, why);
		return;
	}
	const struct lc_patch_header *h = lc_patch_header(lp);
	p->why[0] = '\0';
	lc_buildid_hex(h->build_id, h->build_id_len, p->build_id);
	snprintf(p->id, sizeof(p->id), "%.*s", (int)sizeof(h->id), h->id);
	snprintf(p->target, sizeof(p->target), "%.*s", (int)sizeof(h->target_name), h->target_name);
	p->level = h->level;
	lc_patch_free(lp);
	fprintf(stderr, "libcare-doctor server: patch %s: '%s' level %u for %s (BuildID %s)\n", p->name, p->id,
		p->level, p->target, p->build_id);
}

static void srv_patch_forget(const char *name)
{
	struct srv_patch *p = srv_patch_find(name);
	if (!p)
		return;
	size_t j = 0;
	for (size_t i = 0; i < srv.nprocs; i++)
		if (srv.procs[i].patch != p)
			srv.procs[j++] = srv.procs[i];
	srv.nprocs = j;
	j = 0;
	for (size_t i = 0; i < srv.npatches; i++)
		if (srv.patches[i] != p)
			srv.patches[j++] = srv.patches[i];
	srv.npatches = j;
	fprintf(stderr, "libcare-doctor server: patch %s removed from %s (applied patches stay; "
		"libcare-doctor unpatch takes them out)\n", name, srv.dir);
	free(p->file);
	free(p->name);
	free(p);
}

static void srv_patches_read_dir(void)
{
	DIR *d = opendir(srv.dir);
	struct dirent *de;
	if (!d) {
		lc_warn("server: cannot read %s: %s", srv.dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (srv_is_patch_name(de->d_name))
			srv_patch_load(de->d_name);
	closedir(d);
}

/* --- processes -------------------------------------------------------------- */

/* BuildID (hex) of the file mapped by process pid at [start, end); "" if none. */
static const char *srv_file_build_id(pid_t pid, unsigned long long dev, unsigned long long ino,
				     const char *range, const char *path)
{
	for (size_t i = 0; i < srv.nfiles; i++)
		if (srv.files[i].dev == dev && srv.files[i].ino == ino)
			return srv.files[i].build_id;
	srv.files = lc_xrealloc(srv.files, (srv.nfiles + 1) * sizeof(*srv.files));
	struct srv_file *f = &srv.files[srv.nfiles++];
	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->ino = ino;
	char file[4200];
	snprintf(file, sizeof(file), "/proc/%d/map_files/%s", (int)pid, range);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(file, sizeof(file), "/proc/%d/root%s", (int)pid, path);
		fd = open(file, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		srv.nfiles--;           /* not cached: try again next time */
		return "";
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	uint8_t id[LC_BUILD_ID_MAX];
	int n = elf && elf_kind(elf) == ELF_K_ELF ? lc_buildid_from_elf(elf, id) : 0;
	if (n > 0)
		lc_buildid_hex(id, (size_t)n, f->build_id);
	if (elf)
		elf_end(elf);
	close(fd);
	return f->build_id;
}

/* /proc/PID/stat: comm and starttime (ticks after boot); -1 if gone. */
static int srv_proc_stat(pid_t pid, char *comm, size_t len, unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *l = strchr(buf, '('), *r = strrchr(buf, ')');
	if (!l || !r || r < l)
		return -1;
	snprintf(comm, len, "%.*s", (int)(r - l - 1), l + 1);
	/* after ") ": state(3) ... starttime is field 22 */
	char *p = r + 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || p[-2] == 'Z')
		return -1;
	*start = strtoull(p, NULL, 10);
	return 0;
}

static uint64_t srv_uptime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct srv_proc *srv_proc_entry(pid_t pid, unsigned long long start, struct srv_patch *p)
{
	for (size_t i = 0; i < srv.nprocs; i++)
		if (srv.procs[i].pid == pid && srv.procs[i].start == start && srv.procs[i].patch == p)
			return &srv.procs[i];
	srv.procs = lc_xrealloc(srv.procs, (srv.nprocs + 1) * sizeof(*srv.procs));
	struct srv_proc *e = &srv.procs[srv.nprocs++];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->start = start;
	e->patch = p;
	e->state = SRV_PENDING;
	snprintf(e->why, sizeof(e->why), "not tried yet");
	return e;
}

/* One lc_patch_file; its messages become the reason, its stdout line the
 * stop time. */
static void srv_apply(struct srv_proc *e)
{
	char why[256];
	struct lc_stderr_held held;
	FILE *out = tmpfile();
	int saved = out ? dup(1) : -1;
	fflush(stdout);
	if (saved >= 0)
		dup2(fileno(out), 1);
	lc_stderr_hold(&held);
	lc_log_capture(why, sizeof(why));
	int rc = lc_patch_file(e->pid, e->patch->file, srv.timeout_ms, 0);
	lc_log_capture(NULL, 0);
	lc_stderr_release(&held, lc_log_level() > 0);
	fflush(stdout);
	unsigned long long stopped = 0;
	if (saved >= 0) {
		dup2(saved, 1);
		close(saved);
		char line[1024];
		rewind(out);
		while (fgets(line, sizeof(line), out)) {
			const char *s = strstr(line, "patient stopped for ");
			if (s)
				stopped = strtoull(s + 20, NULL, 10);
		}
	}
	if (out)
		fclose(out);
	e->tries++;
	e->when = time(NULL);
	e->generation = e->patch->generation;
	const struct srv_patch *p = e->patch;
	if (rc == 0) {
		e->state = SRV_PATCHED;
		e->stopped_us = stopped;
		snprintf(e->why, sizeof(e->why), "applied by the server");
		fprintf(stderr, "libcare-doctor server: process %d (%s): %s: patch '%s' level %u applied, "
			"stopped for %llu us\n", (int)e->pid, e->comm, e->object, p->id, p->level, stopped);
	} else if (rc == LC_EXIT_ALREADY) {
		e->state = SRV_PATCHED;
		snprintf(e->why, sizeof(e->why), "already applied (this or a higher level)");
		fprintf(stderr, "libcare-doctor server: process %d (%s): %s: patch '%s' level %u already applied\n",
			(int)e->pid, e->comm, e->object, p->id, p->level);
	} else if (!lc_pid_alive(e->pid)) {
		e->state = SRV_REFUSED;
		e->seen = 0;            /* dropped at the end of the rescan */
		fprintf(stderr, "libcare-doctor server: process %d (%s) exited meanwhile\n", (int)e->pid, e->comm);
	} else {
		e->state = SRV_REFUSED;
		snprintf(e->why, sizeof(e->why), "%s", why[0] ? why : "failed");
		uint64_t delay = (uint64_t)srv.rescan_ms << (e->tries < 12 ? e->tries : 12);
		if (delay > RETRY_MAX_MS)
			delay = RETRY_MAX_MS;
		e->next_try_us = lc_now_us() + delay * 1000;
		fprintf(stderr, "libcare-doctor server: process %d (%s): %s: patch '%s' level %u refused (try %d, "
			"next in %llu s): %s\n", (int)e->pid, e->comm, e->object, p->id, p->level,
			e->tries, (unsigned long long)(delay / 1000), e->why);
	}
}

/* One process: its mapped objects against the known patches. */
static void srv_scan_pid(pid_t pid)
{
	char comm[32], path[64], line[4600];
	unsigned long long start;
	if (srv_proc_stat(pid, comm, sizeof(comm), &start) != 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char range[64], perms[8], obj[4200] = "";
		unsigned long long off, ino;
		unsigned maj, min;
		if (sscanf(line, "%63s %7s %llx %x:%x %llu %4199[^\n]", range, perms, &off, &maj, &min,
			   &ino, obj) < 7 || off != 0 || ino == 0 || obj[0] != '/')
			continue;
		const char *id = NULL;
		for (size_t i = 0; i < srv.npatches; i++) {
			struct srv_patch *p = srv.patches[i];
			if (!p->ok)
				continue;
			if (!id)
				id = srv_file_build_id(pid, ((unsigned long long)maj << 32) | min, ino, range, obj);
			if (strcmp(id, p->build_id) != 0)
				continue;
			struct srv_proc *e = srv_proc_entry(pid, start, p);
			e->seen = 1;
			snprintf(e->comm, sizeof(e->comm), "%s", comm);
			snprintf(e->object, sizeof(e->object), "%s", obj);
			if (e->generation != p->generation && e->state != SRV_PENDING) {
				e->state = SRV_PENDING;      /* the file changed: a new level */
				e->tries = 0;
				e->next_try_us = 0;
			}
			if (e->state == SRV_PATCHED || e->excluded)
				continue;
			if (lc_select_skip(pid)) {
				/* PID 1, /etc/libcare/exclude: as -p all leaves them */
				e->excluded = 1;
				e->state = SRV_REFUSED;
				snprintf(e->why, sizeof(e->why), "excluded as -p all excludes it");
				continue;
			}
			if (e->state == SRV_REFUSED && lc_now_us() < e->next_try_us)
				continue;
			if (srv_uptime_ms() < start * 1000 / srv.ticks + YOUNG_MS) {
				snprintf(e->why, sizeof(e->why), "started less than a second ago");
				continue;
			}
			srv_apply(e);
		}
	}
	fclose(f);
}

static void srv_rescan(void)
{
	pid_t *pids;
	size_t n;
	for (size_t i = 0; i < srv.nprocs; i++)
		srv.procs[i].seen = 0;
	if (srv.npatches && lc_pids_all(&pids, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			srv_scan_pid(pids[i]);
		free(pids);
	}
	size_t k = 0;
	for (size_t i = 0; i < srv.nprocs; i++)
		if (srv.procs[i].seen)
			srv.procs[k++] = srv.procs[i];
	srv.nprocs = k;
}

/* --- the status socket ------------------------------------------------------ */

static void json_str(struct lc_buf *b, const char *s)
{
	lc_buf_adds(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			lc_buf_addf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			lc_buf_addf(b, "\\u%04x", c);
		else
			lc_buf_add(b, s, 1);
	}
	lc_buf_adds(b, "\"");
}

static void srv_counts(size_t counts[3])
{
	counts[0] = counts[1] = counts[2] = 0;
	for (size_t i = 0; i < srv.nprocs; i++)
		counts[srv.procs[i].state]++;
}

static void srv_report_text(struct lc_buf *b)
{
	size_t c[3];
	srv_counts(c);
	lc_buf_addf(b, "libcare-doctor server (PID %d): %s: %zu patch(es); processes: %zu patched, "
		    "%zu pending, %zu refused\n", (int)getpid(), srv.dir, srv.npatches,
		    c[SRV_PATCHED], c[SRV_PENDING], c[SRV_REFUSED]);
	for (size_t i = 0; i < srv.npatches; i++) {
		const struct srv_patch *p = srv.patches[i];
		if (p->ok)
			lc_buf_addf(b, "patch %s: '%s' level %u for %s\n", p->name, p->id, p->level,
				    p->target);
		else
			lc_buf_addf(b, "patch %s: refused: %s\n", p->name, p->why);
	}
	for (size_t i = 0; i < srv.nprocs; i++) {
		const struct srv_proc *e = &srv.procs[i];
		lc_buf_addf(b, "process %d (%s): %s: patch '%s' level %u: %s", (int)e->pid, e->comm,
			    e->object, e->patch->id, e->patch->level, srv_state_names[e->state]);
		if (e->state == SRV_PATCHED && e->stopped_us)
			lc_buf_addf(b, " (stopped for %llu us)", (unsigned long long)e->stopped_us);
		lc_buf_addf(b, ": %s\n", e->why);
	}
}

static void srv_report_json(struct lc_buf *b)
{
	size_t c[3];
	srv_counts(c);
	lc_buf_addf(b, "{\"server_pid\": %d, \"dir\": ", (int)getpid());
	json_str(b, srv.dir);
	lc_buf_addf(b, ", \"counts\": {\"patches\": %zu, \"patched\": %zu, \"pending\": %zu, "
		    "\"refused\": %zu},\n \"patches\": [", srv.npatches, c[SRV_PATCHED],
		    c[SRV_PENDING], c[SRV_REFUSED]);
	for (size_t i = 0; i < srv.npatches; i++) {
		const struct srv_patch *p = srv.patches[i];
		lc_buf_addf(b, "%s\n  {\"file\": ", i ? "," : "");
		json_str(b, p->name);
		lc_buf_addf(b, ", \"ok\": %s, ", p->ok ? "true" : "false");
		if (p->ok) {
			lc_buf_adds(b, "\"id\": ");
			json_str(b, p->id);
			lc_buf_addf(b, ", \"level\": %u, \"build_id\": \"%s\", \"target\": ", p->level,
				    p->build_id);
			json_str(b, p->target);
		} else {
			lc_buf_adds(b, "\"why\": ");
			json_str(b, p->why);
		}
		lc_buf_adds(b, "}");
	}
	lc_buf_adds(b, "],\n \"processes\": [");
	for (size_t i = 0; i < srv.nprocs; i++) {
		const struct srv_proc *e = &srv.procs[i];
		lc_buf_addf(b, "%s\n  {\"pid\": %d, \"comm\": ", i ? "," : "", (int)e->pid);
		json_str(b, e->comm);
		lc_buf_adds(b, ", \"object\": ");
		json_str(b, e->object);
		lc_buf_adds(b, ", \"patch\": ");
		json_str(b, e->patch->name);
		lc_buf_adds(b, ", \"id\": ");
		json_str(b, e->patch->id);
		lc_buf_addf(b, ", \"level\": %u, \"state\": \"%s\", \"tries\": %d, \"stopped_us\": %llu, "
			    "\"when\": %lld, \"why\": ", e->patch->level, srv_state_names[e->state],
			    e->tries, (unsigned long long)e->stopped_us, (long long)e->when);
		json_str(b, e->why);
		lc_buf_adds(b, "}");
	}
	lc_buf_adds(b, "]}\n");
}

/* One client: a request line ("status" or "status json"), the answer, close.
 * Only root (or the server's own user) is answered. */
static void srv_client(void)
{
	int fd = accept4(srv.listen, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct timeval tv = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[64] = "";
	struct lc_buf b = LC_BUF_INIT;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cred.uid != 0 && cred.uid != getuid())) {
		lc_buf_adds(&b, "error: libcare-doctor status is for root only\n");
	} else {
		ssize_t n = read(fd, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		if (strncmp(req, "status json", 11) == 0)
			srv_report_json(&b);
		else if (strncmp(req, "status", 6) == 0)
			srv_report_text(&b);
		else
			lc_buf_adds(&b, "error: unknown request\n");
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t w = write(fd, b.data + off, b.len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	lc_buf_free(&b);
	close(fd);
}

/* The socket's directory is root's alone (0700), like the lock's. */
static int srv_listen(void)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(srv.sock_path) >= sizeof(sa.sun_path))
		return lc_error("server: socket path %s is too long", srv.sock_path);
	snprintf(dir, sizeof(dir), "%s", srv.sock_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return lc_error("server: cannot create %s: %s", dir, strerror(errno));
		struct stat st;
		if (stat(dir, &st) != 0 || (st.st_mode & 0077) || st.st_uid != getuid())
			return lc_error("server: %s must belong to this user and be closed to others (0700)",
					dir);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.sock_path);
	srv.listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv.listen < 0)
		return lc_error("server: socket: %s", strerror(errno));
	unlink(sa.sun_path);
	mode_t old = umask(0077);
	int rc = bind(srv.listen, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(srv.listen, 16) != 0)
		return lc_error("server: cannot listen on %s: %s", srv.sock_path, strerror(errno));
	return 0;
}

/* systemd's Type=notify, by hand: one datagram to $NOTIFY_SOCKET. */
static void srv_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path)));
	close(fd);
}

static void srv_inotify_events(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(srv.inotify, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				if (srv.watching)
					lc_warn("server: %s went away; watching for it to come back", srv.dir);
				srv.watching = 0;   /* re-added at a rescan */
				continue;
			}
			if (!ev->len || !srv_is_patch_name(ev->name))
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
				srv_patch_load(ev->name);
			else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				srv_patch_forget(ev->name);
		}
	}
}

static int srv_watch(void)
{
	if (inotify_add_watch(srv.inotify, srv.dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
			      IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
		return -1;
	srv.watching = 1;
	return 0;
}

static void server_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor server [--dir DIR] [--keys DIR] [--socket PATH]\n"
		"                             [--rescan S] [--timeout S] [-v]\n"
		"\n"
		"Keeps every process patched: applies each <BuildID>.kpatch of DIR (default\n"
		"/var/lib/libcare/patches) to every process that has that object loaded, when\n"
		"the file appears (inotify) and at every rescan (processes started since,\n"
		"retries of refused ones).  Logs each action on stderr; answers\n"
		"`libcare-doctor status` on the socket.  Stops on SIGTERM or SIGINT.\n"
		"\n"
		"  -d, --dir DIR     the patch directory\n"
		"  -k, --keys DIR    trusted signing keys (default $LIBCARE_KEYS or\n"
		"                    /etc/libcare/keys)\n"
		"  --allow-unsigned  apply unsigned files too, as for patch\n"
		"  -s, --socket PATH the status socket (default %s)\n"
		"  -r, --rescan S    seconds between rescans of the processes (default 5)\n"
		"  -t, --timeout S   per process, as for patch (default 2)\n"
		"  -v                the doctor's details too\n"
		"  -h, --help        this text\n", LC_SERVER_SOCKET);
}

int lc_cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "dir", required_argument, NULL, 'd' },
		{ "keys", required_argument, NULL, 'k' },
		{ "allow-unsigned", no_argument, NULL, 'U' },
		{ "socket", required_argument, NULL, 's' },
		{ "rescan", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c, verbose = lc_log_level();
	memset(&srv, 0, sizeof(srv));
	srv.dir = LC_PATCH_DIR;
	srv.keys = "/etc/libcare/keys";
	srv.sock_path = lc_server_socket(NULL);
	srv.timeout_ms = LC_SAFE_TIMEOUT_MS;
	srv.rescan_ms = 5000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hd:k:s:r:t:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h': server_usage(stdout); return 0;
		case 'd': srv.dir = optarg; break;
		case 'k': lc_verify_opts.keys = optarg; break;
		case 'U': lc_verify_opts.allow_unsigned = 1; break;
		case 's': srv.sock_path = optarg; break;
		case 'r':
			if (lc_parse_timeout(optarg, &srv.rescan_ms) != 0)
				return 1;
			if (srv.rescan_ms < 100)
				srv.rescan_ms = 100;
			break;
		case 't':
			if (lc_parse_timeout(optarg, &srv.timeout_ms) != 0)
				return 1;
			break;
		case 'v': verbose++; break;
		case ':':
			lc_error("server: option '%s' needs a value (see libcare-doctor server --help)",
				 argv[optind - 1]);
			return 1;
		default:
			lc_error("server: bad option '%s' (see libcare-doctor server --help)",
				 argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		lc_error("server: too many arguments (see libcare-doctor server --help)");
		return 1;
	}
	lc_log_set_level(verbose);
	if (lc_select_load() != 0)
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	elf_version(EV_CURRENT);
	srv.ticks = (unsigned long long)sysconf(_SC_CLK_TCK);
	struct sigaction sa = { .sa_handler = srv_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv.inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (srv.inotify < 0) {
		lc_error("server: inotify: %s", strerror(errno));
		return 1;
	}
	if (srv_watch() != 0) {
		lc_error("server: cannot watch %s: %s", srv.dir, strerror(errno));
		return 1;
	}
	if (srv_listen() != 0)
		return 1;
	srv_patches_read_dir();
	srv_rescan();
	fprintf(stderr, "libcare-doctor server: watching %s, %zu patch(es), status on %s\n", srv.dir,
		srv.npatches, srv.sock_path);
	srv_notify("READY=1\nSTATUS=watching the patch directory");

	uint64_t next = lc_now_us() + (uint64_t)srv.rescan_ms * 1000;
	while (!srv.stop) {
		struct pollfd pf[2] = { { srv.inotify, POLLIN, 0 }, { srv.listen, POLLIN, 0 } };
		uint64_t now = lc_now_us();
		int wait = now >= next ? 0 : (int)((next - now) / 1000) + 1;
		int n = poll(pf, 2, wait);
		if (n < 0 && errno != EINTR)
			break;
		int changed = 0;
		if (n > 0 && (pf[0].revents & POLLIN)) {
			srv_inotify_events();
			changed = 1;
		}
		if (n > 0 && (pf[1].revents & POLLIN))
			srv_client();
		if (changed || lc_now_us() >= next) {
			if (!srv.watching && srv_watch() == 0) {
				fprintf(stderr, "libcare-doctor server: %s is back\n", srv.dir);
				srv_patches_read_dir();
			}
			srv_rescan();
			next = lc_now_us() + (uint64_t)srv.rescan_ms * 1000;
		}
	}
	srv_notify("STOPPING=1");
	fprintf(stderr, "libcare-doctor server: stopping\n");
	unlink(srv.sock_path);
	return 0;
}
