/*
 * logline.c: the one line written per decision.
 *
 * The field order never changes, so a line can be read by position as
 * well as by key. Values come from the network (rhost), from the caller
 * (account, service) or from the register; each is escaped with
 * nhi_escape and cut at a fixed length, and a value holding a space or
 * '=' is put in double quotes (nhi_escape has already turned any '"'
 * inside into \x22), so one line always splits the same way. An absent
 * value is written as "-".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "logline.h"
#include "util.h"

/* Longest part of one untrusted value kept in the line. */
#define LOG_CAP 100
/* Each kept byte may become "\xNN"; plus quotes, ellipsis, NUL. */
#define LOG_VALMAX (LOG_CAP * 4 + 8)

struct line {
	char *out;
	size_t len, used;
	bool full;
};

static void
put(struct line *l, const char *key, const char *val)
{
	char esc[LOG_VALMAX];
	const char *quote = "";
	int n;

	if (nhi_nonempty(val) == NULL) {
		val = "-";
	} else {
		nhi_escape(val, LOG_CAP, esc, sizeof(esc));
		val = esc;
		if (strpbrk(esc, " =") != NULL)
			quote = "\"";
	}
	if (l->full)
		return;
	n = snprintf(l->out + l->used, l->len - l->used, "%s%s=%s%s%s",
	    l->used > 0 ? " " : "", key, quote, val, quote);
	if (n < 0 || (size_t)n >= l->len - l->used) {
		/* A cut value could read as another; drop the field whole. */
		l->out[l->used] = '\0';
		l->full = true;
		return;
	}
	l->used += (size_t)n;
}

static const char *
result_word(const struct nhi_decision *d)
{
	if (d->would_deny)
		return "would-deny";
	return nhi_result_name(d->result);
}

int
nhi_logline(const struct nhi_request *r, const struct nhi_decision *d,
    const struct nhi_view *v, const char *refusal, char *out, size_t len)
{
	const struct nhi_binding *b = d->binding;
	struct line l = { out, len, 0, false };
	char notafter[32], version[32];
	const char *key = NULL;

	if (len == 0)
		return -1;
	out[0] = '\0';
	if (r->cred == NHI_SEEN_SSH_KEY)
		key = r->key_fp;
	else if (r->cred == NHI_SEEN_PENDING)
		key = "pending";
	notafter[0] = version[0] = '\0';
	if (b != NULL)
		nhi_format_time(b->not_after, notafter, sizeof(notafter));
	if (v != NULL && v->have_register)
		(void)snprintf(version, sizeof(version), "%lld",
		    (long long)v->meta.version);

	put(&l, "result", refusal != NULL ? "deny" : result_word(d));
	put(&l, "service", r->service);
	put(&l, "account", r->account);
	put(&l, "invoker", r->invoker);
	put(&l, "rhost", r->rhost);
	put(&l, "key", key);
	put(&l, "binding", b != NULL ? b->id : NULL);
	put(&l, "owner", b != NULL ? b->owner : NULL);
	put(&l, "ticket", b != NULL ? b->ticket : NULL);
	put(&l, "not_after", notafter);
	put(&l, "register", version);
	put(&l, "reason", refusal != NULL ? refusal :
	    nhi_reason_name(d->reason));
	return l.full ? -1 : 0;
}
