/*
 * dsse.h: DSSE v1 envelopes.
 *
 *   {"payloadType": T, "payload": BASE64(P),
 *    "signatures": [{"keyid": K, "sig": BASE64(S)}]}
 *
 * S is Ed25519 over PAE(T, P) = "DSSEv1" SP LEN(T) SP T SP LEN(P) SP P with
 * LEN as ASCII decimal. The signature is checked before the payload is
 * parsed; the payload type must equal the type the caller expects.
 */
#ifndef NHI_DSSE_H
#define NHI_DSSE_H

#include "keys.h"
#include "nhi.h"

struct nhi_envelope {
	char *payload_type;
	unsigned char *payload;	/* NUL-terminated for convenience */
	size_t payload_len;
	char keyid[NHI_KEYID_LEN + 1];	/* of the first signature */
	unsigned char sig[NHI_SIG_LEN];
};

/* Signs payload and returns the encoded envelope (one line, no newline). */
char *nhi_dsse_sign(const struct nhi_seckey *k, const char *payload_type,
    const void *payload, size_t len);

/*
 * Decodes an envelope without verifying it. At most NHI_MAX_STATEMENT bytes
 * unless max is larger. Exactly one signature is accepted.
 */
int nhi_dsse_decode(const char *text, size_t len, size_t max,
    struct nhi_envelope **ret, struct nhi_err *e);

/*
 * Verifies env against pk and checks that its payload type is expected
 * (NULL: any). Returns 0 only when both hold.
 */
int nhi_dsse_verify(const struct nhi_envelope *env,
    const unsigned char pk[NHI_PK_LEN], const char *expected_type,
    struct nhi_err *e);

void nhi_envelope_free(struct nhi_envelope *env);

#endif
