/*
 * register.c: publishing and reading the signed register.
 *
 * The reader streams: it holds the header line (at most NHI_MAX_HEADER
 * bytes) and one statement line (at most NHI_MAX_STATEMENT bytes) at a
 * time, hashing as it goes, so a register of a million statements costs a
 * few buffers, not a copy of the file.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "dsse.h"
#include "jsonx.h"
#include "register.h"
#include "sha256.h"
#include "util.h"

#define CHUNK (64 * 1024)
/* A sanity bound on the declared count; the body hash does the real work. */
#define MAX_STATEMENTS ((int64_t)1 << 32)

static const char *const header_fields[] = { "version", "issued_at",
	"expires_at", "deny", "statements", "statements_sha256", NULL };
static const char *const deny_fields[] = { "kind", "value", NULL };

const char *
nhi_deny_kind_name(enum nhi_deny_kind k)
{
	switch (k) {
	case NHI_DENY_BINDING:
		return "binding";
	case NHI_DENY_OWNER:
		return "owner";
	case NHI_DENY_KEY:
		return "key";
	}
	return "unknown";
}

static bool
deny_value_valid(enum nhi_deny_kind k, const char *v)
{
	if (k == NHI_DENY_KEY)
		return nhi_valid_fingerprint(v);
	return nhi_valid_text(v);
}

static int
deny_kind_parse(const char *s, enum nhi_deny_kind *ret)
{
	if (strcmp(s, "binding") == 0)
		*ret = NHI_DENY_BINDING;
	else if (strcmp(s, "owner") == 0)
		*ret = NHI_DENY_OWNER;
	else if (strcmp(s, "key") == 0)
		*ret = NHI_DENY_KEY;
	else
		return -1;
	return 0;
}

int
nhi_deny_parse(const char *s, struct nhi_deny *ret, struct nhi_err *e)
{
	enum nhi_deny_kind k = NHI_DENY_BINDING;
	const char *colon, *v = s;
	char kind[16];
	char *copy;

	if (s == NULL || *s == '\0')
		return nhi_err_set(e, "deny: empty entry");
	colon = strchr(s, ':');
	if (colon != NULL) {
		if ((size_t)(colon - s) >= sizeof(kind))
			return nhi_err_set(e, "deny: unknown kind in \"%.64s\"",
			    s);
		memcpy(kind, s, (size_t)(colon - s));
		kind[colon - s] = '\0';
		if (deny_kind_parse(kind, &k) != 0)
			return nhi_err_set(e, "deny: unknown kind \"%s\" "
			    "(binding, owner or key)", kind);
		v = colon + 1;
	}
	if (!deny_value_valid(k, v))
		return nhi_err_set(e, "deny: invalid %s \"%.64s\"",
		    nhi_deny_kind_name(k), v);
	if ((copy = strdup(v)) == NULL)
		return nhi_err_set(e, "deny: out of memory");
	ret->kind = k;
	ret->value = copy;
	return 0;
}

void
nhi_deny_clear(struct nhi_deny *d)
{
	if (d == NULL)
		return;
	free(d->value);
	d->value = NULL;
}

void
nhi_register_header_clear(struct nhi_register_header *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n_deny; i++)
		nhi_deny_clear(&h->deny[i]);
	free(h->deny);
	memset(h, 0, sizeof(*h));
}

/* Publishing. */

static json_object *
header_json(int64_t version, int64_t issued_at, int64_t expires_at,
    const struct nhi_deny *deny, size_t n_deny, size_t n,
    const unsigned char sha[32])
{
	json_object *o, *arr, *d;
	char hex[65];
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((arr = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(o, "version", json_object_new_int64(version));
	json_object_object_add(o, "issued_at",
	    json_object_new_int64(issued_at));
	json_object_object_add(o, "expires_at",
	    json_object_new_int64(expires_at));
	json_object_object_add(o, "deny", arr);
	for (i = 0; i < n_deny; i++) {
		if ((d = json_object_new_object()) == NULL)
			goto fail;
		json_object_object_add(d, "kind", json_object_new_string(
		    nhi_deny_kind_name(deny[i].kind)));
		json_object_object_add(d, "value",
		    json_object_new_string(deny[i].value));
		if (json_object_array_add(arr, d) != 0) {
			json_object_put(d);
			goto fail;
		}
	}
	json_object_object_add(o, "statements",
	    json_object_new_int64((int64_t)n));
	nhi_hex(sha, 32, hex);
	json_object_object_add(o, "statements_sha256",
	    json_object_new_string(hex));
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* Every statement must be one line that decodes as an envelope. */
static int
statements_check(char *const *statements, size_t n, unsigned char ret[32],
    struct nhi_err *e)
{
	struct nhi_sha256 st;
	struct nhi_envelope *env = NULL;
	size_t i, len;
	int r = -1;

	if (nhi_sha256_init(&st, e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		len = strlen(statements[i]);
		if (memchr(statements[i], '\n', len) != NULL) {
			nhi_err_set(e, "statement %zu: contains a newline",
			    i + 1);
			goto out;
		}
		if (len > NHI_MAX_STATEMENT) {
			nhi_err_set(e, "statement %zu: longer than %d bytes",
			    i + 1, NHI_MAX_STATEMENT);
			goto out;
		}
		if (nhi_dsse_decode(statements[i], len, NHI_MAX_STATEMENT,
		    &env, e) != 0) {
			nhi_err_prefix(e, "statement %zu", i + 1);
			goto out;
		}
		nhi_envelope_free(env);
		nhi_sha256_update(&st, statements[i], len);
		nhi_sha256_update(&st, "\n", 1);
	}
	r = nhi_sha256_final(&st, ret, e);
out:
	nhi_sha256_clear(&st);
	return r;
}

static int
publish_args_check(int64_t version, int64_t issued_at, int64_t expires_at,
    const struct nhi_deny *deny, size_t n_deny, struct nhi_err *e)
{
	size_t i;

	if (version < 1)
		return nhi_err_set(e, "publish: version must be at least 1");
	if (issued_at < 0 || expires_at <= issued_at ||
	    expires_at > NHI_TIME_MAX)
		return nhi_err_set(e, "publish: expires_at must be later "
		    "than issued_at");
	for (i = 0; i < n_deny; i++) {
		if (!deny_value_valid(deny[i].kind, deny[i].value))
			return nhi_err_set(e, "publish: deny entry %zu is "
			    "not a valid %s", i + 1,
			    nhi_deny_kind_name(deny[i].kind));
	}
	return 0;
}

/* Signs the header and writes it as the first line of out. */
static int
header_write(const struct nhi_seckey *k, int64_t version, int64_t issued_at,
    int64_t expires_at, const struct nhi_deny *deny, size_t n_deny, size_t n,
    const unsigned char sha[32], FILE *out, struct nhi_err *e)
{
	json_object *o;
	const char *payload;
	char *env = NULL;
	int r = -1;

	o = header_json(version, issued_at, expires_at, deny, n_deny, n, sha);
	if (o == NULL)
		return nhi_err_set(e, "publish: out of memory");
	payload = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (payload == NULL ||
	    (env = nhi_dsse_sign(k, NHI_PT_REGISTER, payload,
	    strlen(payload))) == NULL)
		nhi_err_set(e, "publish: cannot sign the header");
	else if (fputs(env, out) == EOF || fputc('\n', out) == EOF)
		nhi_err_set(e, "publish: write error: %s", strerror(errno));
	else
		r = 0;
	free(env);
	json_object_put(o);
	return r;
}

int
nhi_register_publish(const struct nhi_seckey *k, int64_t version,
    int64_t issued_at, int64_t expires_at, const struct nhi_deny *deny,
    size_t n_deny, char *const *statements, size_t n, FILE *out,
    struct nhi_err *e)
{
	unsigned char sha[32];
	size_t i;

	if (k == NULL || out == NULL || (n > 0 && statements == NULL))
		return nhi_err_set(e, "publish: missing key or output");
	if (publish_args_check(version, issued_at, expires_at, deny, n_deny,
	    e) != 0 || statements_check(statements, n, sha, e) != 0)
		return -1;
	if (header_write(k, version, issued_at, expires_at, deny, n_deny, n,
	    sha, out, e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (fputs(statements[i], out) == EOF ||
		    fputc('\n', out) == EOF)
			return nhi_err_set(e, "publish: write error: %s",
			    strerror(errno));
	}
	if (fflush(out) != 0)
		return nhi_err_set(e, "publish: write error: %s",
		    strerror(errno));
	return 0;
}

/*
 * One pass over a file of statement lines: each is checked to decode as
 * an envelope, and the lines are counted and hashed as the register body.
 * Lines are read with getline, so only one is held at a time.
 */
static int
stream_check(FILE *in, size_t *ret_n, unsigned char ret_sha[32],
    struct nhi_err *e)
{
	struct nhi_sha256 st;
	struct nhi_envelope *env;
	char *line = NULL;
	size_t cap = 0, n = 0, len;
	ssize_t got;
	int r = -1;

	if (nhi_sha256_init(&st, e) != 0)
		return -1;
	while ((got = getline(&line, &cap, in)) > 0) {
		n++;
		len = (size_t)got;
		if (line[len - 1] != '\n') {
			nhi_err_set(e, "statement %zu: no newline at the end",
			    n);
			goto out;
		}
		if (len - 1 > NHI_MAX_STATEMENT) {
			nhi_err_set(e, "statement %zu: longer than %d bytes", n,
			    NHI_MAX_STATEMENT);
			goto out;
		}
		if (nhi_dsse_decode(line, len - 1, NHI_MAX_STATEMENT, &env,
		    e) != 0) {
			nhi_err_prefix(e, "statement %zu", n);
			goto out;
		}
		nhi_envelope_free(env);
		nhi_sha256_update(&st, line, len);
	}
	if (ferror(in)) {
		nhi_err_set(e, "publish: read error: %s", strerror(errno));
		goto out;
	}
	if (nhi_sha256_final(&st, ret_sha, e) != 0)
		goto out;
	*ret_n = n;
	r = 0;
out:
	nhi_sha256_clear(&st);
	free(line);
	return r;
}

int
nhi_register_publish_stream(const struct nhi_seckey *k, int64_t version,
    int64_t issued_at, int64_t expires_at, const struct nhi_deny *deny,
    size_t n_deny, FILE *statements, FILE *out, struct nhi_err *e)
{
	unsigned char sha[32], *buf;
	size_t n, got;
	int r = -1;

	if (k == NULL || out == NULL || statements == NULL)
		return nhi_err_set(e, "publish: missing key, input or output");
	if (publish_args_check(version, issued_at, expires_at, deny, n_deny,
	    e) != 0 || stream_check(statements, &n, sha, e) != 0)
		return -1;
	if (fseeko(statements, 0, SEEK_SET) != 0)
		return nhi_err_set(e, "publish: the statements cannot be read "
		    "twice: %s", strerror(errno));
	if (header_write(k, version, issued_at, expires_at, deny, n_deny, n,
	    sha, out, e) != 0)
		return -1;
	if ((buf = malloc(CHUNK)) == NULL)
		return nhi_err_set(e, "publish: out of memory");
	/* The second pass copies bytes already checked in the first. */
	while ((got = fread(buf, 1, CHUNK, statements)) > 0) {
		if (fwrite(buf, 1, got, out) != got)
			break;
	}
	if (ferror(statements))
		nhi_err_set(e, "publish: read error: %s", strerror(errno));
	else if (ferror(out) || fflush(out) != 0)
		nhi_err_set(e, "publish: write error: %s", strerror(errno));
	else
		r = 0;
	free(buf);
	return r;
}

/* Reading. */

/*
 * One allocation holds the reader and its chunk. With the chunk
 * allocated apart, clang's analyzer lost track of it once a pointer into
 * it went to libsodium beside &r->file, and reported it leaked.
 */
struct reader {
	FILE *in;
	size_t pos, end;
	char *line;		/* the current line, NUL-terminated */
	size_t len, cap;
	size_t lineno;
	bool in_body;		/* past the first newline */
	struct nhi_sha256 file, body;
	unsigned char chunk[CHUNK];
};

static void
reader_free(struct reader *r)
{
	if (r == NULL)
		return;
	nhi_sha256_clear(&r->file);
	nhi_sha256_clear(&r->body);
	free(r->line);
	free(r);
}

static int
reader_fill(struct reader *r, struct nhi_err *e)
{
	size_t n;

	n = fread(r->chunk, 1, CHUNK, r->in);
	if (n == 0 && ferror(r->in))
		return nhi_err_set(e, "register: read error: %s",
		    strerror(errno));
	r->pos = 0;
	r->end = n;
	return 0;
}

static int
reader_append(struct reader *r, const unsigned char *p, size_t n,
    size_t max, struct nhi_err *e)
{
	size_t want;
	char *nl;

	if (n > max - r->len)
		return nhi_err_set(e, "register line %zu: longer than %zu "
		    "bytes", r->lineno, max);
	want = r->len + n + 1;
	if (want > r->cap) {
		size_t cap = r->cap == 0 ? 4096 : r->cap;

		while (cap < want)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if ((nl = realloc(r->line, cap)) == NULL)
			return nhi_err_set(e, "register: out of memory");
		r->line = nl;
		r->cap = cap;
	}
	memcpy(r->line + r->len, p, n);
	r->len += n;
	r->line[r->len] = '\0';
	return 0;
}

/*
 * Reads the next line (without its newline) into r->line. Returns 1 for a
 * line, 0 at the end of the file with nothing left, -1 on error: a line
 * longer than max, or bytes after the last newline (a truncated file).
 */
static int
reader_next(struct reader *r, size_t max, struct nhi_err *e)
{
	const unsigned char *start, *nl;
	size_t n;
	bool any = false;

	r->len = 0;
	r->lineno++;
	for (;;) {
		if (r->pos == r->end) {
			if (reader_fill(r, e) != 0)
				return -1;
			if (r->end == 0)
				break;
		}
		start = r->chunk + r->pos;
		nl = memchr(start, '\n', r->end - r->pos);
		n = nl != NULL ? (size_t)(nl - start) + 1 : r->end - r->pos;
		any = true;
		nhi_sha256_update(&r->file, start, n);
		if (r->in_body)
			nhi_sha256_update(&r->body, start, n);
		if (reader_append(r, start, nl != NULL ? n - 1 : n, max,
		    e) != 0)
			return -1;
		r->pos += n;
		if (nl != NULL)
			return 1;
	}
	if (any)
		return nhi_err_set(e, "register line %zu: no newline at the "
		    "end (truncated file)", r->lineno);
	return 0;
}

bool
nhi_pubkey_valid_at(const struct nhi_pubkey *k, int64_t now, int64_t skew)
{
	if (k->not_before != 0 && now < k->not_before - skew)
		return false;
	if (k->not_after != 0 && now - skew >= k->not_after)
		return false;
	return true;
}

/* Finds a pinned register key that signed env and is valid at now. */
static int
header_verify(const struct nhi_envelope *env, const struct nhi_conf *c,
    int64_t now, struct nhi_err *e)
{
	bool pinned = false;
	char tbuf[32];
	size_t i;

	if (c->n_register_keys == 0)
		return nhi_err_set(e, "register header: no register_key is "
		    "configured");
	for (i = 0; i < c->n_register_keys; i++) {
		const struct nhi_pubkey *k = &c->register_keys[i];

		if (strcmp(k->keyid, env->keyid) != 0)
			continue;
		pinned = true;
		if (!nhi_pubkey_valid_at(k, now, c->clock_skew))
			continue;
		if (nhi_dsse_verify(env, k->pk, NHI_PT_REGISTER, e) == 0)
			return 0;
		nhi_err_prefix(e, "register header");
		return -1;
	}
	if (!pinned)
		return nhi_err_set(e, "register header: signed by key %s, "
		    "which is not a pinned register_key", env->keyid);
	return nhi_err_set(e, "register header: register_key %s is not "
	    "valid at %s", env->keyid, nhi_format_time(now, tbuf,
	    sizeof(tbuf)));
}

static int
header_deny_parse(json_object *o, struct nhi_register_header *h,
    struct nhi_err *e)
{
	json_object *arr, *el;
	char *kind = NULL;
	size_t i, n;
	int r = -1;

	if (!json_object_object_get_ex(o, "deny", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return nhi_err_set(e, "deny: missing or not an array");
	n = json_object_array_length(arr);
	if (n > 0 && (h->deny = calloc(n, sizeof(*h->deny))) == NULL)
		return nhi_err_set(e, "deny: out of memory");
	for (i = 0; i < n; i++) {
		struct nhi_deny *d = &h->deny[i];

		el = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(el, json_type_object)) {
			nhi_err_set(e, "deny[%zu]: not an object", i);
			goto out;
		}
		if (nhi_json_only(el, deny_fields, e) != 0 ||
		    nhi_json_str(el, "kind", NULL, &kind, e) != 0)
			goto prefix;
		if (deny_kind_parse(kind, &d->kind) != 0) {
			nhi_err_set(e, "kind: unknown \"%.32s\"", kind);
			goto prefix;
		}
		free(kind);
		kind = NULL;
		if (nhi_json_str(el, "value", NULL, &d->value, e) != 0)
			goto prefix;
		h->n_deny = i + 1;
		if (!deny_value_valid(d->kind, d->value)) {
			nhi_err_set(e, "value: not a valid %s",
			    nhi_deny_kind_name(d->kind));
			goto prefix;
		}
	}
	r = 0;
	goto out;
prefix:
	nhi_err_prefix(e, "deny[%zu]", i);
out:
	free(kind);
	return r;
}

static int
header_parse(const char *json, size_t len, struct nhi_register_header *h,
    struct nhi_err *e)
{
	json_object *o = NULL;
	char *hex = NULL;
	int64_t n;
	size_t binlen;
	int r = -1;

	if (nhi_json_parse(json, len, NHI_MAX_HEADER, &o, e) != 0)
		goto out;
	if (nhi_json_only(o, header_fields, e) != 0 ||
	    nhi_json_int(o, "version", 1, INT64_MAX, &h->version, e) != 0 ||
	    nhi_json_int(o, "issued_at", 0, NHI_TIME_MAX, &h->issued_at,
	    e) != 0 ||
	    nhi_json_int(o, "expires_at", 0, NHI_TIME_MAX, &h->expires_at,
	    e) != 0 ||
	    nhi_json_int(o, "statements", 0, MAX_STATEMENTS, &n, e) != 0 ||
	    nhi_json_str(o, "statements_sha256", NULL, &hex, e) != 0 ||
	    header_deny_parse(o, h, e) != 0)
		goto out;
	if (h->expires_at <= h->issued_at) {
		nhi_err_set(e, "expires_at: not later than issued_at");
		goto out;
	}
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64 ||
	    sodium_hex2bin(h->body_sha256, sizeof(h->body_sha256), hex, 64,
	    NULL, &binlen, NULL) != 0 || binlen != 32) {
		nhi_err_set(e, "statements_sha256: not 64 lowercase hex "
		    "digits");
		goto out;
	}
	h->n_statements = (size_t)n;
	r = 0;
out:
	free(hex);
	json_object_put(o);
	return r;
}

int
nhi_register_read_ext(FILE *in, const struct nhi_conf *c, int64_t now,
    nhi_header_fn on_header, nhi_statement_fn each, void *ctx,
    struct nhi_register_header *ret, unsigned char ret_file_sha256[32],
    struct nhi_err *e)
{
	struct nhi_register_header h;
	struct nhi_envelope *env = NULL;
	unsigned char body[32], file[32];
	struct reader *rd = NULL;
	size_t i;
	int r = -1, got;

	memset(&h, 0, sizeof(h));
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		nhi_err_set(e, "register: out of memory");
		goto out;
	}
	rd->in = in;
	if (nhi_sha256_init(&rd->file, e) != 0 ||
	    nhi_sha256_init(&rd->body, e) != 0)
		goto out;

	if ((got = reader_next(rd, NHI_MAX_HEADER, e)) < 0)
		goto out;
	if (got == 0) {
		nhi_err_set(e, "register: empty file");
		goto out;
	}
	rd->in_body = true;
	if (nhi_dsse_decode(rd->line, rd->len, NHI_MAX_HEADER, &env, e) != 0) {
		nhi_err_prefix(e, "register header");
		goto out;
	}
	if (header_verify(env, c, now, e) != 0)
		goto out;
	if (header_parse((const char *)env->payload, env->payload_len, &h,
	    e) != 0) {
		nhi_err_prefix(e, "register header");
		goto out;
	}
	memcpy(h.keyid, env->keyid, sizeof(h.keyid));
	nhi_envelope_free(env);
	env = NULL;
	if (on_header != NULL && on_header(ctx, &h, e) != 0)
		goto out;

	for (i = 0; i < h.n_statements; i++) {
		if ((got = reader_next(rd, NHI_MAX_STATEMENT, e)) < 0)
			goto out;
		if (got == 0) {
			nhi_err_set(e, "register: truncated: the header "
			    "declares %zu statements, the file holds %zu",
			    h.n_statements, i);
			goto out;
		}
		if (each != NULL && each(ctx, rd->line, rd->len, e) != 0)
			goto out;
	}
	if ((got = reader_next(rd, NHI_MAX_STATEMENT, e)) != 0) {
		if (got > 0)
			nhi_err_set(e, "register line %zu: more statements "
			    "than the %zu the header declares", rd->lineno,
			    h.n_statements);
		else
			nhi_err_prefix(e, "register: after the last "
			    "statement");
		goto out;
	}
	if (nhi_sha256_final(&rd->body, body, e) != 0 ||
	    nhi_sha256_final(&rd->file, file, e) != 0)
		goto out;
	if (sodium_memcmp(body, h.body_sha256, sizeof(body)) != 0) {
		nhi_err_set(e, "register: the statements do not match the "
		    "header's statements_sha256");
		goto out;
	}

	*ret = h;
	memset(&h, 0, sizeof(h));
	if (ret_file_sha256 != NULL)
		memcpy(ret_file_sha256, file, sizeof(file));
	r = 0;
out:
	nhi_envelope_free(env);
	nhi_register_header_clear(&h);
	reader_free(rd);
	return r;
}

int
nhi_register_read(FILE *in, const struct nhi_conf *c, int64_t now,
    nhi_statement_fn each, void *ctx, struct nhi_register_header *ret,
    unsigned char ret_file_sha256[32], struct nhi_err *e)
{
	return nhi_register_read_ext(in, c, now, NULL, each, ctx, ret,
	    ret_file_sha256, e);
}
