/*
 * state.c: the host's ratchet state, STATE_DIR/state.
 *
 * The file sits outside the index files on purpose: replacing or deleting
 * an index must not reset what the host has accepted, or a rollback would
 * only need a deleted cache.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "register.h"
#include "util.h"

#define STATE_FORMAT 1
#define STATE_MAX (64 * 1024)

/* F_TIME: an F_INT no later than NHI_TIME_MAX. */
enum field_type { F_INT, F_TIME, F_SIZE, F_HASH, F_TEXT };

struct field {
	const char *key;
	enum field_type type;
	size_t off;
	size_t len;		/* F_TEXT: size of the buffer */
	bool optional;		/* may be absent (added in a later release) */
};

#define FIELD(k, t, m) { k, t, offsetof(struct nhi_state, m), \
	sizeof(((struct nhi_state *)0)->m), false }
#define OPTIONAL(k, t, m) { k, t, offsetof(struct nhi_state, m), \
	sizeof(((struct nhi_state *)0)->m), true }

static const struct field fields[] = {
	FIELD("version", F_INT, version),
	FIELD("sha256", F_HASH, sha256),
	FIELD("issued_at", F_TIME, issued_at),
	FIELD("expires_at", F_TIME, expires_at),
	FIELD("last_success", F_TIME, last_success),
	FIELD("last_attempt", F_TIME, last_attempt),
	FIELD("last_error", F_TEXT, last_error),
	FIELD("source", F_TEXT, source),
	FIELD("bindings", F_SIZE, n_bindings),
	FIELD("accounts", F_SIZE, n_accounts),
	FIELD("deny", F_SIZE, n_deny),
	FIELD("rejected", F_SIZE, n_rejected),
	OPTIONAL("last_failure", F_TIME, last_failure),
	OPTIONAL("last_failure_error", F_TEXT, last_failure_error),
	OPTIONAL("last_reason", F_TEXT, last_reason),
	OPTIONAL("etag", F_TEXT, etag),
	OPTIONAL("last_modified", F_TEXT, last_modified),
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static char *
state_path(const char *dir)
{
	char *p;

	if (asprintf(&p, "%s/state", dir) < 0)
		return NULL;
	return p;
}

static bool
hash_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int
field_set(const struct field *f, const char *v, struct nhi_state *s,
    struct nhi_err *e)
{
	char *dst = (char *)s + f->off;
	int64_t n;

	switch (f->type) {
	case F_INT:
	case F_TIME:
	case F_SIZE:
		if (nhi_parse_int(v, 0, f->type == F_TIME ? NHI_TIME_MAX :
		    INT64_MAX, &n) != 0)
			return nhi_err_set(e, "not a non-negative integer%s",
			    f->type == F_TIME ? " up to year 9999" : "");
		if (f->type != F_SIZE)
			*(int64_t *)(void *)dst = n;
		else
			*(size_t *)(void *)dst = (size_t)n;
		return 0;
	case F_HASH:
		if (*v != '\0' && !hash_valid(v))
			return nhi_err_set(e, "not a SHA-256 in hex");
		break;
	case F_TEXT:
		if (!nhi_valid_plain(v))
			return nhi_err_set(e, "control character");
		break;
	}
	if (strlen(v) >= f->len)
		return nhi_err_set(e, "longer than %zu bytes", f->len - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
state_parse(const char *path, char *text, struct nhi_state *ret,
    struct nhi_err *e)
{
	bool seen[N_FIELDS] = { false };
	struct nhi_state s;
	char *line, *next, *eq;
	size_t lineno = 0, i;
	int64_t format;

	memset(&s, 0, sizeof(s));
	for (line = text; *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) == NULL)
			return nhi_err_set(e, "%s:%zu: no newline at the end",
			    path, lineno);
		*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			return nhi_err_set(e, "%s:%zu: not key=value", path,
			    lineno);
		*eq++ = '\0';
		if (lineno == 1) {
			if (strcmp(line, "format") != 0 ||
			    nhi_parse_int(eq, STATE_FORMAT, STATE_FORMAT,
			    &format) != 0)
				return nhi_err_set(e, "%s:1: not an nhi state "
				    "file of format %d", path, STATE_FORMAT);
			continue;
		}
		for (i = 0; i < N_FIELDS; i++) {
			if (strcmp(fields[i].key, line) == 0)
				break;
		}
		if (i == N_FIELDS)
			return nhi_err_set(e, "%s:%zu: unknown key \"%.32s\"",
			    path, lineno, line);
		if (seen[i])
			return nhi_err_set(e, "%s:%zu: %s: repeated", path,
			    lineno, line);
		seen[i] = true;
		if (field_set(&fields[i], eq, &s, e) != 0) {
			nhi_err_prefix(e, "%s:%zu: %s", path, lineno, line);
			return -1;
		}
	}
	if (lineno == 0)
		return nhi_err_set(e, "%s: empty", path);
	for (i = 0; i < N_FIELDS; i++) {
		if (!seen[i] && !fields[i].optional)
			return nhi_err_set(e, "%s: %s: missing", path,
			    fields[i].key);
	}
	if ((s.version == 0) != (s.sha256[0] == '\0'))
		return nhi_err_set(e, "%s: version and sha256 disagree", path);
	*ret = s;
	return 0;
}

int
nhi_state_load(const char *dir, struct nhi_state *ret, struct nhi_err *e)
{
	char *path, *text = NULL;
	size_t len;
	int r = -1;

	if ((path = state_path(dir)) == NULL)
		return nhi_err_set(e, "state: out of memory");
	if (nhi_read_file(path, STATE_MAX, &text, &len) != 0) {
		if (errno == ENOENT) {
			memset(ret, 0, sizeof(*ret));
			r = 0;
		} else
			nhi_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (strlen(text) != len) {
		nhi_err_set(e, "%s: contains a NUL byte", path);
		goto out;
	}
	r = state_parse(path, text, ret, e);
out:
	free(text);
	free(path);
	return r;
}

/* Control characters in a recorded message would break the line format. */
static int
add_text(struct nhi_buf *b, const char *key, const char *v, size_t max)
{
	size_t i;
	char c;

	if (nhi_buf_addf(b, "%s=", key) != 0)
		return -1;
	for (i = 0; i < max && v[i] != '\0'; i++) {
		c = v[i];
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		if (nhi_buf_add(b, &c, 1) != 0)
			return -1;
	}
	return nhi_buf_adds(b, "\n");
}

int
nhi_state_save(const char *dir, const struct nhi_state *s,
    struct nhi_err *e)
{
	struct nhi_buf b = { NULL, 0, 0 };
	char *path = NULL;
	int r = -1;

	if (s->version < 0 || (s->version == 0) != (s->sha256[0] == '\0') ||
	    (s->sha256[0] != '\0' && !hash_valid(s->sha256)))
		return nhi_err_set(e, "state: version and sha256 disagree");
	if ((path = state_path(dir)) == NULL)
		return nhi_err_set(e, "state: out of memory");
	if (nhi_buf_addf(&b, "format=%d\nversion=%" PRId64 "\nsha256=%s\n"
	    "issued_at=%" PRId64 "\nexpires_at=%" PRId64 "\n"
	    "last_success=%" PRId64 "\nlast_attempt=%" PRId64 "\n",
	    STATE_FORMAT, s->version, s->sha256, s->issued_at, s->expires_at,
	    s->last_success, s->last_attempt) != 0 ||
	    add_text(&b, "last_error", s->last_error,
	    sizeof(s->last_error) - 1) != 0 ||
	    add_text(&b, "source", s->source, sizeof(s->source) - 1) != 0 ||
	    nhi_buf_addf(&b, "bindings=%zu\naccounts=%zu\ndeny=%zu\n"
	    "rejected=%zu\nlast_failure=%" PRId64 "\n", s->n_bindings,
	    s->n_accounts, s->n_deny, s->n_rejected, s->last_failure) != 0 ||
	    add_text(&b, "last_failure_error", s->last_failure_error,
	    sizeof(s->last_failure_error) - 1) != 0 ||
	    add_text(&b, "last_reason", s->last_reason,
	    sizeof(s->last_reason) - 1) != 0 ||
	    add_text(&b, "etag", s->etag, sizeof(s->etag) - 1) != 0 ||
	    add_text(&b, "last_modified", s->last_modified,
	    sizeof(s->last_modified) - 1) != 0) {
		nhi_err_set(e, "state: out of memory");
		goto out;
	}
	if (nhi_write_atomic(path, b.s, b.len, 0644) != 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	nhi_buf_free(&b);
	free(path);
	return r;
}

/* The ratchet. */

int
nhi_ratchet_precheck(const struct nhi_state *s,
    const struct nhi_register_header *h, int64_t now, int64_t skew,
    struct nhi_err *e)
{
	char t1[32], t2[32];

	if (s->version > 0 && now < s->issued_at - skew)
		return nhi_err_set(e, "clock behind: now (%s) is earlier than "
		    "the last accepted issue time (%s)",
		    nhi_format_time(now, t1, sizeof(t1)),
		    nhi_format_time(s->issued_at, t2, sizeof(t2)));
	if (now < h->issued_at - skew)
		return nhi_err_set(e, "clock behind: now (%s) is earlier than "
		    "the register's issue time (%s)",
		    nhi_format_time(now, t1, sizeof(t1)),
		    nhi_format_time(h->issued_at, t2, sizeof(t2)));
	if (h->version < s->version)
		return nhi_err_set(e, "rollback: register version %" PRId64
		    " is older than the accepted version %" PRId64,
		    h->version, s->version);
	if (now - skew >= h->expires_at)
		return nhi_err_set(e, "expired: register version %" PRId64
		    " expired at %s", h->version,
		    nhi_format_time(h->expires_at, t1, sizeof(t1)));
	return 0;
}

int
nhi_ratchet_check(const struct nhi_state *s,
    const struct nhi_register_header *h, const unsigned char sha256[32],
    int64_t now, int64_t skew, bool *ret_unchanged, struct nhi_err *e)
{
	char hex[65];

	if (nhi_ratchet_precheck(s, h, now, skew, e) != 0)
		return -1;
	nhi_hex(sha256, 32, hex);
	if (h->version == s->version) {
		if (sodium_memcmp(hex, s->sha256, 64) != 0)
			return nhi_err_set(e, "same version with a different "
			    "hash: register version %" PRId64 " has sha256 "
			    "%.16s..., the accepted one %.16s...",
			    h->version, hex, s->sha256);
		*ret_unchanged = true;
		return 0;
	}
	*ret_unchanged = false;
	return 0;
}
