/*
 * driver.c - exercises the SHARED liblz4.so.1 (lz4's own tests and its CLI
 * build the library's sources in statically, so they never load it): every
 * file named on the command line is compressed and decompressed with the
 * block API (default and HC) and the frame API and compared; the library's
 * version string is printed.  Exit 0 if every round trip is exact.
 */
#include <lz4.h>
#include <lz4frame.h>
#include <lz4hc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int roundtrip(const char *name, const char *src, int n)
{
	int bound = LZ4_compressBound(n);
	char *c = malloc((size_t)bound + 1), *d = malloc((size_t)n + 1);
	size_t fbound = LZ4F_compressFrameBound((size_t)n, NULL);
	char *f = malloc(fbound + 1);
	int ok = c && d && f;
	for (int hc = 0; ok && hc < 2; hc++) {
		int cn = hc ? LZ4_compress_HC(src, c, n, bound, 9) : LZ4_compress_default(src, c, n, bound);
		ok = (n == 0 || cn > 0) && LZ4_decompress_safe(c, d, cn, n) == n && memcmp(src, d, (size_t)n) == 0;
	}
	if (ok) {
		size_t fn = LZ4F_compressFrame(f, fbound, src, (size_t)n, NULL);
		LZ4F_dctx *dctx;
		ok = !LZ4F_isError(fn) && !LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION));
		if (ok) {
			size_t dn = (size_t)n + 1, sn = fn;
			size_t r = LZ4F_decompress(dctx, d, &dn, f, &sn, NULL);
			ok = r == 0 && dn == (size_t)n && memcmp(src, d, (size_t)n) == 0;
			LZ4F_freeDecompressionContext(dctx);
		}
	}
	if (!ok)
		fprintf(stderr, "round trip of %s (%d bytes) failed\n", name, n);
	free(c);
	free(d);
	free(f);
	return ok;
}

int main(int argc, char **argv)
{
	int files = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (!fp)
			continue;
		static char buf[1 << 22];
		size_t n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		files++;
		bad += !roundtrip(argv[i], buf, (int)n);
	}
	printf("liblz4 %s: %d file(s), %d failed\n", LZ4_versionString(), files, bad);
	return bad || !files;
}
