/*
 * sha256.h: SHA-256 for the bulk of a sync.
 *
 * A sync hashes every byte of the register three times (the whole file
 * for the ratchet, the body against the header's statements_sha256, and
 * each statement line as its cache key): at fleet scale that is gigabytes
 * per run. Where the processor has the SHA extensions (x86-64 SHA-NI) the
 * blocks are compressed with them, several times faster than libsodium's
 * portable code; elsewhere libsodium does the work. Either way the result
 * is SHA-256 (FIPS 180-4), and the unit tests compare the two.
 */
#ifndef NHI_SHA256_H
#define NHI_SHA256_H

#include <sodium.h>

#include "nhi.h"

#define NHI_SHA256_LEN 32

struct nhi_sha256 {
	bool ni;		/* compressed with the SHA extensions */
	union {
		crypto_hash_sha256_state sodium;
		struct {
			uint32_t h[8];
			uint64_t bytes;	/* hashed so far */
			unsigned char buf[64];
		} ni;
	} u;
};

void nhi_sha256_init(struct nhi_sha256 *s);
void nhi_sha256_update(struct nhi_sha256 *s, const void *p, size_t n);
/*
 * Updates a and b with the same bytes, interleaved where the SHA
 * extensions are used: nearly twice as fast as one after the other.
 */
void nhi_sha256_update2(struct nhi_sha256 *a, struct nhi_sha256 *b,
    const void *p, size_t n);
/* Writes the digest; s must be initialised again before reuse. */
void nhi_sha256_final(struct nhi_sha256 *s, unsigned char out[NHI_SHA256_LEN]);
/* The digest of p in one call. */
void nhi_sha256(unsigned char out[NHI_SHA256_LEN], const void *p, size_t n);

/* True when the SHA extensions are used (for benchmarks and tests). */
bool nhi_sha256_accelerated(void);

#endif
