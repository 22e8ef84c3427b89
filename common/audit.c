/*
 * audit.c: formatting and sending the audit records of audit.h.
 *
 * The records go through audit_log_acct_message, which adds acct=, exe=,
 * hostname=, addr=, terminal= and res= in the form the audit tools parse;
 * our fields ride in its op argument after the operation name, each one
 * already encoded, which is how other programs attach fields to it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libaudit.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "statement.h"
#include "util.h"

/* The longest host name passed to libaudit unencoded (RFC 1035). */
#define HOST_MAX 255

struct nhi_audit {
	int fd;
};

struct text {
	char *out;
	size_t len, used;
	bool full;
};

static void
put_raw(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->full || t->used + n + 1 > t->len) {
		t->full = true;
		return;
	}
	memcpy(t->out + t->used, s, n + 1);
	t->used += n;
}

/*
 * " name=value": the value as audit_encode_nv_string writes it (quoted,
 * or hex when it holds a space, quote or control character), "?" when
 * absent. Values are cut at NHI_MAX_FIELD bytes.
 */
static void
put(struct text *t, const char *name, const char *value)
{
	char *s;
	size_t n;

	put_raw(t, " ");
	if (value == NULL || *value == '\0') {
		put_raw(t, name);
		put_raw(t, "=?");
		return;
	}
	n = strnlen(value, NHI_MAX_FIELD);
	if ((s = audit_encode_nv_string(name, value, (unsigned int)n)) ==
	    NULL) {
		t->full = true;
		return;
	}
	put_raw(t, s);
	free(s);
}

static void
put_num(struct text *t, const char *name, int64_t v, bool known)
{
	char buf[64];

	if (known)
		(void)snprintf(buf, sizeof(buf), " %s=%lld", name,
		    (long long)v);
	else
		(void)snprintf(buf, sizeof(buf), " %s=?", name);
	put_raw(t, buf);
}

const char *
nhi_audit_result(const struct nhi_audit_login *l)
{
	if (l->deny)
		return "deny";
	if (l->dec->would_deny)
		return "would-deny";
	return nhi_result_name(l->dec->result);
}

const char *
nhi_audit_reason(const struct nhi_audit_login *l)
{
	return l->reason != NULL ? l->reason : nhi_reason_name(l->dec->reason);
}

const char *
nhi_audit_key(const struct nhi_request *r)
{
	if (r->cred == NHI_SEEN_SSH_KEY)
		return r->key_fp;
	if (r->cred == NHI_SEEN_PENDING)
		return "pending";
	return NULL;
}

int
nhi_audit_format_login(const struct nhi_audit_login *l, const char *op,
    char *out, size_t len)
{
	const struct nhi_decision *d = l->dec;
	const struct nhi_request *r = l->req;
	const struct nhi_binding *b = d->binding;
	struct text t = { out, len, 0, false };
	char notafter[32] = "";

	if (len == 0)
		return -1;
	out[0] = '\0';
	if (b != NULL)
		nhi_format_time(b->not_after, notafter, sizeof(notafter));

	put_raw(&t, op);
	put(&t, "nhi_stage", l->stage);
	put(&t, "nhi_service", r->service);
	put(&t, "nhi_result", nhi_audit_result(l));
	put(&t, "nhi_reason", nhi_audit_reason(l));
	put(&t, "nhi_invoker", r->invoker);
	put(&t, "nhi_key", nhi_audit_key(r));
	put(&t, "nhi_binding", b != NULL ? b->id : NULL);
	put(&t, "nhi_owner", b != NULL ? b->owner : NULL);
	put(&t, "nhi_approver", b != NULL ? b->approver : NULL);
	put(&t, "nhi_ticket", b != NULL ? b->ticket : NULL);
	put(&t, "nhi_not_after", notafter);
	put_num(&t, "nhi_register", l->view != NULL ? l->view->meta.version :
	    0, l->view != NULL && l->view->have_register);
	return t.full ? -1 : 0;
}

int
nhi_audit_format_config(int64_t version, const char *sha256,
    const char *source, const char *reason, char *out, size_t len)
{
	struct text t = { out, len, 0, false };

	if (len == 0)
		return -1;
	out[0] = '\0';
	put_raw(&t, "op=nhi-register");
	put_num(&t, "nhi_register", version, version > 0);
	put(&t, "nhi_sha256", sha256);
	put(&t, "nhi_source", source);
	put(&t, "nhi_reason", reason);
	return t.full ? -1 : 0;
}

int
nhi_audit_open(struct nhi_audit **ret, struct nhi_err *e)
{
	struct nhi_audit *a;
	int fd;

	if ((fd = audit_open()) < 0)
		return nhi_err_set(e, "audit: cannot open the audit socket: %s",
		    strerror(errno));
	/* audit_open sets close-on-exec itself (libaudit 2.0 and later). */
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		audit_close(fd);
		return nhi_err_set(e, "audit: out of memory");
	}
	a->fd = fd;
	*ret = a;
	return 0;
}

void
nhi_audit_close(struct nhi_audit *a)
{
	if (a == NULL)
		return;
	audit_close(a->fd);
	free(a);
}

int
nhi_audit_daemon_running(struct nhi_audit *a, struct nhi_err *e)
{
	struct pollfd pfd = { a->fd, POLLIN, 0 };
	struct audit_reply rep;
	int i, rc;

	if ((rc = audit_request_status(a->fd)) <= 0) {
		nhi_err_set(e, "audit: cannot ask the kernel for its state: %s",
		    strerror(rc < 0 ? -rc : EIO));
		return -1;
	}
	/* The answer comes at once; a few tries cover a busy kernel. */
	for (i = 0; i < 5; i++) {
		do {
			rc = poll(&pfd, 1, 100);
		} while (rc < 0 && errno == EINTR);
		if (rc <= 0)
			continue;
		rc = audit_get_reply(a->fd, &rep, GET_REPLY_NONBLOCKING, 0);
		if (rc <= 0 || rep.type != AUDIT_GET || rep.status == NULL)
			continue;
		if (rep.status->enabled == 0) {
			nhi_err_set(e, "audit: the kernel's audit is disabled");
			return 0;
		}
		if (rep.status->pid == 0) {
			nhi_err_set(e, "audit: no audit daemon is running");
			return 0;
		}
		return 1;
	}
	nhi_err_set(e, "audit: the kernel did not report its state");
	return -1;
}

/* A numeric address for addr=: the one given, or rhost if numeric. */
static const char *
numeric_addr(const char *addr, const char *rhost)
{
	unsigned char buf[sizeof(struct in6_addr)];
	const char *cand[2] = { addr, rhost };
	size_t i;

	for (i = 0; i < 2; i++) {
		if (nhi_nonempty(cand[i]) == NULL)
			continue;
		if (inet_pton(AF_INET, cand[i], buf) == 1 ||
		    inet_pton(AF_INET6, cand[i], buf) == 1)
			return cand[i];
	}
	/* Never empty: an empty addr makes libaudit resolve the host. */
	return "?";
}

/* A value libaudit writes verbatim must need no encoding. */
static const char *
verbatim(const char *s, size_t max)
{
	size_t n;

	if (nhi_nonempty(s) == NULL)
		return NULL;
	n = strnlen(s, max + 1);
	if (n > max || audit_value_needs_encoding(s, (unsigned int)n))
		return NULL;
	return s;
}

static int
send_one(struct nhi_audit *a, int type, const char *text, const char *acct,
    const char *host, const char *addr, const char *tty, bool ok,
    struct nhi_err *e)
{
	int rc;

	errno = 0;
	rc = audit_log_acct_message(a->fd, type, NULL, text, acct,
	    (unsigned int)-1, host, addr, tty != NULL ? tty : "?", ok ? 1 : 0);
	if (rc <= 0)
		return nhi_err_set(e, "audit: the kernel refused a %s record: "
		    "%s", audit_msg_type_to_name(type),
		    strerror(errno != 0 ? errno : EPERM));
	return 0;
}

int
nhi_audit_login(struct nhi_audit *a, const struct nhi_audit_login *l,
    bool session, struct nhi_err *e)
{
	char text[NHI_AUDIT_MAX];
	const char *host, *addr, *tty, *acct = l->req->account;
	bool deny = l->deny || l->dec->result == NHI_DENY;

	host = verbatim(l->req->rhost, HOST_MAX);
	addr = numeric_addr(l->addr, l->req->rhost);
	tty = verbatim(l->req->tty, 64);
	if (nhi_audit_format_login(l, "nhi-authz", text, sizeof(text)) != 0)
		return nhi_err_set(e, "audit: record too long");
	if (send_one(a, AUDIT_USER_ACCT, text, acct, host, addr, tty, !deny,
	    e) != 0)
		return -1;
	if (deny && send_one(a, AUDIT_ANOM_LOGIN_SERVICE, text, acct, host,
	    addr, tty, false, e) != 0)
		return -1;
	if (!session || deny || l->dec->binding == NULL)
		return 0;
	if (nhi_audit_format_login(l, "nhi-session", text, sizeof(text)) != 0)
		return nhi_err_set(e, "audit: record too long");
	return send_one(a, AUDIT_USER_START, text, acct, host, addr, tty, true,
	    e);
}

int
nhi_audit_config(int64_t version, const char *sha256, const char *source,
    bool ok, const char *reason, struct nhi_err *e)
{
	char text[NHI_AUDIT_MAX];
	struct nhi_audit *a = NULL;
	int r = -1;

	if (nhi_audit_format_config(version, sha256, source, reason, text,
	    sizeof(text)) != 0) {
		nhi_err_set(e, "audit: record too long");
		goto out;
	}
	if (nhi_audit_open(&a, e) != 0)
		goto out;
	errno = 0;
	if (audit_log_user_message(a->fd, AUDIT_USYS_CONFIG, text, NULL, "?",
	    "?", ok ? 1 : 0) <= 0) {
		nhi_err_set(e, "audit: the kernel refused a USYS_CONFIG "
		    "record: %s", strerror(errno != 0 ? errno : EPERM));
		goto out;
	}
	r = 0;
out:
	nhi_audit_close(a);
	return r;
}

uint32_t
nhi_audit_session(void)
{
	return audit_get_session();
}
