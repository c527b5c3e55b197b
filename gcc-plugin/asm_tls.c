/*
 * asm_tls.c - thread-local storage operands in patched code.
 *
 * ld does not process TLS relocations in the non-allocated .kpatch
 * sections (and must not relax or allocate GOT entries for them), so every
 * TLS operand becomes a plain relocation against a pseudo-symbol that
 * mkpatch understands (declared .weak and .hidden, left undefined by ld):
 *
 *	NAME.kpatch_tpoff   TP offset of NAME       (%fs:0 + it = &NAME)
 *	NAME.kpatch_dtpoff  offset of NAME in its module's TLS block
 *	NAME.kpatch_dtpmod  module id of the object defining NAME
 *
 * The rewrites, per access model (x86-64 TLS ABI):
 *
 *	local-exec:   movl %fs:tv@tpoff, %eax   ->  movl %fs:tv.kpatch_tpoff, %eax
 *	initial-exec: movq tv@gottpoff(%rip), %rax
 *	                  ->  movq .Lkptls.ie.tv(%rip), %rax
 *	                      (.Lkptls.ie.tv: .quad tv.kpatch_tpoff)
 *	general-dyn:  leaq tv@tlsgd(%rip), %rdi  ->  leaq .Lkptls.gd.tv(%rip), %rdi
 *	                      (.Lkptls.gd.tv: .quad tv.kpatch_dtpmod, tv.kpatch_dtpoff)
 *	local-dyn:    leaq tv@tlsld(%rip), %rdi  ->  leaq .Lkptls.ld.tv(%rip), %rdi
 *	                      (.Lkptls.ld.tv: .quad tv.kpatch_dtpmod, 0)
 *	              movl tv@dtpoff(%rax), %eax ->  movl tv.kpatch_dtpoff(%rax), %eax
 *
 * The call of __tls_get_addr is an ordinary external call.  The GD/LD
 * padding prefixes stay: they are harmless once nothing relaxes the
 * sequence.  TLS descriptors (-mtls-dialect=gnu2) are refused.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "asm.h"

static int tls_reloc_is(const char *r, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(r, name, len) == 0;
}

int lc_tls_is_operand(const char *reloc, size_t len)
{
	static const char *const kinds[] = { "tpoff", "ntpoff", "gottpoff", "tlsgd", "tlsld",
					     "dtpoff", "tlsdesc", "tlscall", "dtpmod", NULL };
	for (int i = 0; kinds[i]; i++)
		if (tls_reloc_is(reloc, len, kinds[i]))
			return 1;
	return 0;
}

/* Records pseudo-symbol NAME.SUFFIX once for the .weak/.hidden list. */
static void tls_declare(struct lc_tls_emit *t, const char *name, size_t len, const char *suffix)
{
	struct lc_buf b = LC_BUF_INIT;
	lc_buf_addf(&b, "%.*s%s", (int)len, name, suffix);
	for (size_t i = 0; i < t->ndecl; i++)
		if (strcmp(t->decl[i], b.data) == 0) {
			lc_buf_free(&b);
			return;
		}
	t->decl = lc_xrealloc(t->decl, (t->ndecl + 1) * sizeof(*t->decl));
	t->decl[t->ndecl++] = b.data;
}

/* A slot of .kpatch.data (label .Lkptls.KIND.NAME), laid down once. */
static void tls_slot(struct lc_tls_emit *t, const char *kind, const char *name, size_t len,
		     struct lc_buf *slots, struct lc_buf *out)
{
	struct lc_buf label = LC_BUF_INIT;
	lc_buf_addf(&label, ".Lkptls.%s.%.*s", kind, (int)len, name);
	int seen = 0;
	for (size_t i = 0; i < t->nslot; i++)
		if (strcmp(t->slot[i], label.data) == 0)
			seen = 1;
	if (!seen) {
		lc_buf_addf(slots, "\t.p2align 3\n%s:\n", label.data);
		if (!strcmp(kind, "ie")) {
			lc_buf_addf(slots, "\t.quad\t%.*s.kpatch_tpoff\n", (int)len, name);
			tls_declare(t, name, len, ".kpatch_tpoff");
		} else {
			lc_buf_addf(slots, "\t.quad\t%.*s.kpatch_dtpmod\n", (int)len, name);
			tls_declare(t, name, len, ".kpatch_dtpmod");
			if (!strcmp(kind, "gd")) {
				lc_buf_addf(slots, "\t.quad\t%.*s.kpatch_dtpoff\n", (int)len, name);
				tls_declare(t, name, len, ".kpatch_dtpoff");
			} else {
				lc_buf_adds(slots, "\t.quad\t0\n");
			}
		}
		t->slot = lc_xrealloc(t->slot, (t->nslot + 1) * sizeof(*t->slot));
		t->slot[t->nslot++] = lc_xstrdup(label.data);
	}
	lc_buf_add(out, label.data, label.len);
	lc_buf_free(&label);
}

int lc_tls_rewrite(struct lc_tls_emit *t, const char *name, size_t len, const char *reloc,
		   size_t rlen, struct lc_buf *slots, struct lc_buf *out, struct lc_buf *why)
{
	if (tls_reloc_is(reloc, rlen, "tpoff") || tls_reloc_is(reloc, rlen, "ntpoff")) {
		lc_buf_addf(out, "%.*s.kpatch_tpoff", (int)len, name);
		tls_declare(t, name, len, ".kpatch_tpoff");
	} else if (tls_reloc_is(reloc, rlen, "dtpoff")) {
		lc_buf_addf(out, "%.*s.kpatch_dtpoff", (int)len, name);
		tls_declare(t, name, len, ".kpatch_dtpoff");
	} else if (tls_reloc_is(reloc, rlen, "gottpoff")) {
		tls_slot(t, "ie", name, len, slots, out);
	} else if (tls_reloc_is(reloc, rlen, "tlsgd")) {
		tls_slot(t, "gd", name, len, slots, out);
	} else if (tls_reloc_is(reloc, rlen, "tlsld")) {
		tls_slot(t, "ld", name, len, slots, out);
	} else {
		lc_buf_addf(why, "'%.*s@%.*s': TLS descriptors (-mtls-dialect=gnu2) cannot be "
			    "live-patched; build with the default TLS dialect", (int)len, name,
			    (int)rlen, reloc);
		lc_buf_add(out, name, len);
		return -1;
	}
	return 0;
}

void lc_tls_declare_all(const struct lc_tls_emit *t, struct lc_buf *out)
{
	for (size_t i = 0; i < t->ndecl; i++)
		lc_buf_addf(out, "\t.weak\t%s\n\t.hidden\t%s\n", t->decl[i], t->decl[i]);
}

void lc_tls_emit_free(struct lc_tls_emit *t)
{
	for (size_t i = 0; i < t->ndecl; i++)
		free(t->decl[i]);
	for (size_t i = 0; i < t->nslot; i++)
		free(t->slot[i]);
	free(t->decl);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
