/*
 * fuzz_statement.c: opening a statement of a register
 * (nhi_statement_open): decode, find the issuer, verify, parse, match the
 * issuer field to the signing key.
 *
 * The first byte of the input picks what the rest is:
 *   even: an encoded envelope, opened as it is (the path of every line a
 *         register holds; its signature cannot verify);
 *   odd:  a payload the target signs with the fixed issuer key, with
 *         payload type (byte >> 1) % 4: binding, account, register, or
 *         a type that is none of these (bit 7: signed by a key that is
 *         not trusted), with every "@ISSUER@" in it replaced by the
 *         issuer's key id, so that the code behind the signature check is
 *         reached.
 * A statement that opens is exactly one of binding or account, and its
 * issuer is the key that signed it.
 */
#include "config.h"

#include <string.h>

#include "dsse.h"
#include "fuzz.h"
#include "keys.h"
#include "statement.h"

static struct nhi_seckey issuer, other;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seckey(3, &issuer);
	fuzz_seckey(4, &other);
	return 0;
}

/* The issuer key is trusted; the other key is known but not trusted. */
static const unsigned char *
find_key(void *ctx, const char *keyid)
{
	(void)ctx;
	return strcmp(keyid, issuer.keyid) == 0 ? issuer.pk : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { NHI_PT_BINDING, NHI_PT_ACCOUNT,
		NHI_PT_REGISTER, "application/vnd.nhi.binding+json" };
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_err e = { "" };
	char *text = NULL;
	size_t len;
	int r;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		len = size - 1;
		text = fuzz_copy(data + 1, len);
	} else {
		const struct nhi_seckey *k = (data[0] & 0x80) != 0 ? &other :
		    &issuer;
		char *payload = fuzz_subst(data + 1, size - 1, "@ISSUER@",
		    issuer.keyid, &len);

		text = nhi_dsse_sign(k, types[(data[0] >> 1) % 4], payload,
		    len);
		free(payload);
		FUZZ_ASSERT(text != NULL);
		len = strlen(text);
	}
	r = nhi_statement_open(text, len, find_key, NULL, &st, &e);
	if (r != 0) {
		FUZZ_ASSERT(e.msg[0] != '\0');
		FUZZ_ASSERT(st.binding == NULL && st.account == NULL);
	} else {
		FUZZ_ASSERT((st.binding == NULL) != (st.account == NULL));
		FUZZ_ASSERT(strcmp(st.binding != NULL ? st.binding->issuer :
		    st.account->issuer, issuer.keyid) == 0);
	}
	nhi_statement_clear(&st);
	free(text);
	return 0;
}
