/*
 * fuzz_dsse.c: DSSE envelopes (nhi_dsse_decode, nhi_dsse_verify).
 *
 * The input is an encoded envelope. A decoded one must hold a payload of
 * the stated length, NUL-terminated, and verifying it against a key that
 * did not sign it must fail. Envelopes the target signs itself must
 * decode and verify again (the round trip).
 */
#include "config.h"

#include <string.h>

#include "dsse.h"
#include "fuzz.h"
#include "keys.h"

static struct nhi_seckey key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seckey(1, &key);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_envelope *env = NULL, *again = NULL;
	struct nhi_err e = { "" };
	char *text = fuzz_copy(data, size), *enc = NULL;

	if (nhi_dsse_decode(text, size, 0, &env, &e) != 0) {
		FUZZ_ASSERT(e.msg[0] != '\0');
		goto out;
	}
	FUZZ_ASSERT(env->payload_type != NULL && env->payload != NULL);
	FUZZ_ASSERT(env->payload[env->payload_len] == '\0');
	FUZZ_ASSERT(strlen(env->keyid) <= NHI_KEYID_LEN);
	/* Nobody can have signed this with the fixed key but this target. */
	FUZZ_ASSERT(nhi_dsse_verify(env, key.pk, NULL, &e) != 0);

	/* The payload, re-signed, makes an envelope that decodes the same. */
	enc = nhi_dsse_sign(&key, env->payload_type, env->payload,
	    env->payload_len);
	FUZZ_ASSERT(enc != NULL);
	FUZZ_ASSERT(nhi_dsse_decode(enc, strlen(enc), env->payload_len + 1024,
	    &again, &e) == 0);
	FUZZ_ASSERT(strcmp(again->payload_type, env->payload_type) == 0);
	FUZZ_ASSERT(again->payload_len == env->payload_len);
	FUZZ_ASSERT(memcmp(again->payload, env->payload,
	    env->payload_len) == 0);
	FUZZ_ASSERT(strcmp(again->keyid, key.keyid) == 0);
	FUZZ_ASSERT(nhi_dsse_verify(again, key.pk, env->payload_type, &e) == 0);
out:
	nhi_envelope_free(again);
	nhi_envelope_free(env);
	free(enc);
	free(text);
	return 0;
}
