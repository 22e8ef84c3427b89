/*
 * check_register.c: publishing and reading the register, the host state
 * file and the ratchet.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include <sodium.h>

#include "dsse.h"
#include "keys.h"
#include "register.h"
#include "util.h"

#include "testutil.h"

#define NOW 1800000000
#define SKEW 60

/* Fixtures: keys, a hand-made config and registers in memory. */

static struct nhi_seckey *
key_new(const char *name)
{
	struct nhi_seckey *k = nhi_seckey_generate(name);

	ck_assert_ptr_nonnull(k);
	return k;
}

static struct nhi_conf *
conf_new(void)
{
	struct nhi_conf *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->clock_skew = SKEW;
	return c;
}

static void
conf_pin(struct nhi_conf *c, const struct nhi_seckey *k, int64_t nb,
    int64_t na)
{
	struct nhi_pubkey *p;

	c->register_keys = reallocarray(c->register_keys,
	    c->n_register_keys + 1, sizeof(*c->register_keys));
	ck_assert_ptr_nonnull(c->register_keys);
	p = &c->register_keys[c->n_register_keys++];
	memset(p, 0, sizeof(*p));
	memcpy(p->pk, k->pk, sizeof(p->pk));
	memcpy(p->keyid, k->keyid, sizeof(p->keyid));
	p->not_before = nb;
	p->not_after = na;
}

static void
conf_del(struct nhi_conf *c)
{
	free(c->register_keys);
	free(c);
}

/* A statement line: any envelope will do for the register layer. */
static char *
stmt_new(const struct nhi_seckey *k, int i)
{
	char payload[64];

	(void)snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
	return nhi_dsse_sign(k, NHI_PT_BINDING, payload, strlen(payload));
}

struct doc {
	char *buf;
	size_t len;
};

static int
publish(const struct nhi_seckey *k, int64_t version, char **st, size_t n,
    const struct nhi_deny *deny, size_t nd, struct doc *d,
    struct nhi_err *e)
{
	FILE *f;
	int r;

	d->buf = NULL;
	d->len = 0;
	f = open_memstream(&d->buf, &d->len);
	ck_assert_ptr_nonnull(f);
	r = nhi_register_publish(k, version, NOW - 100, NOW + 3600, deny, nd,
	    st, n, f, e);
	ck_assert_int_eq(fclose(f), 0);
	return r;
}

struct seen {
	char *lines[16];
	size_t n;
	int fail_at;		/* each() fails on this call, 0: never */
};

static int
each(void *ctx, const char *line, size_t len, struct nhi_err *e)
{
	struct seen *s = ctx;

	ck_assert_uint_eq(strlen(line), len);
	if (s->n < 16)
		s->lines[s->n] = strdup(line);
	s->n++;
	if (s->fail_at != 0 && (int)s->n == s->fail_at)
		return nhi_err_set(e, "stopped by the callback");
	return 0;
}

static void
seen_clear(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n && i < 16; i++)
		free(s->lines[i]);
	memset(s, 0, sizeof(*s));
}

static int
read_doc(const char *buf, size_t len, const struct nhi_conf *c, int64_t now,
    struct seen *s, struct nhi_register_header *h, unsigned char sha[32],
    struct nhi_err *e)
{
	FILE *f = tmpfile();
	int r;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	rewind(f);
	memset(h, 0, sizeof(*h));
	r = nhi_register_read(f, c, now, each, s, h, sha, e);
	fclose(f);
	return r;
}

/* A register of three statements and two deny entries, with its parts. */
struct fixture {
	struct nhi_seckey *k, *issuer;
	struct nhi_conf *c;
	char *st[3];
	struct doc d;
};

static void
fixture_init(struct fixture *fx)
{
	static char revoked[] = "b-revoked", mallory[] = "mallory";
	struct nhi_deny deny[2] = {
		{ NHI_DENY_BINDING, revoked },
		{ NHI_DENY_OWNER, mallory },
	};
	struct nhi_err e;
	int i;

	memset(fx, 0, sizeof(*fx));
	fx->k = key_new("register");
	fx->issuer = key_new("issuer");
	fx->c = conf_new();
	conf_pin(fx->c, fx->k, 0, 0);
	for (i = 0; i < 3; i++)
		fx->st[i] = stmt_new(fx->issuer, i);
	ck_assert_int_eq(publish(fx->k, 7, fx->st, 3, deny, 2, &fx->d, &e),
	    0);
}

static void
fixture_clear(struct fixture *fx)
{
	int i;

	for (i = 0; i < 3; i++)
		free(fx->st[i]);
	free(fx->d.buf);
	conf_del(fx->c);
	nhi_seckey_free(fx->k);
	nhi_seckey_free(fx->issuer);
}

/* Offset of the start of line n (1-based) in d. */
static size_t
line_at(const struct doc *d, int n)
{
	size_t off = 0;

	while (--n > 0) {
		const char *nl = memchr(d->buf + off, '\n', d->len - off);

		ck_assert_ptr_nonnull(nl);
		off = (size_t)(nl - d->buf) + 1;
	}
	return off;
}

/* Round trip. */

START_TEST(publish_then_read_gives_back_every_line_and_field)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32], want[32];
	int i;

	fixture_init(&fx);
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), 0);
	ck_assert_int_eq(h.version, 7);
	ck_assert_int_eq(h.issued_at, NOW - 100);
	ck_assert_int_eq(h.expires_at, NOW + 3600);
	ck_assert_uint_eq(h.n_statements, 3);
	ck_assert_str_eq(h.keyid, fx.k->keyid);
	ck_assert_uint_eq(h.n_deny, 2);
	ck_assert_int_eq(h.deny[0].kind, NHI_DENY_BINDING);
	ck_assert_str_eq(h.deny[0].value, "b-revoked");
	ck_assert_int_eq(h.deny[1].kind, NHI_DENY_OWNER);
	ck_assert_str_eq(h.deny[1].value, "mallory");
	ck_assert_uint_eq(s.n, 3);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(s.lines[i], fx.st[i]);
	crypto_hash_sha256(want, (unsigned char *)fx.d.buf, fx.d.len);
	ck_assert_mem_eq(sha, want, 32);
	nhi_register_header_clear(&h);
	seen_clear(&s);
	fixture_clear(&fx);
}
END_TEST

/*
 * A register of several hundred kilobytes, with a header longer than the
 * reader's 64 KiB chunk: the digests cover every byte in order, and the
 * first newline splits header from body wherever it falls.
 */
START_TEST(large_register_digests_cover_every_chunk)
{
	enum { N = 400, ND = 4000 };
	struct nhi_seckey *k = key_new("register");
	struct nhi_seckey *issuer = key_new("issuer");
	struct nhi_conf *c = conf_new();
	struct nhi_deny *deny;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32], want[32];
	char payload[1200], **st;
	struct doc d;
	size_t i, off;

	conf_pin(c, k, 0, 0);
	st = calloc(N, sizeof(*st));
	deny = calloc(ND, sizeof(*deny));
	ck_assert_ptr_nonnull(st);
	ck_assert_ptr_nonnull(deny);
	for (i = 0; i < N; i++) {
		(void)snprintf(payload, sizeof(payload), "{\"n\":%zu,\"pad\":"
		    "\"%0*zu\"}", i, 1100, i);
		st[i] = nhi_dsse_sign(issuer, NHI_PT_BINDING, payload,
		    strlen(payload));
		ck_assert_ptr_nonnull(st[i]);
	}
	for (i = 0; i < ND; i++) {
		deny[i].kind = NHI_DENY_OWNER;
		ck_assert_int_ge(asprintf(&deny[i].value, "owner-%06zu", i),
		    0);
	}
	ck_assert_msg(publish(k, 9, st, N, deny, ND, &d, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_gt(line_at(&d, 2), 64 * 1024);
	ck_assert_uint_gt(d.len, 8 * 64 * 1024);

	ck_assert_msg(read_doc(d.buf, d.len, c, NOW, &s, &h, sha, &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(s.n, N);
	ck_assert_uint_eq(h.n_deny, ND);
	ck_assert_str_eq(s.lines[15], st[15]);
	crypto_hash_sha256(want, (unsigned char *)d.buf, d.len);
	ck_assert_mem_eq(sha, want, 32);
	nhi_register_header_clear(&h);
	seen_clear(&s);

	/* One byte changed near the end fails the body digest. */
	off = line_at(&d, N + 1) + 100;
	d.buf[off] = d.buf[off] == 'A' ? 'B' : 'A';
	ck_assert_int_ne(read_doc(d.buf, d.len, c, NOW, &s, &h, sha, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "statements_sha256"));
	nhi_register_header_clear(&h);
	seen_clear(&s);

	free(d.buf);
	for (i = 0; i < N; i++)
		free(st[i]);
	for (i = 0; i < ND; i++)
		free(deny[i].value);
	free(st);
	free(deny);
	conf_del(c);
	nhi_seckey_free(k);
	nhi_seckey_free(issuer);
}
END_TEST

START_TEST(streaming_publish_writes_the_same_bytes)
{
	static char revoked[] = "b-revoked", mallory[] = "mallory";
	struct nhi_deny deny[2] = {
		{ NHI_DENY_BINDING, revoked },
		{ NHI_DENY_OWNER, mallory },
	};
	struct fixture fx;
	struct nhi_err e;
	char *buf = NULL;
	size_t len = 0;
	FILE *in, *out;
	int i;

	fixture_init(&fx);
	in = tmpfile();
	ck_assert_ptr_nonnull(in);
	for (i = 0; i < 3; i++)
		fprintf(in, "%s\n", fx.st[i]);
	rewind(in);
	out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(nhi_register_publish_stream(fx.k, 7, NOW - 100,
	    NOW + 3600, deny, 2, in, out, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(fclose(out), 0);
	/* Ed25519 is deterministic: both writers give identical files. */
	ck_assert_uint_eq(len, fx.d.len);
	ck_assert_mem_eq(buf, fx.d.buf, len);
	free(buf);

	/* A line that is not an envelope, or no final newline, is refused. */
	rewind(in);
	ck_assert_int_eq(ftruncate(fileno(in), 0), 0);
	fprintf(in, "%s\nnot an envelope\n", fx.st[0]);
	rewind(in);
	out = open_memstream(&buf, &len);
	ck_assert_int_ne(nhi_register_publish_stream(fx.k, 7, NOW - 100,
	    NOW + 3600, NULL, 0, in, out, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "statement 2"));
	fclose(out);
	free(buf);
	rewind(in);
	ck_assert_int_eq(ftruncate(fileno(in), 0), 0);
	fprintf(in, "%s", fx.st[0]);
	rewind(in);
	out = open_memstream(&buf, &len);
	ck_assert_int_ne(nhi_register_publish_stream(fx.k, 7, NOW - 100,
	    NOW + 3600, NULL, 0, in, out, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "no newline"));
	fclose(out);
	free(buf);
	fclose(in);
	fixture_clear(&fx);
}
END_TEST

START_TEST(register_without_statements_round_trips)
{
	struct nhi_seckey *k = key_new("register");
	struct nhi_conf *c = conf_new();
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	struct doc d;

	conf_pin(c, k, 0, 0);
	ck_assert_int_eq(publish(k, 1, NULL, 0, NULL, 0, &d, &e), 0);
	ck_assert_ptr_nonnull(memchr(d.buf, '\n', d.len));
	ck_assert_int_eq(d.buf[d.len - 1], '\n');
	ck_assert_int_eq(read_doc(d.buf, d.len, c, NOW, &s, &h, sha, &e), 0);
	ck_assert_uint_eq(h.n_statements, 0);
	ck_assert_uint_eq(s.n, 0);
	nhi_register_header_clear(&h);
	free(d.buf);
	conf_del(c);
	nhi_seckey_free(k);
}
END_TEST

START_TEST(publish_refuses_statements_that_are_not_envelopes)
{
	struct nhi_seckey *k = key_new("register");
	static char notenv[] = "{\"not\":\"an envelope\"}";
	char *bad[] = { notenv };
	char *nl[1];
	struct nhi_err e;
	struct doc d;

	ck_assert_int_eq(publish(k, 1, bad, 1, NULL, 0, &d, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "statement 1"));
	free(d.buf);
	nl[0] = stmt_new(k, 1);
	nl[0] = realloc(nl[0], strlen(nl[0]) + 3);
	strcat(nl[0], "\n{");
	ck_assert_int_eq(publish(k, 1, nl, 1, NULL, 0, &d, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "newline"));
	free(d.buf);
	free(nl[0]);
	nhi_seckey_free(k);
}
END_TEST

START_TEST(publish_refuses_bad_version_window_and_deny)
{
	struct nhi_seckey *k = key_new("register");
	static char shortfp[] = "SHA256:short";
	struct nhi_deny bad = { NHI_DENY_KEY, shortfp };
	struct nhi_err e;
	FILE *f = tmpfile();

	ck_assert_int_eq(nhi_register_publish(k, 0, NOW, NOW + 1, NULL, 0,
	    NULL, 0, f, &e), -1);
	ck_assert_int_eq(nhi_register_publish(k, 1, NOW, NOW, NULL, 0, NULL,
	    0, f, &e), -1);
	ck_assert_int_eq(nhi_register_publish(k, 1, NOW, NOW + 1, &bad, 1,
	    NULL, 0, f, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "deny"));
	ck_assert_int_eq(ftell(f), 0);
	fclose(f);
	nhi_seckey_free(k);
}
END_TEST

/* Tampering and damage. */

START_TEST(tampered_header_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	char *sig;

	fixture_init(&fx);
	/* Change one character of the signature, keeping valid base64. */
	sig = strstr(fx.d.buf, "\"sig\":");
	ck_assert_ptr_nonnull(sig);
	sig += 8;
	*sig = *sig == 'A' ? 'B' : 'A';
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "register header"));
	ck_assert_uint_eq(s.n, 0);
	fixture_clear(&fx);
}
END_TEST

START_TEST(tampered_statement_line_fails_the_body_hash)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	size_t off;

	fixture_init(&fx);
	off = line_at(&fx.d, 3) + 10;
	fx.d.buf[off] ^= 0x01;
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "statements_sha256"));
	seen_clear(&s);
	fixture_clear(&fx);
}
END_TEST

START_TEST(missing_statement_line_is_a_truncated_register)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];

	fixture_init(&fx);
	/* Drop the last line entirely. */
	ck_assert_int_eq(read_doc(fx.d.buf, line_at(&fx.d, 4), fx.c, NOW, &s,
	    &h, sha, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "declares 3 statements, the file "
	    "holds 2"));
	seen_clear(&s);
	fixture_clear(&fx);
}
END_TEST

START_TEST(file_cut_inside_a_line_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];

	fixture_init(&fx);
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len - 5, fx.c, NOW, &s, &h,
	    sha, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	seen_clear(&s);
	/* Cut inside the header. */
	ck_assert_int_eq(read_doc(fx.d.buf, 40, fx.c, NOW, &s, &h, sha, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	ck_assert_uint_eq(s.n, 0);
	fixture_clear(&fx);
}
END_TEST

START_TEST(empty_file_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	unsigned char sha[32];
	FILE *f = tmpfile();

	fixture_init(&fx);
	ck_assert_int_eq(nhi_register_read(f, fx.c, NOW, each, NULL, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
	fclose(f);
	fixture_clear(&fx);
}
END_TEST

START_TEST(extra_line_after_the_declared_statements_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	char *buf;
	size_t len;

	fixture_init(&fx);
	len = fx.d.len + strlen(fx.st[0]) + 1;
	buf = malloc(len);
	memcpy(buf, fx.d.buf, fx.d.len);
	memcpy(buf + fx.d.len, fx.st[0], strlen(fx.st[0]));
	buf[len - 1] = '\n';
	ck_assert_int_eq(read_doc(buf, len, fx.c, NOW, &s, &h, sha, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "more statements"));
	seen_clear(&s);
	/* Even a lone newline after the last statement is extra. */
	buf[fx.d.len] = '\n';
	ck_assert_int_eq(read_doc(buf, fx.d.len + 1, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "more statements"));
	free(buf);
	seen_clear(&s);
	fixture_clear(&fx);
}
END_TEST

/* A header line made by hand, to say what publish never would. */
static char *
header_doc(const struct nhi_seckey *k, const char *type, const char *json,
    const char *body, size_t *ret_len)
{
	char *env = nhi_dsse_sign(k, type, json, strlen(json)), *doc;

	ck_assert_ptr_nonnull(env);
	ck_assert_int_gt(asprintf(&doc, "%s\n%s", env, body), 0);
	free(env);
	*ret_len = strlen(doc);
	return doc;
}

static char *
header_json_for(const char *body, int count, const char *extra)
{
	unsigned char sha[32];
	char hex[65], *json;

	crypto_hash_sha256(sha, (const unsigned char *)body, strlen(body));
	nhi_hex(sha, 32, hex);
	ck_assert_int_gt(asprintf(&json, "{\"version\":3,\"issued_at\":%d,"
	    "\"expires_at\":%d,\"deny\":[],\"statements\":%d,"
	    "\"statements_sha256\":\"%s\"%s}", NOW - 10, NOW + 100, count,
	    hex, extra), 0);
	return json;
}

START_TEST(count_that_disagrees_with_the_lines_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	char *body, *json, *doc;
	size_t len;

	fixture_init(&fx);
	ck_assert_int_gt(asprintf(&body, "%s\n%s\n", fx.st[0], fx.st[1]), 0);
	/* The hash covers both lines, but the header claims one. */
	json = header_json_for(body, 1, "");
	doc = header_doc(fx.k, NHI_PT_REGISTER, json, body, &len);
	ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "more statements"));
	seen_clear(&s);
	free(json);
	free(doc);
	/* And claiming three where two are. */
	json = header_json_for(body, 3, "");
	doc = header_doc(fx.k, NHI_PT_REGISTER, json, body, &len);
	ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	seen_clear(&s);
	free(json);
	free(doc);
	/* The honest header is accepted, which proves the two above. */
	json = header_json_for(body, 2, "");
	doc = header_doc(fx.k, NHI_PT_REGISTER, json, body, &len);
	ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha, &e), 0);
	ck_assert_uint_eq(s.n, 2);
	nhi_register_header_clear(&h);
	seen_clear(&s);
	free(json);
	free(doc);
	free(body);
	fixture_clear(&fx);
}
END_TEST

START_TEST(malformed_header_payloads_are_rejected)
{
	static const struct {
		const char *extra;
		const char *want;
	} cases[] = {
		{ ",\"surprise\":1", "surprise" },
		{ ",\"version\":4", "duplicate" },
	};
	static const char *const whole[][2] = {
		{ "{\"version\":0,\"issued_at\":1,\"expires_at\":2,\"deny\":[],"
		  "\"statements\":0,\"statements_sha256\":\"e3b0c44298fc1c149a"
		  "fbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}",
		  "version" },
		{ "{\"version\":1,\"issued_at\":5,\"expires_at\":5,\"deny\":[],"
		  "\"statements\":0,\"statements_sha256\":\"e3b0c44298fc1c149a"
		  "fbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}",
		  "expires_at" },
		{ "{\"version\":1,\"issued_at\":1,\"expires_at\":5,\"deny\":[],"
		  "\"statements\":0,\"statements_sha256\":\"E3B0C44298FC1C149A"
		  "FBF4C8996FB92427AE41E4649B934CA495991B7852B855\"}",
		  "statements_sha256" },
		{ "{\"version\":1,\"issued_at\":1,\"expires_at\":5,"
		  "\"statements\":0,\"statements_sha256\":\"e3b0c44298fc1c149a"
		  "fbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}",
		  "deny" },
		{ "{\"version\":1,\"issued_at\":1,\"expires_at\":5,\"deny\":[{"
		  "\"kind\":\"owner\",\"value\":\"a b\"}],\"statements\":0,"
		  "\"statements_sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427a"
		  "e41e4649b934ca495991b7852b855\"}",
		  "deny[0]" },
		{ "{\"version\":1,\"issued_at\":1,\"expires_at\":5,\"deny\":[{"
		  "\"kind\":\"host\",\"value\":\"x\"}],\"statements\":0,"
		  "\"statements_sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427a"
		  "e41e4649b934ca495991b7852b855\"}",
		  "kind" },
		{ "{\"version\":\"1\",\"issued_at\":1,\"expires_at\":5,"
		  "\"deny\":[],\"statements\":0,\"statements_sha256\":\""
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		  "7852b855\"}",
		  "version" },
		/* Times past the year 9999: the skew added would overflow. */
		{ "{\"version\":1,\"issued_at\":1,\"expires_at\":"
		  "9223372036854775807,\"deny\":[],\"statements\":0,"
		  "\"statements_sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427a"
		  "e41e4649b934ca495991b7852b855\"}",
		  "expires_at" },
		{ "{\"version\":1,\"issued_at\":253402300800,\"expires_at\":"
		  "253402300801,\"deny\":[],\"statements\":0,"
		  "\"statements_sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427a"
		  "e41e4649b934ca495991b7852b855\"}",
		  "issued_at" },
	};
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	char *json, *doc;
	size_t i, len;

	fixture_init(&fx);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json = header_json_for("", 0, cases[i].extra);
		doc = header_doc(fx.k, NHI_PT_REGISTER, json, "", &len);
		ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha,
		    &e), -1);
		ck_assert_msg(strstr(e.msg, cases[i].want) != NULL,
		    "case %zu: %s", i, e.msg);
		free(json);
		free(doc);
	}
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		doc = header_doc(fx.k, NHI_PT_REGISTER, whole[i][0], "", &len);
		ck_assert_int_eq(read_doc(doc, len, fx.c, 3, &s, &h, sha, &e),
		    -1);
		ck_assert_msg(strstr(e.msg, whole[i][1]) != NULL,
		    "whole case %zu: %s", i, e.msg);
		free(doc);
	}
	/* A well-formed header of another payload type. */
	json = header_json_for("", 0, "");
	doc = header_doc(fx.k, NHI_PT_BINDING, json, "", &len);
	ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha, &e), -1);
	free(doc);
	doc = header_doc(fx.k, NHI_PT_REGISTER, json, "", &len);
	ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha, &e), 0);
	nhi_register_header_clear(&h);
	free(doc);
	free(json);
	fixture_clear(&fx);
}
END_TEST

START_TEST(statement_line_over_the_limit_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	char *body, *json, *doc;
	size_t len;

	fixture_init(&fx);
	body = malloc(NHI_MAX_STATEMENT + 3);
	memset(body, 'x', NHI_MAX_STATEMENT + 1);
	body[NHI_MAX_STATEMENT + 1] = '\n';
	body[NHI_MAX_STATEMENT + 2] = '\0';
	json = header_json_for(body, 1, "");
	doc = header_doc(fx.k, NHI_PT_REGISTER, json, body, &len);
	ck_assert_int_eq(read_doc(doc, len, fx.c, NOW, &s, &h, sha, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer than"));
	ck_assert_uint_eq(s.n, 0);
	free(json);
	free(doc);
	free(body);
	fixture_clear(&fx);
}
END_TEST

START_TEST(callback_error_stops_the_read)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { .fail_at = 2 };
	unsigned char sha[32];

	fixture_init(&fx);
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_str_eq(e.msg, "stopped by the callback");
	ck_assert_uint_eq(s.n, 2);
	seen_clear(&s);
	fixture_clear(&fx);
}
END_TEST

/* Register keys. */

START_TEST(header_signed_by_an_unpinned_key_is_rejected)
{
	struct fixture fx;
	struct nhi_seckey *other = key_new("other");
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	struct doc d;

	fixture_init(&fx);
	ck_assert_int_eq(publish(other, 7, fx.st, 3, NULL, 0, &d, &e), 0);
	ck_assert_int_eq(read_doc(d.buf, d.len, fx.c, NOW, &s, &h, sha, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a pinned"));
	ck_assert_ptr_nonnull(strstr(e.msg, other->keyid));
	free(d.buf);
	nhi_seckey_free(other);
	fixture_clear(&fx);
}
END_TEST

START_TEST(no_pinned_key_at_all_is_an_error)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];

	fixture_init(&fx);
	fx.c->n_register_keys = 0;
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "no register_key"));
	fixture_clear(&fx);
}
END_TEST

START_TEST(register_key_outside_its_window_is_rejected)
{
	struct fixture fx;
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];

	fixture_init(&fx);
	/* Retired an hour ago. */
	fx.c->register_keys[0].not_after = NOW - 3600;
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not valid at"));
	/* Not yet in force. */
	fx.c->register_keys[0].not_after = 0;
	fx.c->register_keys[0].not_before = NOW + 3600;
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not valid at"));
	/*
	 * A window that ends at the last representable time (the config
	 * refuses it; the comparison must not overflow all the same).
	 */
	fx.c->register_keys[0].not_before = 0;
	fx.c->register_keys[0].not_after = INT64_MAX;
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), 0);
	nhi_register_header_clear(&h);
	seen_clear(&s);
	/* Inside the window, and within the skew of its start. */
	fx.c->register_keys[0].not_before = NOW + SKEW - 1;
	fx.c->register_keys[0].not_after = NOW + 3600;
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), 0);
	nhi_register_header_clear(&h);
	seen_clear(&s);
	fixture_clear(&fx);
}
END_TEST

START_TEST(rotation_accepts_the_new_key_while_the_old_is_pinned)
{
	struct fixture fx;
	struct nhi_seckey *next = key_new("next");
	struct nhi_register_header h;
	struct nhi_err e;
	struct seen s = { 0 };
	unsigned char sha[32];
	struct doc d;

	fixture_init(&fx);
	conf_pin(fx.c, next, NOW - 10, 0);
	ck_assert_int_eq(publish(next, 8, fx.st, 3, NULL, 0, &d, &e), 0);
	ck_assert_int_eq(read_doc(d.buf, d.len, fx.c, NOW, &s, &h, sha, &e),
	    0);
	ck_assert_str_eq(h.keyid, next->keyid);
	nhi_register_header_clear(&h);
	seen_clear(&s);
	ck_assert_int_eq(read_doc(fx.d.buf, fx.d.len, fx.c, NOW, &s, &h, sha,
	    &e), 0);
	ck_assert_str_eq(h.keyid, fx.k->keyid);
	nhi_register_header_clear(&h);
	seen_clear(&s);
	free(d.buf);
	nhi_seckey_free(next);
	fixture_clear(&fx);
}
END_TEST

/* Deny entries as nhictl publish takes them. */

START_TEST(deny_entries_parse_by_kind)
{
	static const char fp[] =
	    "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
	static const struct {
		const char *in;
		int kind;	/* 0: refused */
		const char *value;
	} cases[] = {
		{ "b-1234", NHI_DENY_BINDING, "b-1234" },
		{ "binding:b-9", NHI_DENY_BINDING, "b-9" },
		{ "owner:alice", NHI_DENY_OWNER, "alice" },
		{ "key:SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
		  NHI_DENY_KEY, fp },
		{ "key:SHA256:short", 0, NULL },
		{ "key:md5:aa", 0, NULL },
		{ "host:web1", 0, NULL },
		{ "owner:", 0, NULL },
		{ "owner:a b", 0, NULL },
		{ "", 0, NULL },
	};
	struct nhi_deny d;
	struct nhi_err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = nhi_deny_parse(cases[i].in, &d, &e);

		if (cases[i].kind == 0) {
			ck_assert_msg(r == -1, "%s accepted", cases[i].in);
			continue;
		}
		ck_assert_msg(r == 0, "%s: %s", cases[i].in, e.msg);
		ck_assert_int_eq(d.kind, cases[i].kind);
		ck_assert_str_eq(d.value, cases[i].value);
		nhi_deny_clear(&d);
	}
	ck_assert_str_eq(nhi_deny_kind_name(NHI_DENY_KEY), "key");
}
END_TEST

/* State file. */

START_TEST(state_round_trips_and_missing_state_is_empty)
{
	char *dir = tu_tmpdir();
	struct nhi_state s, t;
	struct nhi_err e;
	struct stat st;
	char *path;

	ck_assert_int_eq(nhi_state_load(dir, &s, &e), 0);
	ck_assert_int_eq(s.version, 0);
	ck_assert_str_eq(s.sha256, "");

	memset(&s, 0, sizeof(s));
	s.version = 42;
	memset(s.sha256, 'a', 64);
	s.issued_at = 100;
	s.expires_at = 200;
	s.last_success = 150;
	s.last_attempt = 160;
	strcpy(s.last_error, "line one\nline two");
	strcpy(s.source, "file:///srv/register.json");
	s.n_bindings = 3;
	s.n_accounts = 2;
	s.n_deny = 1;
	s.n_rejected = 4;
	ck_assert_int_eq(nhi_state_save(dir, &s, &e), 0);
	ck_assert_int_eq(nhi_state_load(dir, &t, &e), 0);
	ck_assert_int_eq(t.version, 42);
	ck_assert_str_eq(t.sha256, s.sha256);
	ck_assert_int_eq(t.issued_at, 100);
	ck_assert_int_eq(t.expires_at, 200);
	ck_assert_int_eq(t.last_success, 150);
	ck_assert_int_eq(t.last_attempt, 160);
	/* A newline in a message cannot break the line format. */
	ck_assert_str_eq(t.last_error, "line one?line two");
	ck_assert_str_eq(t.source, s.source);
	ck_assert_uint_eq(t.n_bindings, 3);
	ck_assert_uint_eq(t.n_accounts, 2);
	ck_assert_uint_eq(t.n_deny, 1);
	ck_assert_uint_eq(t.n_rejected, 4);
	ck_assert_int_gt(asprintf(&path, "%s/state", dir), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	free(path);
	tu_rmtree(dir);
}
END_TEST

static void
write_state(const char *dir, const char *text)
{
	char *path;
	FILE *f;

	ck_assert_int_gt(asprintf(&path, "%s/state", dir), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

START_TEST(malformed_state_files_are_rejected)
{
#define GOOD_TAIL "issued_at=1\nexpires_at=2\nlast_success=0\n" \
	"last_attempt=0\nlast_error=\nsource=\nbindings=0\naccounts=0\n" \
	"deny=0\nrejected=0\n"
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "format=1\nversion=0\nsha256=\n" GOOD_TAIL, NULL },
		{ "format=2\nversion=0\nsha256=\n" GOOD_TAIL, "format" },
		{ "version=0\nsha256=\n" GOOD_TAIL, "format" },
		{ "format=1\nversion=0\nsha256=\ncolour=red\n" GOOD_TAIL,
		  "unknown key" },
		{ "format=1\nversion=0\nversion=0\nsha256=\n" GOOD_TAIL,
		  "repeated" },
		{ "format=1\nversion=-1\nsha256=\n" GOOD_TAIL, "version" },
		{ "format=1\nversion=x\nsha256=\n" GOOD_TAIL, "version" },
		{ "format=1\nversion=3\nsha256=abc\n" GOOD_TAIL, "sha256" },
		{ "format=1\nversion=3\nsha256=\n" GOOD_TAIL, "disagree" },
		{ "format=1\nsha256=\n" GOOD_TAIL, "version: missing" },
		{ "format=1\nversion=0\nsha256=\n" GOOD_TAIL "junk",
		  "newline" },
		{ "format=1\nversion=0\nsha256\n" GOOD_TAIL, "key=value" },
		{ "format=1\nversion=0\nsha256=\nissued_at=253402300800\n"
		  "expires_at=2\nlast_success=0\nlast_attempt=0\n"
		  "last_error=\nsource=\nbindings=0\naccounts=0\ndeny=0\n"
		  "rejected=0\n", "issued_at" },
		{ "", "empty" },
	};
	char *dir = tu_tmpdir();
	struct nhi_state s;
	struct nhi_err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_state(dir, cases[i].text);
		if (cases[i].want == NULL) {
			ck_assert_msg(nhi_state_load(dir, &s, &e) == 0,
			    "case %zu: %s", i, e.msg);
			continue;
		}
		ck_assert_msg(nhi_state_load(dir, &s, &e) == -1,
		    "case %zu accepted", i);
		ck_assert_msg(strstr(e.msg, cases[i].want) != NULL,
		    "case %zu: %s", i, e.msg);
	}
	tu_rmtree(dir);
#undef GOOD_TAIL
}
END_TEST

/* The ratchet. */

static void
ratchet_fixture(struct nhi_state *s, struct nhi_register_header *h,
    unsigned char sha[32])
{
	memset(s, 0, sizeof(*s));
	memset(h, 0, sizeof(*h));
	memset(sha, 0x11, 32);
	s->version = 5;
	nhi_hex(sha, 32, s->sha256);
	s->issued_at = NOW - 1000;
	s->expires_at = NOW + 1000;
	h->version = 6;
	h->issued_at = NOW - 10;
	h->expires_at = NOW + 3600;
}

START_TEST(ratchet_accepts_a_newer_version_and_a_first_register)
{
	struct nhi_register_header h;
	struct nhi_state s, empty;
	unsigned char sha[32];
	struct nhi_err e;
	bool unchanged = true;

	ratchet_fixture(&s, &h, sha);
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), 0);
	ck_assert(!unchanged);
	memset(&empty, 0, sizeof(empty));
	h.version = 1;
	unchanged = true;
	ck_assert_int_eq(nhi_ratchet_check(&empty, &h, sha, NOW, SKEW,
	    &unchanged, &e), 0);
	ck_assert(!unchanged);
}
END_TEST

START_TEST(ratchet_refuses_a_rollback)
{
	struct nhi_register_header h;
	struct nhi_state s;
	unsigned char sha[32];
	struct nhi_err e;
	bool unchanged;

	ratchet_fixture(&s, &h, sha);
	h.version = 4;
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "rollback"));
	ck_assert_int_eq(nhi_ratchet_precheck(&s, &h, NOW, SKEW, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "rollback"));
}
END_TEST

START_TEST(ratchet_same_version_same_hash_is_unchanged)
{
	struct nhi_register_header h;
	struct nhi_state s;
	unsigned char sha[32];
	struct nhi_err e;
	bool unchanged = false;

	ratchet_fixture(&s, &h, sha);
	h.version = 5;
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), 0);
	ck_assert(unchanged);
}
END_TEST

START_TEST(ratchet_same_version_different_hash_is_an_alarm)
{
	struct nhi_register_header h;
	struct nhi_state s;
	unsigned char sha[32];
	struct nhi_err e;
	bool unchanged = false;

	ratchet_fixture(&s, &h, sha);
	h.version = 5;
	sha[31] ^= 1;
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "same version with a different "
	    "hash"));
	ck_assert(!unchanged);
}
END_TEST

START_TEST(ratchet_freezes_an_expired_register_at_the_skew_boundary)
{
	struct nhi_register_header h;
	struct nhi_state s;
	unsigned char sha[32];
	struct nhi_err e;
	bool unchanged;

	ratchet_fixture(&s, &h, sha);
	h.expires_at = NOW - SKEW + 1;	/* inside the allowance */
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), 0);
	h.expires_at = NOW - SKEW;	/* exactly at its end */
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "expired"));
	/* An unchanged register that has expired is frozen too. */
	h.version = 5;
	memset(sha, 0x11, 32);
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "expired"));
}
END_TEST

START_TEST(ratchet_clock_behind_the_last_issue_time_is_a_fault)
{
	struct nhi_register_header h;
	struct nhi_state s;
	unsigned char sha[32];
	struct nhi_err e;
	bool unchanged;

	ratchet_fixture(&s, &h, sha);
	s.issued_at = NOW + SKEW + 1;
	h.issued_at = NOW - 10;
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "clock behind"));
	ck_assert_ptr_nonnull(strstr(e.msg, "last accepted"));
	/* Within the skew it is tolerated. */
	s.issued_at = NOW + SKEW;
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), 0);
	/* A register issued ahead of the clock says the same. */
	ratchet_fixture(&s, &h, sha);
	h.issued_at = NOW + SKEW + 1;
	ck_assert_int_eq(nhi_ratchet_check(&s, &h, sha, NOW, SKEW, &unchanged,
	    &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "clock behind"));
}
END_TEST

static Suite *
register_suite(void)
{
	Suite *s = suite_create("register");
	TCase *t;

	t = tcase_create("publish_read");
	tcase_add_test(t, publish_then_read_gives_back_every_line_and_field);
	tcase_add_test(t, register_without_statements_round_trips);
	tcase_add_test(t, streaming_publish_writes_the_same_bytes);
	tcase_add_test(t, large_register_digests_cover_every_chunk);
	tcase_add_test(t, publish_refuses_statements_that_are_not_envelopes);
	tcase_add_test(t, publish_refuses_bad_version_window_and_deny);
	tcase_add_test(t, callback_error_stops_the_read);
	suite_add_tcase(s, t);

	t = tcase_create("damage");
	tcase_add_test(t, tampered_header_is_rejected);
	tcase_add_test(t, tampered_statement_line_fails_the_body_hash);
	tcase_add_test(t, missing_statement_line_is_a_truncated_register);
	tcase_add_test(t, file_cut_inside_a_line_is_rejected);
	tcase_add_test(t, empty_file_is_rejected);
	tcase_add_test(t, extra_line_after_the_declared_statements_is_rejected);
	tcase_add_test(t, count_that_disagrees_with_the_lines_is_rejected);
	tcase_add_test(t, malformed_header_payloads_are_rejected);
	tcase_add_test(t, statement_line_over_the_limit_is_rejected);
	suite_add_tcase(s, t);

	t = tcase_create("keys");
	tcase_add_test(t, header_signed_by_an_unpinned_key_is_rejected);
	tcase_add_test(t, no_pinned_key_at_all_is_an_error);
	tcase_add_test(t, register_key_outside_its_window_is_rejected);
	tcase_add_test(t, rotation_accepts_the_new_key_while_the_old_is_pinned);
	tcase_add_test(t, deny_entries_parse_by_kind);
	suite_add_tcase(s, t);

	t = tcase_create("state");
	tcase_add_test(t, state_round_trips_and_missing_state_is_empty);
	tcase_add_test(t, malformed_state_files_are_rejected);
	suite_add_tcase(s, t);

	t = tcase_create("ratchet");
	tcase_add_test(t, ratchet_accepts_a_newer_version_and_a_first_register);
	tcase_add_test(t, ratchet_refuses_a_rollback);
	tcase_add_test(t, ratchet_same_version_same_hash_is_unchanged);
	tcase_add_test(t, ratchet_same_version_different_hash_is_an_alarm);
	tcase_add_test(t,
	    ratchet_freezes_an_expired_register_at_the_skew_boundary);
	tcase_add_test(t, ratchet_clock_behind_the_last_issue_time_is_a_fault);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(register_suite());
}
