/*
 * dlog.c: appending to and verifying the decision log (dlog.h).
 *
 * The appender runs inside the PAM module, in sshd, su and sudo, so it is
 * bounded in everything: one file open, a lock waited for at most
 * lock_wait_ms, a read of at most two record lengths from the end, one
 * write per record. It keeps nothing between calls.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlog.h"
#include "jsonx.h"
#include "pamidx.h"
#include "statement.h"
#include "util.h"

#define SIG_CONTEXT "nhi-dlog-checkpoint v1"
/* The first record of a log has no predecessor: prev is all zeros. */
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
/* How often a log replaced under our feet is opened again. */
#define REOPEN_TRIES 8

/* What the end of the log holds, read under the lock. */
struct tail {
	off_t size;
	int64_t seq;		/* of the last record; -1 when none */
	char hash[NHI_DLOG_HASH_HEX + 1];
	bool newline;		/* the file ends with '\n' (or is empty) */
};

/* What a record's filler may need to know about the record. */
struct recinfo {
	int64_t seq;
	const char *time;
	const char *prev;
};

typedef int (*fill_fn)(json_object *rec, const struct recinfo *ri,
    void *ctx);

void
nhi_dlog_hash(const void *p, size_t n, char out[NHI_DLOG_HASH_HEX + 1])
{
	unsigned char h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), p, n, NULL, 0);
	nhi_hex(h, sizeof(h), out);
}

const char *
nhi_dlog_fault_name(enum nhi_dlog_fault f)
{
	static const char *const names[] = {
		"intact", "edited", "dropped", "reordered", "inserted",
		"bad-signature", "tail-cut",
	};

	if ((size_t)f >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[f];
}

/* Takes the lock, polling so that the wait stays bounded. */
static int
lock_bounded(int fd, int wait_ms)
{
	struct timespec ts;
	long waited_us = 0, step_us = 200;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (waited_us >= (long)wait_ms * 1000) {
			errno = ETIMEDOUT;
			return -1;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = step_us * 1000;
		(void)nanosleep(&ts, NULL);
		waited_us += step_us;
		if (step_us < 5000)
			step_us *= 2;
	}
}

static int
pread_all(int fd, char *buf, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The "seq" of one line, or -1 when it is not a record. */
static int64_t
line_seq(const char *p, size_t n)
{
	json_object *o = NULL;
	int64_t seq = -1;

	if (nhi_json_parse(p, n, NHI_DLOG_MAX_LINE, &o, NULL) == 0 &&
	    nhi_json_int(o, "seq", 0, INT64_MAX - 1, &seq, NULL) != 0)
		seq = -1;
	json_object_put(o);
	return seq;
}

/*
 * Scans the last len bytes of a file of t->size bytes for the last line
 * (hashed for prev) and the last record's seq. Returns 1 when that was
 * enough, 0 when a line runs past the window's start and a larger window
 * is needed. In the last window (last), its start counts as a line start.
 */
static int
tail_scan(const char *buf, size_t len, bool last, struct tail *t)
{
	bool whole = last || (off_t)len == t->size;
	size_t end = len, start, skipped = 0;
	const char *nl;
	int64_t seq;

	t->newline = buf[end - 1] == '\n';
	if (t->newline)
		end--;
	nl = memrchr(buf, '\n', end);
	if (nl == NULL && !whole)
		return 0;
	start = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
	nhi_dlog_hash(buf + start, end - start, t->hash);
	for (;;) {
		if ((seq = line_seq(buf + start, end - start)) >= 0) {
			t->seq = seq + (int64_t)skipped;
			return 1;
		}
		if (start == 0)
			return whole;
		skipped++;
		end = start - 1;
		nl = memrchr(buf, '\n', end);
		if (nl == NULL && !whole)
			return 0;
		start = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
	}
}

/*
 * Reads the last line (for prev) and the last sequence number. A last
 * line that is not a record (a crash mid-write, an edit) still gets
 * chained to; its seq is counted on from the record before it. Records
 * are a few hundred bytes: a small window almost always holds the last
 * one whole, and the larger one is read only when it does not.
 */
static int
read_tail(int fd, off_t size, struct tail *t)
{
	static const size_t windows[] = { 4096, 2 * NHI_DLOG_MAX_LINE };
	const size_t n = sizeof(windows) / sizeof(windows[0]);
	size_t i, want;
	char *buf;
	int r = -1;

	t->size = size;
	t->seq = -1;
	t->newline = true;
	memcpy(t->hash, ZERO_HASH, sizeof(t->hash));
	if (size == 0)
		return 0;
	if ((buf = malloc(windows[1])) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		want = size < (off_t)windows[i] ? (size_t)size : windows[i];
		if (pread_all(fd, buf, want, size - (off_t)want) != 0)
			goto out;
		t->seq = -1;
		if (tail_scan(buf, want, i == n - 1, t) == 1)
			break;
	}
	r = 0;
out:
	free(buf);
	return r;
}

static int
put_str(json_object *o, const char *key, const char *val)
{
	/* json-c stands for JSON null with a NULL member. */
	if (val == NULL || *val == '\0')
		return json_object_object_add(o, key, NULL) == 0 ? 0 : -1;
	return nhi_json_put(o, key, json_object_new_string_len(val,
	    (int)strnlen(val, NHI_MAX_FIELD)));
}

static int
put_int(json_object *o, const char *key, int64_t v)
{
	return nhi_json_put(o, key, json_object_new_int64(v));
}

static int
write_line(int fd, struct tail *t, const char *text, struct nhi_err *e)
{
	size_t n = strlen(text), len;
	char *buf;
	ssize_t w;

	if (n > NHI_DLOG_MAX_LINE)
		return nhi_err_set(e, "decision log: record too long");
	if ((buf = malloc(n + 2)) == NULL)
		return nhi_err_set(e, "decision log: out of memory");
	len = 0;
	/* A last line left without its newline is closed first. */
	if (!t->newline)
		buf[len++] = '\n';
	memcpy(buf + len, text, n);
	len += n;
	buf[len++] = '\n';
	do {
		w = write(fd, buf, len);
	} while (w < 0 && errno == EINTR);
	free(buf);
	if (w != (ssize_t)len) {
		int saved = w < 0 ? errno : ENOSPC;

		/* Take back a partial record rather than leave it torn. */
		if (w > 0 && ftruncate(fd, t->size) != 0)
			return nhi_err_set(e, "decision log: write: %s, and "
			    "the partial record could not be taken back: %s",
			    strerror(saved), strerror(errno));
		return nhi_err_set(e, "decision log: write: %s",
		    strerror(saved));
	}
	t->size += (off_t)len;
	t->newline = true;
	return 0;
}

/*
 * Builds and writes one record after t, updating t. ret_text, when not
 * NULL, receives the record's text.
 */
static int
append_record(int fd, const struct nhi_dlog *o, struct tail *t,
    const char *kind, fill_fn fill, void *ctx, char **ret_text,
    struct nhi_err *e)
{
	json_object *rec = NULL;
	struct recinfo ri;
	char now[32], *text = NULL;
	int r = -1;

	nhi_format_time((int64_t)time(NULL), now, sizeof(now));
	ri.seq = t->seq + 1;
	ri.time = now;
	ri.prev = t->hash;
	if ((rec = json_object_new_object()) == NULL ||
	    put_int(rec, "seq", ri.seq) != 0 ||
	    put_str(rec, "time", now) != 0 ||
	    put_str(rec, "kind", kind) != 0 ||
	    put_str(rec, "host", o->host) != 0 ||
	    (fill != NULL && fill(rec, &ri, ctx) != 0) ||
	    put_str(rec, "prev", t->hash) != 0 ||
	    (text = nhi_json_text(rec)) == NULL) {
		nhi_err_set(e, "decision log: out of memory");
		goto out;
	}
	if (write_line(fd, t, text, e) != 0)
		goto out;
	t->seq = ri.seq;
	nhi_dlog_hash(text, strlen(text), t->hash);
	if (ret_text != NULL) {
		*ret_text = text;
		text = NULL;
	}
	r = 0;
out:
	free(text);
	json_object_put(rec);
	return r;
}

static char *
path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int
nhi_dlog_key_ensure(const char *state_dir, const char *host,
    struct nhi_err *e)
{
	char *base = NULL, *key = NULL, *label = NULL;
	struct stat st;
	int r = -1;

	if ((base = path_join(state_dir, NHI_DLOG_KEY)) == NULL ||
	    asprintf(&key, "%s.key", base) < 0 ||
	    asprintf(&label, "dlog@%s", host != NULL ? host : "host") < 0) {
		key = label = NULL;
		nhi_err_set(e, "decision log: out of memory");
		goto out;
	}
	if (stat(key, &st) == 0) {
		r = 0;
		goto out;
	}
	/* Two first users may race: the loser finds the winner's key. */
	if (nhi_keygen(base, label, e) != 0 && stat(key, &st) != 0)
		goto out;
	r = 0;
out:
	free(base);
	free(key);
	free(label);
	return r;
}

static void
checkpoint_message(const struct recinfo *ri, char *out, size_t len)
{
	(void)snprintf(out, len, SIG_CONTEXT "\nseq=%lld\ntime=%s\nprev=%s\n",
	    (long long)ri->seq, ri->time, ri->prev);
}

static int
fill_checkpoint(json_object *rec, const struct recinfo *ri, void *ctx)
{
	const struct nhi_seckey *k = ctx;
	unsigned char sig[NHI_SIG_LEN];
	char msg[256], *b64;
	int r;

	checkpoint_message(ri, msg, sizeof(msg));
	if (nhi_sign(k, msg, strlen(msg), sig) != 0 ||
	    (b64 = nhi_b64_encode(sig, sizeof(sig))) == NULL)
		return -1;
	r = put_str(rec, "key", k->keyid);
	if (r == 0)
		r = put_str(rec, "sig", b64);
	free(b64);
	return r;
}

/* The head file holds one line: a copy of the newest checkpoint. */
static int
write_head(const char *path, const char *text)
{
	char *line;
	int r;

	if (asprintf(&line, "%s\n", text) < 0)
		return -1;
	r = nhi_write_atomic(path, line, strlen(line), 0644);
	free(line);
	return r;
}

/*
 * The seq of the checkpoint copied into the head file, or -1. It is read
 * before every append, so with one read: the file is a single line,
 * written whole by rename. O_NONBLOCK keeps a FIFO put there from
 * blocking; anything that is not one short line reads as no head, which
 * only brings the next checkpoint forward.
 */
static int64_t
head_seq(const char *path)
{
	const size_t cap = NHI_DLOG_MAX_LINE + 2;
	char *buf;
	ssize_t n;
	size_t len;
	int64_t seq = -1;
	int fd;

	if ((buf = malloc(cap)) == NULL)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		goto out;
	n = read(fd, buf, cap);
	(void)close(fd);
	if (n <= 0 || (size_t)n == cap)
		goto out;
	len = (size_t)n;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	seq = line_seq(buf, len);
out:
	free(buf);
	return seq;
}

/* The seq of the host's newest checkpoint, and where the log then ended. */
struct cut {
	int64_t head_seq, log_seq;
};

static int
fill_cut(json_object *rec, const struct recinfo *ri, void *ctx)
{
	const struct cut *c = ctx;

	(void)ri;
	if (put_int(rec, "head_seq", c->head_seq) != 0 ||
	    put_int(rec, "log_seq", c->log_seq) != 0)
		return -1;
	return 0;
}

/*
 * Writes a checkpoint when one is due (or force), and copies it into the
 * head file, head (NULL: no state_dir, no checkpoints), whose checkpoint
 * is seq last. Without a usable key there are no checkpoints; that is
 * reported but the records already written stand.
 */
static int
checkpoint(int fd, const struct nhi_dlog *o, struct tail *t, bool force,
    const char *head, int64_t last, struct nhi_err *e)
{
	char *keypath = NULL, *text = NULL;
	unsigned every = o->checkpoint_every != 0 ? o->checkpoint_every :
	    NHI_DLOG_CHECKPOINT_EVERY;
	struct nhi_seckey *k = NULL;
	int r = -1;

	if (head == NULL)
		return 0;
	if (!force && last >= 0 && last <= t->seq &&
	    t->seq - last < (int64_t)every)
		return 0;
	if ((keypath = path_join(o->state_dir, NHI_DLOG_KEY ".key")) == NULL) {
		nhi_err_set(e, "decision log: out of memory");
		goto out;
	}
	if (o->make_key &&
	    nhi_dlog_key_ensure(o->state_dir, o->host, e) != 0)
		goto out;
	if (nhi_seckey_load(keypath, &k, e) != 0) {
		nhi_err_prefix(e, "decision log: no checkpoint");
		goto out;
	}
	if (append_record(fd, o, t, "checkpoint", fill_checkpoint, k, &text,
	    e) != 0)
		goto out;
	if (write_head(head, text) != 0) {
		nhi_err_set(e, "decision log: %s: %s", head, strerror(errno));
		goto out;
	}
	r = 0;
out:
	nhi_seckey_free(k);
	free(text);
	free(keypath);
	return r;
}

static int
fill_link(json_object *rec, const struct recinfo *ri, void *ctx)
{
	(void)ri;
	return put_str(rec, "prev_file", ctx);
}

/*
 * Moves the full log aside as decisions.log.SEQ and puts a new file
 * holding only the link record in its place, in one rename, so the name
 * never points at nothing. Called under the old file's lock; appenders
 * waiting on the old file see the name moved and open it again.
 */
static int
rotate(const struct nhi_dlog *o, const char *path, const struct tail *t,
    struct nhi_err *e)
{
	char name[sizeof(NHI_DLOG_FILE) + 24], *old = NULL;
	struct nhi_atomic a;
	struct tail nt = *t;
	int r = -1;

	(void)snprintf(name, sizeof(name), "%s.%012lld", NHI_DLOG_FILE,
	    (long long)t->seq);
	if ((old = path_join(o->dir, name)) == NULL) {
		nhi_err_set(e, "decision log: out of memory");
		return -1;
	}
	if (link(path, old) != 0) {
		nhi_err_set(e, "decision log: rotate to %s: %s", old,
		    strerror(errno));
		goto out;
	}
	if (nhi_atomic_open(&a, path, 0640) != 0) {
		nhi_err_set(e, "decision log: rotate: %s", strerror(errno));
		goto out;
	}
	nt.size = 0;
	nt.newline = true;
	if (append_record(a.fd, o, &nt, "link", fill_link, name, NULL,
	    e) != 0) {
		nhi_atomic_abort(&a);
		goto out;
	}
	if (nhi_atomic_commit(&a) != 0) {
		nhi_err_set(e, "decision log: rotate: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (r != 0 && old != NULL)
		(void)unlink(old);
	free(old);
	return r;
}

/* Opens the log and locks it, making sure the name still points at it. */
static int
open_locked(const struct nhi_dlog *o, const char *path, int *ret_fd,
    struct stat *ret_st, struct nhi_err *e)
{
	struct stat pst;
	int fd, tries;

	for (tries = 0; tries < REOPEN_TRIES; tries++) {
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY, 0640);
		if (fd < 0)
			return nhi_err_set(e, "decision log: %s: %s", path,
			    strerror(errno));
		if (lock_bounded(fd, o->lock_wait_ms > 0 ? o->lock_wait_ms :
		    NHI_DLOG_LOCK_WAIT_MS) != 0) {
			nhi_err_set(e, "decision log: %s: lock: %s", path,
			    strerror(errno));
			(void)close(fd);
			return -1;
		}
		if (fstat(fd, ret_st) != 0 || !S_ISREG(ret_st->st_mode)) {
			(void)close(fd);
			return nhi_err_set(e, "decision log: %s: not a regular "
			    "file", path);
		}
		if (lstat(path, &pst) == 0 && pst.st_ino == ret_st->st_ino &&
		    pst.st_dev == ret_st->st_dev) {
			*ret_fd = fd;
			return 0;
		}
		(void)close(fd);
	}
	return nhi_err_set(e, "decision log: %s keeps being replaced", path);
}

static int
append(const struct nhi_dlog *o, const char *kind, fill_fn fill, void *ctx,
    bool force_checkpoint, struct nhi_err *e)
{
	off_t limit = o->rotate_size > 0 ? o->rotate_size :
	    NHI_DLOG_ROTATE_SIZE;
	char *path = NULL, *head = NULL;
	struct stat st;
	struct tail t;
	struct cut c;
	int fd = -1, rounds, r = -1;

	if (o->dir == NULL)
		return nhi_err_set(e, "decision log: no log_dir");
	if ((path = path_join(o->dir, NHI_DLOG_FILE)) == NULL)
		return nhi_err_set(e, "decision log: out of memory");
	for (rounds = 0; rounds < 2; rounds++) {
		if (open_locked(o, path, &fd, &st, e) != 0)
			goto out;
		if (read_tail(fd, st.st_size, &t) != 0) {
			nhi_err_set(e, "decision log: %s: read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (st.st_size < limit)
			break;
		if (rotate(o, path, &t, e) != 0)
			goto out;
		(void)close(fd);
		fd = -1;
	}
	if (fd < 0) {
		nhi_err_set(e, "decision log: %s: rotated twice", path);
		goto out;
	}
	c.head_seq = -1;
	c.log_seq = t.seq;
	if (o->state_dir != NULL) {
		if ((head = path_join(o->state_dir, NHI_DLOG_HEAD)) == NULL) {
			nhi_err_set(e, "decision log: out of memory");
			goto out;
		}
		c.head_seq = head_seq(head);
	}
	if (st.st_size == 0 &&
	    append_record(fd, o, &t, "start", NULL, NULL, NULL, e) != 0)
		goto out;
	/*
	 * A head past the log's end: the log was cut or replaced since that
	 * checkpoint. The next checkpoint moves the head on, so a "cut"
	 * record keeps in the log what the head knew, for log verify to
	 * report for as long as the file is kept.
	 */
	if (c.head_seq > c.log_seq) {
		if (append_record(fd, o, &t, "cut", fill_cut, &c, NULL,
		    e) != 0)
			goto out;
		force_checkpoint = true;
	}
	if (append_record(fd, o, &t, kind, fill, ctx, NULL, e) != 0)
		goto out;
	/* The record stands even when no checkpoint can be made. */
	r = checkpoint(fd, o, &t, force_checkpoint, head, c.head_seq, e);
out:
	if (fd >= 0)
		(void)close(fd);
	free(head);
	free(path);
	return r;
}

struct decision_ctx {
	const struct nhi_audit_login *l;
	uint32_t ses;
};

static int
fill_decision(json_object *rec, const struct recinfo *ri, void *ctx)
{
	const struct decision_ctx *c = ctx;
	const struct nhi_audit_login *l = c->l;
	const struct nhi_request *q = l->req;
	const struct nhi_decision *d = l->dec;
	const struct nhi_binding *b = d->binding;
	char notafter[32] = "";
	int r = 0;

	(void)ri;
	if (b != NULL)
		nhi_format_time(b->not_after, notafter, sizeof(notafter));
	r |= put_int(rec, "pid", (int64_t)getpid());
	r |= put_str(rec, "service", q->service);
	r |= put_str(rec, "stage", l->stage);
	r |= put_str(rec, "account", q->account);
	r |= put_str(rec, "invoker", q->invoker);
	r |= put_str(rec, "rhost", q->rhost);
	r |= put_str(rec, "tty", q->tty);
	r |= put_str(rec, "key", nhi_audit_key(q));
	r |= put_str(rec, "result", nhi_audit_result(l));
	r |= put_str(rec, "reason", nhi_audit_reason(l));
	r |= put_str(rec, "binding", b != NULL ? b->id : NULL);
	r |= put_str(rec, "owner", b != NULL ? b->owner : NULL);
	r |= put_str(rec, "approver", b != NULL ? b->approver : NULL);
	r |= put_str(rec, "ticket", b != NULL ? b->ticket : NULL);
	r |= put_str(rec, "not_after", notafter);
	if (l->view != NULL && l->view->have_register)
		r |= put_int(rec, "register", l->view->meta.version);
	if (c->ses != UINT32_MAX)
		r |= put_int(rec, "ses", (int64_t)c->ses);
	return r != 0 ? -1 : 0;
}

int
nhi_dlog_decision(const struct nhi_dlog *o, const struct nhi_audit_login *l,
    uint32_t ses, struct nhi_err *e)
{
	struct decision_ctx c = { l, ses };

	return append(o, "decision", fill_decision, &c, false, e);
}

struct sync_ctx {
	const char *result, *sha256, *source, *reason, *detail;
	int64_t version;
};

static int
fill_sync(json_object *rec, const struct recinfo *ri, void *ctx)
{
	const struct sync_ctx *c = ctx;
	int r = 0;

	(void)ri;
	r |= put_int(rec, "pid", (int64_t)getpid());
	r |= put_str(rec, "result", c->result);
	if (c->version > 0)
		r |= put_int(rec, "register", c->version);
	r |= put_str(rec, "sha256", c->sha256);
	r |= put_str(rec, "source", c->source);
	r |= put_str(rec, "reason", c->reason);
	r |= put_str(rec, "detail", c->detail);
	return r != 0 ? -1 : 0;
}

int
nhi_dlog_sync(const struct nhi_dlog *o, const char *result, int64_t version,
    const char *sha256, const char *source, const char *reason,
    const char *detail, struct nhi_err *e)
{
	struct sync_ctx c = { result, sha256, source, reason, detail,
		version };

	return append(o, "sync", fill_sync, &c, true, e);
}

/* One line of a log under verification. */
struct vline {
	const char *p;
	size_t len;
	bool ok;		/* a record with seq, kind and prev */
	int64_t seq;
	char kind[16];
	char hash[NHI_DLOG_HASH_HEX + 1];
	char prev[NHI_DLOG_HASH_HEX + 1];
	bool sig_bad;		/* a checkpoint whose signature fails */
	char why[128];		/* when not ok or sig_bad */
};

struct vlog {
	struct vline *l;
	size_t n;
	size_t *by_hash;	/* indexes sorted by hash */
	size_t *by_prev;	/* indexes sorted by prev */
};

static int
cmp_hash(const void *a, const void *b, void *arg)
{
	const struct vline *l = arg;

	return strcmp(l[*(const size_t *)a].hash, l[*(const size_t *)b].hash);
}

static int
cmp_prev(const void *a, const void *b, void *arg)
{
	const struct vline *l = arg;

	return strcmp(l[*(const size_t *)a].prev, l[*(const size_t *)b].prev);
}

static bool
valid_hex_hash(const char *s)
{
	return strlen(s) == NHI_DLOG_HASH_HEX &&
	    strspn(s, "0123456789abcdef") == NHI_DLOG_HASH_HEX;
}

/* The index of a line whose field (hash or prev) is h, or -1. */
static ssize_t
find(const struct vlog *v, const size_t *sorted, bool prev, const char *h)
{
	size_t lo = 0, hi = v->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(prev ? v->l[sorted[mid]].prev :
		    v->l[sorted[mid]].hash, h);
		if (c == 0)
			return (ssize_t)sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool
checkpoint_ok(json_object *o, const struct vline *l, const unsigned char *pk,
    char *why, size_t len)
{
	unsigned char *sig = NULL;
	char msg[256], keyid[NHI_KEYID_LEN + 1];
	char *key = NULL, *b64 = NULL, *t = NULL;
	struct recinfo ri;
	size_t n = 0;
	bool ok = false;

	if (nhi_json_str(o, "key", NULL, &key, NULL) != 0 ||
	    nhi_json_str(o, "sig", NULL, &b64, NULL) != 0 ||
	    nhi_json_str(o, "time", NULL, &t, NULL) != 0) {
		(void)snprintf(why, len, "checkpoint without key, sig or time");
		goto out;
	}
	nhi_keyid(pk, keyid);
	if (strcmp(key, keyid) != 0) {
		(void)snprintf(why, len, "checkpoint signed by key %.16s, "
		    "not by %s", key, keyid);
		goto out;
	}
	ri.seq = l->seq;
	ri.time = t;
	ri.prev = l->prev;
	checkpoint_message(&ri, msg, sizeof(msg));
	if (nhi_b64_decode(b64, strlen(b64), &sig, &n) != 0 ||
	    n != NHI_SIG_LEN || !nhi_verify(pk, msg, strlen(msg), sig)) {
		(void)snprintf(why, len,
		    "checkpoint signature does not verify");
		goto out;
	}
	ok = true;
out:
	free(sig);
	free(key);
	free(b64);
	free(t);
	return ok;
}

/* Parses one line; a checkpoint's signature is checked when pk is set. */
static void
parse_line(struct vline *l, const unsigned char *pk)
{
	json_object *o = NULL;
	struct nhi_err e;
	char *kind = NULL, *prev = NULL;

	nhi_dlog_hash(l->p, l->len, l->hash);
	if (nhi_json_parse(l->p, l->len, NHI_DLOG_MAX_LINE, &o, &e) != 0) {
		(void)snprintf(l->why, sizeof(l->why), "not a JSON record");
		goto out;
	}
	if (nhi_json_int(o, "seq", 0, INT64_MAX - 1, &l->seq, &e) != 0 ||
	    nhi_json_str(o, "kind", NULL, &kind, &e) != 0 ||
	    nhi_json_str(o, "prev", valid_hex_hash, &prev, &e) != 0) {
		(void)snprintf(l->why, sizeof(l->why), "%s", e.msg);
		goto out;
	}
	(void)snprintf(l->kind, sizeof(l->kind), "%s", kind);
	memcpy(l->prev, prev, sizeof(l->prev));
	l->ok = true;
	if (pk != NULL && strcmp(l->kind, "checkpoint") == 0 &&
	    !checkpoint_ok(o, l, pk, l->why, sizeof(l->why)))
		l->sig_bad = true;
out:
	free(kind);
	free(prev);
	json_object_put(o);
}

static void
fault(struct nhi_dlog_report *r, enum nhi_dlog_fault f, size_t line,
    int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
fault(struct nhi_dlog_report *r, enum nhi_dlog_fault f, size_t line,
    int64_t seq, const char *fmt, ...)
{
	va_list ap;

	r->fault = f;
	r->line = line;
	r->seq = seq;
	va_start(ap, fmt);
	(void)vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/*
 * Line i (0-based, i > 0) does not chain to line i - 1. Says what most
 * likely happened, from where the hash it names is found.
 */
static void
diagnose(const struct vlog *v, size_t i, struct nhi_dlog_report *r)
{
	const struct vline *l = v->l, *cur = &l[i], *pre = &l[i - 1];
	ssize_t j;

	if (i + 1 < v->n && l[i + 1].ok &&
	    strcmp(l[i + 1].prev, pre->hash) == 0 &&
	    find(v, v->by_prev, true, cur->hash) < 0) {
		fault(r, NHI_DLOG_INSERTED, i + 1, cur->seq, "line %zu (seq "
		    "%lld) is not part of the chain: the record after it "
		    "follows line %zu", i + 1, (long long)cur->seq, i);
		return;
	}
	j = find(v, v->by_hash, false, cur->prev);
	if (j > (ssize_t)i) {
		fault(r, NHI_DLOG_REORDERED, i + 1, cur->seq, "line %zu (seq "
		    "%lld) is out of order: it follows line %zd (seq %lld)",
		    i + 1, (long long)cur->seq, j + 1,
		    (long long)l[j].seq);
		return;
	}
	if (j >= 0) {
		fault(r, NHI_DLOG_INSERTED, (size_t)j + 2, l[j + 1].seq,
		    "line %zd (seq %lld) is not part of the chain: line %zu "
		    "follows line %zd", j + 2, (long long)l[j + 1].seq,
		    i + 1, j + 1);
		return;
	}
	if (cur->seq > pre->seq + 1) {
		fault(r, NHI_DLOG_DROPPED, i + 1, pre->seq + 1, "records seq "
		    "%lld..%lld are missing before line %zu",
		    (long long)pre->seq + 1, (long long)cur->seq - 1,
		    i + 1);
		return;
	}
	fault(r, NHI_DLOG_EDITED, i, pre->seq, "line %zu (seq %lld) was "
	    "changed: the next record holds another hash for it", i,
	    (long long)pre->seq);
}

static int
split_lines(const char *buf, size_t len, struct vlog *v, bool *torn)
{
	size_t i, n = 0, start = 0;

	*torn = len > 0 && buf[len - 1] != '\n';
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			n++;
	if (*torn)
		n++;
	v->n = 0;
	if (n == 0)
		return 0;
	if ((v->l = calloc(n, sizeof(*v->l))) == NULL)
		return -1;
	for (i = 0; i <= len && v->n < n; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		v->l[v->n].p = buf + start;
		v->l[v->n].len = i - start;
		v->l[v->n].seq = -1;
		v->n++;
		start = i + 1;
	}
	return 0;
}

/* A "cut" record: the writer found the log shorter than the head. */
static void
cut_fault(const struct vline *l, size_t i, struct nhi_dlog_report *r)
{
	json_object *o = NULL;
	int64_t head = -1, log = -1;

	if (nhi_json_parse(l->p, l->len, NHI_DLOG_MAX_LINE, &o, NULL) == 0) {
		(void)nhi_json_int(o, "head_seq", -1, INT64_MAX, &head, NULL);
		(void)nhi_json_int(o, "log_seq", -1, INT64_MAX, &log, NULL);
	}
	json_object_put(o);
	fault(r, NHI_DLOG_TAIL_CUT, i + 1, l->seq, "line %zu: the log was "
	    "cut or replaced before this record: it ended at seq %lld, but "
	    "the host's copy of its newest checkpoint was seq %lld",
	    i + 1, (long long)log, (long long)head);
}

/*
 * The host's copy of the newest checkpoint: its seq (-1: none) and the
 * hash of its line.
 */
struct head {
	int64_t seq;
	char hash[NHI_DLOG_HASH_HEX + 1];
};

static void
verify(const char *buf, size_t len, const unsigned char *pk,
    const struct head *h, struct nhi_dlog_report *r)
{
	struct vlog v = { NULL, 0, NULL, NULL };
	bool torn = false;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->first_seq = r->last_seq = r->last_checkpoint = -1;
	r->head_seq = r->seq = -1;
	r->first_kind = "none";
	r->signatures_checked = pk != NULL;
	if (split_lines(buf, len, &v, &torn) != 0) {
		fault(r, NHI_DLOG_EDITED, 0, -1, "out of memory");
		return;
	}
	/* An emptied log is checked against the head too. */
	if (v.n == 0)
		goto tail;
	if ((v.by_hash = calloc(v.n, sizeof(size_t))) == NULL ||
	    (v.by_prev = calloc(v.n, sizeof(size_t))) == NULL) {
		fault(r, NHI_DLOG_EDITED, 0, -1, "out of memory");
		goto out;
	}
	for (i = 0; i < v.n; i++) {
		parse_line(&v.l[i], pk);
		v.by_hash[i] = v.by_prev[i] = i;
	}
	qsort_r(v.by_hash, v.n, sizeof(size_t), cmp_hash, v.l);
	qsort_r(v.by_prev, v.n, sizeof(size_t), cmp_prev, v.l);

	r->n_records = v.n;
	r->first_seq = v.l[0].seq;
	r->last_seq = v.l[v.n - 1].seq;
	memcpy(r->last_hash, v.l[v.n - 1].hash, sizeof(r->last_hash));
	memcpy(r->first_prev, v.l[0].prev, sizeof(r->first_prev));
	for (i = 0; i < v.n; i++) {
		struct vline *l = &v.l[i];

		if (!l->ok) {
			fault(r, NHI_DLOG_EDITED, i + 1, -1, "line %zu was "
			    "changed: %s%s", i + 1, l->why,
			    torn && i + 1 == v.n ? " (the last record is "
			    "incomplete)" : "");
			break;
		}
		if (i == 0) {
			if (strcmp(l->kind, "start") == 0 &&
			    strcmp(l->prev, ZERO_HASH) == 0 && l->seq == 0) {
				r->first_kind = "start";
			} else if (strcmp(l->kind, "link") == 0) {
				json_object *o = NULL;
				char *pf = NULL;

				r->first_kind = "link";
				if (nhi_json_parse(l->p, l->len,
				    NHI_DLOG_MAX_LINE, &o, NULL) == 0 &&
				    nhi_json_str(o, "prev_file", NULL, &pf,
				    NULL) == 0)
					(void)snprintf(r->prev_file,
					    sizeof(r->prev_file), "%s", pf);
				free(pf);
				json_object_put(o);
			} else {
				r->first_kind = "other";
				fault(r, NHI_DLOG_DROPPED, 1, l->seq,
				    "the log does not begin with a start or "
				    "link record: the records before seq %lld "
				    "are missing", (long long)l->seq);
				break;
			}
		} else if (strcmp(l->prev, v.l[i - 1].hash) != 0) {
			diagnose(&v, i, r);
			break;
		} else if (l->seq != v.l[i - 1].seq + 1) {
			fault(r, NHI_DLOG_EDITED, i + 1, l->seq, "line %zu was "
			    "changed: seq %lld follows seq %lld", i + 1,
			    (long long)l->seq, (long long)v.l[i - 1].seq);
			break;
		}
		if (h != NULL && l->seq == h->seq &&
		    strcmp(l->hash, h->hash) != 0) {
			fault(r, NHI_DLOG_EDITED, i + 1, l->seq,
			    "line %zu (seq %lld) differs from the host's copy "
			    "of its newest checkpoint", i + 1,
			    (long long)l->seq);
			break;
		}
		if (strcmp(l->kind, "cut") == 0) {
			cut_fault(l, i, r);
			break;
		}
		if (strcmp(l->kind, "checkpoint") != 0) {
			r->after_checkpoint++;
			continue;
		}
		if (l->sig_bad) {
			fault(r, NHI_DLOG_BAD_SIGNATURE, i + 1, l->seq,
			    "line %zu (seq %lld): %s", i + 1,
			    (long long)l->seq, l->why);
			break;
		}
		r->n_checkpoints++;
		r->last_checkpoint = l->seq;
		r->after_checkpoint = 0;
	}
tail:
	if (r->fault == NHI_DLOG_OK && h != NULL && h->seq >= 0 &&
	    r->n_records == 0)
		fault(r, NHI_DLOG_TAIL_CUT, 1, 0, "the log is empty, but the "
		    "host's copy of its newest checkpoint is seq %lld: every "
		    "record was cut off", (long long)h->seq);
	else if (r->fault == NHI_DLOG_OK && h != NULL &&
	    h->seq > r->last_seq && h->seq >= r->first_seq)
		fault(r, NHI_DLOG_TAIL_CUT, r->n_records + 1, r->last_seq + 1,
		    "the log ends at seq %lld, but the host's copy of its "
		    "newest checkpoint is seq %lld: records from seq %lld on "
		    "were cut off", (long long)r->last_seq, (long long)h->seq,
		    (long long)r->last_seq + 1);
out:
	free(v.l);
	free(v.by_hash);
	free(v.by_prev);
}

void
nhi_dlog_verify_buf(const char *buf, size_t len, const unsigned char *pk,
    struct nhi_dlog_report *r)
{
	verify(buf, len, pk, NULL, r);
}

int
nhi_dlog_verify_file(const char *path, const unsigned char *pk,
    const char *head_path, struct nhi_dlog_report *r, struct nhi_err *e)
{
	char *buf = NULL, *hb = NULL;
	size_t len = 0, hlen = 0;
	struct head h = { -1, "" };
	bool head_bad = false;

	if (head_path != NULL &&
	    nhi_read_file(head_path, NHI_DLOG_MAX_LINE + 2, &hb, &hlen) == 0) {
		while (hlen > 0 && hb[hlen - 1] == '\n')
			hlen--;
		h.seq = line_seq(hb, hlen);
		nhi_dlog_hash(hb, hlen, h.hash);
		head_bad = h.seq < 0;
		free(hb);
	} else if (head_path != NULL && errno != ENOENT) {
		head_bad = true;
	}
	if (nhi_read_file(path, (size_t)1 << 30, &buf, &len) != 0)
		return nhi_err_set(e, "%s: %s", path, strerror(errno));
	verify(buf, len, pk, h.seq >= 0 ? &h : NULL, r);
	r->head_seq = h.seq;
	r->head_bad = head_bad;
	free(buf);
	return 0;
}

int
nhi_dlog_record_sync(const struct nhi_conf *c, const char *result, bool ok,
    int64_t version, const char *source, const char *reason,
    const char *detail, struct nhi_err *e)
{
	struct nhi_dlog o = { c->log_dir, c->state_dir, c->host_name, 0, 0, 0,
		true };
	struct nhi_err ea = { "" }, el = { "" };
	struct nhi_pamidx *x = NULL;
	const char *sha = NULL;
	int ra, rl;

	if (ok && nhi_pamidx_open(c->pam_index, &x, NULL) == 0) {
		version = nhi_pamidx_meta(x)->version;
		sha = nhi_pamidx_meta(x)->sha256;
	}
	ra = nhi_audit_config(version, sha, source, ok,
	    reason != NULL ? reason : result, &ea);
	rl = nhi_dlog_key_ensure(c->state_dir, c->host_name, &el);
	if (rl == 0)
		rl = nhi_dlog_sync(&o, result, version, sha, source, reason,
		    detail, &el);
	nhi_pamidx_close(x);
	if (ra == 0 && rl == 0)
		return 0;
	return nhi_err_set(e, "%s%s%s", ra != 0 ? ea.msg : "",
	    ra != 0 && rl != 0 ? "; " : "", rl != 0 ? el.msg : "");
}
