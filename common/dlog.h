/*
 * dlog.h: the local decision log, hash-chained and checkpointed.
 *
 * LOG_DIR/decisions.log holds one JSON object per line. Every record has
 * "seq" (one more than the record before it), "time", "kind" and, last,
 * "prev": the BLAKE2b-256 hash (hex) of the exact bytes of the line before
 * it. A fresh log starts with a "start" record whose prev is all zeros; a
 * file started by rotation begins with a "link" record naming the rotated
 * file ("prev_file") and holding the hash of its last line, so the chain
 * runs across files. Kinds: "start", "link", "decision", "sync",
 * "checkpoint".
 *
 * Every NHI_DLOG_CHECKPOINT_EVERY records, and after every sync, a
 * "checkpoint" record is signed (Ed25519) with the host's log key,
 * STATE_DIR/dlog.key (dlog.pub beside it), made on first use by root or
 * by nhictl sync. A copy of the newest checkpoint is kept in
 * STATE_DIR/dlog.head, outside the log, so a log cut short before that
 * checkpoint is told apart from a complete one.
 *
 * Appending: open with O_APPEND, flock the file (waiting a bounded time),
 * read its last line for seq and prev, write the record with a single
 * write(2), and undo a short write; no other process can interleave.
 * Rotation happens under the same lock once the file passes
 * NHI_DLOG_ROTATE_SIZE: the file is renamed decisions.log.SEQ (SEQ: its
 * last record, 12 digits) and a new file holding the link record takes its
 * place atomically.
 */
#ifndef NHI_DLOG_H
#define NHI_DLOG_H

#include <sys/types.h>

#include "audit.h"
#include "conf.h"
#include "keys.h"
#include "nhi.h"

#define NHI_DLOG_FILE "decisions.log"
#define NHI_DLOG_KEY "dlog"		/* STATE_DIR/dlog.key, dlog.pub */
#define NHI_DLOG_HEAD "dlog.head"
#define NHI_DLOG_MAX_LINE 16384
#define NHI_DLOG_CHECKPOINT_EVERY 64
#define NHI_DLOG_ROTATE_SIZE ((off_t)16 * 1024 * 1024)
#define NHI_DLOG_LOCK_WAIT_MS 2000
#define NHI_DLOG_HASH_HEX 64

/* Where and how to append. Zero values take the defaults above. */
struct nhi_dlog {
	const char *dir;		/* log_dir; must exist */
	const char *state_dir;		/* key and head; NULL: no checkpoints */
	const char *host;		/* recorded in every record */
	unsigned checkpoint_every;
	off_t rotate_size;
	int lock_wait_ms;
	bool make_key;			/* create the log key when missing */
};

/*
 * Appends one decision record (the same facts as the audit record, plus
 * the session id when known: 0xffffffff is left out). Returns 0, or -1
 * with the reason in e; the log is left as it was on failure.
 */
int nhi_dlog_decision(const struct nhi_dlog *o,
    const struct nhi_audit_login *l, uint32_t ses, struct nhi_err *e);

/*
 * Appends one sync record (register installed, unchanged or refused),
 * followed by a checkpoint. version 0 and NULL strings mean unknown.
 */
int nhi_dlog_sync(const struct nhi_dlog *o, const char *result,
    int64_t version, const char *sha256, const char *source,
    const char *reason, const char *detail, struct nhi_err *e);

/*
 * Records one run of nhictl sync: a USYS_CONFIG audit record and a sync
 * record (with a checkpoint) in c's decision log, making the log key if
 * it is missing. result is "installed", "unchanged", "not-modified" or
 * "refused"; reason a short word ("rollback", ...) or NULL, detail the
 * whole message (the log keeps it) or NULL. When ok, the version and
 * hash come from the installed PAM index. Both records are attempted;
 * returns -1 (reasons in e) if either failed.
 */
int nhi_dlog_record_sync(const struct nhi_conf *c, const char *result,
    bool ok, int64_t version, const char *source, const char *reason,
    const char *detail, struct nhi_err *e);

/* Makes the log key if it is missing (nhictl sync calls it). */
int nhi_dlog_key_ensure(const char *state_dir, const char *host,
    struct nhi_err *e);

enum nhi_dlog_fault {
	NHI_DLOG_OK = 0,
	NHI_DLOG_EDITED,	/* a record's bytes changed */
	NHI_DLOG_DROPPED,	/* records missing from the middle */
	NHI_DLOG_REORDERED,	/* a record out of its place */
	NHI_DLOG_INSERTED,	/* a record that is not part of the chain */
	NHI_DLOG_BAD_SIGNATURE,	/* a checkpoint's signature fails */
	NHI_DLOG_TAIL_CUT,	/* records cut off after a checkpoint */
};

/* The word nhictl prints for a fault: "edited", "dropped", ... */
const char *nhi_dlog_fault_name(enum nhi_dlog_fault f);

struct nhi_dlog_report {
	size_t n_records;
	int64_t first_seq, last_seq;
	const char *first_kind;		/* "start", "link", other: static */
	char prev_file[256];		/* a link record's prev_file */
	char first_prev[NHI_DLOG_HASH_HEX + 1];
	char last_hash[NHI_DLOG_HASH_HEX + 1];
	size_t n_checkpoints;
	int64_t last_checkpoint;	/* seq, or -1 */
	size_t after_checkpoint;	/* records after the last checkpoint */
	bool signatures_checked;
	int64_t head_seq;		/* the host's copy, or -1 */
	bool head_bad;			/* a head file that is not one record */
	/* The first fault found, if any. */
	enum nhi_dlog_fault fault;
	size_t line;			/* 1-based line of the fault */
	int64_t seq;			/* seq of the record concerned, or -1 */
	char detail[512];
};

/*
 * Verifies one log file's chain and checkpoint signatures (with pk when
 * not NULL). head_path, when not NULL and readable, is the host's copy of
 * its newest checkpoint: when its seq is past the file's last record the
 * tail was cut. Returns 0 with ret filled in (ret->fault says whether the
 * file is intact), or -1 (reason in e) when the file cannot be read.
 */
int nhi_dlog_verify_file(const char *path, const unsigned char *pk,
    const char *head_path, struct nhi_dlog_report *ret, struct nhi_err *e);

/* The same over a buffer of lines (tests, fuzzing). */
void nhi_dlog_verify_buf(const char *buf, size_t len,
    const unsigned char *pk, struct nhi_dlog_report *ret);

/* BLAKE2b-256 of p in lowercase hex (65 bytes with the NUL). */
void nhi_dlog_hash(const void *p, size_t n,
    char out[NHI_DLOG_HASH_HEX + 1]);

#endif
