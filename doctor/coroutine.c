/*
 * coroutine.c - frames suspended on stacks that no thread is running on.
 *
 * A program that switches stacks itself (makecontext/swapcontext, or
 * sigsetjmp/siglongjmp coroutines as QEMU has) can leave a function in the
 * middle of a call on a stack that is nobody's stack right now; unwinding
 * the threads cannot see it, and it returns into the old code when the
 * coroutine is resumed.  Such a frame holds a return address: an address
 * inside a busy function that follows a call instruction.
 *
 * So, with the world stopped, the writable anonymous mappings ([heap],
 * [stack] and anonymous rw-p: where coroutine stacks are allocated) are
 * read and every 8-byte aligned word that points into a busy range just
 * after a call (e8 rel32, or ff /2 in any addressing form) counts as a
 * suspended frame.  This is a conservative extra refusal on top of the
 * real unwinding of every thread, not a replacement for it:
 *   - mappings that hold a live thread's stack pointer are skipped (the
 *     unwinder has seen those frames; stale words below the stack pointer
 *     and in unused slots would only give false alarms), and so are
 *     glibc's cached stacks of exited threads (a thread control block,
 *     tcb == self == its own address, in their top 64 KiB);
 *   - on the heap only 64 KiB on either side of a live stack pointer are
 *     skipped;
 *   - a stale return address elsewhere (a finished coroutine's stack) is
 *     reported as busy too: the doctor errs towards refusing;
 *   - at most LC_COROUTINE_SCAN_MAX bytes are read per check; mappings
 *     past the cap are not scanned (said with -v), which bounds the time
 *     the world is stopped.
 *
 * The scan reads the patient's heap while the world is stopped, so it is
 * done only where a coroutine can exist: a frame is left suspended on
 * another stack only by something that switches stacks, and in C that is
 * libc's makecontext/swapcontext/setcontext or the setjmp/longjmp family
 * (QEMU's ucontext and sigaltstack backends both use them).  Whether any
 * object of the process imports one of those is read from the files
 * before the world stops (lc_coroutines_possible); a server that imports
 * none (memcached, nginx-style event loops) pays nothing.  Stack switching
 * in hand-written assembly that calls none of them is not seen that way:
 * LIBCARE_COROUTINE_SCAN=always forces the scan (never turns it off).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define LC_COROUTINE_SCAN_MAX (256u << 20)
#define CHUNK (1u << 20)
#define LIVE_HEAP_SKIP (64u << 10)
#define TCB_SEARCH (64u << 10)

/* Is there a call instruction that ends right at `ret`? */
int lc_code_after_call(int fd, uint64_t ret)
{
	uint8_t c[16];
	if (pread(fd, c, sizeof(c), (off_t)(ret - sizeof(c))) != (ssize_t)sizeof(c))
		return 0;
	const uint8_t *end = c + sizeof(c);
	if (end[-5] == 0xe8)
		return 1;                       /* call rel32 */
	/* ff /2: call r/m64, 2 to 7 bytes (+ REX): modrm [sib] [disp8|disp32] */
	for (int len = 2; len <= 7; len++) {
		const uint8_t *p = end - len;
		if (p[0] != 0xff || ((p[1] >> 3) & 7) != 2)
			continue;
		int mod = p[1] >> 6, rm = p[1] & 7, want = 2;
		if (mod != 3 && rm == 4)
			want++;                 /* sib */
		if (mod == 1)
			want += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			want += 4;
		else if (mod == 0 && rm == 4 && (p[2] & 7) == 5)
			want += 4;              /* sib with no base: disp32 */
		if (want == len)
			return 1;
	}
	return 0;
}

/* A glibc thread stack (live or cached): its thread control block, whose
 * first and third words point to itself, is near the top. */
static int holds_tcb(int fd, uint64_t start, uint64_t end, uint64_t *buf)
{
	uint64_t lo = end - start > TCB_SEARCH ? end - TCB_SEARCH : start;
	size_t n = (size_t)(end - lo) / 8;
	if (pread(fd, buf, n * 8, (off_t)lo) != (ssize_t)(n * 8))
		return 0;
	for (size_t i = 0; i + 2 < n; i++)
		if (buf[i] == lo + 8 * i && buf[i + 2] == buf[i])
			return 1;
	return 0;
}

struct scan_map {
	uint64_t start, end;
	int heap;
};

int lc_coroutines_check(struct lc_threads *ts, const struct lc_range *r, size_t n, char *why,
			size_t why_len)
{
	char path[64], line[512];
	uint64_t rsp[256];
	size_t nrsp = 0, scanned = 0;
	int found = 0, fd;

	for (size_t i = 0; i < ts->n && nrsp < 256; i++) {
		struct user_regs_struct regs;
		if (ts->t[i].stopped && !ts->t[i].gone &&
		    ptrace(PTRACE_GETREGS, ts->t[i].tid, NULL, &regs) == 0)
			rsp[nrsp++] = regs.rsp;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)lc_proc_task(ts->pid));
	FILE *f = fopen(path, "r");
	if (!f)
		return lc_error("process %d: cannot read %s: %s", (int)ts->pid, path, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)lc_proc_task(ts->pid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fclose(f);
		return lc_error("process %d: cannot open %s: %s", (int)ts->pid, path, strerror(errno));
	}
	uint64_t *buf = lc_xmalloc(CHUNK > TCB_SEARCH ? CHUNK : TCB_SEARCH);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[8], name[256] = "";
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %255s", &s, &e, perms, name) < 3 ||
		    strcmp(perms, "rw-p") != 0)
			continue;
		struct scan_map m = { s, e, strcmp(name, "[heap]") == 0 };
		if (name[0] && !m.heap && strcmp(name, "[stack]") != 0)
			continue;               /* file-backed data */
		uint64_t skip_lo = 0, skip_hi = 0;
		int live = 0;
		for (size_t k = 0; k < nrsp; k++)
			if (rsp[k] >= m.start && rsp[k] < m.end) {
				if (!m.heap)
					live = 1;
				skip_lo = rsp[k] - LIVE_HEAP_SKIP;
				skip_hi = rsp[k] + LIVE_HEAP_SKIP;
			}
		if (live || (!m.heap && holds_tcb(fd, m.start, m.end, buf)))
			continue;
		for (uint64_t a = m.start; a < m.end && !found; a += CHUNK) {
			size_t len = m.end - a < CHUNK ? (size_t)(m.end - a) : CHUNK;
			if (scanned + len > LC_COROUTINE_SCAN_MAX) {
				lc_info("process %d: coroutine scan stopped at its cap of %u MiB; "
					"0x%llx and above not scanned", (int)ts->pid,
					LC_COROUTINE_SCAN_MAX >> 20, (unsigned long long)a);
				goto out;
			}
			scanned += len;
			if (pread(fd, buf, len, (off_t)a) != (ssize_t)len)
				continue;       /* unreadable (e.g. freed meanwhile) */
			for (size_t w = 0; w < len / 8; w++) {
				uint64_t v = buf[w], at = a + 8 * w;
				if (at >= skip_lo && at < skip_hi)
					continue;
				for (size_t k = 0; k < n; k++) {
					if (v <= r[k].lo || v > r[k].hi || !lc_code_after_call(fd, v))
						continue;
					snprintf(why, why_len, "a suspended frame of '%s' (return address "
						 "0x%llx at 0x%llx, a stack no thread runs on: coroutine?)",
						 r[k].name, (unsigned long long)v, (unsigned long long)at);
					lc_debug("process %d: %s", (int)ts->pid, why);
					found = 1;
					break;
				}
				if (found)
					break;
			}
		}
	}
out:
	lc_debug("process %d: coroutine scan read %zu KiB", (int)ts->pid, scanned >> 10);
	free(buf);
	close(fd);
	fclose(f);
	return found;
}

/* The imports that can leave a frame suspended on a stack of its own. */
static const char *const switch_imports[] = {
	"makecontext", "swapcontext", "setcontext", "sigaltstack",
	"setjmp", "_setjmp", "__sigsetjmp", "sigsetjmp",
	"longjmp", "_longjmp", "siglongjmp", "__longjmp_chk",
};

/* 1 if the object imports a stack switcher, or cannot be read (then the
 * scan stays on: the doctor errs towards looking). */
static int object_switches_stacks(const struct lc_object *o)
{
	int fd = open(o->file, O_RDONLY | O_CLOEXEC), found = 1;
	if (fd < 0)
		return 1;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while (elf && (scn = elf_nextscn(elf, scn)) != NULL)
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM)
			break;
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	if (data && sh.sh_entsize) {
		found = 0;
		for (size_t i = 1; !found && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym st;
			if (!gelf_getsym(data, (int)i, &st) || st.st_shndx != SHN_UNDEF)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, st.st_name);
			for (size_t k = 0; name && k < sizeof(switch_imports) / sizeof(*switch_imports); k++)
				if (strcmp(name, switch_imports[k]) == 0)
					found = 1;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

int lc_coroutines_possible(const struct lc_proc *pr)
{
	const char *force = getenv("LIBCARE_COROUTINE_SCAN");
	if (force && strcmp(force, "always") == 0)
		return 1;
	if (force && strcmp(force, "never") == 0)
		return 0;
	for (size_t i = 0; i < pr->nobjs; i++)
		if (lc_object_fact(&pr->objs[i], LC_FACT_SWITCHES_STACKS, object_switches_stacks)) {
			lc_debug("process %d: %s imports a stack switcher: suspended "
				 "coroutines are looked for", (int)pr->pid, pr->objs[i].path);
			return 1;
		}
	return 0;
}
