/*
 * audit.h: records for the Linux audit system (libaudit), DESIGN.md §6.
 *
 * Each decision on a governed account is one USER_ACCT record; a refusal
 * is also sent as ANOM_LOGIN_SERVICE, so `aureport --anomaly` lists it. At
 * session open, once pam_loginuid has given the process its login uid and
 * session id, one USER_START record (op=nhi-session) names the binding and
 * owner: the kernel stamps it with ses=, so `ausearch --session N` finds
 * the owner next to every audited action of that session. nhictl sync
 * sends one USYS_CONFIG record per register installed or refused.
 *
 * libaudit adds acct, exe, hostname, addr, terminal and res; ours carry
 * an nhi_ prefix. Every value from outside (account, host, ids, ticket) is
 * encoded with audit_encode_nv_string, so a space or quote in it cannot
 * forge a field. The address passed is always numeric (or "?"), so
 * libaudit never resolves a name in the login path.
 *
 * Nothing here logs: the functions hand the reason for a failure back.
 */
#ifndef NHI_AUDIT_H
#define NHI_AUDIT_H

#include "decide.h"
#include "nhi.h"
#include "pamidx.h"

/* Longest record text we build (libaudit's own limit is larger). */
#define NHI_AUDIT_MAX 4096

/* What a login record says besides the decision itself. */
struct nhi_audit_login {
	const struct nhi_request *req;
	const struct nhi_decision *dec;
	const struct nhi_view *view;	/* for the register version; or NULL */
	const char *stage;		/* "auth", "account", "session" */
	const char *addr;		/* numeric peer address, or NULL */
	const char *reason;		/* overrides dec's reason, or NULL */
	bool deny;			/* overrides dec: refused anyway */
};

/*
 * The words a record uses for a decision: the result ("allow", "deny",
 * "would-deny"), the reason, and the credential ("SHA256:...", "pending",
 * or NULL when none was seen). Shared by the audit and log records.
 */
const char *nhi_audit_result(const struct nhi_audit_login *l);
const char *nhi_audit_reason(const struct nhi_audit_login *l);
const char *nhi_audit_key(const struct nhi_request *r);

/*
 * Formats the text libaudit puts after "op=": our operation name and the
 * nhi_ fields of one decision, each value encoded. op is "nhi-authz" for
 * a decision or "nhi-session" for the session record. Returns 0, or -1
 * when out is too small or memory runs out.
 */
int nhi_audit_format_login(const struct nhi_audit_login *l, const char *op,
    char *out, size_t len);

/*
 * Formats the nhi_ fields of a register update: version, sha256 (either
 * may be 0 / NULL when unknown), source and reason (NULL when none).
 */
int nhi_audit_format_config(int64_t version, const char *sha256,
    const char *source, const char *reason, char *out, size_t len);

/*
 * An open connection to the kernel's audit socket. nhi_audit_open fails
 * (returns -1, reason in e) when the kernel has no audit support; the
 * descriptor is close-on-exec.
 */
struct nhi_audit;
int nhi_audit_open(struct nhi_audit **ret, struct nhi_err *e);
void nhi_audit_close(struct nhi_audit *a);

/*
 * Asks the kernel whether records reach a daemon: audit enabled and an
 * auditd registered. Returns 1 yes, 0 no (reason in e), -1 when it cannot
 * be told (no CAP_AUDIT_CONTROL; reason in e). Waits at most about 0.5 s.
 */
int nhi_audit_daemon_running(struct nhi_audit *a, struct nhi_err *e);

/*
 * Sends the records of one decision: USER_ACCT, and ANOM_LOGIN_SERVICE
 * when it refuses. With session set and an allow, also the USER_START
 * session record. Returns 0 when the kernel accepted every record, -1
 * (reason in e) when one was refused, typically for want of
 * CAP_AUDIT_WRITE.
 */
int nhi_audit_login(struct nhi_audit *a, const struct nhi_audit_login *l,
    bool session, struct nhi_err *e);

/*
 * Sends one USYS_CONFIG record for a register installed (ok) or refused.
 * Opens and closes its own connection. Returns 0 or -1 as above.
 */
int nhi_audit_config(int64_t version, const char *sha256,
    const char *source, bool ok, const char *reason, struct nhi_err *e);

/* The session id the kernel gave this process; 0xffffffff when unset. */
uint32_t nhi_audit_session(void);

#endif
