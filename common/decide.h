/*
 * decide.h: the decision (DESIGN.md §4), one pure function.
 *
 * Everything it depends on is passed in, "now" included; it reads no file,
 * clock or environment, so nhictl check and pam_nhi.so give the same
 * answer for the same inputs, and the table-driven tests cover it whole.
 */
#ifndef NHI_DECIDE_H
#define NHI_DECIDE_H

#include "conf.h"
#include "nhi.h"
#include "pamidx.h"
#include "statement.h"

enum nhi_result {
	NHI_IGNORE = 0,		/* not a governed account */
	NHI_ALLOW = 1,
	NHI_DENY = 2,
};

/* Reasons, most specific first where several bindings fail differently. */
enum nhi_reason {
	NHI_R_OK = 0,
	NHI_R_NOT_GOVERNED,
	NHI_R_NO_CONFIG,	/* config missing or invalid */
	NHI_R_STALE_REGISTER,	/* missing, unreadable or past expiry */
	NHI_R_BREAK_GLASS,	/* allowed by a break-glass rule */
	NHI_R_NO_BINDING,
	NHI_R_OUT_OF_SCOPE,	/* issuer untrusted or beyond its scope */
	NHI_R_WRONG_HOST,
	NHI_R_WRONG_SERVICE,
	NHI_R_NOT_YET_VALID,
	NHI_R_EXPIRED,
	NHI_R_WRONG_SOURCE,
	NHI_R_WRONG_KEY,
	NHI_R_WRONG_INVOKER,
	NHI_R_NO_CREDENTIAL,	/* the credential the binding needs is absent */
	NHI_R_REVOKED,
	NHI_R_RECERTIFY,	/* the account's recertify_by has passed */
	NHI_R_AMBIGUOUS_OWNER,
	NHI_R_CLOCK_BEHIND,	/* now before the register's issue or install */
	NHI_R_IGNORED_SERVICE,	/* a service in ignore_services */
	NHI_R_COUNT
};

/* "stale-register", "wrong-key", ...: the words logs and nhictl print. */
const char *nhi_reason_name(enum nhi_reason r);
const char *nhi_result_name(enum nhi_result r);

enum nhi_cred_seen {
	NHI_SEEN_NONE = 0,	/* no credential known (password, console) */
	NHI_SEEN_PENDING,	/* sshd account stage: key not shown yet */
	NHI_SEEN_SSH_KEY,	/* key_fp holds the key's fingerprint */
};

struct nhi_request {
	const char *service;
	const char *account;
	bool account_known;	/* false: no local or NSS entry for it */
	uint32_t account_uid;
	/* The governing groups the account is in, NULL-ended. */
	const char *const *account_groups;
	/* su/sudo: the real uid's name; NULL for sshd. */
	const char *invoker;
	const char *rhost;	/* numeric address, or NULL */
	const char *tty;
	enum nhi_cred_seen cred;
	const char *key_fp;	/* "SHA256:..." when cred is NHI_SEEN_SSH_KEY */
	/*
	 * key_fp is on the register's deny list: the caller asks the index
	 * (nhi_pamidx_key_denied), so that the decision reads no file. A
	 * denied key loses every binding, a checkout included.
	 */
	bool key_denied;
	int64_t now;
};

struct nhi_decision {
	enum nhi_result result;
	enum nhi_reason reason;
	/* The binding that matched; points into the view. */
	const struct nhi_binding *binding;
	bool would_deny;	/* audit mode turned a deny into an allow */
};

/* True when the request's account is governed by c or by the register. */
bool nhi_governed(const struct nhi_conf *c, const struct nhi_request *r,
    const struct nhi_view *v);

/*
 * Decides. c may be NULL (config missing or broken): then the accounts the
 * register names, those the governance rules of the last sync (in v)
 * govern, and those in the default pseudonymous range are denied with
 * NHI_R_NO_CONFIG; everyone else is ignored. A governed account is also
 * ignored for a service in c's ignore_services (NHI_R_IGNORED_SERVICE).
 * audit is the effective mode (module argument over config); it turns a
 * deny into an allow marked would_deny, except a deny for a missing or
 * broken config, which stays a deny.
 */
void nhi_decide(const struct nhi_conf *c, const struct nhi_request *r,
    const struct nhi_view *v, bool audit, struct nhi_decision *ret);

/*
 * Why one binding does or does not apply to the request, ignoring other
 * bindings (used by nhi_decide and by nhictl check to explain). Returns
 * NHI_R_OK when it applies.
 */
enum nhi_reason nhi_binding_check(const struct nhi_conf *c,
    const struct nhi_request *r, const struct nhi_binding *b);

#endif
