/* fuzz_keys.c: fixed signing keys for the fuzz targets (fuzz.h). */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "keys.h"

void
fuzz_seckey(unsigned char seed, struct nhi_seckey *ret)
{
	unsigned char s[crypto_sign_SEEDBYTES];

	if (nhi_crypto_init() != 0)
		abort();
	memset(ret, 0, sizeof(*ret));
	memset(s, seed, sizeof(s));
	if (crypto_sign_seed_keypair(ret->pk, ret->sk, s) != 0)
		abort();
	nhi_keyid(ret->pk, ret->keyid);
}

char *
fuzz_subst(const void *p, size_t n, const char *pat, const char *rep,
    size_t *ret_len)
{
	const char *s = p;
	size_t plen = strlen(pat), rlen = strlen(rep), i, len = 0;
	char *out = malloc(n * (rlen > plen ? rlen : 1) + 1);

	if (out == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (i + plen <= n && memcmp(s + i, pat, plen) == 0) {
			memcpy(out + len, rep, rlen);
			len += rlen;
			i += plen - 1;
		} else {
			out[len++] = s[i];
		}
	}
	out[len] = '\0';
	*ret_len = len;
	return out;
}
