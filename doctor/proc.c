/*
 * proc.c - the patient's address space as /proc/PID/maps shows it, and the
 * ELF objects mapped in it: path, BuildID, load bias, run-time extent.
 *
 * Objects are read from the files the patient really mapped, through
 * /proc/PID/map_files (the same inode even if the path was replaced or
 * deleted, and the right one inside a container), falling back to
 * /proc/PID/root/PATH.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/buildid.h"
#include "libcare/log.h"
#include "doctor.h"

#define PF_EXITING 0x4             /* include/linux/sched.h */

/* Is the task of /proc/.../stat running code of its own: not a zombie,
 * not dead, not exiting (an exiting task may have no address space left)? */
static int task_usable(const char *path)
{
	char state;
	unsigned flags;
	if (lc_stat_state(path, &state, &flags) != 0)
		return 0;
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}

/* A process whose main thread called pthread_exit() keeps running in its
 * other threads, but its leader is a zombie without an address space:
 * /proc/PID/maps is empty and /proc/PID/mem, exe and map_files fail.  Any
 * live thread's /proc/TID shows the same process, so that is where the
 * doctor looks then. */
pid_t lc_proc_task(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (task_usable(path))
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *de;
	pid_t live = pid;
	while (d && live == pid && (de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
		if (task_usable(path))
			live = tid;
	}
	if (d)
		closedir(d);
	return live;
}

int lc_proc_alive(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)lc_proc_task(pid));
	return task_usable(path);
}

static void maps_free(struct lc_proc *pr)
{
	for (size_t i = 0; i < pr->nmaps; i++)
		free(pr->maps[i].path);
	free(pr->maps);
	pr->maps = NULL;
	pr->nmaps = 0;
}

/* One line of /proc/PID/maps: "START-END PERMS OFFSET DEV INODE   PATH".
 * 0, or -1 if it is not such a line. */
static int maps_line(char *line, struct lc_map *m)
{
	char *p = line, *e;
	m->start = strtoull(p, &e, 16);
	if (e == p || *e != '-')
		return -1;
	p = e + 1;
	m->end = strtoull(p, &e, 16);
	if (e == p || *e != ' ')
		return -1;
	p = e + 1;
	size_t n = strcspn(p, " ");
	if (n == 0 || n > 4 || p[n] != ' ')
		return -1;
	memcpy(m->perms, p, n);
	m->perms[n] = '\0';
	p += n + 1;
	m->offset = strtoull(p, &e, 16);
	if (e == p || *e != ' ')
		return -1;
	p = e + 1;
	uint64_t major = strtoull(p, &e, 16);
	if (e == p || *e != ':')
		return -1;
	p = e + 1;
	uint64_t minor = strtoull(p, &e, 16);
	if (e == p || *e != ' ')
		return -1;
	m->dev = major << 32 | minor;
	p = e + 1;
	m->inode = strtoull(p, &e, 10);
	if (e == p || (*e != ' ' && *e != '\0'))
		return -1;
	p = e;
	p += strspn(p, " ");
	if (*p) {
		size_t len = strlen(p);
		static const char deleted[] = " (deleted)";
		if (len > sizeof(deleted) - 1 && strcmp(p + len - (sizeof(deleted) - 1), deleted) == 0)
			p[len - (sizeof(deleted) - 1)] = '\0';
		m->path = lc_xstrdup(p);
	}
	return 0;
}

/* The text of /proc/PID/maps of task (pid: the process named), in a
 * buffer kept for the next call; NULL on failure (logged unless quiet). */
static char *maps_text(pid_t pid, pid_t task, int quiet)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)task);
	/* read whole with read(2) (a few calls), parsed by hand: -p all does
	 * this for every process */
	static struct lc_buf b = LC_BUF_INIT;   /* kept for the next process */
	b.len = 0;
	if (lc_buf_read_file(&b, path) != 0) {
		if (quiet)
			return NULL;
		if (errno == ENOENT)
			lc_error("no process with PID %d (no such process)", (int)pid);
		else
			lc_error("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	return b.data;
}

/* /proc/PID/maps of task into pr->maps (maybe none): 0, or -1 (logged
 * unless quiet). */
static int maps_read(struct lc_proc *pr, pid_t task, int quiet)
{
	char *text = maps_text(pr->pid, task, quiet);
	if (!text)
		return -1;
	maps_free(pr);
	size_t cap = 0;
	for (char *line = text, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		struct lc_map m = { 0 };
		if (maps_line(line, &m) != 0)
			continue;
		if (pr->nmaps == cap) {
			cap = cap ? 2 * cap : 64;
			pr->maps = lc_xrealloc(pr->maps, cap * sizeof(*pr->maps));
		}
		pr->maps[pr->nmaps++] = m;
	}
	return 0;
}

int lc_proc_reload_maps(struct lc_proc *pr)
{
	if (maps_read(pr, lc_proc_task(pr->pid), 0) != 0)
		return -1;
	if (pr->nmaps == 0)
		return lc_error("process %d has no mappings (a zombie or a kernel thread?)", (int)pr->pid);
	return 0;
}

/*
 * What an object's file says (type, PT_LOAD extent, BuildID, PT_INTERP),
 * read once per file and kept for the rest of the run: -p all finds the
 * same few files in process after process.  A file is known by its
 * identity (device, inode, size, modification and change times); a file
 * that is no ELF object is remembered as such.  Only regular files, and
 * only while lc_proc_cache is on (patch -p all).
 */
struct obj_info {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int elf;                 /* an ET_EXEC or ET_DYN object with PT_LOADs */
	int type;
	uint64_t first, lo, hi;  /* first PT_LOAD's page, extent */
	uint8_t build_id[LC_BUILD_ID_MAX];
	int build_id_len;
	char *interp;            /* PT_INTERP, or NULL */
	signed char facts[LC_FACTS];    /* lc_object_fact: -1 not known yet */
	/* lc_proc_peek's last answer for this file, and to which question */
	int (*peek_fn)(const char *hex, void *ctx);
	void *peek_ctx;
	int peek_rc;
};

static struct obj_info **info_tab;  /* open addressing, size a power of 2 */
static size_t info_cap, info_n;
static int info_on;

/* The same entries by the device and inode /proc/PID/maps shows (a mapped
 * file's inode cannot be another file's while it is mapped): lc_proc_peek. */
struct maps_key {
	uint64_t dev, inode;
	struct obj_info *in;
};
static struct maps_key *mk_tab;     /* open addressing, size a power of 2 */
static size_t mk_cap, mk_n;

static size_t mk_hash(uint64_t dev, uint64_t inode)
{
	uint64_t h = (inode * 0x9e3779b97f4a7c15ull) ^ dev;
	return (size_t)(h ^ (h >> 31));
}

static struct obj_info *mk_find(uint64_t dev, uint64_t inode)
{
	if (!mk_cap)
		return NULL;
	for (size_t i = mk_hash(dev, inode) & (mk_cap - 1);; i = (i + 1) & (mk_cap - 1)) {
		if (!mk_tab[i].in)
			return NULL;
		if (mk_tab[i].dev == dev && mk_tab[i].inode == inode)
			return mk_tab[i].in;
	}
}

static void mk_put(struct maps_key *tab, size_t cap, struct maps_key k)
{
	size_t i = mk_hash(k.dev, k.inode) & (cap - 1);
	while (tab[i].in)
		i = (i + 1) & (cap - 1);
	tab[i] = k;
}

static void mk_add(uint64_t dev, uint64_t inode, struct obj_info *in)
{
	if (!inode || mk_find(dev, inode))
		return;
	if (2 * (mk_n + 1) > mk_cap) {
		size_t cap = mk_cap ? 2 * mk_cap : 64;
		struct maps_key *tab = lc_xcalloc(cap, sizeof(*tab));
		for (size_t k = 0; k < mk_cap; k++)
			if (mk_tab[k].in)
				mk_put(tab, cap, mk_tab[k]);
		free(mk_tab);
		mk_tab = tab;
		mk_cap = cap;
	}
	mk_put(mk_tab, mk_cap, (struct maps_key){ dev, inode, in });
	mk_n++;
}

void lc_proc_cache(int on)
{
	info_on = on;
	lc_unwind_cache(on);
	if (on)
		return;
	lc_symbols_cache_clear();
	lc_validate_cache_clear();
	for (size_t i = 0; i < info_cap; i++)
		if (info_tab[i]) {
			free(info_tab[i]->interp);
			free(info_tab[i]);
		}
	free(info_tab);
	info_tab = NULL;
	info_cap = info_n = 0;
	free(mk_tab);
	mk_tab = NULL;
	mk_cap = mk_n = 0;
}

static int same_file(const struct obj_info *i, const struct stat *st)
{
	return i->dev == st->st_dev && i->ino == st->st_ino && i->size == st->st_size &&
	       i->mtime.tv_sec == st->st_mtim.tv_sec && i->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       i->ctime.tv_sec == st->st_ctim.tv_sec && i->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static size_t info_hash(const struct stat *st)
{
	uint64_t h = ((uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)st->st_dev;
	return (size_t)(h ^ (h >> 29));
}

static struct obj_info *info_find(const struct stat *st)
{
	if (!info_cap)
		return NULL;
	for (size_t i = info_hash(st) & (info_cap - 1);; i = (i + 1) & (info_cap - 1)) {
		if (!info_tab[i])
			return NULL;
		if (same_file(info_tab[i], st))
			return info_tab[i];
	}
}

static void info_add(struct obj_info *in)
{
	if (2 * (info_n + 1) > info_cap) {
		size_t cap = info_cap ? 2 * info_cap : 64;
		struct obj_info **tab = lc_xcalloc(cap, sizeof(*tab));
		for (size_t k = 0; k < info_cap; k++) {
			struct obj_info *o = info_tab[k];
			if (!o)
				continue;
			struct stat st = { .st_dev = o->dev, .st_ino = o->ino };
			size_t i = info_hash(&st) & (cap - 1);
			while (tab[i])
				i = (i + 1) & (cap - 1);
			tab[i] = o;
		}
		free(info_tab);
		info_tab = tab;
		info_cap = cap;
	}
	struct stat st = { .st_dev = in->dev, .st_ino = in->ino };
	size_t i = info_hash(&st) & (info_cap - 1);
	while (info_tab[i])
		i = (i + 1) & (info_cap - 1);
	info_tab[i] = in;
	info_n++;
}

/* Reads what obj_info holds from the open file fd (identity st). */
static struct obj_info *info_read(int fd, const struct stat *st)
{
	struct obj_info *in = lc_xcalloc(1, sizeof(*in));
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->size = st->st_size;
	in->mtime = st->st_mtim;
	in->ctime = st->st_ctim;
	memset(in->facts, -1, sizeof(in->facts));
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	size_t nph;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || elf_getphdrnum(elf, &nph) != 0)
		goto out;
	uint64_t first = UINT64_MAX, lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP && !in->interp) {
			Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
							   ELF_T_BYTE);
			if (d && d->d_size && memchr(d->d_buf, 0, d->d_size))
				in->interp = lc_xstrdup(d->d_buf);
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (first == UINT64_MAX)
			first = ph.p_vaddr & ~(uint64_t)(LC_PAGE_SIZE - 1);
		if (ph.p_vaddr < lo)
			lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > hi)
			hi = ph.p_vaddr + ph.p_memsz;
	}
	if (first == UINT64_MAX)
		goto out;
	in->elf = 1;
	in->type = eh.e_type;
	in->first = first;
	in->lo = lo;
	in->hi = hi;
	in->build_id_len = lc_buildid_from_elf(elf, in->build_id);
	if (in->build_id_len < 0)
		in->build_id_len = 0;
out:
	if (elf)
		elf_end(elf);
	return in;
}

/* The facts of the file at `file` (stat st): from the cache, else read
 * (and kept if it is a regular file).  NULL if it cannot be opened. */
static struct obj_info *info_get(const char *file, const struct stat *st, int *owned)
{
	*owned = 0;
	struct obj_info *in = info_on && S_ISREG(st->st_mode) ? info_find(st) : NULL;
	if (in)
		return in;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat fst;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &fst) != 0)
		fst = *st;
	in = info_read(fd, &fst);
	close(fd);
	if (info_on && S_ISREG(fst.st_mode) && !info_find(&fst))
		info_add(in);
	else
		*owned = 1;
	return in;
}

static void info_drop(struct obj_info *in, int owned)
{
	if (!owned)
		return;
	free(in->interp);
	free(in);
}

/* Bias, extent, BuildID of the object whose offset-0 mapping is m (of
 * process task), and its PT_INTERP in *interp (NULL if none). */
static int object_read(pid_t task, struct lc_object *o, const struct lc_map *m, char **interp)
{
	char file[128];
	struct stat st;
	struct obj_info *in = NULL;
	int owned = 0;
	*interp = NULL;
	snprintf(file, sizeof(file), "/proc/%d/map_files/%llx-%llx", (int)task,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (stat(file, &st) == 0)
		in = info_get(file, &st, &owned);
	if (!in) {
		struct lc_buf b = LC_BUF_INIT;
		lc_buf_addf(&b, "/proc/%d/root%s", (int)task, m->path);
		int ok = b.len < sizeof(file) && stat(b.data, &st) == 0;
		if (ok)
			memcpy(file, b.data, b.len + 1);
		lc_buf_free(&b);
		if (ok)
			in = info_get(file, &st, &owned);
		if (!in)
			return -1;
	}
	if (!owned)
		mk_add(m->dev, m->inode, in);
	if (!in->elf) {
		info_drop(in, owned);
		return -1;
	}
	o->bias = in->type == ET_EXEC ? 0 : m->start - in->first;
	o->lo = o->bias + (in->lo & ~(uint64_t)(LC_PAGE_SIZE - 1));
	o->hi = o->bias + ((in->hi + LC_PAGE_SIZE - 1) & ~(uint64_t)(LC_PAGE_SIZE - 1));
	o->build_id_len = in->build_id_len;
	memcpy(o->build_id, in->build_id, sizeof(o->build_id));
	lc_buildid_hex(o->build_id, (size_t)o->build_id_len, o->build_id_hex);
	o->dev = (uint64_t)in->dev;
	o->ino = (uint64_t)in->ino;
	o->file_key = owned ? NULL : in;       /* kept in the cache: symbols.c's key too */
	o->file = lc_xstrdup(file);
	o->path = lc_xstrdup(m->path);
	o->first_map = m->start;
	if (in->interp)
		*interp = lc_xstrdup(in->interp);
	info_drop(in, owned);
	return 0;
}

/* Load order as the dynamic linker has it, approximately: the program,
 * the libraries from the highest address down (mmap grows down, and they
 * are mapped in DT_NEEDED order), the dynamic linker (mapped by the kernel
 * before all of them, but last in the search list). */
static int object_rank(const struct lc_object *o)
{
	return o->is_exec ? 0 : o->is_interp ? 2 : 1;
}

static int object_order(const void *a, const void *b)
{
	const struct lc_object *x = a, *y = b;
	if (object_rank(x) != object_rank(y))
		return object_rank(x) - object_rank(y);
	return x->first_map < y->first_map ? 1 : x->first_map > y->first_map ? -1 : 0;
}

/* Marks the object that is the program's PT_INTERP `interp` (same inode). */
static void object_mark_interp(struct lc_proc *pr, pid_t task, const char *interp)
{
	struct lc_buf path = LC_BUF_INIT;
	struct stat want;
	lc_buf_addf(&path, "/proc/%d/root%s", (int)task, interp);
	if (stat(path.data, &want) == 0)
		for (size_t i = 0; i < pr->nobjs; i++)
			if (pr->objs[i].dev == (uint64_t)want.st_dev &&
			    pr->objs[i].ino == (uint64_t)want.st_ino)
				pr->objs[i].is_interp = 1;
	lc_buf_free(&path);
}

int lc_object_fact(const struct lc_object *o, int fact, int (*compute)(const struct lc_object *))
{
	struct obj_info *in = (struct obj_info *)o->file_key;
	if (!in || !info_on)
		return compute(o);
	if (in->facts[fact] < 0)
		in->facts[fact] = compute(o) != 0;
	return in->facts[fact];
}

/* A number of a maps line (hex or decimal), as strtoull would read it
 * but without its locale and sign handling; *end after its last digit. */
static uint64_t maps_number(const char *p, int hex, const char **end)
{
	uint64_t v = 0;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		v = v * (hex ? 16 : 10) + d;
	}
	*end = p;
	return v;
}

/* What the peek needs of a line of /proc/PID/maps, without a copy of the
 * path nor the addresses (lc_proc_peek runs for every process of -p all):
 * 1 if it maps a file from its offset 0 (dev as in struct lc_map, inode),
 * 0 if it does not or is no maps line. */
static int peek_line(const char *p, uint64_t *dev, uint64_t *inode)
{
	const char *e;
	p = strchr(p, ' ');                     /* START-END */
	p = p ? strchr(p + 1, ' ') : NULL;      /* PERMS */
	if (!p || p[1] == ' ')
		return 0;
	for (p++; *p == '0'; p++)               /* OFFSET, hex: zero or not */
		;
	if (*p != ' ')
		return 0;
	uint64_t major = maps_number(p + 1, 1, &e);
	if (e == p + 1 || *e != ':')
		return 0;
	p = e + 1;
	uint64_t minor = maps_number(p, 1, &e);
	if (e == p || *e != ' ')
		return 0;
	p = e + 1;
	*inode = maps_number(p, 0, &e);
	if (e == p || (*e != ' ' && *e != '\0'))
		return 0;
	*dev = major << 32 | minor;
	return e[strspn(e, " ")] == '/';
}

int lc_proc_peek(pid_t pid, int (*fn)(const char *hex, void *ctx), void *ctx)
{
	char *text = info_on ? maps_text(pid, pid, 1) : NULL;
	if (!text)
		return 0;
	int known = 1, objects = 0;
	for (char *line = text, *next; *line && known; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		uint64_t dev, inode;
		if (!peek_line(line, &dev, &inode))
			continue;
		struct obj_info *in = mk_find(dev, inode);
		if (!in) {
			known = 0;
		} else if (in->elf) {
			objects++;
			if (in->build_id_len && (in->peek_fn != fn || in->peek_ctx != ctx)) {
				char hex[2 * LC_BUILD_ID_MAX + 1];
				lc_buildid_hex(in->build_id, (size_t)in->build_id_len, hex);
				in->peek_rc = fn(hex, ctx);
				in->peek_fn = fn;
				in->peek_ctx = ctx;
			}
			if (in->build_id_len)
				known = in->peek_rc == 0;
		}
	}
	return known && objects > 0;
}

/* `any`: a process with nothing mapped from an ELF file is 1, quietly. */
static int proc_open(struct lc_proc *pr, pid_t pid, int any)
{
	char exe[4096], link[64];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	pr->memfd = -1;
	if (pid == getpid())
		return lc_error("process %d is libcare-doctor itself", (int)pid);
	pid_t vp = lc_vfork_parent(pid);
	if (vp)
		return lc_error("process %d shares the memory of process %d (a vfork child): not "
				"touching it (process %d is patched with it)", (int)pid, (int)vp, (int)vp);
	pid_t task = lc_proc_task(pid);
	if (maps_read(pr, task, 0) != 0)
		return -1;
	if (pr->nmaps == 0 && !any)
		return lc_error("process %d has no mappings (a zombie or a kernel thread?)", (int)pid);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)task);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';

	elf_version(EV_CURRENT);
	char *interp = NULL;
	for (size_t i = 0; i < pr->nmaps; i++) {
		const struct lc_map *m = &pr->maps[i];
		if (!m->path || m->path[0] != '/' || m->offset != 0)
			continue;
		int seen = 0;
		for (size_t j = 0; j < pr->nobjs; j++)
			if (strcmp(pr->objs[j].path, m->path) == 0)
				seen = 1;
		if (seen)
			continue;
		struct lc_object o = { 0 };
		char *oi;
		if (object_read(task, &o, m, &oi) != 0)
			continue;        /* not an ELF object: a data file mapping */
		o.is_exec = strcmp(o.path, exe) == 0;
		if (o.is_exec && oi && !interp)
			interp = oi;
		else
			free(oi);
		pr->objs = lc_xrealloc(pr->objs, (pr->nobjs + 1) * sizeof(*pr->objs));
		pr->objs[pr->nobjs++] = o;
	}
	if (interp)
		object_mark_interp(pr, task, interp);
	free(interp);
	qsort(pr->objs, pr->nobjs, sizeof(*pr->objs), object_order);
	if (pr->nobjs == 0)
		return any ? 1 : lc_error("process %d has no ELF object mapped", (int)pid);
	return 0;
}

int lc_proc_open(struct lc_proc *pr, pid_t pid)
{
	return proc_open(pr, pid, 0);
}

int lc_proc_open_any(struct lc_proc *pr, pid_t pid)
{
	return proc_open(pr, pid, 1);
}

void lc_proc_copy(struct lc_proc *to, const struct lc_proc *from)
{
	*to = *from;
	to->memfd = -1;
	to->maps = lc_xcalloc(from->nmaps ? from->nmaps : 1, sizeof(*to->maps));
	for (size_t i = 0; i < from->nmaps; i++) {
		to->maps[i] = from->maps[i];
		if (from->maps[i].path)
			to->maps[i].path = lc_xstrdup(from->maps[i].path);
	}
	to->objs = lc_xcalloc(from->nobjs ? from->nobjs : 1, sizeof(*to->objs));
	for (size_t i = 0; i < from->nobjs; i++) {
		struct lc_object *o = &to->objs[i];
		*o = from->objs[i];
		o->path = lc_xstrdup(o->path);
		o->file = lc_xstrdup(o->file);
		o->syms = NULL;         /* loaded again, from symbols.c's cache if on */
		o->nsyms = 0;
		o->rels = NULL;
		o->nrels = 0;
		o->syms_loaded = 0;
		o->syms_shared = 0;
	}
}

void lc_proc_close(struct lc_proc *pr)
{
	maps_free(pr);
	for (size_t i = 0; i < pr->nobjs; i++) {
		lc_symbols_free(&pr->objs[i]);
		free(pr->objs[i].path);
		free(pr->objs[i].file);
	}
	free(pr->objs);
	pr->objs = NULL;
	pr->nobjs = 0;
	if (pr->memfd >= 0)
		close(pr->memfd);
	pr->memfd = -1;
}

struct lc_object *lc_proc_object_by_buildid(struct lc_proc *pr, const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < pr->nobjs; i++)
		if ((size_t)pr->objs[i].build_id_len == len && memcmp(pr->objs[i].build_id, id, len) == 0)
			return &pr->objs[i];
	return NULL;
}

/* The doctor's stub (stub.c) if it has a place: its first instruction is a
 * syscall and its tail restores the thread without the doctor.  Else any
 * 0f 05 in executable memory will do: the CPU decodes from rip, so it
 * needs not be a syscall instruction of the original code stream.  The vdso
 * first (always there, never written), then the objects' text. */
int lc_proc_syscall_insn(struct lc_proc *pr, uint64_t *addr)
{
	if (lc_stub_place(pr, addr) == 0)
		return 0;
	lc_debug("process %d: no room for the doctor's stub: a bare syscall instruction",
		 (int)pr->pid);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < pr->nmaps; i++) {
			const struct lc_map *m = &pr->maps[i];
			if (m->perms[2] != 'x' || !m->path)
				continue;
			if (pass == 0 ? strcmp(m->path, "[vdso]") != 0 : m->path[0] != '/')
				continue;
			size_t len = m->end - m->start;
			if (len > (8u << 20))
				len = 8u << 20;
			uint8_t *buf = lc_xmalloc(len);
			if (lc_mem_read(pr, m->start, buf, len) == 0) {
				uint8_t *hit = memmem(buf, len, "\x0f\x05", 2);
				if (hit) {
					*addr = m->start + (uint64_t)(hit - buf);
					free(buf);
					return 0;
				}
			}
			free(buf);
		}
	}
	return lc_error("process %d: no syscall instruction found in executable memory", (int)pr->pid);
}
