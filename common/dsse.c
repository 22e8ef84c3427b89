/* dsse.c: DSSE v1 envelopes (signed, then parsed). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dsse.h"
#include "jsonx.h"
#include "util.h"

#define PAYLOAD_TYPE_MAX 256
/* A valid envelope holds 7 values; the rest leaves room for a clear error. */
#define ENVELOPE_MAX_VALUES 64

/*
 * The pre-authentication encoding: what the signature covers. Lengths are
 * decimal byte counts, so neither part can be shifted into the other.
 */
static unsigned char *
pae(const char *type, const void *payload, size_t len, size_t *ret_len)
{
	struct nhi_buf b = { NULL, 0, 0 };

	if (nhi_buf_addf(&b, "DSSEv1 %zu %s %zu ", strlen(type), type,
	    len) != 0 || nhi_buf_add(&b, payload, len) != 0) {
		nhi_buf_free(&b);
		return NULL;
	}
	*ret_len = b.len;
	return (unsigned char *)b.s;
}

/* Adds a base64-encoded byte string to o under key. */
static int
add_b64(json_object *o, const char *key, const void *p, size_t n)
{
	json_object *v;
	char *s;

	if ((s = nhi_b64_encode(p, n)) == NULL)
		return -1;
	v = json_object_new_string(s);
	free(s);
	return nhi_json_put(o, key, v);
}

char *
nhi_dsse_sign(const struct nhi_seckey *k, const char *payload_type,
    const void *payload, size_t len)
{
	json_object *env = NULL, *sigs = NULL, *sig = NULL;
	unsigned char *msg = NULL, s[NHI_SIG_LEN];
	size_t msglen;
	char *out = NULL;
	bool ok;

	if ((msg = pae(payload_type, payload, len, &msglen)) == NULL ||
	    nhi_sign(k, msg, msglen, s) != 0)
		goto out;
	if ((env = json_object_new_object()) == NULL ||
	    nhi_json_put(env, "payloadType",
	    json_object_new_string(payload_type)) != 0 ||
	    add_b64(env, "payload", payload, len) != 0)
		goto out;
	if ((sig = json_object_new_object()) == NULL ||
	    nhi_json_put(sig, "keyid", json_object_new_string(k->keyid)) != 0 ||
	    add_b64(sig, "sig", s, sizeof(s)) != 0)
		goto out;
	if ((sigs = json_object_new_array()) == NULL ||
	    json_object_array_add(sigs, sig) != 0)
		goto out;
	sig = NULL;
	ok = nhi_json_put(env, "signatures", sigs) == 0;
	sigs = NULL;	/* owned by env now, or already released */
	if (ok)
		out = nhi_json_text(env);
out:
	json_object_put(sig);
	json_object_put(sigs);
	json_object_put(env);
	free(msg);
	return out;
}

/* Printable ASCII: a media type, compared byte for byte. */
static bool
valid_payload_type(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || strlen(s) > PAYLOAD_TYPE_MAX)
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* Reads a base64 field of o into a fresh buffer. */
static int
read_b64(json_object *o, const char *field, unsigned char **ret,
    size_t *ret_len, struct nhi_err *e)
{
	char *s = NULL;
	int r;

	if (nhi_json_str(o, field, NULL, &s, e) != 0)
		return -1;
	r = nhi_b64_decode(s, strlen(s), ret, ret_len);
	free(s);
	if (r != 0)
		return nhi_err_set(e, "%s: invalid base64", field);
	return 0;
}

static int
decode_signature(json_object *sigs, struct nhi_envelope *env,
    struct nhi_err *e)
{
	static const char *const allowed[] = { "keyid", "sig", NULL };
	json_object *sig;
	unsigned char *raw = NULL;
	char *keyid = NULL;
	size_t n = 0;
	int r = -1;

	if (!json_object_is_type(sigs, json_type_array))
		return nhi_err_set(e, "signatures: expected array");
	if (json_object_array_length(sigs) != 1)
		return nhi_err_set(e, "signatures: exactly one is accepted");
	sig = json_object_array_get_idx(sigs, 0);
	if (!json_object_is_type(sig, json_type_object))
		return nhi_err_set(e, "signatures[0]: expected object");
	if (nhi_json_only(sig, allowed, e) != 0 ||
	    nhi_json_str(sig, "keyid", nhi_valid_keyid, &keyid, e) != 0 ||
	    read_b64(sig, "sig", &raw, &n, e) != 0)
		goto out;
	if (n != NHI_SIG_LEN) {
		nhi_err_set(e, "sig: expected %d bytes, got %zu", NHI_SIG_LEN,
		    n);
		goto out;
	}
	memcpy(env->keyid, keyid, NHI_KEYID_LEN + 1);
	memcpy(env->sig, raw, NHI_SIG_LEN);
	r = 0;
out:
	free(keyid);
	free(raw);
	return r;
}

int
nhi_dsse_decode(const char *text, size_t len, size_t max,
    struct nhi_envelope **ret, struct nhi_err *e)
{
	static const char *const allowed[] = { "payloadType", "payload",
		"signatures", NULL };
	struct nhi_envelope *env = NULL;
	json_object *o = NULL, *sigs = NULL;
	unsigned char *payload = NULL, *nt;
	int r = -1;

	if (max < NHI_MAX_STATEMENT)
		max = NHI_MAX_STATEMENT;
	/*
	 * Nothing here is verified yet, and a register header may be tens
	 * of megabytes: the few values an envelope has bound what its
	 * parse costs to about the size of its text.
	 */
	if (nhi_json_parse_bounded(text, len, max, ENVELOPE_MAX_VALUES, &o,
	    e) != 0)
		goto out;
	if (nhi_json_only(o, allowed, e) != 0)
		goto out;
	if ((env = calloc(1, sizeof(*env))) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	if (nhi_json_str(o, "payloadType", valid_payload_type,
	    &env->payload_type, e) != 0 ||
	    read_b64(o, "payload", &payload, &env->payload_len, e) != 0)
		goto out;
	if (!json_object_object_get_ex(o, "signatures", &sigs)) {
		nhi_err_set(e, "signatures: missing");
		goto out;
	}
	if (decode_signature(sigs, env, e) != 0)
		goto out;

	/* The payload is handed on NUL-terminated for text parsers. */
	if ((nt = realloc(payload, env->payload_len + 1)) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	payload = NULL;
	nt[env->payload_len] = '\0';
	env->payload = nt;
	*ret = env;
	env = NULL;
	r = 0;
out:
	free(payload);
	nhi_envelope_free(env);
	json_object_put(o);
	return r;
}

int
nhi_dsse_verify(const struct nhi_envelope *env,
    const unsigned char pk[NHI_PK_LEN], const char *expected_type,
    struct nhi_err *e)
{
	unsigned char *msg;
	size_t msglen;
	bool ok;
	char esc[96];

	if ((msg = pae(env->payload_type, env->payload, env->payload_len,
	    &msglen)) == NULL)
		return nhi_err_set(e, "out of memory");
	ok = nhi_verify(pk, msg, msglen, env->sig);
	free(msg);
	if (!ok)
		return nhi_err_set(e, "bad signature (keyid %s)", env->keyid);
	if (expected_type != NULL &&
	    strcmp(env->payload_type, expected_type) != 0) {
		nhi_escape(env->payload_type, 64, esc, sizeof(esc));
		return nhi_err_set(e, "payload type \"%s\", expected \"%s\"",
		    esc, expected_type);
	}
	return 0;
}

void
nhi_envelope_free(struct nhi_envelope *env)
{
	if (env == NULL)
		return;
	free(env->payload_type);
	free(env->payload);
	free(env);
}
