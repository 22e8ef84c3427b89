/*
 * conf.h: /etc/nhi/nhi.conf, parsed strictly.
 *
 * Syntax: "key = value" lines; '#' starts a comment line; blank lines are
 * ignored. Issuers are sections "[issuer NAME]" followed by their own keys.
 * An unknown key, a repeated single-valued key, a bad value, or a file that
 * is not a regular file owned by root and unwritable by group and others is
 * an error naming file, line and key. See doc/nhi.conf.5.
 *
 * Top-level keys:
 *   mode = enforce | audit
 *   register_url = URL             (repeatable: mirrors, tried in order)
 *   register_key = BASE64 [not_before=TIME] [not_after=TIME] (repeatable)
 *   host_name = NAME               (default: gethostname())
 *   host_groups = G1, G2
 *   clock_skew = DURATION          (default 60s, at most 1h)
 *   max_register_age = DURATION    (default 0: the register's expires_at only)
 *   govern_users = GLOB, ...       (governed account names)
 *   govern_groups = NAME, ...      (members of these local groups)
 *   govern_uids = LO-HI, ...
 *   ignore_services = NAME, ...    (PAM services that start jobs an account
 *                                  set up itself, never a person's login;
 *                                  default cron, atd, systemd-user)
 *   account_uids = LO-HI           (range for pseudonymous accounts; they are
 *   account_gids = LO-HI            governed; default 70000-79999 for both)
 *   account_groups = NAME, ...     (the local groups pseudonymous accounts
 *                                  may be supplementary members of; default
 *                                  none: an account naming any other group
 *                                  is dropped by the sync. A primary gid
 *                                  that is a local group below 1000 must be
 *                                  listed too.)
 *   state_dir = PATH               (default /var/lib/nhi)
 *   pam_index = PATH               (default STATE_DIR/pam.cdb)
 *   nss_index = PATH               (default STATE_DIR/nss.cdb)
 *   log_dir = PATH                 (default /var/log/nhi)
 *   break_glass = USER@SERVICE, ... (allowed when the register is stale)
 *   enumerate = yes | no           (NSS enumeration; default no)
 *   require_audit = yes | no       (default no)
 *   ca_file = PATH, ca_dir = PATH, pinned_pubkey = SPEC
 *   max_register_size = BYTES      (default 1 GiB)
 *   fetch_connect_timeout = DURATION (default 10s)
 *   fetch_timeout = DURATION       (whole transfer; default 10m)
 *   fetch_low_speed_limit = BYTES  (per second; default 1024) and
 *   fetch_low_speed_time = DURATION (default 30s): a transfer slower than
 *                                  the limit for that long is cut off
 *   passwd_file = PATH, group_file = PATH (local files database the sync
 *                                  checks uids and gids against, read
 *                                  directly, never through NSS; defaults
 *                                  /etc/passwd and /etc/group)
 * Issuer keys:
 *   key = BASE64                   (Ed25519 public key, required)
 *   accounts = GLOB, ...           (required)
 *   services = NAME, ...           (required; "*" for all)
 *   max_window = DURATION          (required)
 *   groups = NAME, ...             (optional: the account_groups this issuer
 *                                  may put its accounts in; default all)
 */
#ifndef NHI_CONF_H
#define NHI_CONF_H

#include "nhi.h"
#include "util.h"

#include <sys/types.h>

#define NHI_DEFAULT_CONFIG "/etc/nhi/nhi.conf"

enum nhi_mode { NHI_MODE_ENFORCE = 0, NHI_MODE_AUDIT = 1 };

struct nhi_range {
	uint32_t lo, hi;
};

struct nhi_pubkey {
	unsigned char pk[32];
	char keyid[17];		/* 16 hex chars: see keys.h */
	int64_t not_before;	/* 0: no bound */
	int64_t not_after;	/* 0: no bound */
};

struct nhi_issuer {
	char *name;
	struct nhi_pubkey key;
	struct nhi_strv accounts;
	struct nhi_strv services;
	int64_t max_window;
	struct nhi_strv groups;	/* empty: any of account_groups */
};

struct nhi_conf {
	char *path;
	struct nhi_fileid id;	/* the file read, by nhi_conf_load only */
	enum nhi_mode mode;
	struct nhi_strv register_urls;
	struct nhi_pubkey *register_keys;
	size_t n_register_keys;
	char *host_name;
	struct nhi_strv host_groups;
	int64_t clock_skew;
	int64_t max_register_age;
	struct nhi_strv govern_users;
	struct nhi_strv ignore_services;
	struct nhi_strv govern_groups;
	struct nhi_range *govern_uids;
	size_t n_govern_uids;
	struct nhi_range account_uids, account_gids;
	struct nhi_strv account_groups;
	char *state_dir, *pam_index, *nss_index, *log_dir;
	struct nhi_strv break_glass;	/* "user@service" */
	bool enumerate;
	bool require_audit;
	char *ca_file, *ca_dir, *pinned_pubkey;
	int64_t max_register_size;
	int64_t fetch_connect_timeout, fetch_timeout;	/* 0: default */
	int64_t fetch_low_speed_limit, fetch_low_speed_time;
	char *passwd_file, *group_file;
	struct nhi_issuer *issuers;
	size_t n_issuers;
};

/*
 * Loads path (NHI_DEFAULT_CONFIG when NULL). check_owner makes the
 * ownership and mode checks (root-owned, not writable by group/others);
 * tests turn them off for files they make as an ordinary user.
 */
int nhi_conf_load(const char *path, bool check_owner, struct nhi_conf **ret,
    struct nhi_err *e);
/* Parses text as if read from path (for tests and fuzzing). */
int nhi_conf_parse(const char *path, const char *text, struct nhi_conf **ret,
    struct nhi_err *e);
void nhi_conf_free(struct nhi_conf *c);

/* The issuer whose key has this key id, or NULL. */
const struct nhi_issuer *nhi_conf_issuer(const struct nhi_conf *c,
    const char *keyid);

/* True when uid lies in one of the ranges. */
bool nhi_range_has(const struct nhi_range *r, size_t n, uint32_t id);

#endif
