/*
 * stcache.h: the statement cache of nhictl sync, STATE_DIR/verified.cdb.
 *
 * Every statement a sync accepted is remembered under the SHA-256 of its
 * envelope line, with what it compiled to: its kind, the issuer key that
 * verified its signature, and its PAM index record. A later sync that
 * meets the same bytes takes the record instead of decoding, verifying and
 * parsing the envelope again, as long as that key is still the pinned
 * one. Only what follows from the statement's bytes is kept: everything
 * that depends on the config, the local files or the rest of the register
 * is judged again by every sync. The cache also records a digest of
 * those other inputs as they were when the indexes installed with it
 * were compiled: a sync may keep those indexes unchanged only while the
 * digest is still the host's.
 *
 * The file is a cdb (root, mode 0600, written atomically) holding a record
 * that names its format. A file that is not exactly that is not used,
 * and the caller decodes each record it takes with the index reader's
 * checks: a damaged cache costs verification time, never correctness.
 */
#ifndef NHI_STCACHE_H
#define NHI_STCACHE_H

#include "keys.h"
#include "nhi.h"
#include "sha256.h"
#include "util.h"

/* What a statement compiled to. */
#define NHI_STCACHE_BINDING 'b'
#define NHI_STCACHE_ACCOUNT 'a'

/*
 * One entry, as stored: kind, key (NHI_PK_LEN bytes), the PAM index
 * record, and a check of those (SipHash keyed with the statement's hash)
 * that catches a damaged entry or one moved under another statement. The
 * pointers point into the cache's mapping (or the caller's buffer) and
 * live as long as it does.
 */
struct nhi_stcache_entry {
	char kind;
	const unsigned char *pk;
	const char *rec;
	size_t rec_len;
	const void *value;	/* the whole stored value */
	size_t value_len;
};

/*
 * A stored value is made in out (empty at first) in three steps: start
 * writes kind and key, the caller appends the record, end appends the
 * check for the statement whose hash is given. Return -1 when out of
 * memory.
 */
int nhi_stcache_value_start(char kind, const unsigned char pk[NHI_PK_LEN],
    struct nhi_buf *out);
int nhi_stcache_value_end(const unsigned char hash[NHI_SHA256_LEN],
    struct nhi_buf *out);

/*
 * Splits the stored value of the statement with this hash into ret.
 * Returns -1 when it is not one (too short, unknown kind, check fails).
 */
int nhi_stcache_entry_of(const unsigned char hash[NHI_SHA256_LEN],
    const void *value, size_t len, struct nhi_stcache_entry *ret);

struct nhi_stcache;

/*
 * Opens the cache of an earlier sync: a regular file owned by root (or
 * this user), writable by nobody else, a cdb holding the format record of
 * this version. Returns -1 with the reason otherwise; the caller then
 * goes without.
 */
int nhi_stcache_open(const char *path, struct nhi_stcache **ret,
    struct nhi_err *e);

/*
 * Looks a statement hash up; several threads may look up at once. Returns
 * 1 with ret filled, 0 when the cache holds no well-formed entry for it.
 */
int nhi_stcache_find(const struct nhi_stcache *c,
    const unsigned char hash[NHI_SHA256_LEN], struct nhi_stcache_entry *ret);

/*
 * The inputs record: a digest of everything besides the register that
 * the indexes installed with this cache were compiled from (the config's
 * rules, the local users and groups). Returns whether the cache holds
 * exactly this digest.
 */
bool nhi_stcache_inputs_are(const struct nhi_stcache *c,
    const unsigned char digest[NHI_SHA256_LEN]);

void nhi_stcache_close(struct nhi_stcache *c);

struct nhi_stcache_writer;

/* Starts a new cache beside path (installed by commit). */
int nhi_stcache_create(const char *path, struct nhi_stcache_writer **ret,
    struct nhi_err *e);

/* Adds a value (head and record) under hash. */
int nhi_stcache_add(struct nhi_stcache_writer *w,
    const unsigned char hash[NHI_SHA256_LEN], const void *value, size_t len,
    struct nhi_err *e);

/* Records the inputs digest (see nhi_stcache_inputs_are). */
int nhi_stcache_set_inputs(struct nhi_stcache_writer *w,
    const unsigned char digest[NHI_SHA256_LEN], struct nhi_err *e);

/* Completes and installs the file. Frees w whatever the outcome. */
int nhi_stcache_commit(struct nhi_stcache_writer *w, struct nhi_err *e);

/* Removes the temporary file and frees w. */
void nhi_stcache_abort(struct nhi_stcache_writer *w);

#endif
