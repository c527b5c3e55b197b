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
	char buf[512];
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');      /* after "pid (comm)" */
	char state;
	unsigned flags;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
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

/* /proc/PID/maps into pr->maps (maybe none): 0, or -1 (logged). */
static int maps_read(struct lc_proc *pr)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)lc_proc_task(pr->pid));
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return lc_error("no process with PID %d (no such process)", (int)pr->pid);
		return lc_error("cannot read %s: %s", path, strerror(errno));
	}
	maps_free(pr);
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		struct lc_map m = { 0 };
		unsigned long long start, end, off;
		int n = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &start, &end, m.perms, &off, &n) < 4)
			continue;
		m.start = start;
		m.end = end;
		m.offset = off;
		char *p = line + n;
		p[strcspn(p, "\n")] = '\0';
		if (*p) {
			size_t len = strlen(p);
			static const char deleted[] = " (deleted)";
			if (len > sizeof(deleted) - 1 && strcmp(p + len - (sizeof(deleted) - 1), deleted) == 0)
				p[len - (sizeof(deleted) - 1)] = '\0';
			m.path = lc_xstrdup(p);
		}
		if (pr->nmaps == cap) {
			cap = cap ? 2 * cap : 64;
			pr->maps = lc_xrealloc(pr->maps, cap * sizeof(*pr->maps));
		}
		pr->maps[pr->nmaps++] = m;
	}
	fclose(f);
	return 0;
}

int lc_proc_reload_maps(struct lc_proc *pr)
{
	if (maps_read(pr) != 0)
		return -1;
	if (pr->nmaps == 0)
		return lc_error("process %d has no mappings (a zombie or a kernel thread?)", (int)pr->pid);
	return 0;
}

/* Bias, extent, BuildID of the object whose offset-0 mapping is m. */
static int object_read(struct lc_proc *pr, struct lc_object *o, const struct lc_map *m)
{
	char file[128];
	snprintf(file, sizeof(file), "/proc/%d/map_files/%llx-%llx", (int)lc_proc_task(pr->pid),
		 (unsigned long long)m->start, (unsigned long long)m->end);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		struct lc_buf b = LC_BUF_INIT;
		lc_buf_addf(&b, "/proc/%d/root%s", (int)lc_proc_task(pr->pid), m->path);
		fd = open(b.data, O_RDONLY | O_CLOEXEC);
		snprintf(file, sizeof(file), "%s", b.data);
		if (strlen(b.data) >= sizeof(file))
			fd = fd >= 0 ? (close(fd), -1) : -1;
		lc_buf_free(&b);
	}
	if (fd < 0)
		return -1;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	size_t nph;
	int rc = -1;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || elf_getphdrnum(elf, &nph) != 0)
		goto out;
	uint64_t first = UINT64_MAX, lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
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
	o->bias = eh.e_type == ET_EXEC ? 0 : m->start - first;
	o->lo = o->bias + (lo & ~(uint64_t)(LC_PAGE_SIZE - 1));
	o->hi = o->bias + ((hi + LC_PAGE_SIZE - 1) & ~(uint64_t)(LC_PAGE_SIZE - 1));
	o->build_id_len = lc_buildid_from_elf(elf, o->build_id);
	if (o->build_id_len < 0)
		o->build_id_len = 0;
	lc_buildid_hex(o->build_id, (size_t)o->build_id_len, o->build_id_hex);
	o->file = lc_xstrdup(file);
	o->path = lc_xstrdup(m->path);
	o->first_map = m->start;
	rc = 0;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
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

/* Marks the object that is the program's PT_INTERP (same inode). */
static void object_mark_interp(struct lc_proc *pr)
{
	struct lc_object *exe = NULL;
	for (size_t i = 0; i < pr->nobjs; i++)
		if (pr->objs[i].is_exec)
			exe = &pr->objs[i];
	if (!exe)
		return;
	int fd = open(exe->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t nph;
	struct lc_buf interp = LC_BUF_INIT;
	if (elf && elf_getphdrnum(elf, &nph) == 0) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_INTERP)
				continue;
			Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
			if (d && d->d_size && memchr(d->d_buf, 0, d->d_size))
				lc_buf_addf(&interp, "/proc/%d/root%s", (int)lc_proc_task(pr->pid),
					    (const char *)d->d_buf);
		}
	}
	struct stat want, st;
	if (interp.len && stat(interp.data, &want) == 0)
		for (size_t i = 0; i < pr->nobjs; i++)
			if (stat(pr->objs[i].file, &st) == 0 && st.st_dev == want.st_dev &&
			    st.st_ino == want.st_ino)
				pr->objs[i].is_interp = 1;
	lc_buf_free(&interp);
	if (elf)
		elf_end(elf);
	close(fd);
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
	if (maps_read(pr) != 0)
		return -1;
	if (pr->nmaps == 0 && !any)
		return lc_error("process %d has no mappings (a zombie or a kernel thread?)", (int)pid);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)lc_proc_task(pid));
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';

	elf_version(EV_CURRENT);
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
		if (object_read(pr, &o, m) != 0)
			continue;        /* not an ELF object: a data file mapping */
		o.is_exec = strcmp(o.path, exe) == 0;
		pr->objs = lc_xrealloc(pr->objs, (pr->nobjs + 1) * sizeof(*pr->objs));
		pr->objs[pr->nobjs++] = o;
	}
	object_mark_interp(pr);
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
