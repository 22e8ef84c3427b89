/*
 * fuzz_authkeys.c: a binding as an authorized_keys line
 * (nhi_authkeys_line, what nhictl authorized-keys prints for sshd).
 *
 * The first byte of the input picks what the rest is:
 *   even: a binding payload (JSON), parsed as a verified envelope's would
 *         be; a binding that parses is formatted. Every ssh-key binding
 *         gets its line, except a certificate or one that ended by
 *         1970-01-01T00:00:01Z; every other kind is refused.
 *   odd:  the fields of a binding, straight from the bytes, so that the
 *         formatter's own checks are what stands between them and sshd:
 *         a flags byte (bits 0-1: 1 user, 2 checkout, else ssh-key;
 *         bit 2: cred_fp from the input, else the key's own), not_after
 *         as 8 bytes big-endian, then NUL-separated id, owner, key,
 *         cred_fp and sources.
 * A line that is made reads, the way sshd reads it, as exactly the
 * binding: one printable line ending in its only newline; the options
 * expiry-time="YYYYMMDDHHMMSSZ" naming not_after - 1 in UTC, then
 * from="..." holding exactly the sources when there are any, ending at
 * the first blank outside quotes; then the binding's key type and base64,
 * whose fingerprint is cred_fp and which is no certificate; then the
 * comment nhi:ID:OWNER.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "authkeys.h"
#include "fuzz.h"
#include "keys.h"
#include "statement.h"
#include "util.h"

#define CERT_SUFFIX "-cert-v01@openssh.com"

/* The key's first two blank-separated tokens, as sshd's key reader. */
static void
key_tokens(const char *key, const char **ret_type, size_t *ret_tlen,
    const char **ret_b64, size_t *ret_blen)
{
	const char *t = key + strspn(key, " \t");
	size_t tlen = strcspn(t, " \t");
	const char *b = t + tlen + strspn(t + tlen, " \t");

	*ret_type = t;
	*ret_tlen = tlen;
	*ret_b64 = b;
	*ret_blen = strcspn(b, " \t");
}

static bool
is_certificate(const char *key)
{
	const char *type, *b64;
	size_t tlen, blen, slen = strlen(CERT_SUFFIX);

	key_tokens(key, &type, &tlen, &b64, &blen);
	return tlen >= slen && memcmp(type + tlen - slen, CERT_SUFFIX,
	    slen) == 0;
}

/* Reads NAME="VALUE" at *pp (a value without quotes or backslashes). */
static size_t
read_option(const char **pp, const char *name, const char **ret_v)
{
	const char *p = *pp, *q;
	size_t n = strlen(name);

	FUZZ_ASSERT(strncmp(p, name, n) == 0 && p[n] == '=' &&
	    p[n + 1] == '"');
	p += n + 2;
	q = strchr(p, '"');
	FUZZ_ASSERT(q != NULL);
	*ret_v = p;
	*pp = q + 1;
	return (size_t)(q - p);
}

/* Where sshd ends the options: the first blank outside quotes. */
static const char *
options_end(const char *p)
{
	bool quoted = false;

	for (; *p != '\0' && (quoted || (*p != ' ' && *p != '\t')); p++)
		if (*p == '"')
			quoted = !quoted;
	FUZZ_ASSERT(!quoted);
	return p;
}

static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(s[i] >= '0' && s[i] <= '9');
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* YYYYMMDDHHMMSSZ, a real UTC time, the binding's last second. */
static void
check_expiry(const char *v, size_t n, int64_t not_after)
{
	struct tm tm, again;
	time_t t;

	FUZZ_ASSERT(n == 15 && v[14] == 'Z');
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(v, 4) - 1900;
	tm.tm_mon = digits(v + 4, 2) - 1;
	tm.tm_mday = digits(v + 6, 2);
	tm.tm_hour = digits(v + 8, 2);
	tm.tm_min = digits(v + 10, 2);
	tm.tm_sec = digits(v + 12, 2);
	again = tm;
	t = timegm(&again);
	/* timegm carries a field out of range over: none may be. */
	FUZZ_ASSERT(again.tm_year == tm.tm_year && again.tm_mon == tm.tm_mon &&
	    again.tm_mday == tm.tm_mday && again.tm_hour == tm.tm_hour &&
	    again.tm_min == tm.tm_min && again.tm_sec == tm.tm_sec);
	FUZZ_ASSERT(t > 0 && (int64_t)t == not_after - 1);
}

/* The value sshd splits at ',' into exactly the binding's sources. */
static void
check_from(const char *v, size_t n, const struct nhi_strv *src)
{
	char *want = nhi_strv_join(src, ",");
	size_t i;

	FUZZ_ASSERT(want != NULL);
	FUZZ_ASSERT(strlen(want) == n && memcmp(v, want, n) == 0);
	for (i = 0; i < src->n; i++)
		FUZZ_ASSERT(strchr(src->v[i], ',') == NULL &&
		    nhi_valid_cidr(src->v[i]));
	free(want);
}

static void
check_line(const struct nhi_binding *b, const char *line)
{
	const char *p = line, *v, *type, *b64, *want_type, *want_b64;
	size_t len = strlen(line), n, tlen, blen, want_tlen, want_blen, i;
	char fp[64], *key = NULL, *comment = NULL;
	struct nhi_err e;

	FUZZ_ASSERT(len > 0 && line[len - 1] == '\n');
	for (i = 0; i + 1 < len; i++)
		FUZZ_ASSERT(line[i] >= 0x20 && line[i] < 0x7f);
	FUZZ_ASSERT(strchr(line, '\\') == NULL);

	n = read_option(&p, "expiry-time", &v);
	check_expiry(v, n, b->not_after);
	if (*p == ',') {
		p++;
		n = read_option(&p, "from", &v);
		FUZZ_ASSERT(b->source.n > 0);
		check_from(v, n, &b->source);
	} else {
		FUZZ_ASSERT(b->source.n == 0);
	}
	FUZZ_ASSERT(*p == ' ' && options_end(line) == p);

	/* One blank around each token, the key as the binding has it. */
	key_tokens(p + 1, &type, &tlen, &b64, &blen);
	key_tokens(b->cred_key, &want_type, &want_tlen, &want_b64, &want_blen);
	FUZZ_ASSERT(type == p + 1 && b64 == type + tlen + 1 &&
	    b64[blen] == ' ');
	FUZZ_ASSERT(tlen == want_tlen && memcmp(type, want_type, tlen) == 0);
	FUZZ_ASSERT(blen == want_blen && memcmp(b64, want_b64, blen) == 0);
	FUZZ_ASSERT(!is_certificate(type));
	key = fuzz_cstr((const uint8_t *)type, tlen + 1 + blen);
	FUZZ_ASSERT(nhi_ssh_key_parse(key, fp, sizeof(fp), NULL, &e) == 0);
	FUZZ_ASSERT(strcmp(fp, b->cred_fp) == 0);

	/* The comment splits at ':' into exactly three parts. */
	FUZZ_ASSERT(strchr(b->id, ':') == NULL &&
	    strchr(b->owner, ':') == NULL);
	FUZZ_ASSERT(asprintf(&comment, "nhi:%s:%s\n", b->id, b->owner) > 0);
	FUZZ_ASSERT(strcmp(b64 + blen + 1, comment) == 0);
	free(comment);
	free(key);
}

/* The next NUL-terminated field of [*pp, end), or "" past the end. */
static char *
next_field(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp, *nul = memchr(p, '\0', (size_t)(end - p));
	size_t n = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);

	*pp = nul != NULL ? nul + 1 : end;
	return fuzz_cstr(p, n);
}

static struct nhi_binding *
binding_from_bytes(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 9, *end = data + size;
	struct nhi_binding *b;
	struct nhi_err e;
	uint64_t t = 0;
	char *fp, *s;
	size_t i;

	if (size < 9 || (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->cred_kind = (data[0] & 3) == 1 ? NHI_CRED_USER :
	    (data[0] & 3) == 2 ? NHI_CRED_CHECKOUT : NHI_CRED_SSH_KEY;
	for (i = 1; i < 9; i++)
		t = t << 8 | data[i];
	b->not_after = (int64_t)t;
	b->id = next_field(&p, end);
	b->owner = next_field(&p, end);
	b->cred_key = next_field(&p, end);
	fp = next_field(&p, end);
	if ((data[0] & 4) != 0 || nhi_ssh_key_parse(b->cred_key, b->cred_fp,
	    sizeof(b->cred_fp), NULL, &e) != 0)
		(void)snprintf(b->cred_fp, sizeof(b->cred_fp), "%s", fp);
	free(fp);
	while (p < end && b->source.n < NHI_MAX_LIST) {
		s = next_field(&p, end);
		FUZZ_ASSERT(nhi_strv_add(&b->source, s) == 0);
		free(s);
	}
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_binding *b = NULL;
	struct nhi_err e = { "" };
	char *json = NULL, *line = NULL;
	bool parsed = (size > 0 && (data[0] & 1) == 0), expect;
	int r;

	if (size < 1)
		return 0;
	if (parsed) {
		json = fuzz_copy(data + 1, size - 1);
		if (nhi_binding_parse(json, size - 1, &b, &e) != 0)
			goto out;
	} else if ((b = binding_from_bytes(data + 1, size - 1)) == NULL) {
		goto out;
	}

	r = nhi_authkeys_line(b, &line, &e);
	if (r != 0)
		FUZZ_ASSERT(line == NULL && e.msg[0] != '\0');
	else
		check_line(b, line);
	if (parsed) {
		expect = b->cred_kind == NHI_CRED_SSH_KEY &&
		    !is_certificate(b->cred_key) && b->not_after >= 2;
		if ((r == 0) != expect) {
			(void)fprintf(stderr, "line %s: %s\n", r == 0 ?
			    "made" : "refused", e.msg);
			abort();
		}
	}
out:
	nhi_binding_free(b);
	free(line);
	free(json);
	return 0;
}
