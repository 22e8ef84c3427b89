/*
 * decide.c: the decision of DESIGN.md §4.
 *
 * Pure: every input arrives through the arguments. The bindings of the
 * target account are checked one by one (nhi_binding_check); those that
 * apply must name exactly one owner. When none applies, the reason given
 * is that of the binding that came closest, so an admin reads "expired"
 * rather than "no-binding" for the binding that ran out an hour ago.
 */
#include "config.h"

#include <fnmatch.h>
#include <string.h>

#include "decide.h"
#include "util.h"

/* The default pseudonymous range, used when no config could be read. */
#define NHI_DEFAULT_ACCOUNT_LO 70000
#define NHI_DEFAULT_ACCOUNT_HI 79999

static const char *const reason_names[NHI_R_COUNT] = {
	[NHI_R_OK] = "ok",
	[NHI_R_NOT_GOVERNED] = "not-governed",
	[NHI_R_IGNORED_SERVICE] = "ignored-service",
	[NHI_R_NO_CONFIG] = "no-config",
	[NHI_R_STALE_REGISTER] = "stale-register",
	[NHI_R_BREAK_GLASS] = "break-glass",
	[NHI_R_NO_BINDING] = "no-binding",
	[NHI_R_OUT_OF_SCOPE] = "out-of-scope",
	[NHI_R_WRONG_HOST] = "wrong-host",
	[NHI_R_WRONG_SERVICE] = "wrong-service",
	[NHI_R_NOT_YET_VALID] = "not-yet-valid",
	[NHI_R_EXPIRED] = "expired",
	[NHI_R_WRONG_SOURCE] = "wrong-source",
	[NHI_R_WRONG_KEY] = "wrong-key",
	[NHI_R_WRONG_INVOKER] = "wrong-invoker",
	[NHI_R_NO_CREDENTIAL] = "no-credential",
	[NHI_R_REVOKED] = "revoked",
	[NHI_R_RECERTIFY] = "recertify-overdue",
	[NHI_R_AMBIGUOUS_OWNER] = "ambiguous-owner",
	[NHI_R_CLOCK_BEHIND] = "clock-behind",
};

const char *
nhi_reason_name(enum nhi_reason r)
{
	if ((unsigned)r >= NHI_R_COUNT || reason_names[r] == NULL)
		return "unknown";
	return reason_names[r];
}

const char *
nhi_result_name(enum nhi_result r)
{
	switch (r) {
	case NHI_IGNORE:
		return "ignore";
	case NHI_ALLOW:
		return "allow";
	case NHI_DENY:
		return "deny";
	}
	return "unknown";
}

/*
 * How far a binding got through the checks of nhi_binding_check, in their
 * order: a higher rank is a more specific explanation of a refusal.
 */
static int
reason_rank(enum nhi_reason r)
{
	switch (r) {
	case NHI_R_OUT_OF_SCOPE:
		return 1;
	case NHI_R_WRONG_HOST:
		return 2;
	case NHI_R_WRONG_SERVICE:
		return 3;
	case NHI_R_NOT_YET_VALID:
	case NHI_R_EXPIRED:
		return 4;
	case NHI_R_WRONG_SOURCE:
		return 5;
	case NHI_R_WRONG_KEY:
	case NHI_R_WRONG_INVOKER:
	case NHI_R_NO_CREDENTIAL:
		return 6;
	case NHI_R_REVOKED:
		return 7;
	default:
		return 0;
	}
}

static bool
service_listed(const struct nhi_strv *sv, const char *service)
{
	return service != NULL &&
	    (nhi_strv_has(sv, "*") || nhi_strv_has(sv, service));
}

static bool
host_matches(const struct nhi_conf *c, const struct nhi_strv *hosts)
{
	size_t i;

	for (i = 0; i < hosts->n; i++) {
		const char *h = hosts->v[i];

		if (h[0] == '@') {
			if (nhi_strv_has(&c->host_groups, h + 1))
				return true;
		} else if (c->host_name != NULL &&
		    fnmatch(h, c->host_name, 0) == 0) {
			return true;
		}
	}
	return false;
}

static bool
source_matches(const struct nhi_strv *source, const char *rhost)
{
	size_t i;

	if (source->n == 0)
		return true;
	if (rhost == NULL)
		return false;
	for (i = 0; i < source->n; i++)
		if (nhi_cidr_match(source->v[i], rhost))
			return true;
	return false;
}

static enum nhi_reason
credential_check(const struct nhi_request *r, const struct nhi_binding *b)
{
	switch (b->cred_kind) {
	case NHI_CRED_CHECKOUT:
		return NHI_R_OK;
	case NHI_CRED_USER:
		if (r->invoker == NULL)
			return NHI_R_NO_CREDENTIAL;
		return strcmp(r->invoker, b->cred_user) == 0 ?
		    NHI_R_OK : NHI_R_WRONG_INVOKER;
	case NHI_CRED_SSH_KEY:
		if (r->cred == NHI_SEEN_PENDING)
			return NHI_R_OK;
		if (r->cred != NHI_SEEN_SSH_KEY || r->key_fp == NULL)
			return NHI_R_NO_CREDENTIAL;
		return strcmp(r->key_fp, b->cred_fp) == 0 ?
		    NHI_R_OK : NHI_R_WRONG_KEY;
	}
	return NHI_R_NO_CREDENTIAL;
}

enum nhi_reason
nhi_binding_check(const struct nhi_conf *c, const struct nhi_request *r,
    const struct nhi_binding *b)
{
	const struct nhi_issuer *is;
	enum nhi_reason cr;
	int64_t skew = c->clock_skew;

	/* The issuer is judged by the host's config as it is now, not as
	 * it was when the register was compiled. */
	is = nhi_conf_issuer(c, b->issuer);
	if (is == NULL || !nhi_strv_match(&is->accounts, b->account) ||
	    !service_listed(&is->services, r->service) ||
	    b->not_after - b->not_before > is->max_window)
		return NHI_R_OUT_OF_SCOPE;
	if (strcmp(b->account, r->account) != 0)
		return NHI_R_OUT_OF_SCOPE;
	if (!host_matches(c, &b->hosts))
		return NHI_R_WRONG_HOST;
	if (!service_listed(&b->services, r->service))
		return NHI_R_WRONG_SERVICE;
	/* Valid while not_before <= now < not_after, widened by the skew. */
	if (r->now < b->not_before - skew)
		return NHI_R_NOT_YET_VALID;
	if (r->now - skew >= b->not_after)
		return NHI_R_EXPIRED;
	if (!source_matches(&b->source, r->rhost))
		return NHI_R_WRONG_SOURCE;
	if ((cr = credential_check(r, b)) != NHI_R_OK)
		return cr;
	/*
	 * A key on the deny list is refused whatever the binding is for: a
	 * checkout lets any credential in, but not one the register
	 * revoked, and the login would be attributed to the checkout's
	 * owner.
	 */
	if (b->revoked || (r->cred == NHI_SEEN_SSH_KEY && r->key_denied))
		return NHI_R_REVOKED;
	return NHI_R_OK;
}

static bool
in_default_range(uint32_t uid)
{
	return uid >= NHI_DEFAULT_ACCOUNT_LO && uid <= NHI_DEFAULT_ACCOUNT_HI;
}

/* The local rules: by name, uid range, pseudonymous range or group. */
static bool
rules_match(const struct nhi_governance *g, const struct nhi_request *r)
{
	const char *const *grp;

	if (r->account == NULL)
		return false;
	if (nhi_strv_match(&g->users, r->account))
		return true;
	if (r->account_known &&
	    (nhi_range_has(g->uids, g->n_uids, r->account_uid) ||
		nhi_range_has(&g->account_uids, 1, r->account_uid)))
		return true;
	for (grp = r->account_groups; grp != NULL && *grp != NULL; grp++)
		if (nhi_strv_has(&g->groups, *grp))
			return true;
	return false;
}

bool
nhi_governed(const struct nhi_conf *c, const struct nhi_request *r,
    const struct nhi_view *v)
{
	struct nhi_governance rules;

	if (v != NULL && v->account != NULL)
		return true;
	if (c == NULL) {
		/*
		 * Fail closed for what we can still tell is governed: what
		 * the installed register names, the rules of the config
		 * the last sync ran with, and the default range.
		 */
		if (v != NULL && v->n_bindings > 0)
			return true;
		if (v != NULL && v->governance.present &&
		    rules_match(&v->governance, r))
			return true;
		return r->account_known && in_default_range(r->account_uid);
	}
	/* A view of the config's own lists: nothing is copied. */
	memset(&rules, 0, sizeof(rules));
	rules.present = true;
	rules.users = c->govern_users;
	rules.groups = c->govern_groups;
	rules.uids = c->govern_uids;
	rules.n_uids = c->n_govern_uids;
	rules.account_uids = c->account_uids;
	return rules_match(&rules, r);
}

/*
 * Whether the installed register may be used at now: NHI_R_OK, or why
 * not. A clock running behind the register's issue time, or behind the
 * time this host installed it, would bring back bindings that have
 * ended, so it is a fault like an expired register (DESIGN.md §3).
 */
static enum nhi_reason
register_usable(const struct nhi_conf *c, const struct nhi_view *v,
    int64_t now)
{
	int64_t skew = c->clock_skew;

	if (v == NULL || !v->have_register)
		return NHI_R_STALE_REGISTER;
	if (now < v->meta.issued_at - skew ||
	    now < v->meta.installed_at - skew)
		return NHI_R_CLOCK_BEHIND;
	if (now - skew >= v->meta.expires_at)
		return NHI_R_STALE_REGISTER;
	if (c->max_register_age > 0 &&
	    now - v->meta.issued_at > c->max_register_age)
		return NHI_R_STALE_REGISTER;
	return NHI_R_OK;
}

static bool
break_glass(const struct nhi_conf *c, const struct nhi_request *r)
{
	size_t i;

	for (i = 0; i < c->break_glass.n; i++) {
		const char *rule = c->break_glass.v[i];
		const char *at = strrchr(rule, '@');
		char user[NHI_MAX_FIELD + 1];
		size_t ulen;

		if (at == NULL || (ulen = (size_t)(at - rule)) > NHI_MAX_FIELD)
			continue;
		memcpy(user, rule, ulen);
		user[ulen] = '\0';
		if (fnmatch(user, r->account, 0) == 0 &&
		    fnmatch(at + 1, r->service, 0) == 0)
			return true;
	}
	return false;
}

/*
 * Among bindings that apply, one of the same owner is as good as another;
 * prefer the one naming the credential (a key or invoker over a checkout),
 * then the one that lasts longest, so the log names what was really used.
 */
static bool
better_match(const struct nhi_binding *a, const struct nhi_binding *cur)
{
	bool a_cred = a->cred_kind != NHI_CRED_CHECKOUT;
	bool c_cred = cur->cred_kind != NHI_CRED_CHECKOUT;

	if (a_cred != c_cred)
		return a_cred;
	return a->not_after > cur->not_after;
}

static void
decide_bindings(const struct nhi_conf *c, const struct nhi_request *r,
    const struct nhi_view *v, struct nhi_decision *d)
{
	const struct nhi_binding *match = NULL, *owner_of = NULL;
	const struct nhi_binding *pending = NULL;
	enum nhi_reason best = NHI_R_NO_BINDING;
	int best_score = 0;
	bool ambiguous = false;
	size_t i;

	for (i = 0; i < v->n_bindings; i++) {
		const struct nhi_binding *b = v->bindings[i];
		enum nhi_reason why = nhi_binding_check(c, r, b);

		if (why != NHI_R_OK) {
			int score = reason_rank(why);

			/*
			 * A binding for the credential actually presented
			 * explains a refusal better than one for another
			 * key: "expired" for her own key, not "wrong-key"
			 * because a colleague's binding is still valid.
			 */
			if (credential_check(r, b) == NHI_R_OK)
				score += 100;
			if (score > best_score) {
				best = why;
				best_score = score;
			}
			continue;
		}
		/*
		 * While sshd has not shown the key yet, key bindings of
		 * different owners are alternatives, not rivals: the
		 * session stage picks the one the key names.
		 */
		if (r->cred == NHI_SEEN_PENDING &&
		    b->cred_kind == NHI_CRED_SSH_KEY) {
			if (pending == NULL)
				pending = b;
			continue;
		}
		if (owner_of != NULL && strcmp(owner_of->owner, b->owner) != 0)
			ambiguous = true;
		if (owner_of == NULL)
			owner_of = b;
		if (match == NULL || better_match(b, match))
			match = b;
	}
	if (ambiguous) {
		d->result = NHI_DENY;
		d->reason = NHI_R_AMBIGUOUS_OWNER;
	} else if (match != NULL) {
		d->result = NHI_ALLOW;
		d->reason = NHI_R_OK;
		d->binding = match;
	} else if (pending != NULL) {
		/*
		 * Some key binding could apply, but which one (and whose) is
		 * known only when sshd shows the key: name no binding yet,
		 * so the log does not attribute the attempt to anyone.
		 */
		d->result = NHI_ALLOW;
		d->reason = NHI_R_OK;
	} else {
		d->result = NHI_DENY;
		d->reason = best;
	}
}

void
nhi_decide(const struct nhi_conf *c, const struct nhi_request *r,
    const struct nhi_view *v, bool audit, struct nhi_decision *ret)
{
	struct nhi_decision d = { NHI_IGNORE, NHI_R_NOT_GOVERNED, NULL, false };
	enum nhi_reason why;

	if (r->account == NULL || !nhi_governed(c, r, v))
		goto out;
	/*
	 * Jobs an account set up itself are not a person's login. Without a
	 * config the list is unknown, and the decision stays closed.
	 */
	if (c != NULL && r->service != NULL &&
	    nhi_strv_has(&c->ignore_services, r->service)) {
		d.reason = NHI_R_IGNORED_SERVICE;
		goto out;
	}
	d.result = NHI_DENY;
	if (c == NULL) {
		d.reason = NHI_R_NO_CONFIG;
	} else if ((why = register_usable(c, v, r->now)) != NHI_R_OK) {
		if (r->service != NULL && break_glass(c, r)) {
			d.result = NHI_ALLOW;
			d.reason = NHI_R_BREAK_GLASS;
		} else {
			d.reason = why;
		}
	} else if (v->account != NULL && v->account->recertify_by != 0 &&
	    r->now - c->clock_skew >= v->account->recertify_by) {
		d.reason = NHI_R_RECERTIFY;
	} else if (r->service == NULL) {
		d.reason = NHI_R_WRONG_SERVICE;
	} else {
		decide_bindings(c, r, v, &d);
	}
	/*
	 * Audit mode softens refusals the config asked to be softened; a
	 * config that cannot be read asked for nothing, so it stays closed.
	 */
	if (d.result == NHI_DENY && audit && d.reason != NHI_R_NO_CONFIG) {
		d.result = NHI_ALLOW;
		d.would_deny = true;
	}
out:
	*ret = d;
}
