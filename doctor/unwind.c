/*
 * unwind.c - the return addresses on a stopped thread's stack, from the
 * CFI (.eh_frame/.debug_frame) of the objects it runs in, with elfutils'
 * libdwfl.  The doctor already holds the threads stopped under ptrace, so
 * libdwfl is given callbacks (registers by PTRACE_GETREGS, memory through
 * /proc/PID/mem) instead of attaching itself.
 *
 * The world is stopped while this runs, for every thread, so its cost is
 * the patient's: each thread's registers are read once, and the tops of
 * all the threads' stacks (4 KiB each, inside the mapping the maps read
 * before the stop put them in) with as few process_vm_readv as can be
 * (lc_unwind_snap_all) into local snapshots that serve the unwinder's
 * word reads; only words outside them are read one by one.  Every
 * module's CFI is found before the stop (the vDSO's image is read from
 * the patient then), and every buffer the stop writes is touched before
 * it (a page fault in the stop is a microsecond or more of the patient's;
 * a thread's snapshot is its part of the shared read, not a copy of it).
 * A frame whose CFI has the form compilers write for
 * ordinary code (CFA = rsp or rbp + offset, the return address and rbp
 * saved at CFA offsets) is unwound by unwind_fast with that rule, found
 * once per pc for the run (the threads of a process mostly stand on the
 * same return addresses): a lookup and a read or two a frame.  Any other
 * frame (no module, no .eh_frame entry, a signal frame, a DWARF
 * expression) makes libdwfl unwind the whole thread, as it does every
 * thread when LIBCARE_UNWIND_VERIFY=1, which also checks that both give
 * the same frames (a difference is an error, and that stack is scanned).
 * Whether a pc has CFI is remembered for the run too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define UNWIND_SNAP_FIRST 4096u      /* bytes of stack read at first */
#define UNWIND_SNAP_MAX (64u << 10)    /* at most, then word by word */
#define UNWIND_CFI_CACHE 256
#define UNWIND_RULES 512

/* How the frame at one pc is unwound, from its CFI, when that is the
 * simple form every compiler writes for ordinary code: CFA = rsp or rbp +
 * offset, the return address saved at CFA + offset (or undefined: the
 * outermost frame), rbp the same or saved at CFA + offset (so rsp and rbp
 * are known in every frame), rsp = CFA. */
struct unwind_rule {
	uint64_t pc;                    /* looked up at; 0: empty */
	uint8_t simple;                 /* 0: anything else (libdwfl unwinds) */
	uint8_t cfa_reg;                /* 6 (rbp) or 7 (rsp) */
	uint8_t ra_end;                 /* return address undefined: the outermost */
	uint8_t bp_rule;                /* 0 same value, 1 saved at CFA + bp_off */
	int64_t cfa_off, ra_off, bp_off;
};

struct lc_unwind {
	Dwfl *dwfl;
	pid_t pid;
	int memfd;
	const struct lc_tramps *tramps; /* return addresses redirected while waiting */
	pid_t tid;                      /* the thread being unwound */
	/* rsp and rbp in each frame of the last lc_unwind_stack (0: unknown),
	 * for patch frames, which cfi_unwind.c unwinds with the region's CFI */
	uint64_t sp[LC_UNWIND_REGS_MAX], bp[LC_UNWIND_REGS_MAX];
	int nregs;
	struct user_regs_struct regs;   /* of the thread being unwound */
	/* its stack from rsp: snap_len bytes at snap_lo (grown on a miss),
	 * at snap_data: its top in topbuf, or snap once it had to grow */
	uint64_t snap_lo;
	size_t snap_len;
	int snap_full;                  /* nothing more to read from there */
	const uint8_t *snap_data;
	uint8_t snap[UNWIND_SNAP_MAX];
	/* pc -> has CFI (1) or not (0), for unwind_has_cfi; 0 pc: empty */
	uint64_t cfi_pc[UNWIND_CFI_CACHE];
	uint8_t cfi_has[UNWIND_CFI_CACHE];
	struct unwind_rule rules[UNWIND_RULES];
	int verify;                     /* LIBCARE_UNWIND_VERIFY: both ways, compared */
	/* the mappings as before the stop, [lo, hi) sorted: where a stack
	 * ends, so that one read of many threads' stacks stays inside each */
	uint64_t (*maps)[2];
	size_t nmaps;
	/* the files mapped (device, inode, name), as maps gives them */
	struct unwind_file {
		uint64_t dev, ino;
		char *path;
	} *files;
	size_t nfiles;
	/* the top of each thread's stack, read for all at once (lc_unwind_snap_all) */
	struct unwind_top {
		pid_t tid;
		uint64_t lo;
		uint32_t len;
		uint8_t full;           /* nothing more to read past it */
		uint8_t to_end;         /* read whole up to the end of its mapping */
	} *tops;
	uint8_t *topbuf;                /* topsize bytes per thread */
	size_t ntops, captops, cursor, topsize;
	struct iovec loc[256], rem[256];        /* lc_unwind_snap_all's */
};

void lc_unwind_tramps(struct lc_unwind *u, const struct lc_tramps *t)
{
	if (u)
		u->tramps = t;
}

static pid_t unwind_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;        /* threads are named by the caller: get_thread */
}

static bool unwind_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct lc_unwind *u = arg;
	(void)dwfl;
	u->tid = tid;
	*thread_argp = u;
	return true;
}

/* Reads more of the stack into the snapshot, up to `need` bytes of it. */
static void unwind_snap_grow(struct lc_unwind *u, size_t need)
{
	size_t want = u->snap_len ? u->snap_len * 2 : UNWIND_SNAP_FIRST;
	while (want < need)
		want *= 2;
	if (want > sizeof(u->snap))
		want = sizeof(u->snap);
	if (u->snap_data != u->snap) {
		memcpy(u->snap, u->snap_data, u->snap_len);
		u->snap_data = u->snap;
	}
	size_t ask = want - u->snap_len;
	struct iovec local = { u->snap + u->snap_len, ask };
	struct iovec remote = { (void *)(uintptr_t)(u->snap_lo + u->snap_len), ask };
	/* a short read: the stack's mapping ends there */
	ssize_t got = process_vm_readv(u->tid, &local, 1, &remote, 1, 0);
	if (got > 0)
		u->snap_len += (size_t)got;
	if (got < (ssize_t)ask || u->snap_len == sizeof(u->snap))
		u->snap_full = 1;
}

static bool unwind_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct lc_unwind *u = arg;
	(void)dwfl;
	if (addr >= u->snap_lo && addr - u->snap_lo + sizeof(*result) > u->snap_len &&
	    !u->snap_full && addr - u->snap_lo + sizeof(*result) <= sizeof(u->snap))
		unwind_snap_grow(u, (size_t)(addr - u->snap_lo) + sizeof(*result));
	if (addr >= u->snap_lo && addr - u->snap_lo + sizeof(*result) <= u->snap_len)
		memcpy(result, u->snap_data + (addr - u->snap_lo), sizeof(*result));
	else if (pread(u->memfd, result, sizeof(*result), (off_t)addr) != sizeof(*result))
		return false;
	/* A return address redirected to a trampoline reads as the real one
	 * (trampoline.c): unwinding goes on past it. */
	*result = lc_tramps_translate(u->tramps, *result);
	return true;
}

/* DWARF numbering of x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
static bool unwind_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct lc_unwind *u = thread_arg;
	struct user_regs_struct r = u->regs;     /* read by lc_unwind_stack_regs */
	/* A thread held in a trampoline stands, for unwinding, at the real
	 * return address (lc_tramps_normalize put its other registers back as
	 * they were there). */
	r.rip = lc_tramps_translate(u->tramps, r.rip);
	Dwarf_Word regs[17] = {
		r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip,
	};
	if (!dwfl_thread_state_registers(thread, 0, 17, regs))
		return false;
	dwfl_thread_state_register_pc(thread, r.rip);
	return true;
}

static const Dwfl_Thread_Callbacks unwind_thread_callbacks = {
	.next_thread = unwind_next_thread,
	.get_thread = unwind_get_thread,
	.memory_read = unwind_memory_read,
	.set_initial_registers = unwind_initial_registers,
};

/*
 * The ELF files of the modules, opened once per run (patch -p all, while
 * lc_unwind_cache is on) and shared by every process's Dwfl: libelf counts
 * the references of an Elf that elf_begin is given again, so each Dwfl's
 * elf_end at its end leaves the run's own.  A file is known by its
 * identity (device, inode, size, modification and change times), and is
 * used for a module only if that is also the identity (device and inode)
 * the process's maps give for a mapping of that name: the file mapped, not
 * one renamed over it since.  Anything else (the vDSO, a deleted file, a
 * file replaced, overlayfs's devices that maps and stat tell apart) goes
 * the way libdwfl goes by itself (dwfl_linux_proc_find_elf).
 */
struct unwind_elf {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int fd;
	Elf *elf;
};

static struct unwind_elf *elf_tab;
static size_t elf_n;
static int elf_on;
/* the process whose Dwfl is being made (lc_unwind_begin), for find_elf */
static const struct lc_unwind *elf_for;

void lc_unwind_cache(int on)
{
	elf_on = on;
	if (on)
		return;
	for (size_t i = 0; i < elf_n; i++) {
		elf_end(elf_tab[i].elf);
		close(elf_tab[i].fd);
	}
	free(elf_tab);
	elf_tab = NULL;
	elf_n = 0;
}

static int unwind_mapped_as(const struct lc_unwind *u, const char *name, const struct stat *st);

static Elf *unwind_elf_shared(const char *name)
{
	struct stat st;
	if (stat(name, &st) != 0 || !S_ISREG(st.st_mode) || !unwind_mapped_as(elf_for, name, &st))
		return NULL;
	for (size_t i = 0; i < elf_n; i++) {
		struct unwind_elf *e = &elf_tab[i];
		if (e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
		    e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec &&
		    e->ctime.tv_sec == st.st_ctim.tv_sec && e->ctime.tv_nsec == st.st_ctim.tv_nsec)
			return elf_begin(e->fd, ELF_C_READ_MMAP_PRIVATE, e->elf);
	}
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	struct stat fst;
	/* the file opened is the one looked at */
	if (fd < 0 || fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino ||
	    fst.st_size != st.st_size || fst.st_mtim.tv_sec != st.st_mtim.tv_sec ||
	    fst.st_mtim.tv_nsec != st.st_mtim.tv_nsec || fst.st_ctim.tv_sec != st.st_ctim.tv_sec ||
	    fst.st_ctim.tv_nsec != st.st_ctim.tv_nsec) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return NULL;
	}
	elf_tab = lc_xrealloc(elf_tab, (elf_n + 1) * sizeof(*elf_tab));
	elf_tab[elf_n++] = (struct unwind_elf){ st.st_dev, st.st_ino, st.st_size, st.st_mtim,
						st.st_ctim, fd, elf };
	return elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, elf);
}

static int unwind_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			   char **file_name, Elf **elfp)
{
	if (elf_on && elf_for && name && name[0] == '/') {
		Elf *elf = unwind_elf_shared(name);
		if (elf) {
			*file_name = lc_xstrdup(name);
			*elfp = elf;
			return -1;      /* no descriptor of its own: the Elf has the run's */
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

static char *debuginfo_path;
static const Dwfl_Callbacks unwind_proc_callbacks = {
	.find_elf = unwind_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static int unwind_report(struct lc_unwind *u, pid_t task);

static int unwind_warm_module(Dwfl_Module *m, void **userdata, const char *name,
			      Dwarf_Addr start, void *arg)
{
	Dwarf_Addr bias;
	(void)userdata;
	(void)name;
	(void)start;
	(void)arg;
	(void)dwfl_module_eh_cfi(m, &bias);
	return DWARF_CB_OK;
}

struct lc_unwind *lc_unwind_begin(pid_t pid)
{
	char path[64];
	struct lc_unwind *u = lc_xcalloc(1, sizeof(*u));
	lc_pages_touch(u, sizeof(*u));  /* calloc's fresh pages: not in the stop */
	u->snap_data = u->snap;
	pid_t task = lc_proc_task(pid);        /* the main thread may have exited */
	u->pid = pid;
	const char *verify = getenv("LIBCARE_UNWIND_VERIFY");
	u->verify = verify && *verify && strcmp(verify, "0") != 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)task);
	u->memfd = open(path, O_RDONLY | O_CLOEXEC);
	u->dwfl = dwfl_begin(&unwind_proc_callbacks);
	elf_for = u;
	/* Code the process did not map from a file (a patch region with CFI of
	 * its own) is reported as a module between these two calls: both the
	 * unwinding and unwind_has_cfi then see it. */
	if (u->memfd < 0 || !u->dwfl || unwind_report(u, task) != 0 ||
	    dwfl_report_end(u->dwfl, NULL, NULL) != 0 ||
	    !dwfl_attach_state(u->dwfl, NULL, task, &unwind_thread_callbacks, u)) {
		elf_for = NULL;
		lc_debug("process %d: no stack unwinding (%s); checking rip only", (int)pid,
			 dwfl_errmsg(-1));
		lc_unwind_end(u);
		return NULL;
	}
	/* Every module's CFI is found now, not while the world is stopped
	 * (for the vDSO that means reading its image from the patient). */
	dwfl_getmodules(u->dwfl, unwind_warm_module, NULL, 0);
	elf_for = NULL;
	return u;
}

/* One line of /proc/PID/maps (NUL-terminated, no newline): its bounds, and
 * the file it maps, if any. */
static void unwind_maps_line(struct lc_unwind *u, char *line, size_t *cap)
{
	/* "START-END PERMS OFFSET MAJOR:MINOR INODE   PATH", read by hand
	 * (sscanf was a fifth of the instructions of this unwinder's start) */
	char *e, *p = line;
	unsigned long long lo = strtoull(p, &e, 16), hi, ino = 0;
	unsigned major = 0, minor = 0;
	int name = 0;
	if (e == p || *e != '-')
		return;
	p = e + 1;
	hi = strtoull(p, &e, 16);
	if (e == p)
		return;
	p = strchr(e, ' ');                     /* PERMS */
	p = p ? strchr(p + 1, ' ') : NULL;      /* OFFSET */
	if (p)
		p += strspn(p + 1, "0123456789abcdef") + 1;
	if (p && *p == ' ' && p[-1] != ' ') {
		p++;
		major = (unsigned)strtoul(p, &e, 16);
		if (e > p && *e == ':') {
			p = e + 1;
			minor = (unsigned)strtoul(p, &e, 16);
			if (e > p && *e == ' ') {
				p = e + 1;
				ino = strtoull(p, &e, 10);
				if (e > p && (*e == ' ' || *e == '\0'))
					name = (int)(e + strspn(e, " ") - line);
			}
		}
	}
	if (u->nmaps == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		u->maps = lc_xrealloc(u->maps, *cap * sizeof(*u->maps));
	}
	u->maps[u->nmaps][0] = lo;
	u->maps[u->nmaps++][1] = hi;
	if (!name || !ino || line[name] != '/')
		return;
	uint64_t dev = (uint64_t)makedev(major, minor);
	const struct unwind_file *last = u->nfiles ? &u->files[u->nfiles - 1] : NULL;
	if (last && last->dev == dev && last->ino == ino && strcmp(last->path, line + name) == 0)
		return;
	u->files = lc_xrealloc(u->files, (u->nfiles + 1) * sizeof(*u->files));
	u->files[u->nfiles++] = (struct unwind_file){ dev, ino, lc_xstrdup(line + name) };
}

/* Lines [from, to) of the maps text for libdwfl, as a stream. */
static int unwind_report_part(struct lc_unwind *u, char *text, size_t from, size_t to)
{
	if (from == to)
		return 0;
	FILE *f = fmemopen(text + from, to - from, "r");
	if (!f)
		return -1;
	int rc = dwfl_linux_proc_maps_report(u->dwfl, f);
	fclose(f);
	return rc;
}

/*
 * /proc/PID/maps, read once before the stop: the mappings' bounds (where
 * a stack ends), the files mapped (unwind_mapped_as) and the modules the
 * Dwfl is told of.  The text goes to libdwfl's own reader of maps as
 * dwfl_linux_proc_report would give it, in order, with the vDSO's line
 * reported as dwfl_linux_proc_report reports it (a module "[vdso: PID]",
 * whose image libdwfl reads from the process): that function reads the
 * same file again, and the auxiliary vector, only to find the vDSO.
 */
static int unwind_report(struct lc_unwind *u, pid_t task)
{
	char path[64];
	struct lc_buf b = LC_BUF_INIT;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)task);
	if (lc_buf_read_file(&b, path) != 0 || b.len == 0) {
		lc_buf_free(&b);
		return -1;
	}
	/* the lines, each parsed from a copy that ends at its newline */
	size_t cap = 0, vdso_at = b.len, vdso_end = b.len;
	uint64_t vdso_lo = 0, vdso_hi = 0;
	char *line = lc_xmalloc(b.len + 1);
	for (size_t at = 0; at < b.len;) {
		const char *nl = memchr(b.data + at, '\n', b.len - at);
		size_t end = nl ? (size_t)(nl - b.data) + 1 : b.len;
		size_t n = (size_t)(nl ? nl - (b.data + at) : (ptrdiff_t)(b.len - at));
		memcpy(line, b.data + at, n);
		line[n] = '\0';
		size_t before = u->nmaps;
		unwind_maps_line(u, line, &cap);
		size_t plen = strlen(line);
		if (u->nmaps > before && vdso_at == b.len && plen >= 6 &&
		    strcmp(line + plen - 6, "[vdso]") == 0) {
			vdso_at = at;
			vdso_end = end;
			vdso_lo = u->maps[before][0];
			vdso_hi = u->maps[before][1];
		}
		at = end;
	}
	free(line);
	int rc = unwind_report_part(u, b.data, 0, vdso_at);
	if (rc == 0 && vdso_hi) {
		char name[32];
		snprintf(name, sizeof(name), "[vdso: %d]", (int)task);
		if (!dwfl_report_module(u->dwfl, name, vdso_lo, vdso_hi))
			rc = -1;
	}
	if (rc == 0)
		rc = unwind_report_part(u, b.data, vdso_end, b.len);
	lc_buf_free(&b);
	return rc;
}

/* Does the process map a file of that name with st's device and inode? */
static int unwind_mapped_as(const struct lc_unwind *u, const char *name, const struct stat *st)
{
	for (size_t i = 0; u && i < u->nfiles; i++)
		if (u->files[i].dev == (uint64_t)st->st_dev && u->files[i].ino == (uint64_t)st->st_ino &&
		    strcmp(u->files[i].path, name) == 0)
			return 1;
	return 0;
}

/* The end of the mapping holding addr (as before the stop), or the end
 * of its page. */
static uint64_t unwind_map_end(const struct lc_unwind *u, uint64_t addr)
{
	size_t lo = 0, hi = u->nmaps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < u->maps[mid][0])
			hi = mid;
		else if (addr >= u->maps[mid][1])
			lo = mid + 1;
		else
			return u->maps[mid][1];
	}
	return (addr | 4095) + 1;
}

void lc_unwind_reserve(struct lc_unwind *u, size_t n, size_t bytes)
{
	bytes = bytes < UNWIND_SNAP_FIRST ? UNWIND_SNAP_FIRST :
		bytes > UNWIND_SNAP_MAX ? UNWIND_SNAP_MAX : bytes;
	if (!u || (n <= u->captops && bytes <= u->topsize))
		return;
	u->tops = lc_xrealloc(u->tops, n * sizeof(*u->tops));
	free(u->topbuf);
	u->topbuf = lc_xmalloc(n * bytes);
	lc_pages_touch(u->topbuf, n * bytes);   /* its pages now, not in the stop */
	u->captops = n;
	u->topsize = bytes;
}

void lc_unwind_snap_all(struct lc_unwind *u, const struct lc_threads *ts)
{
	if (!u)
		return;
	struct iovec *loc = u->loc, *rem = u->rem;
	u->ntops = u->cursor = 0;
	for (size_t i = 0; i < ts->n && u->ntops < u->captops; i++) {
		const struct lc_thread *th = &ts->t[i];
		if (th->gone || !th->stopped || !th->regs_ok)
			continue;
		/* from the red zone (rsp - 128) down to the start of rsp's page,
		 * for the reference proof (retire.c), which reads it too */
		uint64_t sp = th->regs.rsp & ~(uint64_t)7, lo = sp - 128, end = unwind_map_end(u, sp);
		if (lo > sp || (lo & ~(uint64_t)4095) != (sp & ~(uint64_t)4095))
			lo = sp & ~(uint64_t)4095;
		uint64_t len = end - lo < u->topsize ? end - lo : u->topsize;
		u->tops[u->ntops++] = (struct unwind_top){ th->tid, lo, (uint32_t)len, len < u->topsize,
							   len < u->topsize };
	}
	/* As many at once as fit; a read that stops short (a stack not where
	 * the maps said) leaves that thread's top short and goes on after it. */
	for (size_t i = 0; i < u->ntops;) {
		size_t k = 0;
		for (; k < 256 && i + k < u->ntops; k++) {
			loc[k].iov_base = u->topbuf + (i + k) * u->topsize;
			rem[k].iov_base = (void *)(uintptr_t)u->tops[i + k].lo;
			loc[k].iov_len = rem[k].iov_len = u->tops[i + k].len;
		}
		ssize_t got = process_vm_readv(u->tops[i].tid, loc, k, rem, k, 0);
		size_t left = got > 0 ? (size_t)got : 0, j = 0;
		while (j < k && left >= rem[j].iov_len)
			left -= rem[j++].iov_len;
		if (j < k) {            /* j read in part: as far as it goes */
			u->tops[i + j].len = (uint32_t)left;
			u->tops[i + j].full = 1;
			u->tops[i + j].to_end = 0;
			j++;
		}
		i += j;
	}
}

int lc_unwind_top(const struct lc_unwind *u, pid_t tid, uint64_t *lo, size_t *len,
		  const uint8_t **data)
{
	for (size_t i = 0; u && i < u->ntops; i++)
		if (u->tops[i].tid == tid) {
			if (!u->tops[i].to_end)
				return -1;
			*lo = u->tops[i].lo;
			*len = u->tops[i].len;
			*data = u->topbuf + i * u->topsize;
			return 0;
		}
	return -1;
}

void lc_unwind_end(struct lc_unwind *u)
{
	if (!u)
		return;
	free(u->maps);
	for (size_t i = 0; i < u->nfiles; i++)
		free(u->files[i].path);
	free(u->files);
	free(u->tops);
	free(u->topbuf);
	if (u->dwfl)
		dwfl_end(u->dwfl);
	if (u->memfd >= 0)
		close(u->memfd);
	free(u);
}

#define MAX_VERIFY 256

struct unwind_frames {
	Dwfl *dwfl;
	uint64_t *pcs;
	uint64_t *sps;           /* may be NULL */
	int n, max;
	int first_guess;        /* first frame without CFI, -1: none */
	struct lc_unwind *u;
};

/* Does CFI cover pc?  libdwfl unwinds a frame with its module's
 * .eh_frame, else its .debug_frame, else guesses from the frame pointer
 * (ebl_unwind); what it found above a guessed frame is not to be trusted. */
static int unwind_has_cfi_lookup(Dwfl *dwfl, Dwarf_Addr pc)
{
	Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
	if (!m)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		Dwarf_Addr bias;
		Dwarf_Frame *fr;
		Dwarf_CFI *cfi = pass == 0 ? dwfl_module_eh_cfi(m, &bias) : dwfl_module_dwarf_cfi(m, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
			free(fr);
			return 1;
		}
	}
	return 0;
}

static int unwind_has_cfi(struct lc_unwind *u, Dwarf_Addr pc)
{
	size_t k = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 56) % UNWIND_CFI_CACHE;
	if (pc && u->cfi_pc[k] == pc)
		return u->cfi_has[k];
	int has = unwind_has_cfi_lookup(u->dwfl, pc);
	u->cfi_pc[k] = pc;
	u->cfi_has[k] = (uint8_t)has;
	return has;
}

static int unwind_frame(Dwfl_Frame *state, void *arg)
{
	struct unwind_frames *f = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address points after its call: pc - 1 is in the caller. */
	uint64_t at = activation ? pc : pc - 1;
	if (f->sps) {
		Dwarf_Word sp = 0;
		/* DWARF register 7 is rsp: for an outer frame, the CFA of the
		 * frame inside it, so its return address lies at sp - 8. */
		f->sps[f->n] = dwfl_frame_reg(state, 7, &sp) == 0 ? sp : 0;
	}
	Dwarf_Word sp, bp;
	if (f->u->nregs < LC_UNWIND_REGS_MAX) {
		int ok = dwfl_frame_reg(state, 7, &sp) == 0 && dwfl_frame_reg(state, 6, &bp) == 0;
		f->u->sp[f->u->nregs] = ok ? sp : 0;
		f->u->bp[f->u->nregs++] = ok ? bp : 0;
	}
	f->pcs[f->n++] = at;
	if (f->first_guess < 0 && !unwind_has_cfi(f->u, at))
		f->first_guess = f->n - 1;
	return f->n < f->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* An offset rule of dwarf_frame_register: [call_frame_cfa] or
 * [call_frame_cfa, plus_uconst N], and DW_OP_stack_value after it if
 * `value`.  1 and the offset, or 0. */
static int rule_cfa_offset(const Dwarf_Op *ops, size_t nops, int value, int64_t *off)
{
	if (value) {
		if (nops == 0 || ops[nops - 1].atom != DW_OP_stack_value)
			return 0;
		nops--;
	} else if (nops && ops[nops - 1].atom == DW_OP_stack_value) {
		return 0;
	}
	if (nops < 1 || nops > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return 0;
	*off = 0;
	if (nops == 2) {
		if (ops[1].atom != DW_OP_plus_uconst)
			return 0;
		*off = (int64_t)ops[1].number;
	}
	return 1;
}

static void unwind_rule_make(struct lc_unwind *u, uint64_t pc, struct unwind_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->pc = pc;
	Dwfl_Module *m = dwfl_addrmodule(u->dwfl, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi = m ? dwfl_module_eh_cfi(m, &bias) : NULL;
	Dwarf_Frame *fr;
	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &fr) != 0)
		return;
	bool sig = false;
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t off;
	int ra = dwarf_frame_info(fr, NULL, NULL, &sig);
	if (ra != 16 || sig || dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops != 1)
		goto out;
	if (ops[0].atom == DW_OP_bregx && (ops[0].number == 6 || ops[0].number == 7)) {
		r->cfa_reg = (uint8_t)ops[0].number;
		r->cfa_off = (int64_t)ops[0].number2;
	} else if (ops[0].atom == DW_OP_breg6 || ops[0].atom == DW_OP_breg7) {
		r->cfa_reg = ops[0].atom == DW_OP_breg6 ? 6 : 7;
		r->cfa_off = (int64_t)ops[0].number;
	} else {
		goto out;
	}
	/* rsp in the caller: the CFA */
	if (dwarf_frame_register(fr, 7, mem, &ops, &nops) != 0 ||
	    !rule_cfa_offset(ops, nops, 1, &off) || off != 0)
		goto out;
	if (dwarf_frame_register(fr, 16, mem, &ops, &nops) != 0)
		goto out;
	if (nops == 0 && ops == mem)
		r->ra_end = 1;
	else if (!rule_cfa_offset(ops, nops, 0, &r->ra_off))
		goto out;
	if (dwarf_frame_register(fr, 6, mem, &ops, &nops) != 0)
		goto out;
	if (nops == 0 && ops != mem)
		r->bp_rule = 0;
	else if (nops && rule_cfa_offset(ops, nops, 0, &r->bp_off))
		r->bp_rule = 1;
	else
		goto out;
	r->simple = 1;
out:
	free(fr);
}

static const struct unwind_rule *unwind_rule(struct lc_unwind *u, uint64_t pc)
{
	struct unwind_rule *r = &u->rules[(size_t)((pc * 0x9e3779b97f4a7c15ull) >> 55) % UNWIND_RULES];
	if (!pc || r->pc != pc)
		unwind_rule_make(u, pc, r);
	return r;
}

/*
 * The frames of the thread as libdwfl's unwinding finds them (the same
 * DWARF rules, the same memory reads through the snapshot and the
 * trampolines' translation, the same end: an undefined or zero return
 * address), for stacks whose every frame has the simple rule above, each
 * pc's rule found once per run: the threads of a process mostly stand on
 * the same few return addresses, and this costs a lookup and a read or
 * two a frame instead of libdwfl's CFI interpretation.  -2: some frame is
 * not that simple (no module, no .eh_frame entry, a signal frame, an
 * expression, a register other than rsp/rbp for the CFA, an unreadable
 * word): libdwfl unwinds the thread instead.  Else what lc_unwind_stack_regs
 * returns.
 */
static int unwind_fast(struct lc_unwind *u, uint64_t *pcs, uint64_t *sps, int max,
		       int *reliable)
{
	uint64_t pc = lc_tramps_translate(u->tramps, u->regs.rip);
	uint64_t sp = u->regs.rsp, bp = u->regs.rbp;
	int n = 0;
	u->nregs = 0;
	for (int first = 1;; first = 0) {
		uint64_t at = first ? pc : pc - 1;
		const struct unwind_rule *r = unwind_rule(u, at);
		if (!r->simple)
			return -2;
		if (u->nregs < LC_UNWIND_REGS_MAX) {
			u->sp[u->nregs] = sp;
			u->bp[u->nregs++] = bp;
		}
		if (sps)
			sps[n] = sp;
		pcs[n++] = at;
		if (n >= max) {
			*reliable = n;
			return -1 - n;
		}
		if (r->ra_end)
			break;
		uint64_t cfa = (r->cfa_reg == 6 ? bp : sp) + (uint64_t)r->cfa_off, ra, nbp = bp;
		if (!unwind_memory_read(NULL, cfa + (uint64_t)r->ra_off, &ra, u))
			return -2;
		if (r->bp_rule == 1 && !unwind_memory_read(NULL, cfa + (uint64_t)r->bp_off, &nbp, u))
			return -2;
		if (ra == 0)
			break;                  /* libdwfl: the end of the stack */
		bp = nbp;
		sp = cfa;
		pc = ra;
	}
	*reliable = n;
	return n;
}

int lc_unwind_stack(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max, int *reliable)
{
	return lc_unwind_stack_sp(u, tid, pcs, NULL, max, reliable);
}

int lc_unwind_stack_sp(struct lc_unwind *u, pid_t tid, uint64_t *pcs, uint64_t *sps, int max,
		       int *reliable)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0) {
		*reliable = 0;
		lc_debug("process %d: thread %d: no registers to unwind from: %s", (int)u->pid,
			 (int)tid, strerror(errno));
		return -1;
	}
	return lc_unwind_stack_regs(u, tid, &r, pcs, sps, max, reliable);
}

int lc_unwind_stack_regs(struct lc_unwind *u, pid_t tid, const struct user_regs_struct *regs,
			 uint64_t *pcs, uint64_t *sps, int max, int *reliable)
{
	struct unwind_frames f = { u->dwfl, pcs, sps, 0, max, -1, u };
	u->nregs = 0;
	u->regs = *regs;
	u->tid = tid;
	/* The snapshot of this thread's stack: taken now, the thread stopped. */
	u->snap_lo = regs->rsp & ~(uint64_t)7;
	u->snap_len = 0;
	u->snap_full = 0;
	u->snap_data = u->snap;
	/* read already with the other threads' (lc_unwind_snap_all)? */
	const struct unwind_top *top = NULL;
	for (size_t n = 0; n < u->ntops && !top; n++, u->cursor = (u->cursor + 1) % u->ntops) {
		const struct unwind_top *c = &u->tops[u->cursor];
		if (c->tid == tid && c->lo <= u->snap_lo && u->snap_lo <= c->lo + c->len)
			top = c;
	}
	if (top) {
		size_t skip = (size_t)(u->snap_lo - top->lo);
		u->snap_data = u->topbuf + (size_t)(top - u->tops) * u->topsize + skip;
		u->snap_len = top->len - skip;
		u->snap_full = top->full;
	} else
		unwind_snap_grow(u, UNWIND_SNAP_FIRST);
	uint64_t vpcs[MAX_VERIFY], vsps[MAX_VERIFY], vsp[MAX_VERIFY], vbp[MAX_VERIFY];
	int vrel = 0, vn = unwind_fast(u, u->verify ? vpcs : pcs, u->verify ? vsps : sps,
				       u->verify ? (max < MAX_VERIFY ? max : MAX_VERIFY) : max, &vrel);
	if (vn != -2 && !u->verify) {
		*reliable = vrel;
		return vn;
	}
	int vnregs = u->nregs;
	if (vn != -2) {
		memcpy(vsp, u->sp, sizeof(vsp[0]) * (size_t)vnregs);
		memcpy(vbp, u->bp, sizeof(vbp[0]) * (size_t)vnregs);
	}
	u->nregs = 0;
	/* 0: unwinding ended where the CFI says there is no caller (_start,
	 * clone): the whole stack.  -1: an error (no CFI, no module, memory
	 * unreadable), or our callback stopped it (too many frames). */
	int rc = dwfl_getthread_frames(u->dwfl, tid, unwind_frame, &f);
	*reliable = f.first_guess >= 0 ? f.first_guess + 1 : f.n;
	int ret = rc != 0 || f.first_guess >= 0 ? -1 - f.n : f.n;
	if (vn != -2 && max <= MAX_VERIFY &&
	    (vn != ret || vrel != *reliable || vnregs != u->nregs ||
	     memcmp(vpcs, pcs, sizeof(pcs[0]) * (size_t)(ret < 0 ? -1 - ret : ret)) != 0 ||
	     (sps && memcmp(vsps, sps, sizeof(sps[0]) * (size_t)(ret < 0 ? -1 - ret : ret)) != 0) ||
	     memcmp(vsp, u->sp, sizeof(vsp[0]) * (size_t)vnregs) != 0 ||
	     memcmp(vbp, u->bp, sizeof(vbp[0]) * (size_t)vnregs) != 0)) {
		lc_error("process %d: thread %d: the fast unwinding differs from libdwfl's "
			 "(%d frames, %d reliable; libdwfl %d, %d; first pc 0x%llx)", (int)u->pid,
			 (int)tid, vn, vrel, ret, *reliable, (unsigned long long)pcs[0]);
		*reliable = 0;
		return -1;      /* not trusted: the stack is scanned */
	}
	if (rc != 0 || f.first_guess >= 0) {
		lc_debug("process %d: thread %d: %d frame(s), %d from CFI; not unwound to its "
			 "start: %s", (int)u->pid, (int)tid, f.n, *reliable,
			 rc > 0 ? "too many frames" : f.first_guess >= 0 ? "a frame without CFI"
			 : dwfl_errmsg(-1));
		return -1 - f.n;
	}
	return f.n;
}

int lc_unwind_thread(struct lc_unwind *u, pid_t tid, uint64_t *pcs, int max)
{
	int reliable, n = lc_unwind_stack(u, tid, pcs, max, &reliable);
	return n >= 0 ? n : -1 - n;
}

int lc_unwind_frame_regs(const struct lc_unwind *u, int i, uint64_t *sp, uint64_t *bp)
{
	if (!u || i < 0 || i >= u->nregs || !u->sp[i])
		return -1;
	*sp = u->sp[i];
	*bp = u->bp[i];
	return 0;
}
