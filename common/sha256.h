/*
 * sha256.h: SHA-256 for the bulk of a sync, from OpenSSL's libcrypto.
 *
 * A sync hashes every byte of the register three times (the whole file
 * for the ratchet, the body against the header's statements_sha256, and
 * each statement line as its cache key): at fleet scale that is gigabytes
 * per run. libcrypto uses the processor's SHA extensions where it has them
 * (several times libsodium's portable code), and nhictl has it loaded
 * already through libcurl. Only libnhisync links it: the PAM module never
 * hashes a register and does not carry libcrypto into sshd or sudo.
 */
#ifndef NHI_SHA256_H
#define NHI_SHA256_H

#include <stddef.h>

#include "nhi.h"

#define NHI_SHA256_LEN 32

struct nhi_sha256 {
	void *ctx;		/* EVP_MD_CTX; NULL before init, after final */
};

/* Starts a digest; -1 with e set when libcrypto cannot. */
int nhi_sha256_init(struct nhi_sha256 *s, struct nhi_err *e);
void nhi_sha256_update(struct nhi_sha256 *s, const void *p, size_t n);
/* Writes the digest and frees the state; -1 with e set on failure. */
int nhi_sha256_final(struct nhi_sha256 *s, unsigned char out[NHI_SHA256_LEN],
    struct nhi_err *e);
/* Frees an unfinished state; harmless on one never started or finished. */
void nhi_sha256_clear(struct nhi_sha256 *s);
/* The digest of p in one call; -1 with e set on failure. */
int nhi_sha256(unsigned char out[NHI_SHA256_LEN], const void *p, size_t n,
    struct nhi_err *e);

#endif
