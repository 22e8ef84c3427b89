/* authkeys.c: an ssh-key binding as one authorized_keys line. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authkeys.h"
#include "keys.h"
#include "util.h"

/*
 * The last second expiry-time can name: sshd reads a four-digit year.
 * Statements carry no later time.
 */
#define EXPIRY_MAX INT64_C(253402300799)

/* What each token may hold; none holds a blank, quote, comma or control. */
#define KEY_TYPE_CHARS "abcdefghijklmnopqrstuvwxyz0123456789@.-"
#define BASE64_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#define CIDR_CHARS "0123456789abcdefABCDEF.:/"

/* True when the first n bytes of s are all in set. */
static bool
all_in(const char *s, size_t n, const char *set)
{
	return n > 0 && strspn(s, set) >= n;
}

/*
 * sshd refuses the key once now is past expiry-time, and the binding
 * holds while now < not_after: the option names not_after - 1. With the
 * Z, sshd reads the time as UTC. It refuses 19700101000000Z (it reads 0
 * as no time at all), so a binding that ended by then is refused here.
 */
static int
add_expiry(int64_t not_after, struct nhi_buf *line, struct nhi_err *e)
{
	char when[16];
	struct tm tm;
	time_t t;

	if (not_after < 2 || not_after - 1 > EXPIRY_MAX)
		return nhi_err_set(e, "not_after: %lld is no expiry-time sshd "
		    "takes", (long long)not_after);
	t = (time_t)(not_after - 1);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y%m%d%H%M%SZ", &tm) != 15)
		return nhi_err_set(e, "not_after: %lld cannot be formatted",
		    (long long)not_after);
	if (nhi_buf_addf(line, "expiry-time=\"%s\"", when) != 0)
		return nhi_err_set(e, "out of memory");
	return 0;
}

/*
 * Inside the quotes of from= sshd ends the value at '"', splits it at
 * ',' and reads '!', '*' and '?' as patterns: each source must be a CIDR
 * made of address characters only.
 */
static int
add_from(const struct nhi_strv *src, struct nhi_buf *line, struct nhi_err *e)
{
	size_t i;

	if (src->n == 0)
		return 0;
	if (nhi_buf_adds(line, ",from=\"") != 0)
		return nhi_err_set(e, "out of memory");
	for (i = 0; i < src->n; i++) {
		if (src->v[i] == NULL ||
		    !all_in(src->v[i], strlen(src->v[i]), CIDR_CHARS) ||
		    !nhi_valid_cidr(src->v[i]))
			return nhi_err_set(e, "source %zu: not a CIDR", i + 1);
		if ((i > 0 && nhi_buf_adds(line, ",") != 0) ||
		    nhi_buf_adds(line, src->v[i]) != 0)
			return nhi_err_set(e, "out of memory");
	}
	if (nhi_buf_adds(line, "\"") != 0)
		return nhi_err_set(e, "out of memory");
	return 0;
}

/*
 * Appends "TYPE BASE64" of the binding's key, leaving out the key's own
 * comment and the blanks around the tokens, and checks that what sshd
 * will read is the key the binding's fingerprint names.
 */
static int
add_key(const struct nhi_binding *b, struct nhi_buf *line, struct nhi_err *e)
{
	const char *type, *b64;
	char fp[64], *plain = NULL;
	size_t tlen, blen, start = line->len;
	int r = -1;

	if (b->cred_kind != NHI_CRED_SSH_KEY || b->cred_key == NULL)
		return nhi_err_set(e, "credential: not an ssh key");
	type = b->cred_key + strspn(b->cred_key, " \t");
	tlen = strcspn(type, " \t");
	b64 = type + tlen + strspn(type + tlen, " \t");
	blen = strcspn(b64, " \t");
	if (!all_in(type, tlen, KEY_TYPE_CHARS) ||
	    !all_in(b64, blen, BASE64_CHARS))
		return nhi_err_set(e, "key: expected \"TYPE BASE64\"");
	if (nhi_buf_add(line, type, tlen) != 0 ||
	    nhi_buf_adds(line, " ") != 0 || nhi_buf_add(line, b64, blen) != 0)
		return nhi_err_set(e, "out of memory");

	if (nhi_ssh_key_parse(line->s + start, fp, sizeof(fp), &plain,
	    e) != 0)
		goto out;
	if (strcmp(fp, b->cred_fp) != 0) {
		nhi_err_set(e, "key: not the key of the binding's fingerprint");
		goto out;
	}
	/*
	 * sshd compares a certificate line with no key a client offers (a
	 * CA is listed as its plain key, marked cert-authority).
	 */
	if (strlen(plain) != tlen || memcmp(plain, type, tlen) != 0) {
		nhi_err_set(e, "key: a certificate is no authorized key");
		goto out;
	}
	r = 0;
out:
	free(plain);
	return r;
}

int
nhi_authkeys_line(const struct nhi_binding *b, char **ret_line,
    struct nhi_err *e)
{
	struct nhi_buf line = { NULL, 0, 0 };
	int r = -1;

	/* The comment is split at ':', which neither of them may hold. */
	if (!nhi_valid_text(b->id) || !nhi_valid_text(b->owner)) {
		nhi_err_set(e, "id or owner: not a plain token");
		goto out;
	}

	if (add_expiry(b->not_after, &line, e) != 0 ||
	    add_from(&b->source, &line, e) != 0)
		goto out;
	if (nhi_buf_adds(&line, " ") != 0) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	if (add_key(b, &line, e) != 0)
		goto out;
	if (nhi_buf_addf(&line, " nhi:%s:%s\n", b->id, b->owner) != 0) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	*ret_line = line.s;
	line.s = NULL;
	r = 0;
out:
	nhi_buf_free(&line);
	return r;
}
