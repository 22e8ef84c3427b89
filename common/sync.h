/*
 * sync.h: fetch, verify, compile and install the register (nhictl sync).
 *
 * The register is fetched from each register_url in turn with libcurl
 * (file:// and https:// only) and read with nhi_register_read as it
 * arrives, checked against the ratchet, compiled into a new PAM index and
 * a new NSS index, and installed by rename once the whole transfer
 * succeeded. On any failure the installed indexes and the state's
 * accepted version stay as they were, and the failure is recorded in the
 * state.
 *
 * An https fetch is conditional (If-None-Match / If-Modified-Since) when
 * the installed register came from the same URL, so an unchanged register
 * costs one small request. What each statement compiled to is remembered
 * in STATE_DIR/verified.cdb (stcache.h): a statement met again, byte for
 * byte and under the same pinned issuer key, is neither verified nor
 * parsed again. The others are verified on up to NHI_SYNC_THREADS
 * threads.
 *
 * The program calls nhi_sync_global_init() before the first sync:
 * libcurl's global setup is not thread-safe and belongs to the program.
 */
#ifndef NHI_SYNC_H
#define NHI_SYNC_H

#include "conf.h"
#include "nhi.h"
#include "register.h"

/*
 * One sync at a time: each takes an flock on STATE_DIR/lock, waiting at
 * most this many seconds for another one to finish.
 */
#define NHI_SYNC_LOCK_WAIT 3

/* Threads that verify statement signatures. */
#define NHI_SYNC_THREADS 2

enum nhi_sync_outcome {
	NHI_SYNC_FAILED = 0,
	NHI_SYNC_INSTALLED,	/* a new register (or a lost index) */
	NHI_SYNC_UNCHANGED,	/* same version and hash as installed */
	NHI_SYNC_NOT_MODIFIED,	/* the server answered 304 */
};

struct nhi_sync_result {
	enum nhi_sync_outcome outcome;
	bool installed;		/* a new register was installed */
	bool unchanged;		/* nothing new (also after a 304) */
	/* The register in force after the run; after a failure, the one kept. */
	int64_t version;
	size_t n_bindings, n_accounts, n_deny;
	size_t n_rejected;	/* statements dropped, each with a reason */
	size_t n_verified;	/* signatures verified in this run */
	size_t n_cached;	/* signatures known from an earlier run */
	int64_t duration_ms;
	/*
	 * A short word for monitoring: "ok", "not-modified", "unchanged",
	 * or the class of the failure: "unreachable", "timeout", "tls",
	 * "http", "redirect", "protocol", "too-large", "truncated",
	 * "bad-register",
	 * "rollback", "same-version-different-hash", "expired",
	 * "clock-behind", "disk", "locked", "state", "config", "internal".
	 */
	char reason[32];
	char source[1024];
	/*
	 * A mirror raised an alarm (rollback, same version with a different
	 * hash) although another mirror's register was then installed or
	 * found unchanged: the sync fails with the alarm's reason and
	 * message, and outcome says what was installed.
	 */
	bool alarm;
};

/*
 * Called once per statement that was dropped (bad signature, unknown
 * issuer, account out of range or colliding, ...), for the caller to log.
 */
typedef void (*nhi_reject_fn)(void *ctx, size_t line, const char *reason);

/*
 * Sets up libcurl for the process (curl_global_init): a program calls it
 * once, before any thread, before the first nhi_sync. Returns -1 when
 * libcurl cannot start.
 */
int nhi_sync_global_init(void);

/*
 * Both functions fill *res whatever the outcome (on failure: outcome
 * NHI_SYNC_FAILED, reason, source of the last URL tried, duration), so
 * that the caller can log one line per run with nhi_sync_logline.
 *
 * nhi_sync tries the mirrors in order until one succeeds. A mirror that
 * serves a rollback or the same version with a different hash is an
 * alarm, which failover must not hide: the good register of a later
 * mirror is installed, but nhi_sync returns -1 with the alarm in e,
 * res->reason and res->alarm, and the state's last_error.
 */
int nhi_sync(const struct nhi_conf *c, int64_t now, nhi_reject_fn reject,
    void *ctx, struct nhi_sync_result *res, struct nhi_err *e);

/*
 * Installs an already fetched register file (the second half of nhi_sync;
 * tests and `nhictl sync --file` use it).
 */
int nhi_sync_file(const struct nhi_conf *c, const char *path,
    const char *source, int64_t now, nhi_reject_fn reject, void *ctx,
    struct nhi_sync_result *res, struct nhi_err *e);

/*
 * The one log line of a run, fixed field order, key=value, untrusted
 * values escaped: result source version bindings accounts deny rejected
 * verified cached duration_ms reason [error]. err is the failure's
 * message (NULL after a success). Returns the length written.
 */
size_t nhi_sync_logline(const struct nhi_sync_result *res,
    const struct nhi_err *err, char *out, size_t len);

const char *nhi_sync_outcome_name(enum nhi_sync_outcome o);

/*
 * Checks the installed NSS index the way a sync must before calling it
 * unchanged: a regular file tinycdb accepts, holding a meta record of the
 * format libnss_nhi reads, with the enumerate flag c asks for. Returns 0,
 * or -1 with the reason in e.
 */
int nhi_sync_nss_index_check(const struct nhi_conf *c, struct nhi_err *e);

#endif
