/*
 * statement.h: the two kinds of signed statements (DESIGN.md §3).
 *
 * Binding payload (application/vnd.nhi.binding+json; version=1):
 *   {"id": "b-...", "account": NAME, "credential": CRED,
 *    "hosts": [GLOB|"@GROUP", ...], "services": [NAME|"*", ...],
 *    "not_before": SECS, "not_after": SECS, "owner": TEXT,
 *    "approver": TEXT, "ticket": TEXT, "issued_at": SECS,
 *    "issuer": KEYID, "source": [CIDR, ...], "max_session": SECS}
 *   CRED is {"kind": "ssh-key", "key": "TYPE BASE64"},
 *   {"kind": "user", "user": NAME} or {"kind": "checkout"}.
 *   "source" and "max_session" are optional; every other field is required.
 *   not_before < not_after; approver != owner; issuer must be the key id of
 *   the signature (checked by nhi_statement_open).
 *
 * Account payload (application/vnd.nhi.account+json; version=1):
 *   {"name": NAME, "uid": N, "gid": N, "owner": TEXT, "issued_at": SECS,
 *    "issuer": KEYID, "description": TEXT?, "home": PATH?, "shell": PATH?,
 *    "groups": [NAME, ...]?, "recertify_by": SECS?}
 *
 * Times are seconds since the epoch, UTC.
 */
#ifndef NHI_STATEMENT_H
#define NHI_STATEMENT_H

#include "dsse.h"
#include "keys.h"
#include "nhi.h"
#include "util.h"

enum nhi_cred_kind {
	NHI_CRED_SSH_KEY = 1,
	NHI_CRED_USER = 2,
	NHI_CRED_CHECKOUT = 3,
};

struct nhi_binding {
	char *id;
	char *account;
	enum nhi_cred_kind cred_kind;
	char *cred_key;		/* ssh-key: "TYPE BASE64" as issued */
	char cred_fp[64];	/* ssh-key: "SHA256:...", from cred_key */
	char *cred_user;	/* user: the invoking person's login */
	struct nhi_strv hosts;
	struct nhi_strv services;
	struct nhi_strv source;	/* CIDRs; empty: any */
	int64_t not_before, not_after, issued_at;
	int64_t max_session;	/* 0: none */
	char *owner, *approver, *ticket;
	char issuer[NHI_KEYID_LEN + 1];
	bool revoked;		/* set by the index reader from the deny list */
};

struct nhi_account {
	char *name;
	uint32_t uid, gid;
	char *owner;
	char *description, *home, *shell;	/* NULL when absent */
	struct nhi_strv groups;
	int64_t recertify_by;	/* 0: none */
	int64_t issued_at;
	char issuer[NHI_KEYID_LEN + 1];
};

/* Parse a verified payload (JSON). Strict: see the top of this file. */
int nhi_binding_parse(const char *json, size_t len, struct nhi_binding **ret,
    struct nhi_err *e);
int nhi_account_parse(const char *json, size_t len, struct nhi_account **ret,
    struct nhi_err *e);

/* Serialise to the JSON payload that nhictl issue signs. */
char *nhi_binding_json(const struct nhi_binding *b);
char *nhi_account_json(const struct nhi_account *a);

void nhi_binding_free(struct nhi_binding *b);
void nhi_account_free(struct nhi_account *a);

/*
 * One statement of a register: the envelope is verified against the key
 * of the issuer named by its keyid (looked up with find_issuer), its
 * payload type decides the kind, and the payload is parsed. Exactly one of
 * ret_binding / ret_account is set.
 */
struct nhi_statement {
	struct nhi_binding *binding;
	struct nhi_account *account;
	unsigned char hash[32];	/* SHA-256 of the encoded envelope */
};
typedef const unsigned char *(*nhi_find_key_fn)(void *ctx, const char *keyid);
int nhi_statement_open(const char *text, size_t len, nhi_find_key_fn find,
    void *ctx, struct nhi_statement *ret, struct nhi_err *e);
void nhi_statement_clear(struct nhi_statement *st);

/* Parses "a.b.c.d/n" or an IPv6 CIDR; matches a numeric address. */
bool nhi_valid_cidr(const char *s);
bool nhi_cidr_match(const char *cidr, const char *addr);

#endif
