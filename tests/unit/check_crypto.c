/* check_crypto.c: keys, key files, base64, DSSE and OpenSSH public keys. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>

#include <sodium.h>

#include "dsse.h"
#include "keys.h"
#include "testutil.h"
#include "util.h"

static char *tmp;

static void
setup(void)
{
	ck_assert_int_eq(nhi_crypto_init(), 0);
	tmp = tu_tmpdir();
}

static void
teardown(void)
{
	tu_rmtree(tmp);
	tmp = NULL;
}

static char *
tpath(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", tmp, name), 0);
	return p;
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	ck_assert_int_eq(nhi_write_atomic(path, text, strlen(text), mode), 0);
}

/* Runs a shell command and returns its first output line. */
static char *
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
run(const char *fmt, ...)
{
	char *cmd, line[4096];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	/*
	 * ssh-keygen is the reference the fingerprints are checked against;
	 * every command line is built from this file's constants and paths
	 * under the test's own mkdtemp directory.
	 */
	/* NOLINTNEXTLINE(cert-env33-c) */
	f = popen(cmd, "re");
	ck_assert_ptr_nonnull(f);
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	ck_assert_msg(pclose(f) == 0, "command failed: %s", cmd);
	free(cmd);
	return strdup(line);
}

/* The second field of ssh-keygen -lf: the fingerprint. */
static char *
ssh_keygen_fp(const char *path)
{
	char *line = run("ssh-keygen -E sha256 -lf '%s'", path), *fp;
	char *sp = strchr(line, ' ');

	ck_assert_ptr_nonnull(sp);
	fp = strdup(sp + 1);
	fp[strcspn(fp, " ")] = '\0';
	free(line);
	return fp;
}

START_TEST(keyid_is_first_8_bytes_of_sha256)
{
	unsigned char pk[NHI_PK_LEN] = { 0 };
	char id[NHI_KEYID_LEN + 1];

	nhi_keyid(pk, id);
	/* sha256(32 zero bytes) = 66687aad f862bd77 ... */
	ck_assert_str_eq(id, "66687aadf862bd77");
	ck_assert(nhi_valid_keyid(id));
	ck_assert(!nhi_valid_keyid("66687AADF862BD77"));
	ck_assert(!nhi_valid_keyid("66687aadf862bd7"));
	ck_assert(!nhi_valid_keyid("66687aadf862bd77a"));
	ck_assert(!nhi_valid_keyid("66687aadf862bd7g"));
	ck_assert(!nhi_valid_keyid(NULL));
}
END_TEST

START_TEST(b64_round_trip)
{
	const unsigned char in[] = { 0, 1, 2, 0xfe, 0xff };
	unsigned char *out;
	size_t n, len;
	char *s;

	for (n = 0; n <= sizeof(in); n++) {
		s = nhi_b64_encode(in, n);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(nhi_b64_decode(s, strlen(s), &out, &len), 0);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(memcmp(in, out, n), 0);
		free(out);
		free(s);
	}
	s = nhi_b64_encode("hi?", 3);
	ck_assert_str_eq(s, "aGk/");
	free(s);
}
END_TEST

static const char *const bad_b64[] = {
	"QQ",		/* missing padding */
	"QQ=",		/* short padding */
	"QR==",		/* non-zero unused bits */
	"QQ== ",	/* trailing space */
	" QQ==",	/* leading space */
	"QQ==QQ==",	/* data after padding */
	"aGk_",		/* URL-safe alphabet */
	"aG*/",		/* not base64 */
	"Q\nQ==",	/* newline inside */
	"AAAA\xcdwqe",	/* a byte libsodium would read as '/' */
};

START_TEST(b64_decode_is_strict)
{
	unsigned char *out = NULL;
	size_t len;

	ck_assert_msg(nhi_b64_decode(bad_b64[_i], strlen(bad_b64[_i]), &out,
	    &len) == -1, "accepted \"%s\"", bad_b64[_i]);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(b64_decode_rejects_embedded_nul)
{
	unsigned char *out = NULL;
	size_t len;

	ck_assert_int_eq(nhi_b64_decode("QQ==\0QQ==", 9, &out, &len), -1);
	ck_assert_int_eq(nhi_b64_decode("QQ\0=", 4, &out, &len), -1);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(pubkey_decode_needs_32_bytes)
{
	unsigned char pk[NHI_PK_LEN], raw[NHI_PK_LEN + 1];
	char b64[64], *s;

	memset(raw, 7, sizeof(raw));
	nhi_pubkey_encode(raw, b64, sizeof(b64));
	ck_assert_uint_eq(strlen(b64), 44);
	ck_assert_int_eq(nhi_pubkey_decode(b64, pk), 0);
	ck_assert_int_eq(memcmp(pk, raw, NHI_PK_LEN), 0);
	s = nhi_b64_encode(raw, 31);
	ck_assert_int_eq(nhi_pubkey_decode(s, pk), -1);
	free(s);
	s = nhi_b64_encode(raw, 33);
	ck_assert_int_eq(nhi_pubkey_decode(s, pk), -1);
	free(s);
	ck_assert_int_eq(nhi_pubkey_decode(NULL, pk), -1);
	nhi_pubkey_encode(raw, b64, 10);
	ck_assert_str_eq(b64, "");
}
END_TEST

START_TEST(keygen_writes_key_files)
{
	char *base = tpath("issuer"), *key = tpath("issuer.key");
	char *pub = tpath("issuer.pub"), *text;
	unsigned char pk[NHI_PK_LEN];
	struct nhi_seckey *k = NULL;
	struct nhi_err e;
	struct stat st;
	size_t len;

	ck_assert_int_eq(nhi_keygen(base, NULL, &e), 0);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(pub, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);

	ck_assert_int_eq(nhi_read_file(pub, 4096, &text, &len), 0);
	ck_assert_int_eq(strncmp(text, "nhi-ed25519 ", 12), 0);
	ck_assert_str_eq(text + len - 8, " issuer\n");
	free(text);
	ck_assert_int_eq(nhi_read_file(key, 4096, &text, &len), 0);
	ck_assert_int_eq(strncmp(text, "nhi-ed25519-secret ", 19), 0);
	free(text);

	ck_assert_int_eq(nhi_seckey_load(key, &k, &e), 0);
	ck_assert_str_eq(k->name, "issuer");
	ck_assert_int_eq(nhi_pubkey_load(pub, pk, &e), 0);
	ck_assert_int_eq(memcmp(pk, k->pk, NHI_PK_LEN), 0);
	{
		char id[NHI_KEYID_LEN + 1];

		nhi_keyid(pk, id);
		ck_assert_str_eq(id, k->keyid);
	}
	nhi_seckey_free(k);
	nhi_seckey_free(NULL);
	free(base);
	free(key);
	free(pub);
}
END_TEST

START_TEST(keygen_refuses_to_overwrite)
{
	char *base = tpath("k"), *key = tpath("k.key"), *before, *after;
	struct nhi_err e;
	size_t len;

	ck_assert_int_eq(nhi_keygen(base, "ops", &e), 0);
	ck_assert_int_eq(nhi_read_file(key, 4096, &before, &len), 0);
	ck_assert_int_eq(nhi_keygen(base, "ops", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "k.key"));
	ck_assert_int_eq(nhi_read_file(key, 4096, &after, &len), 0);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	ck_assert_int_eq(nhi_keygen(base, "bad name", &e), -1);

	/* An existing .pub is not replaced either, and no .key is left. */
	ck_assert_int_eq(unlink(key), 0);
	ck_assert_int_eq(nhi_keygen(base, "ops", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "k.pub"));
	ck_assert_int_eq(access(key, F_OK), -1);
	free(base);
	free(key);
}
END_TEST

/* Base64 of 32 zero bytes. */
#define ZERO32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

START_TEST(seckey_load_rejects_open_modes_and_junk)
{
	char *base = tpath("s"), *key = tpath("s.key"), *junk = tpath("j");
	struct nhi_seckey *k = NULL;
	struct nhi_err e;

	ck_assert_int_eq(nhi_keygen(base, NULL, &e), 0);
	ck_assert_int_eq(chmod(key, 0640), 0);
	ck_assert_int_eq(nhi_seckey_load(key, &k, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "too open"));
	ck_assert_ptr_null(k);

	write_text(junk, "nhi-ed25519-secret AAAA x\n", 0600);
	ck_assert_int_eq(nhi_seckey_load(junk, &k, &e), -1);
	write_text(junk, "nhi-ed25519 " ZERO32 " x\n", 0600);
	ck_assert_int_eq(nhi_seckey_load(junk, &k, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not an nhi secret key"));
	write_text(junk, "nhi-ed25519-secret " ZERO32 " x\nextra\n", 0600);
	ck_assert_int_eq(nhi_seckey_load(junk, &k, &e), -1);
	write_text(junk, "nhi-ed25519-secret " ZERO32 " x\n", 0600);
	ck_assert_int_eq(nhi_seckey_load(junk, &k, &e), 0);
	nhi_seckey_free(k);
	ck_assert_int_eq(nhi_seckey_load("/nonexistent", &k, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent"));
	free(base);
	free(key);
	free(junk);
}
END_TEST

START_TEST(pubkey_load_accepts_bare_base64)
{
	char *f = tpath("bare"), b64[64];
	unsigned char raw[NHI_PK_LEN], pk[NHI_PK_LEN];
	struct nhi_err e;

	memset(raw, 9, sizeof(raw));
	nhi_pubkey_encode(raw, b64, sizeof(b64));
	write_text(f, b64, 0644);
	ck_assert_int_eq(nhi_pubkey_load(f, pk, &e), 0);
	ck_assert_int_eq(memcmp(pk, raw, NHI_PK_LEN), 0);
	memset(pk, 0, sizeof(pk));
	ck_assert_int_eq(nhi_pubkey_load(b64, pk, &e), 0);
	ck_assert_int_eq(memcmp(pk, raw, NHI_PK_LEN), 0);
	write_text(f, "ssh-ed25519 AAAA x\n", 0644);
	ck_assert_int_eq(nhi_pubkey_load(f, pk, &e), -1);
	ck_assert_int_eq(nhi_pubkey_load("/no/such/file", pk, &e), -1);
	free(f);
}
END_TEST

static struct nhi_seckey *
fresh_key(const char *name)
{
	char *base = tpath(name), *key;
	struct nhi_seckey *k;
	struct nhi_err e;

	ck_assert_int_ge(asprintf(&key, "%s.key", base), 0);
	ck_assert_int_eq(nhi_keygen(base, NULL, &e), 0);
	ck_assert_int_eq(nhi_seckey_load(key, &k, &e), 0);
	free(base);
	free(key);
	return k;
}

START_TEST(sign_and_verify)
{
	struct nhi_seckey *k = fresh_key("a"), *other = fresh_key("b");
	unsigned char sig[NHI_SIG_LEN];

	ck_assert_int_eq(nhi_sign(k, "message", 7, sig), 0);
	ck_assert(nhi_verify(k->pk, "message", 7, sig));
	ck_assert(!nhi_verify(k->pk, "messagE", 7, sig));
	ck_assert(!nhi_verify(k->pk, "message", 6, sig));
	ck_assert(!nhi_verify(other->pk, "message", 7, sig));
	sig[10] ^= 1;
	ck_assert(!nhi_verify(k->pk, "message", 7, sig));
	nhi_seckey_free(k);
	nhi_seckey_free(other);
}
END_TEST

START_TEST(dsse_round_trip_and_pae)
{
	struct nhi_seckey *k = fresh_key("d");
	struct nhi_envelope *env = NULL;
	const char *payload = "{\"x\": 1}";
	struct nhi_err e;
	char *text, *pae;
	int n;

	text = nhi_dsse_sign(k, NHI_PT_BINDING, payload, strlen(payload));
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strchr(text, '\n'));
	ck_assert_int_eq(nhi_dsse_decode(text, strlen(text), 0, &env, &e), 0);
	ck_assert_str_eq(env->payload_type, NHI_PT_BINDING);
	ck_assert_uint_eq(env->payload_len, strlen(payload));
	ck_assert_str_eq((char *)env->payload, payload);
	ck_assert_str_eq(env->keyid, k->keyid);
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NHI_PT_BINDING, &e), 0);
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NULL, &e), 0);

	/* The signature covers exactly the PAE of the specification. */
	n = asprintf(&pae, "DSSEv1 %zu %s %zu %s", strlen(NHI_PT_BINDING),
	    NHI_PT_BINDING, strlen(payload), payload);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(crypto_sign_verify_detached(env->sig,
	    (unsigned char *)pae, (size_t)n, k->pk), 0);
	free(pae);
	nhi_envelope_free(env);
	nhi_envelope_free(NULL);
	free(text);
	nhi_seckey_free(k);
}
END_TEST

START_TEST(dsse_payload_with_nul_bytes_survives)
{
	struct nhi_seckey *k = fresh_key("bin");
	struct nhi_envelope *env = NULL;
	struct nhi_err e;
	char *text;

	text = nhi_dsse_sign(k, "application/octet-stream", "a\0b", 3);
	ck_assert_int_eq(nhi_dsse_decode(text, strlen(text), 0, &env, &e), 0);
	ck_assert_uint_eq(env->payload_len, 3);
	ck_assert_int_eq(memcmp(env->payload, "a\0b", 4), 0);
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NULL, &e), 0);
	nhi_envelope_free(env);
	free(text);
	nhi_seckey_free(k);
}
END_TEST

START_TEST(dsse_wrong_type_wrong_key_tampered)
{
	struct nhi_seckey *k = fresh_key("t"), *other = fresh_key("o");
	struct nhi_envelope *env = NULL;
	struct nhi_err e;
	char *text;

	text = nhi_dsse_sign(k, NHI_PT_ACCOUNT, "{}", 2);
	ck_assert_int_eq(nhi_dsse_decode(text, strlen(text), 0, &env, &e), 0);

	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NHI_PT_BINDING, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "payload type"));
	ck_assert_int_eq(nhi_dsse_verify(env, other->pk, NHI_PT_ACCOUNT, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad signature"));

	/* A changed payload byte, or a type swapped in, breaks the PAE. */
	env->payload[0] = '[';
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NULL, &e), -1);
	env->payload[0] = '{';
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NULL, &e), 0);
	free(env->payload_type);
	env->payload_type = strdup(NHI_PT_BINDING);
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, NHI_PT_BINDING, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad signature"));
	nhi_envelope_free(env);
	free(text);
	nhi_seckey_free(k);
	nhi_seckey_free(other);
}
END_TEST

/* Base64 of 64 zero bytes. */
#define SIG64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAA=="
#define GOODSIG "{\"keyid\":\"0123456789abcdef\",\"sig\":\"" SIG64 "\"}"

struct bad_env {
	const char *text;
	const char *why;
};

static const struct bad_env bad_envs[] = {
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":[]}",
	    "exactly one" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    GOODSIG "," GOODSIG "]}", "exactly one" },
	{ "{\"payloadType\":\"t\",\"signatures\":[" GOODSIG "]}",
	    "payload: missing" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30\",\"signatures\":["
	    GOODSIG "]}", "payload: invalid base64" },
	{ "{\"payloadType\":\"t\",\"payload\":7,\"signatures\":["
	    GOODSIG "]}", "payload: expected string" },
	{ "{\"payloadType\":1,\"payload\":\"e30=\",\"signatures\":["
	    GOODSIG "]}", "payloadType: expected string" },
	{ "{\"payloadType\":\"\",\"payload\":\"e30=\",\"signatures\":["
	    GOODSIG "]}", "payloadType: invalid" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    GOODSIG "],\"x\":1}", "x: unknown field" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\"}",
	    "signatures: missing" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":{}}",
	    "signatures: expected array" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    "{\"keyid\":\"0123456789ABCDEF\",\"sig\":\"" SIG64 "\"}]}",
	    "keyid: invalid" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    "{\"sig\":\"" SIG64 "\"}]}", "keyid: missing" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    "{\"keyid\":\"0123456789abcdef\",\"sig\":\"AAAA\"}]}",
	    "sig: expected 64 bytes" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    "{\"keyid\":\"0123456789abcdef\",\"sig\":\"" SIG64 "\","
	    "\"cert\":\"x\"}]}", "cert: unknown field" },
	{ "{\"payloadType\":\"t\",\"payloadType\":\"u\",\"payload\":\"e30=\","
	    "\"signatures\":[" GOODSIG "]}", "duplicate key" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    GOODSIG "]} {}", "invalid JSON" },
	{ "[1]", "expected a JSON object" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":[[[[[["
	    "[[[[]]]]]]]]]]}", "nested deeper" },
	{ "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":["
	    GOODSIG "," GOODSIG "]}", "exactly one" },
};

START_TEST(dsse_decode_rejects_malformed)
{
	const struct bad_env *c = &bad_envs[_i];
	struct nhi_envelope *env = NULL;
	struct nhi_err e;

	ck_assert_int_eq(nhi_dsse_decode(c->text, strlen(c->text), 0, &env,
	    &e), -1);
	ck_assert_ptr_null(env);
	ck_assert_msg(strstr(e.msg, c->why) != NULL, "case %d: \"%s\"", _i,
	    e.msg);
}
END_TEST

START_TEST(dsse_decode_limits_size)
{
	struct nhi_seckey *k = fresh_key("big");
	struct nhi_envelope *env = NULL;
	size_t n = NHI_MAX_STATEMENT;
	struct nhi_err e;
	char *payload, *text;

	payload = malloc(n);
	memset(payload, 'a', n);
	text = nhi_dsse_sign(k, "t", payload, n);
	ck_assert_int_eq(nhi_dsse_decode(text, strlen(text), 0, &env, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "too large"));
	ck_assert_int_eq(nhi_dsse_decode(text, strlen(text), 2 * n, &env, &e),
	    0);
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, "t", &e), 0);
	nhi_envelope_free(env);
	free(text);
	free(payload);
	nhi_seckey_free(k);
}
END_TEST

/*
 * An envelope is parsed before anything in it is verified: a few megabytes
 * of empty objects or numbers are refused before json-c builds a tree of
 * gigabytes, even under the large limit a register header gets, while a
 * signed envelope of that size still decodes.
 */
START_TEST(dsse_decode_bounds_the_values_before_parsing)
{
	static const char *const fillers[] = { "{},", "0,", "\"\":0,", "[],"};
	const size_t n = 4 * 1024 * 1024;
	struct nhi_seckey *k = fresh_key("values");
	struct nhi_envelope *env = NULL;
	struct nhi_err e;
	size_t i, f, len;
	char *text, *payload;

	text = malloc(n + 128);
	ck_assert_ptr_nonnull(text);
	for (f = 0; f < sizeof(fillers) / sizeof(fillers[0]); f++) {
		size_t fl = strlen(fillers[f]);

		len = (size_t)sprintf(text, "{\"payloadType\":\"t\","
		    "\"payload\":\"\",\"signatures\":[");
		for (i = 0; i + fl < n; i += fl) {
			memcpy(text + len, fillers[f], fl);
			len += fl;
		}
		len += (size_t)sprintf(text + len, "1]}");
		ck_assert_int_eq(nhi_dsse_decode(text, len, NHI_MAX_HEADER,
		    &env, &e), -1);
		ck_assert_ptr_null(env);
		ck_assert_msg(strstr(e.msg, "JSON values") != NULL, "%s",
		    e.msg);
	}
	free(text);

	/* Commas and colons inside strings are not values. */
	payload = malloc(n);
	ck_assert_ptr_nonnull(payload);
	for (i = 0; i < n; i++)
		payload[i] = i % 2 == 0 ? ',' : ':';
	text = nhi_dsse_sign(k, "t,:\"", payload, n);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(nhi_dsse_decode(text, strlen(text), NHI_MAX_HEADER,
	    &env, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(nhi_dsse_verify(env, k->pk, "t,:\"", &e), 0);
	nhi_envelope_free(env);
	free(text);
	free(payload);
	nhi_seckey_free(k);
}
END_TEST

/* Makes an OpenSSH key of type with ssh-keygen and returns its path. */
static char *
ssh_key(const char *name, const char *type)
{
	char *path = tpath(name), *out;

	out = run("ssh-keygen -q -t %s -N '' -C test@host -f '%s' && echo ok",
	    type, path);
	ck_assert_str_eq(out, "ok");
	free(out);
	return path;
}

static const char *const ssh_types[] = {
	"ed25519", "rsa", "ecdsa", "ecdsa -b 384", "ecdsa -b 521",
};

START_TEST(ssh_fingerprint_matches_ssh_keygen)
{
	char name[32], *key, *pub, *text, *want, *type = NULL;
	char fp[64];
	struct nhi_err e;
	size_t len;

	(void)snprintf(name, sizeof(name), "id%d", _i);
	key = ssh_key(name, ssh_types[_i]);
	ck_assert_int_ge(asprintf(&pub, "%s.pub", key), 0);
	ck_assert_int_eq(nhi_read_file(pub, 65536, &text, &len), 0);
	ck_assert_int_eq(nhi_ssh_key_parse(text, fp, sizeof(fp), &type, &e),
	    0);
	want = ssh_keygen_fp(pub);
	ck_assert_str_eq(fp, want);
	ck_assert_int_eq(strncmp(text, type, strlen(type)), 0);
	free(type);
	free(want);
	free(text);
	free(pub);
	free(key);
}
END_TEST

START_TEST(ssh_certificate_fingerprint_is_the_inner_key)
{
	static const char *const types[] = { "ed25519", "rsa", "ecdsa" };
	char *ca, *key, *pub, *cert, *text, *want, *want_cert, *out;
	char fp[64], name[16], *type = NULL;
	struct nhi_err e;
	size_t len, i;

	ca = ssh_key("ca", "ed25519");
	for (i = 0; i < 3; i++) {
		(void)snprintf(name, sizeof(name), "user%zu", i);
		key = ssh_key(name, types[i]);
		ck_assert_int_ge(asprintf(&pub, "%s.pub", key), 0);
		ck_assert_int_ge(asprintf(&cert, "%s-cert.pub", key), 0);
		out = run("ssh-keygen -q -s '%s' -I alice -n deploy,root "
		    "-V +1h -z 42 '%s' && echo ok", ca, pub);
		ck_assert_str_eq(out, "ok");
		free(out);
		ck_assert_int_eq(nhi_read_file(cert, 65536, &text, &len), 0);
		ck_assert_ptr_nonnull(strstr(text, "-cert-v01@openssh.com "));
		ck_assert_int_eq(nhi_ssh_key_parse(text, fp, sizeof(fp), &type,
		    &e), 0);
		want = ssh_keygen_fp(pub);
		want_cert = ssh_keygen_fp(cert);
		ck_assert_str_eq(fp, want);
		ck_assert_str_eq(fp, want_cert);
		/* The plain type, not the certificate type. */
		ck_assert_ptr_null(strstr(type, "cert"));
		free(type);
		type = NULL;

		/* A certificate cut short is not a key. */
		text[strcspn(text, " ") + 1 + 200] = '\0';
		ck_assert_int_eq(nhi_ssh_key_parse(text, fp, sizeof(fp), NULL,
		    &e), -1);
		free(want);
		free(want_cert);
		free(text);
		free(cert);
		free(pub);
		free(key);
	}
	free(ca);
}
END_TEST

/* Builds "TYPE BASE64(blob)" for hand-made blobs. */
static char *
ssh_line(const char *type, const unsigned char *blob, size_t n)
{
	char *b64 = nhi_b64_encode(blob, n), *line;

	ck_assert_int_ge(asprintf(&line, "%s %s", type, b64), 0);
	free(b64);
	return line;
}

static size_t
put_string(unsigned char *p, const void *s, size_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	memcpy(p + 4, s, n);
	return 4 + n;
}

START_TEST(ssh_key_parse_rejects_malformed)
{
	unsigned char blob[256], pk[32];
	char fp[64], *line, *type = NULL;
	struct nhi_err e;
	size_t n;

	memset(pk, 0x55, sizeof(pk));
	n = put_string(blob, "ssh-ed25519", 11);
	n += put_string(blob + n, pk, 32);

	/* The well-formed blob is accepted and hashed whole. */
	line = ssh_line("ssh-ed25519", blob, n);
	ck_assert_int_eq(nhi_ssh_key_parse(line, fp, sizeof(fp), &type, &e),
	    0);
	ck_assert_str_eq(type, "ssh-ed25519");
	free(type);
	{
		char want[64];

		nhi_ssh_fingerprint(blob, n, want, sizeof(want));
		ck_assert_str_eq(fp, want);
		ck_assert_uint_eq(strlen(want), 50);
	}
	free(line);

	/* The line's type must be the blob's type. */
	line = ssh_line("ssh-rsa", blob, n);
	ck_assert_int_eq(nhi_ssh_key_parse(line, fp, sizeof(fp), NULL, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "malformed"));
	free(line);

	/* Trailing bytes, a short key and a truncated blob. */
	blob[n] = 0;
	line = ssh_line("ssh-ed25519", blob, n + 1);
	ck_assert_int_eq(nhi_ssh_key_parse(line, fp, sizeof(fp), NULL, &e),
	    -1);
	free(line);
	line = ssh_line("ssh-ed25519", blob, n - 1);
	ck_assert_int_eq(nhi_ssh_key_parse(line, fp, sizeof(fp), NULL, &e),
	    -1);
	free(line);
	n = put_string(blob, "ssh-ed25519", 11);
	n += put_string(blob + n, pk, 31);
	line = ssh_line("ssh-ed25519", blob, n);
	ck_assert_int_eq(nhi_ssh_key_parse(line, fp, sizeof(fp), NULL, &e),
	    -1);
	free(line);

	ck_assert_int_eq(nhi_ssh_key_parse("ssh-dsa AAAA", fp, sizeof(fp),
	    NULL, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "unsupported type"));
	ck_assert_int_eq(nhi_ssh_key_parse("ssh-ed25519", fp, sizeof(fp),
	    NULL, &e), -1);
	ck_assert_int_eq(nhi_ssh_key_parse("ssh-ed25519 !!!!", fp, sizeof(fp),
	    NULL, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "base64"));
	ck_assert_int_eq(nhi_ssh_key_parse("", fp, sizeof(fp), NULL, &e), -1);
	ck_assert_int_eq(nhi_ssh_key_parse(NULL, fp, sizeof(fp), NULL, &e),
	    -1);
	ck_assert_int_eq(nhi_ssh_key_parse("ssh-ed25519 AAAA", fp, 20, NULL,
	    &e), -1);
}
END_TEST

START_TEST(ssh_key_parse_accepts_auth_info_form)
{
	char *key = ssh_key("ai", "ed25519"), *pub, *text, *line, *want;
	char fp[64];
	struct nhi_err e;
	size_t len;

	ck_assert_int_ge(asprintf(&pub, "%s.pub", key), 0);
	ck_assert_int_eq(nhi_read_file(pub, 65536, &text, &len), 0);
	/* SSH_AUTH_INFO_0 after "publickey ": no comment, maybe a newline. */
	text[strcspn(text, " ") + 1 + strcspn(text + strcspn(text, " ") + 1,
	    " ")] = '\0';
	ck_assert_int_ge(asprintf(&line, "  %s\n", text), 0);
	ck_assert_int_eq(nhi_ssh_key_parse(line, fp, sizeof(fp), NULL, &e),
	    0);
	want = ssh_keygen_fp(pub);
	ck_assert_str_eq(fp, want);
	free(want);
	free(line);
	free(text);
	free(pub);
	free(key);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc;

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, keyid_is_first_8_bytes_of_sha256);
	tcase_add_test(tc, b64_round_trip);
	tcase_add_loop_test(tc, b64_decode_is_strict, 0, N(bad_b64));
	tcase_add_test(tc, b64_decode_rejects_embedded_nul);
	tcase_add_test(tc, pubkey_decode_needs_32_bytes);
	tcase_add_test(tc, keygen_writes_key_files);
	tcase_add_test(tc, keygen_refuses_to_overwrite);
	tcase_add_test(tc, seckey_load_rejects_open_modes_and_junk);
	tcase_add_test(tc, pubkey_load_accepts_bare_base64);
	tcase_add_test(tc, sign_and_verify);
	suite_add_tcase(s, tc);

	tc = tcase_create("dsse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dsse_round_trip_and_pae);
	tcase_add_test(tc, dsse_payload_with_nul_bytes_survives);
	tcase_add_test(tc, dsse_wrong_type_wrong_key_tampered);
	tcase_add_loop_test(tc, dsse_decode_rejects_malformed, 0,
	    N(bad_envs));
	tcase_add_test(tc, dsse_decode_limits_size);
	tcase_add_test(tc, dsse_decode_bounds_the_values_before_parsing);
	suite_add_tcase(s, tc);

	tc = tcase_create("ssh");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, ssh_fingerprint_matches_ssh_keygen, 0,
	    N(ssh_types));
	tcase_add_test(tc, ssh_certificate_fingerprint_is_the_inner_key);
	tcase_add_test(tc, ssh_key_parse_rejects_malformed);
	tcase_add_test(tc, ssh_key_parse_accepts_auth_info_form);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(crypto_suite());
}
