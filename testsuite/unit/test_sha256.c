/* SHA-256 against the FIPS 180-4 example vectors. */
#include "libcare/sha256.h"
#include "libcare/buildid.h"
#include "test.h"

static void hex(const uint8_t *d, char *out)
{
	lc_buildid_hex(d, 32, out);
}

int main(void)
{
	uint8_t d[32];
	char h[2 * LC_BUILD_ID_MAX + 1];

	lc_sha256("abc", 3, d);
	hex(d, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	lc_sha256("", 0, d);
	hex(d, h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	lc_sha256(two, strlen(two), d);
	hex(d, h);
	CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* Incremental updates across block boundaries give the same digest. */
	struct lc_sha256 s;
	char million[1000];
	memset(million, 'a', sizeof(million));
	lc_sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		lc_sha256_update(&s, million, sizeof(million));
	lc_sha256_final(&s, d);
	hex(d, h);
	CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	return TEST_DONE();
}
