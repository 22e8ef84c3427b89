/*
 * register.h: the signed register, and the host's ratchet state.
 *
 * A register file is JSON lines. Line 1 is a DSSE envelope of type
 * NHI_PT_REGISTER signed by the register key, whose payload is
 *   {"version": N, "issued_at": SECS, "expires_at": SECS,
 *    "deny": [{"kind": "binding"|"owner"|"key", "value": TEXT}, ...],
 *    "statements": COUNT, "statements_sha256": HEX}
 * and every following line is one statement envelope, each signed by its
 * issuer. statements_sha256 covers every byte after the first newline, so
 * a reader streams the statements one at a time in bounded memory and
 * installs nothing until the whole body matched.
 */
#ifndef NHI_REGISTER_H
#define NHI_REGISTER_H

#include "conf.h"
#include "keys.h"
#include "nhi.h"
#include "statement.h"

#include <stdio.h>

/*
 * The latest time anything may carry (the end of year 9999), as statements
 * do: register times, key windows and index records are bounded by it, so
 * a time plus or minus the clock skew can never overflow.
 */
#define NHI_TIME_MAX INT64_C(253402300799)

enum nhi_deny_kind {
	NHI_DENY_BINDING = 1,
	NHI_DENY_OWNER = 2,
	NHI_DENY_KEY = 3,	/* SSH key fingerprint "SHA256:..." */
};

struct nhi_deny {
	enum nhi_deny_kind kind;
	char *value;
};

struct nhi_register_header {
	int64_t version, issued_at, expires_at;
	struct nhi_deny *deny;
	size_t n_deny;
	size_t n_statements;
	unsigned char body_sha256[32];
	char keyid[NHI_KEYID_LEN + 1];	/* register key that signed it */
};

/*
 * True when a pinned key is in force at now: not_before - skew <= now <
 * not_after + skew, a bound of 0 being no bound.
 */
bool nhi_pubkey_valid_at(const struct nhi_pubkey *k, int64_t now,
    int64_t skew);

/* Parses "ID", "owner:O" or "key:SHA256:..." as nhictl publish takes it. */
int nhi_deny_parse(const char *s, struct nhi_deny *ret, struct nhi_err *e);
const char *nhi_deny_kind_name(enum nhi_deny_kind k);
/* Frees the value of d (not d itself). */
void nhi_deny_clear(struct nhi_deny *d);

/*
 * Writes a register to out: header signed with k, then the statements
 * (each one encoded envelope, no newline inside) in the order given.
 * The statements are checked to decode as envelopes, not verified.
 */
int nhi_register_publish(const struct nhi_seckey *k, int64_t version,
    int64_t issued_at, int64_t expires_at, const struct nhi_deny *deny,
    size_t n_deny, char *const *statements, size_t n, FILE *out,
    struct nhi_err *e);

/*
 * The same, streaming: statements is a seekable file of statement lines
 * (one encoded envelope each, newline-terminated), read twice: once to
 * check, count and hash, once to copy after the signed header. Memory
 * stays bounded by one line, whatever the number of statements. A file
 * that changes between the passes yields a register whose body does not
 * match its header, which every reader refuses.
 */
int nhi_register_publish_stream(const struct nhi_seckey *k, int64_t version,
    int64_t issued_at, int64_t expires_at, const struct nhi_deny *deny,
    size_t n_deny, FILE *statements, FILE *out, struct nhi_err *e);

/*
 * Reads a register from in. The header is verified against the pinned
 * register keys of c that are valid at now, then every statement line is
 * passed to each() in order; each() returns 0 to go on, -1 to stop with
 * its error. Fails when the count or body hash do not match, so a caller
 * must commit nothing before this returns 0. ret_file_sha256 is SHA-256
 * of the whole file (what the ratchet compares).
 */
typedef int (*nhi_statement_fn)(void *ctx, const char *line, size_t len,
    struct nhi_err *e);
int nhi_register_read(FILE *in, const struct nhi_conf *c, int64_t now,
    nhi_statement_fn each, void *ctx, struct nhi_register_header *ret,
    unsigned char ret_file_sha256[32], struct nhi_err *e);

/*
 * The same, with on_header called once the header is verified and parsed,
 * before the first statement: a caller can refuse early (a rollback) or
 * decide how much work the statements need. It returns 0 to go on, -1 to
 * stop with its error.
 */
typedef int (*nhi_header_fn)(void *ctx,
    const struct nhi_register_header *h, struct nhi_err *e);
int nhi_register_read_ext(FILE *in, const struct nhi_conf *c, int64_t now,
    nhi_header_fn on_header, nhi_statement_fn each, void *ctx,
    struct nhi_register_header *ret, unsigned char ret_file_sha256[32],
    struct nhi_err *e);
void nhi_register_header_clear(struct nhi_register_header *h);

/*
 * Host state (DESIGN.md §3), kept outside the index files in
 * STATE_DIR/state as "key=value" lines, written atomically:
 * the highest version accepted with its file hash and issue time, and the
 * last sync attempt's outcome. Fields added after the first release are
 * optional when loading, so an older state file still loads.
 */
struct nhi_state {
	int64_t version;	/* 0: none accepted yet */
	char sha256[65];
	int64_t issued_at, expires_at;
	int64_t last_success, last_attempt;
	char last_error[NHI_ERRLEN];	/* "" after a success */
	char source[1024];
	size_t n_bindings, n_accounts, n_deny, n_rejected;
	/*
	 * Kept across a later success, for nhictl status: when the last
	 * failure happened and why.
	 */
	int64_t last_failure;
	char last_failure_error[NHI_ERRLEN];
	char last_reason[32];	/* the last run's reason word */
	/* Validators of the accepted register, for a conditional fetch. */
	char etag[256];
	char last_modified[64];
};
int nhi_state_load(const char *dir, struct nhi_state *ret, struct nhi_err *e);
int nhi_state_save(const char *dir, const struct nhi_state *s,
    struct nhi_err *e);

/*
 * The ratchet: whether a verified header may replace what the state holds.
 * Fails with the reason: "rollback" (lower version), "same version with a
 * different hash" (an alarm), "expired" (past expires_at + skew: freeze),
 * "clock behind" (now earlier than the last accepted issue time - skew).
 * The same version with the same hash is not an error: ret_unchanged.
 */
int nhi_ratchet_check(const struct nhi_state *s,
    const struct nhi_register_header *h, const unsigned char sha256[32],
    int64_t now, int64_t skew, bool *ret_unchanged, struct nhi_err *e);

/*
 * The part of the ratchet that needs only the header (everything but the
 * hash comparison): "clock behind", "rollback", "expired". A sync runs it
 * before reading the statements so that a refused register costs little.
 * The clock is also behind when the header's own issue time lies ahead of
 * now by more than skew.
 */
int nhi_ratchet_precheck(const struct nhi_state *s,
    const struct nhi_register_header *h, int64_t now, int64_t skew,
    struct nhi_err *e);

#endif
