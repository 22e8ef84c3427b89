/*
 * check_sha256.c: nhi_sha256 (libcrypto) gives SHA-256: the FIPS 180-4
 * examples, and libsodium's independent implementation for every length
 * and every way of cutting the input into updates.
 */
#include "config.h"

#include <sodium.h>

#include "sha256.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
}

static void
hex(const unsigned char *d, char out[2 * NHI_SHA256_LEN + 1])
{
	sodium_bin2hex(out, 2 * NHI_SHA256_LEN + 1, d, NHI_SHA256_LEN);
}

/* FIPS 180-4 examples and the usual edge lengths around one block. */
static const struct {
	const char *in;
	const char *digest;
} vectors[] = {
	{ "",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

START_TEST(known_digests_are_reproduced)
{
	unsigned char d[NHI_SHA256_LEN];
	char h[2 * NHI_SHA256_LEN + 1];

	struct nhi_err e;

	ck_assert_int_eq(nhi_sha256(d, vectors[_i].in, strlen(vectors[_i].in),
	    &e), 0);
	hex(d, h);
	ck_assert_str_eq(h, vectors[_i].digest);
}
END_TEST

START_TEST(a_million_a_in_uneven_pieces)
{
	static const char want[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	unsigned char d[NHI_SHA256_LEN];
	char a[1000], h[2 * NHI_SHA256_LEN + 1];
	struct nhi_sha256 s;
	struct nhi_err e;
	size_t done = 0, n = 1;

	memset(a, 'a', sizeof(a));
	ck_assert_int_eq(nhi_sha256_init(&s, &e), 0);
	while (done < 1000000) {
		n = n % sizeof(a) + 1;
		if (n > 1000000 - done)
			n = 1000000 - done;
		nhi_sha256_update(&s, a, n);
		done += n;
		n = n * 7 + 3;
	}
	ck_assert_int_eq(nhi_sha256_final(&s, d, &e), 0);
	ck_assert_ptr_null(s.ctx);
	hex(d, h);
	ck_assert_str_eq(h, want);
}
END_TEST

START_TEST(every_length_and_split_matches_libsodium)
{
	unsigned char buf[2100], want[NHI_SHA256_LEN], got[NHI_SHA256_LEN];
	struct nhi_sha256 s;
	struct nhi_err e;
	size_t len, cut;

	randombytes_buf(buf, sizeof(buf));
	for (len = 0; len <= sizeof(buf); len += len < 300 ? 1 : 97) {
		crypto_hash_sha256(want, buf, len);
		ck_assert_int_eq(nhi_sha256(got, buf, len, &e), 0);
		ck_assert_msg(memcmp(want, got, sizeof(want)) == 0,
		    "length %zu", len);
		/* Two pieces, the cut anywhere (blocks split or not). */
		for (cut = 0; cut <= len; cut += 1 + cut / 5) {
			ck_assert_int_eq(nhi_sha256_init(&s, &e), 0);
			nhi_sha256_update(&s, buf, cut);
			nhi_sha256_update(&s, buf + cut, len - cut);
			ck_assert_int_eq(nhi_sha256_final(&s, got, &e), 0);
			ck_assert_msg(memcmp(want, got, sizeof(want)) == 0,
			    "length %zu cut at %zu", len, cut);
		}
	}
}
END_TEST

/* A state given up half-way is freed; finishing twice is an error. */
START_TEST(unfinished_and_finished_states_are_handled)
{
	unsigned char d[NHI_SHA256_LEN];
	struct nhi_sha256 s;
	struct nhi_err e;

	ck_assert_int_eq(nhi_sha256_init(&s, &e), 0);
	nhi_sha256_update(&s, "abc", 3);
	nhi_sha256_clear(&s);
	ck_assert_ptr_null(s.ctx);
	nhi_sha256_clear(&s);
	ck_assert_int_eq(nhi_sha256_final(&s, d, &e), -1);
	ck_assert_str_eq(e.msg, "sha256: digest not started");
}
END_TEST

static Suite *
sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("sha256");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, known_digests_are_reproduced, 0, N(vectors));
	tcase_add_test(tc, a_million_a_in_uneven_pieces);
	tcase_add_test(tc, every_length_and_split_matches_libsodium);
	tcase_add_test(tc, unfinished_and_finished_states_are_handled);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(sha256_suite());
}
