/*
 * audit.c - libcare-audit.so, the LD_AUDIT module that brings new processes
 * and newly loaded objects up patched.
 *
 *	LD_AUDIT=/usr/lib/x86_64-linux-gnu/libcare/libcare-audit.so program
 *
 * When each patch goes in (measured on glibc 2.36, see docs/operations.md):
 *  - at exec, the dynamic linker maps the program and every library it needs
 *    (la_objopen for each), relocates them all, then reports
 *    la_activity(LA_ACT_CONSISTENT) and only then runs the constructors and
 *    main: the patches go in at that activity, after relocation and IFUNC
 *    binding, before any code of the program runs;
 *  - at dlopen, LA_ACT_CONSISTENT comes after mapping the new objects and
 *    BEFORE relocating them; their constructors run after.  The patch goes
 *    in there too: no code of a new object has run, and whatever the link
 *    would read from a slot the dynamic linker has not filled yet is
 *    refused by the engine (memory.c), not guessed.
 *
 * This module stays small on purpose: every process under LD_AUDIT loads
 * it.  Per object it reads the BuildID note from memory and stats
 * DIR/<BuildID>.kpatch; only if a patch exists does it load the engine
 * (libcare-audit-engine.so beside it: the runtime, libelf, verification).
 *
 * It never stops a process from starting: whatever goes wrong is one line
 * on stderr and the object runs unpatched.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "loader.h"

struct seen {
	struct lc_loader_obj obj;
	char *patch;              /* DIR/<BuildID>.kpatch if it exists and is pending */
	uint64_t region;          /* the patch region applied to it, if any */
	size_t region_size;
};

static struct {
	int enabled;
	int started;              /* the first LA_ACT_CONSISTENT (exec) is past */
	int verbose;
	int allow_unsigned;
	const char *log;          /* LIBCARE_AUDIT_LOG: the lines go there, not to stderr */
	const char *dir;
	const char *keys;
	char engine_path[PATH_MAX];
	lc_loader_apply_fn apply;
	int engine_failed;
	struct seen *objs;
	size_t nobjs;
	size_t npending;
} au;

static void au_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void au_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	char msg[1200];
	int n = snprintf(msg, sizeof(msg), "libcare-audit: process %d (%s): %s\n", (int)getpid(),
			 program_invocation_short_name, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	/* One write with O_APPEND: the lines of processes logging at once do
	 * not interleave.  A log that cannot be opened: stderr, as without. */
	if (au.log) {
		int fd = open(au.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0) {
			ssize_t w = write(fd, msg, (size_t)n);
			close(fd);
			if (w == n)
				return;
		}
	}
	fputs(msg, stderr);
}

/* Reads our own memory without faulting on an address that is not mapped. */
static int au_read(uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* The program headers of an object in memory: the program's from the aux
 * vector; a library's behind its ELF header, which the first PT_LOAD maps
 * at its load address.  The PT_DYNAMIC must be the map's l_ld. */
static int au_phdrs(struct link_map *m, int is_main, const Elf64_Phdr **phdr, size_t *phnum)
{
	Elf64_Ehdr eh;
	uint64_t at;
	size_t n;

	if (is_main) {
		at = getauxval(AT_PHDR);
		n = getauxval(AT_PHNUM);
	} else {
		if (au_read(m->l_addr, &eh, sizeof(eh)) != 0 ||
		    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
		    eh.e_phentsize != sizeof(Elf64_Phdr))
			return -1;
		at = m->l_addr + eh.e_phoff;
		n = eh.e_phnum;
	}
	if (!at || n == 0 || n > 512)
		return -1;
	Elf64_Phdr ph[512];
	if (au_read(at, ph, n * sizeof(*ph)) != 0)
		return -1;
	int ok = 0, first_at_zero = is_main;
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type == PT_DYNAMIC && m->l_addr + ph[i].p_vaddr == (uint64_t)(uintptr_t)m->l_ld)
			ok = 1;
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && ph[i].p_vaddr == 0)
			first_at_zero = 1;
	}
	if (!ok || !first_at_zero)
		return -1;
	*phdr = (const Elf64_Phdr *)(uintptr_t)at;
	*phnum = n;
	return 0;
}

/* NT_GNU_BUILD_ID from the object's PT_NOTE segments in memory. */
static int au_build_id(struct lc_loader_obj *o)
{
	for (size_t i = 0; i < o->phnum; i++) {
		const Elf64_Phdr *ph = &o->phdr[i];
		uint8_t notes[4096];
		if (ph->p_type != PT_NOTE || ph->p_memsz < sizeof(Elf64_Nhdr))
			continue;
		size_t len = ph->p_memsz < sizeof(notes) ? ph->p_memsz : sizeof(notes);
		if (au_read(o->map->l_addr + ph->p_vaddr, notes, len) != 0)
			continue;
		size_t off = 0, align = ph->p_align == 8 ? 8 : 4;
		while (off + sizeof(Elf64_Nhdr) <= len) {
			Elf64_Nhdr nh;
			memcpy(&nh, notes + off, sizeof(nh));
			size_t name = off + sizeof(nh);
			size_t desc = name + ((nh.n_namesz + align - 1) & ~(align - 1));
			size_t next = desc + ((nh.n_descsz + align - 1) & ~(align - 1));
			if (desc > len || nh.n_descsz > len - desc)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp(notes + name, "GNU", 4) == 0 && nh.n_descsz > 0 &&
			    nh.n_descsz <= sizeof(o->build_id)) {
				memcpy(o->build_id, notes + desc, nh.n_descsz);
				o->build_id_len = nh.n_descsz;
				for (size_t k = 0; k < nh.n_descsz; k++)
					snprintf(o->build_id_hex + 2 * k, 3, "%02x", o->build_id[k]);
				return 0;
			}
			off = next;
		}
	}
	return -1;
}

unsigned int la_version(unsigned int version)
{
	const char *dir = getenv("LIBCARE_PATCH_DIR");
	const char *keys = getenv("LIBCARE_KEYS");
	const char *verbose = getenv("LIBCARE_AUDIT_VERBOSE");
	const char *log = getenv("LIBCARE_AUDIT_LOG");
	Dl_info self;

	au.dir = dir && *dir ? dir : LC_PATCH_DIR_DEFAULT;
	au.keys = keys && *keys ? keys : LC_KEYS_DIR_DEFAULT;
	au.verbose = verbose && *verbose && strcmp(verbose, "0") != 0;
	au.log = log && *log ? log : NULL;
	const char *unsigned_ok = getenv("LIBCARE_ALLOW_UNSIGNED");
	au.allow_unsigned = unsigned_ok && strcmp(unsigned_ok, "1") == 0;
	/* the engine is beside this module, wherever that is installed */
	if (dladdr((void *)la_version, &self) && self.dli_fname &&
	    realpath(self.dli_fname, au.engine_path)) {
		char *slash = strrchr(au.engine_path, '/');
		if (slash && (size_t)(slash + 1 - au.engine_path) + sizeof(LC_LOADER_ENGINE) <=
			     sizeof(au.engine_path)) {
			strcpy(slash + 1, LC_LOADER_ENGINE);
			au.enabled = 1;
		}
	}
	if (!au.enabled)
		au_say("cannot tell where libcare-audit.so is installed: no patches are applied");
	return version < LAV_CURRENT ? version : LAV_CURRENT;
}

unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
	*cookie = (uintptr_t)map;
	if (!au.enabled || lmid != LM_ID_BASE)
		return 0;
	struct seen s;
	memset(&s, 0, sizeof(s));
	s.obj.map = map;
	if (au_phdrs(map, map->l_prev == NULL, &s.obj.phdr, &s.obj.phnum) != 0)
		return 0;      /* no ELF header in reach (the vdso of some kernels...): not patchable */
	struct seen *grown = realloc(au.objs, (au.nobjs + 1) * sizeof(*au.objs));
	if (!grown)
		return 0;
	au.objs = grown;
	if (au_build_id(&s.obj) == 0) {
		size_t len = strlen(au.dir) + 1 + strlen(s.obj.build_id_hex) + sizeof(".kpatch");
		char *path = malloc(len);
		struct stat st;
		if (path) {
			snprintf(path, len, "%s/%s.kpatch", au.dir, s.obj.build_id_hex);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				s.patch = path;
				au.npending++;
			} else {
				free(path);
			}
		}
	}
	au.objs[au.nobjs++] = s;
	return 0;
}

/*
 * An object going away (dlclose, or a dlopen that failed after our patch
 * went in) takes its patch region with it: nothing can run its code any
 * more, and a region left behind would be a patch of an unloaded object
 * to `info` and a gap less for the next load.
 */
unsigned int la_objclose(uintptr_t *cookie)
{
	for (size_t i = 0; i < au.nobjs; i++) {
		struct seen *s = &au.objs[i];
		if ((uintptr_t)s->obj.map != *cookie)
			continue;
		if (s->region)
			munmap((void *)(uintptr_t)s->region, s->region_size);
		free(s->patch);
		au.objs[i] = au.objs[--au.nobjs];
		break;
	}
	return 0;
}

static void au_load_engine(void)
{
	if (au.apply || au.engine_failed)
		return;
	void *h = dlopen(au.engine_path, RTLD_NOW | RTLD_LOCAL);
	au.apply = h ? (lc_loader_apply_fn)dlsym(h, LC_LOADER_APPLY) : NULL;
	if (!au.apply) {
		au.engine_failed = 1;
		au_say("cannot load %s: %s: objects with a patch in %s run unpatched", au.engine_path,
		       dlerror(), au.dir);
	}
}

/* Objects no longer in the namespace's list (dlclose) are dropped. */
static void au_forget_closed(struct link_map *head)
{
	size_t k = 0;
	for (size_t i = 0; i < au.nobjs; i++) {
		struct link_map *m = head;
		while (m && m != au.objs[i].obj.map)
			m = m->l_next;
		if (m)
			au.objs[k++] = au.objs[i];
		else
			free(au.objs[i].patch);
	}
	au.nobjs = k;
}

static void au_apply_pending(void)
{
	struct link_map *head = au.objs[0].obj.map;
	while (head->l_prev)
		head = head->l_prev;
	/* a flat copy the engine reads (its phdrs, relocated flags) */
	struct lc_loader_obj *objs = malloc(au.nobjs * sizeof(*objs));
	if (!objs)
		return;
	for (size_t i = 0; i < au.nobjs; i++)
		objs[i] = au.objs[i].obj;
	for (size_t i = 0; i < au.nobjs; i++) {
		struct seen *s = &au.objs[i];
		if (!s->patch)
			continue;
		au_load_engine();
		if (au.apply) {
			struct lc_loader_req req;
			memset(&req, 0, sizeof(req));
			req.target = &objs[i];
			req.file = s->patch;
			req.keys = au.keys;
			req.head = head;
			req.objs = objs;
			req.nobjs = au.nobjs;
			req.verbose = au.verbose;
			req.allow_unsigned = au.allow_unsigned;
			if (au.apply(&req) != 0) {
				au_say("%s (BuildID %s) runs unpatched: %s",
				       *s->obj.map->l_name ? s->obj.map->l_name : "the program",
				       s->obj.build_id_hex, req.why);
			} else {
				s->region = req.region;
				s->region_size = req.region_size;
				if (req.report[0])
					au_say("%s", req.report);
			}
		}
		free(s->patch);
		s->patch = NULL;
	}
	au.npending = 0;
	free(objs);
}

void la_activity(uintptr_t *cookie, unsigned int flag)
{
	(void)cookie;
	if (!au.enabled || au.nobjs == 0)
		return;
	if (flag == LA_ACT_ADD && au.started) {
		/* the load before this one is complete: its objects are relocated */
		for (size_t i = 0; i < au.nobjs; i++)
			au.objs[i].obj.relocated = 1;
		return;
	}
	if (flag != LA_ACT_CONSISTENT)
		return;
	struct link_map *head = au.objs[0].obj.map;
	while (head->l_prev)
		head = head->l_prev;
	au_forget_closed(head);
	if (!au.started) {
		/* at exec the dynamic linker relocates everything before this */
		au.started = 1;
		for (size_t i = 0; i < au.nobjs; i++)
			au.objs[i].obj.relocated = 1;
	}
	if (au.npending && au.nobjs)
		au_apply_pending();
}
