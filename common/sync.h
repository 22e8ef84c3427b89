/*
 * sync.h: fetch, verify, compile and install the register (nhictl sync).
 *
 * The register is fetched from each register_url in turn with libcurl
 * (file:// and https:// only) into a temporary file under state_dir, read
 * with nhi_register_read, checked against the ratchet, compiled into a new
 * PAM index and a new NSS index, and installed by rename. On any failure
 * the installed indexes and the state's accepted version stay as they
 * were, and the failure is recorded in the state.
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

struct nhi_sync_result {
	bool installed;		/* a new register was installed */
	bool unchanged;		/* same version and hash as installed */
	int64_t version;
	size_t n_bindings, n_accounts, n_deny;
	size_t n_rejected;	/* statements dropped, each with a reason */
	char source[1024];
};

/*
 * Called once per statement that was dropped (bad signature, unknown
 * issuer, account out of range or colliding, ...), for the caller to log.
 */
typedef void (*nhi_reject_fn)(void *ctx, size_t line, const char *reason);

int nhi_sync(const struct nhi_conf *c, int64_t now, nhi_reject_fn reject,
    void *ctx, struct nhi_sync_result *ret, struct nhi_err *e);

/*
 * Installs an already fetched register file (the second half of nhi_sync;
 * tests and `nhictl sync --file` use it).
 */
int nhi_sync_file(const struct nhi_conf *c, const char *path,
    const char *source, int64_t now, nhi_reject_fn reject, void *ctx,
    struct nhi_sync_result *ret, struct nhi_err *e);

#endif
