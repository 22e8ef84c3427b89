/*
 * sha256.c: SHA-256 through libcrypto's EVP interface (see sha256.h).
 */
#include "config.h"

#include <pthread.h>

#include <openssl/evp.h>

#include "sha256.h"

/*
 * OpenSSL 3 looks EVP_sha256() up among its providers on every use; a
 * sync digests each of a million statements, so the digest is fetched
 * once per process and kept (libnhisync runs in nhictl only).
 */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md;

static void
md_fetch(void)
{
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
sha256_md(void)
{
	(void)pthread_once(&md_once, md_fetch);
	return md;
}

int
nhi_sha256_init(struct nhi_sha256 *s, struct nhi_err *e)
{
	EVP_MD_CTX *ctx;

	s->ctx = NULL;
	if (sha256_md() == NULL)
		return nhi_err_set(e, "sha256: libcrypto has no SHA-256");
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return nhi_err_set(e, "sha256: out of memory");
	if (EVP_DigestInit_ex(ctx, sha256_md(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return nhi_err_set(e, "sha256: libcrypto cannot start a "
		    "digest");
	}
	s->ctx = ctx;
	return 0;
}

/*
 * An update cannot fail on a started SHA-256 context (EVP only fails for
 * a context without a digest), so the caller's error path stays short.
 */
void
nhi_sha256_update(struct nhi_sha256 *s, const void *p, size_t n)
{
	if (s->ctx != NULL && n > 0)
		(void)EVP_DigestUpdate(s->ctx, p, n);
}

int
nhi_sha256_final(struct nhi_sha256 *s, unsigned char out[NHI_SHA256_LEN],
    struct nhi_err *e)
{
	unsigned int len = 0;
	int r = -1;

	if (s->ctx == NULL) {
		nhi_err_set(e, "sha256: digest not started");
		goto out;
	}
	if (EVP_DigestFinal_ex(s->ctx, out, &len) != 1 ||
	    len != NHI_SHA256_LEN) {
		nhi_err_set(e, "sha256: libcrypto cannot finish a digest");
		goto out;
	}
	r = 0;
out:
	nhi_sha256_clear(s);
	return r;
}

void
nhi_sha256_clear(struct nhi_sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int
nhi_sha256(unsigned char out[NHI_SHA256_LEN], const void *p, size_t n,
    struct nhi_err *e)
{
	unsigned int len = 0;

	if (sha256_md() == NULL ||
	    EVP_Digest(p, n, out, &len, sha256_md(), NULL) != 1 ||
	    len != NHI_SHA256_LEN)
		return nhi_err_set(e, "sha256: libcrypto cannot digest");
	return 0;
}
