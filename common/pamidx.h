/*
 * pamidx.h: the PAM index, a cdb file (root, 0600) holding what the
 * decision needs, per account, compiled from a verified register by
 * nhictl sync. No JSON is parsed at lookup time.
 */
#ifndef NHI_PAMIDX_H
#define NHI_PAMIDX_H

#include "nhi.h"
#include "register.h"
#include "statement.h"

/* 8 bytes at the start of the meta record; the last is the format version. */
#define NHI_PAMIDX_MAGIC "NHIPAM\0\1"
#define NHI_PAMIDX_MAGIC_LEN 8

struct nhi_regmeta {
	int64_t version, issued_at, expires_at;
	char sha256[65];
	int64_t installed_at;
};

/*
 * The governance rules of the config a sync ran with (govern_users,
 * govern_groups, govern_uids, account_uids), compiled into the index so
 * that pam_nhi, when the config cannot be used, still knows which
 * accounts are governed and fails closed for them (DESIGN.md §7).
 */
struct nhi_governance {
	bool present;		/* false: the index holds no rules */
	struct nhi_strv users, groups;
	struct nhi_range *uids;
	size_t n_uids;
	struct nhi_range account_uids;
};

/* True when g holds exactly the rules of c. */
bool nhi_governance_same(const struct nhi_governance *g,
    const struct nhi_conf *c);
void nhi_governance_clear(struct nhi_governance *g);

struct nhi_pamidx_writer;
int nhi_pamidx_create(const char *path, struct nhi_pamidx_writer **ret,
    struct nhi_err *e);
int nhi_pamidx_add_binding(struct nhi_pamidx_writer *w,
    const struct nhi_binding *b, struct nhi_err *e);
int nhi_pamidx_add_account(struct nhi_pamidx_writer *w,
    const struct nhi_account *a, struct nhi_err *e);
/*
 * The record nhi_pamidx_add_binding or _add_account would store for b or
 * a, appended to out (NUL-separated fields: see pamidx.c). Returns -1 when
 * out of memory.
 */
int nhi_pamidx_binding_record(const struct nhi_binding *b,
    struct nhi_buf *out);
int nhi_pamidx_account_record(const struct nhi_account *a,
    struct nhi_buf *out);
/*
 * Stores a binding record made by nhi_pamidx_binding_record, or accepted
 * by nhi_pamidx_binding_decode, under the account it names: the same
 * bytes nhi_pamidx_add_binding would write for the binding.
 */
int nhi_pamidx_add_binding_record(struct nhi_pamidx_writer *w,
    const char *rec, size_t len, struct nhi_err *e);
/*
 * Decodes a record with the checks the index reader applies to the
 * index's own records. Returns -1 for a record it would refuse (or when
 * out of memory).
 */
int nhi_pamidx_binding_decode(const char *rec, size_t len,
    struct nhi_binding **ret);
/*
 * The same checks, without decoding: ret_issuer points at the issuer's
 * key id inside rec.
 */
int nhi_pamidx_binding_check(const char *rec, size_t len,
    const char **ret_issuer);
int nhi_pamidx_account_decode(const char *rec, size_t len,
    struct nhi_account **ret);
int nhi_pamidx_add_deny(struct nhi_pamidx_writer *w,
    const struct nhi_deny *d, struct nhi_err *e);
/* Records the governance rules of c (at most once per index). */
int nhi_pamidx_add_governance(struct nhi_pamidx_writer *w,
    const struct nhi_conf *c, struct nhi_err *e);
/*
 * Writes the meta record and completes the temporary file without
 * installing it, so that a caller installing several files can do every
 * step that may fail for want of space before the first rename.
 */
int nhi_pamidx_finish(struct nhi_pamidx_writer *w,
    const struct nhi_regmeta *meta, struct nhi_err *e);
/*
 * Writes the meta record (unless nhi_pamidx_finish did) and installs the
 * file atomically (mode 0600). Frees w whatever the outcome.
 */
int nhi_pamidx_commit(struct nhi_pamidx_writer *w,
    const struct nhi_regmeta *meta, struct nhi_err *e);
/* Removes the temporary file and frees w. */
void nhi_pamidx_abort(struct nhi_pamidx_writer *w);

/* What the index says about one account: the decision's input. */
struct nhi_view {
	bool have_register;	/* false: index missing or unreadable */
	struct nhi_regmeta meta;
	struct nhi_account *account;	/* pseudonymous record, or NULL */
	struct nhi_binding **bindings;	/* revoked flags already set */
	size_t n_bindings;
	/* The rules of the last sync, for a caller without a config. */
	struct nhi_governance governance;
};

struct nhi_pamidx;
/*
 * Opens and validates the index (format version, meta record, governance
 * record when there is one).
 */
int nhi_pamidx_open(const char *path, struct nhi_pamidx **ret,
    struct nhi_err *e);
void nhi_pamidx_close(struct nhi_pamidx *x);
/* The version of the file that was opened. */
const struct nhi_fileid *nhi_pamidx_fileid(const struct nhi_pamidx *x);
const struct nhi_regmeta *nhi_pamidx_meta(const struct nhi_pamidx *x);
/* The governance rules the index holds (present false when none). */
const struct nhi_governance *nhi_pamidx_governance(
    const struct nhi_pamidx *x);
/* The record counts the writer stored in the meta record. */
void nhi_pamidx_counts(const struct nhi_pamidx *x, size_t *ret_bindings,
    size_t *ret_accounts, size_t *ret_deny);
/*
 * Fills v for account, the governance rules included; v->have_register
 * is set true.
 */
int nhi_pamidx_view(struct nhi_pamidx *x, const char *account,
    struct nhi_view *v, struct nhi_err *e);
/* The pseudonymous account with this uid, or ret NULL when none. */
int nhi_pamidx_account_by_uid(struct nhi_pamidx *x, uint32_t uid,
    struct nhi_account **ret, struct nhi_err *e);
/* True when the deny list holds value (and when the index is corrupt). */
bool nhi_pamidx_denied(struct nhi_pamidx *x, enum nhi_deny_kind k,
    const char *value);
/*
 * True when key_fp (the fingerprint of the key a login presents) is on the
 * deny list: the value for nhi_request.key_denied. False when x or key_fp
 * is NULL (no index: the decision refuses for a stale register anyway).
 */
bool nhi_pamidx_key_denied(struct nhi_pamidx *x, const char *key_fp);
void nhi_view_clear(struct nhi_view *v);

#endif
