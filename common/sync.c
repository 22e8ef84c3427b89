/*
 * sync.c: fetch, verify, compile and install the register.
 *
 * The order of work is what keeps a bad register from replacing a good
 * one: the header is verified and ratchet-checked first, the statements
 * are compiled into temporary index files while the body hash runs, and
 * only when the whole file matched its header are the indexes renamed
 * into place and the state updated. Local users and groups are read from
 * the configured files directly: going through NSS could recurse into
 * libnss_nhi, which serves the very index being rebuilt.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>
#include <curl/curl.h>
#include <sodium.h>

#include "dsse.h"
#include "nssidx.h"
#include "pamidx.h"
#include "sha256.h"
#include "statement.h"
#include "stcache.h"
#include "sync.h"
#include "util.h"

#define LOCK_POLL_MS 100
#define CONNECT_TIMEOUT 10L
#define TOTAL_TIMEOUT 600L
#define LOW_SPEED_LIMIT 1024L	/* bytes per second ... */
#define LOW_SPEED_TIME 30L	/* ... for this many seconds */
#define MAX_REDIRS 3L
#define CACHE_NAME "verified.cdb"
#define BATCH 1024		/* statements handed to the workers at once */
#define RING 4			/* batches in flight */
#define SLICE 32		/* statements a worker takes at a time */
#define STREAM_RING (4 * 1024 * 1024)	/* download not yet read */
#define GECOS_PREFIX "nhi owner "

/*
 * Local users or groups, from passwd_file or group_file: the same entries
 * sorted twice, by name and by id (by_id shares by_name's strings).
 */
struct local_ent {
	char *name;
	uint32_t id;
};

struct local_set {
	struct local_ent *by_name, *by_id;
	size_t n, cap;
};

struct local_db {
	struct local_set users, groups;
};

/* An account statement waiting for the cross-account checks. */
struct pending {
	struct nhi_account *a;
	size_t line;
	bool bad;
	bool local_gid;		/* primary gid is an existing local group */
	uint32_t *gids;		/* supplementary groups, resolved */
	size_t n_gids;
};

struct pool;

struct compile {
	const struct nhi_conf *c;
	int64_t now;
	nhi_reject_fn reject;
	void *rctx;
	const struct nhi_state *state;
	const struct nhi_state *ratchet;	/* see ratchet_base */
	const struct local_db *local;
	bool hash_only;		/* same version as installed: only hash it */
	unsigned char inputs[NHI_SHA256_LEN];	/* see inputs_digest */
	struct pool *pool;	/* verifies statements on several threads */
	struct nhi_stcache *cache_in;	/* the previous sync's, or NULL */
	struct nhi_stcache_writer *cache_out;	/* this sync's, or NULL */
	size_t n_verified, n_cached;
	struct nhi_pamidx_writer *pam;
	size_t line;
	struct pending *acc;
	size_t n_acc, cap_acc;
	size_t n_bindings, n_accounts, n_rejected;
};

/* Local files. */

static int
cmp_ent_name(const void *a, const void *b)
{
	return strcmp(((const struct local_ent *)a)->name,
	    ((const struct local_ent *)b)->name);
}

static int
cmp_ent_id(const void *a, const void *b)
{
	uint32_t x = ((const struct local_ent *)a)->id;
	uint32_t y = ((const struct local_ent *)b)->id;

	return x < y ? -1 : x > y;
}

static const struct local_ent *
set_by_name(const struct local_set *ls, const char *name)
{
	struct local_ent key = { (char *)(uintptr_t)name, 0 };

	if (ls->n == 0)
		return NULL;
	return bsearch(&key, ls->by_name, ls->n, sizeof(key), cmp_ent_name);
}

static const struct local_ent *
set_by_id(const struct local_set *ls, uint32_t id)
{
	struct local_ent key = { NULL, id };

	if (ls->n == 0)
		return NULL;
	return bsearch(&key, ls->by_id, ls->n, sizeof(key), cmp_ent_id);
}

static bool
set_has_id(const struct local_set *ls, uint32_t id)
{
	return set_by_id(ls, id) != NULL;
}

static int
set_add(struct local_set *ls, const char *name, uint32_t id)
{
	struct local_ent *nv;

	if (ls->n == ls->cap) {
		size_t cap = ls->cap == 0 ? 64 : ls->cap * 2;

		if ((nv = reallocarray(ls->by_name, cap, sizeof(*nv))) == NULL)
			return -1;
		ls->by_name = nv;
		ls->cap = cap;
	}
	if ((ls->by_name[ls->n].name = strdup(name)) == NULL)
		return -1;
	ls->by_name[ls->n++].id = id;
	return 0;
}

static int
set_sort(struct local_set *ls)
{
	if (ls->n == 0)
		return 0;
	if ((ls->by_id = calloc(ls->n, sizeof(*ls->by_id))) == NULL)
		return -1;
	memcpy(ls->by_id, ls->by_name, ls->n * sizeof(*ls->by_id));
	qsort(ls->by_name, ls->n, sizeof(*ls->by_name), cmp_ent_name);
	qsort(ls->by_id, ls->n, sizeof(*ls->by_id), cmp_ent_id);
	return 0;
}

static void
set_free(struct local_set *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->by_name[i].name);
	free(ls->by_name);
	free(ls->by_id);
	memset(ls, 0, sizeof(*ls));
}

static void
local_free(struct local_db *l)
{
	set_free(&l->users);
	set_free(&l->groups);
}

/*
 * Reads one entry with fgetpwent_r or fgetgrent_r into ent, growing buf
 * while the entry does not fit. Returns 1 for an entry, 0 at the end,
 * -1 with e set.
 */
static int
local_next(FILE *f, bool group, char **buf, size_t *len,
    struct local_ent *ent, struct nhi_err *e)
{
	struct passwd pw, *pp;
	struct group gr, *gp;
	char *nb;
	int err;

	memset(&pw, 0, sizeof(pw));
	memset(&gr, 0, sizeof(gr));
	for (;;) {
		if (*buf == NULL && (*buf = malloc(*len)) == NULL)
			return nhi_err_set(e, "out of memory");
		if (group) {
			err = fgetgrent_r(f, &gr, *buf, *len, &gp);
			ent->name = gr.gr_name;
			ent->id = gr.gr_gid;
		} else {
			err = fgetpwent_r(f, &pw, *buf, *len, &pp);
			ent->name = pw.pw_name;
			ent->id = pw.pw_uid;
		}
		if (err != ERANGE)
			break;
		if (*len >= (1u << 24) ||
		    (nb = realloc(*buf, *len * 2)) == NULL)
			return nhi_err_set(e, "entry too large");
		*buf = nb;
		*len *= 2;
	}
	if (err == ENOENT)
		return 0;
	if (err != 0)
		return nhi_err_set(e, "%s", strerror(err));
	return 1;
}

static int
local_read(const char *path, bool group, struct local_set *ls,
    struct nhi_err *e)
{
	struct local_ent ent = { NULL, 0 };
	size_t len = 4096;
	char *buf = NULL;
	FILE *f;
	int r;

	if ((f = fopen(path, "re")) == NULL)
		return nhi_err_set(e, "%s: %s", path, strerror(errno));
	while ((r = local_next(f, group, &buf, &len, &ent, e)) > 0) {
		if (set_add(ls, ent.name, ent.id) != 0) {
			r = nhi_err_set(e, "out of memory");
			break;
		}
	}
	if (r == 0 && set_sort(ls) != 0)
		r = nhi_err_set(e, "out of memory");
	if (r != 0)
		nhi_err_prefix(e, "%s", path);
	free(buf);
	(void)fclose(f);
	return r;
}

static int
local_load(const struct nhi_conf *c, struct local_db *l, struct nhi_err *e)
{
	if (local_read(c->passwd_file, false, &l->users, e) != 0 ||
	    local_read(c->group_file, true, &l->groups, e) != 0)
		return -1;
	return 0;
}

/*
 * The inputs digest: everything besides the register that compiling it
 * depends on, the config's rules for issuers and accounts (with whether
 * each issuer key is in force now) and the local users and groups. An
 * installed index counts as current only under the digest it was built
 * with. Each field goes in with its length, so that no two different
 * inputs run together into the same bytes.
 */
static void
digest_bytes(struct nhi_sha256 *h, const void *p, size_t n)
{
	uint64_t len = n;

	nhi_sha256_update(h, &len, sizeof(len));
	nhi_sha256_update(h, p, n);
}

static void
digest_int(struct nhi_sha256 *h, int64_t v)
{
	digest_bytes(h, &v, sizeof(v));
}

static void
digest_str(struct nhi_sha256 *h, const char *s)
{
	digest_bytes(h, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 0);
}

static void
digest_strv(struct nhi_sha256 *h, const struct nhi_strv *sv)
{
	size_t i;

	digest_int(h, (int64_t)sv->n);
	for (i = 0; i < sv->n; i++)
		digest_str(h, sv->v[i]);
}

static void
digest_set(struct nhi_sha256 *h, const struct local_set *ls)
{
	size_t i;

	digest_int(h, (int64_t)ls->n);
	for (i = 0; i < ls->n; i++) {
		digest_str(h, ls->by_name[i].name);
		digest_int(h, ls->by_name[i].id);
	}
}

static int
inputs_digest(const struct nhi_conf *c, const struct local_db *l,
    int64_t now, unsigned char out[NHI_SHA256_LEN], struct nhi_err *e)
{
	const struct nhi_issuer *iss;
	struct nhi_sha256 h;
	size_t i;

	if (nhi_sha256_init(&h, e) != 0)
		return -1;
	digest_int(&h, c->account_uids.lo);
	digest_int(&h, c->account_uids.hi);
	digest_int(&h, c->account_gids.lo);
	digest_int(&h, c->account_gids.hi);
	digest_strv(&h, &c->account_groups);
	digest_int(&h, (int64_t)c->n_issuers);
	for (i = 0; i < c->n_issuers; i++) {
		iss = &c->issuers[i];
		digest_str(&h, iss->name);
		digest_bytes(&h, iss->key.pk, sizeof(iss->key.pk));
		digest_str(&h, iss->key.keyid);
		digest_int(&h, nhi_pubkey_valid_at(&iss->key, now,
		    c->clock_skew));
		digest_strv(&h, &iss->accounts);
		digest_strv(&h, &iss->services);
		digest_int(&h, iss->max_window);
		digest_strv(&h, &iss->groups);
	}
	digest_set(&h, &l->users);
	digest_set(&h, &l->groups);
	return nhi_sha256_final(&h, out, e);
}

/* Rejections. */

static void
reject_line(struct compile *cc, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reject_line(struct compile *cc, size_t line, const char *fmt, ...)
{
	char msg[NHI_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cc->n_rejected++;
	if (cc->reject != NULL)
		cc->reject(cc->rctx, line, msg);
}

static void
pending_reject(struct compile *cc, struct pending *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pending_reject(struct compile *cc, struct pending *p, const char *fmt, ...)
{
	char msg[NHI_ERRLEN];
	va_list ap;

	if (p->bad)
		return;
	p->bad = true;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reject_line(cc, p->line, "account %s: %s", p->a->name, msg);
}

/* Compiling statements. */

/*
 * Why the account may not be a member of local group g (NULL when it
 * may): the host lists the groups pseudonymous accounts may join
 * (account_groups), an issuer may narrow them (its groups), and gid 0 is
 * never given. Anything else would let an issuer hand out sudo, shadow,
 * disk or adm.
 */
static const char *
group_refusal(const struct nhi_conf *c, const struct nhi_issuer *iss,
    const struct local_ent *g)
{
	if (g->id == 0)
		return "has gid 0";
	if (!nhi_strv_has(&c->account_groups, g->name))
		return "is not in account_groups";
	if (iss->groups.n > 0 && !nhi_strv_has(&iss->groups, g->name))
		return "is not among the issuer's groups";
	return NULL;
}

/*
 * The checks that need only this account and the local files: range,
 * issuer scope, local users and groups, supplementary groups. Returns
 * false with the account rejected.
 */
static bool
account_local_check(struct compile *cc, struct pending *p)
{
	const struct nhi_conf *c = cc->c;
	const struct local_db *l = cc->local;
	const struct nhi_account *a = p->a;
	const struct nhi_issuer *iss = nhi_conf_issuer(c, a->issuer);
	const struct local_ent *g;
	const char *why;
	size_t i;

	/* Out at once: the group checks below use the issuer. */
	if (iss == NULL || !nhi_strv_match(&iss->accounts, a->name)) {
		pending_reject(cc, p, "issuer %s may not issue this account",
		    iss != NULL ? iss->name : a->issuer);
		return false;
	}
	if (a->uid == 0 || !nhi_range_has(&c->account_uids, 1, a->uid))
		pending_reject(cc, p, "uid %" PRIu32 " outside account_uids",
		    a->uid);
	else if (a->gid == 0 || !nhi_range_has(&c->account_gids, 1, a->gid))
		pending_reject(cc, p, "gid %" PRIu32 " outside account_gids",
		    a->gid);
	else if (set_has_id(&l->users, a->uid))
		pending_reject(cc, p, "uid %" PRIu32 " belongs to a local "
		    "user in %s", a->uid, c->passwd_file);
	else if (set_by_name(&l->users, a->name) != NULL)
		pending_reject(cc, p, "name is a local user in %s",
		    c->passwd_file);
	if (p->bad)
		return false;

	/*
	 * A gid that is already a local group is used as the primary group
	 * as it is; otherwise the account gets a private group of its own
	 * name, which must not shadow a local group.
	 */
	p->local_gid = set_has_id(&l->groups, a->gid);
	if (p->local_gid && a->gid < 1000 &&
	    (g = set_by_id(&l->groups, a->gid)) != NULL &&
	    (why = group_refusal(c, iss, g)) != NULL) {
		pending_reject(cc, p, "primary group %s (gid %" PRIu32 ") %s",
		    g->name, a->gid, why);
		return false;
	}
	g = set_by_name(&l->groups, a->name);
	if (!p->local_gid && g != NULL) {
		pending_reject(cc, p, "name is a local group in %s",
		    c->group_file);
		return false;
	}
	if (a->groups.n > 0 &&
	    (p->gids = calloc(a->groups.n, sizeof(*p->gids))) == NULL)
		return false;
	for (i = 0; i < a->groups.n; i++) {
		if ((g = set_by_name(&l->groups, a->groups.v[i])) == NULL) {
			pending_reject(cc, p, "group %s not found in %s",
			    a->groups.v[i], c->group_file);
			return false;
		}
		if ((why = group_refusal(c, iss, g)) != NULL) {
			pending_reject(cc, p, "group %s %s", a->groups.v[i],
			    why);
			return false;
		}
		p->gids[p->n_gids++] = g->id;
	}
	return true;
}

static int
account_keep(struct compile *cc, struct nhi_account *a, size_t line,
    struct nhi_err *e)
{
	struct pending *np, *p;

	if (cc->n_acc == cc->cap_acc) {
		size_t cap = cc->cap_acc == 0 ? 64 : cc->cap_acc * 2;

		if ((np = reallocarray(cc->acc, cap, sizeof(*np))) == NULL) {
			nhi_account_free(a);
			return nhi_err_set(e, "sync: out of memory");
		}
		cc->acc = np;
		cc->cap_acc = cap;
	}
	p = &cc->acc[cc->n_acc++];
	memset(p, 0, sizeof(*p));
	p->a = a;
	p->line = line;
	if (!account_local_check(cc, p) && !p->bad)
		return nhi_err_set(e, "sync: out of memory");
	return 0;
}

/*
 * Statements are verified on worker threads in batches while this thread
 * goes on reading; results are committed to the index in file order, by
 * this thread only, so the index and the rejection callbacks see exactly
 * what a single-threaded sync would.
 */
struct item {
	size_t off, len, line;
	unsigned char hash[NHI_SHA256_LEN];
	bool ok, cached;
	/*
	 * What the statement compiled to, as the cache keeps it: kind, the
	 * issuer key that verified it, the PAM index record. It points into
	 * the previous cache's mapping or into own.
	 */
	struct nhi_stcache_entry out;
	struct nhi_buf own;	/* kept from batch to batch */
	struct nhi_account *account;	/* an account, for the commit */
	char *why;		/* rejection reason when !ok */
};

enum batch_state { B_FREE, B_FILLING, B_QUEUED, B_DONE };

struct batch {
	enum batch_state state;
	char *buf;
	size_t used, cap;
	struct item it[BATCH];
	size_t n, next, done;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct batch ring[RING];
	size_t head, tail;	/* oldest batch in flight, batch filling */
	pthread_t th[NHI_SYNC_THREADS];
	size_t n_threads;
	bool stop;
	struct compile *cc;
};

static const unsigned char *
find_issuer_key(void *ctx, const char *keyid)
{
	const struct compile *cc = ctx;
	const struct nhi_issuer *iss = nhi_conf_issuer(cc->c, keyid);

	if (iss == NULL ||
	    !nhi_pubkey_valid_at(&iss->key, cc->now, cc->c->clock_skew))
		return NULL;
	return iss->key.pk;
}

/*
 * Takes what an earlier sync compiled from these exact bytes. The cache
 * only ever holds what a sync verified itself, and the entry counts only
 * while its issuer's key is the one pinned now: a key removed from the
 * config or rotated out cannot be revived by it. Its record must pass the
 * index reader's checks; anything less is a miss.
 */
static bool
item_from_cache(const struct pool *p, struct item *it)
{
	const struct nhi_stcache *cache = p->cc->cache_in;
	struct nhi_stcache_entry en;
	struct nhi_account *a = NULL;
	const unsigned char *pk;
	const char *issuer = NULL;
	bool hit;

	if (cache == NULL || nhi_stcache_find(cache, it->hash, &en) != 1)
		return false;
	/* A binding's record is only checked: the commit copies it. */
	if (en.kind == NHI_STCACHE_BINDING) {
		if (nhi_pamidx_binding_check(en.rec, en.rec_len, &issuer) != 0)
			return false;
	} else {
		if (nhi_pamidx_account_decode(en.rec, en.rec_len, &a) != 0)
			return false;
		issuer = a->issuer;
	}
	pk = find_issuer_key(p->cc, issuer);
	hit = pk != NULL && sodium_memcmp(pk, en.pk, NHI_PK_LEN) == 0;
	if (!hit) {
		nhi_account_free(a);
		return false;
	}
	it->out = en;
	it->account = a;
	return true;
}

static void
item_reject(struct item *it, const char *msg)
{
	it->ok = false;
	it->why = strdup(msg[0] != '\0' ? msg : "statement rejected");
}

/*
 * Compiles a statement the cache does not know: decode, find the issuer,
 * verify, parse (the checks of nhi_statement_open), then the record the
 * index and the cache keep.
 */
static int
item_compile(const struct pool *p, const char *text, struct item *it,
    struct nhi_err *e)
{
	struct nhi_envelope *env = NULL;
	struct nhi_statement st;
	const unsigned char *pk;
	const char *issuer;
	char esc[96];
	bool binding;
	int r = -1;

	memset(&st, 0, sizeof(st));
	if (nhi_dsse_decode(text, it->len, NHI_MAX_STATEMENT, &env, e) != 0)
		goto out;
	binding = strcmp(env->payload_type, NHI_PT_BINDING) == 0;
	if (!binding && strcmp(env->payload_type, NHI_PT_ACCOUNT) != 0) {
		nhi_escape(env->payload_type, 64, esc, sizeof(esc));
		nhi_err_set(e, "payload type \"%s\" is not a statement", esc);
		goto out;
	}
	if ((pk = find_issuer_key(p->cc, env->keyid)) == NULL) {
		nhi_err_set(e, "keyid %s: not a trusted issuer", env->keyid);
		goto out;
	}
	if (nhi_dsse_verify(env, pk, binding ? NHI_PT_BINDING :
	    NHI_PT_ACCOUNT, e) != 0)
		goto out;
	if (binding ? nhi_binding_parse((const char *)env->payload,
	    env->payload_len, &st.binding, e) != 0 :
	    nhi_account_parse((const char *)env->payload, env->payload_len,
	    &st.account, e) != 0)
		goto out;
	issuer = binding ? st.binding->issuer : st.account->issuer;
	if (strcmp(issuer, env->keyid) != 0) {
		nhi_err_set(e, "issuer: %s is not the signing key %s", issuer,
		    env->keyid);
		goto out;
	}
	it->own.len = 0;
	if (nhi_stcache_value_start(binding ? NHI_STCACHE_BINDING :
	    NHI_STCACHE_ACCOUNT, pk, &it->own) != 0 || (binding ?
	    nhi_pamidx_binding_record(st.binding, &it->own) :
	    nhi_pamidx_account_record(st.account, &it->own)) != 0 ||
	    nhi_stcache_value_end(it->hash, &it->own) != 0 ||
	    nhi_stcache_entry_of(it->hash, it->own.s, it->own.len,
	    &it->out) != 0) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	it->account = st.account;
	st.account = NULL;
	r = 0;
out:
	nhi_statement_clear(&st);
	nhi_envelope_free(env);
	return r;
}

/*
 * The work of one statement, on any thread: its hash, then the cache or
 * the whole compilation.
 */
static void
item_process(const struct pool *p, const char *text, struct item *it)
{
	struct nhi_err e;

	e.msg[0] = '\0';
	if (nhi_sha256(it->hash, text, it->len, &e) != 0)
		item_reject(it, e.msg);
	else if (item_from_cache(p, it))
		it->ok = it->cached = true;
	else if (item_compile(p, text, it, &e) == 0)
		it->ok = true;
	else
		item_reject(it, e.msg);
}

/*
 * Takes a slice of the oldest queued batch that has work left, processes
 * it without the lock, and marks the batch done when its last slice is.
 * Called with the lock held; returns false when there was nothing to do.
 */
static bool
pool_step(struct pool *p)
{
	struct batch *b = NULL;
	size_t i, k, lo, hi;

	for (k = 0; k < RING; k++) {
		struct batch *c = &p->ring[(p->head + k) % RING];

		if (c->state == B_QUEUED && c->next < c->n) {
			b = c;
			break;
		}
	}
	if (b == NULL)
		return false;
	lo = b->next;
	hi = lo + SLICE < b->n ? lo + SLICE : b->n;
	b->next = hi;
	(void)pthread_mutex_unlock(&p->mu);
	for (i = lo; i < hi; i++)
		item_process(p, b->buf + b->it[i].off, &b->it[i]);
	(void)pthread_mutex_lock(&p->mu);
	b->done += hi - lo;
	if (b->done == b->n) {
		b->state = B_DONE;
		(void)pthread_cond_broadcast(&p->done);
	}
	return true;
}

static void *
pool_worker(void *arg)
{
	struct pool *p = arg;

	(void)pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (!pool_step(p))
			(void)pthread_cond_wait(&p->work, &p->mu);
	}
	(void)pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		nhi_account_free(b->it[i].account);
		b->it[i].account = NULL;
		free(b->it[i].why);
		b->it[i].why = NULL;
	}
	b->n = b->next = b->done = b->used = 0;
	b->state = B_FREE;
}

static void
pool_free(struct pool *p)
{
	size_t i, k;

	if (p == NULL)
		return;
	(void)pthread_mutex_lock(&p->mu);
	p->stop = true;
	(void)pthread_cond_broadcast(&p->work);
	(void)pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_threads; i++)
		(void)pthread_join(p->th[i], NULL);
	for (i = 0; i < RING; i++) {
		batch_clear(&p->ring[i]);
		for (k = 0; k < BATCH; k++)
			nhi_buf_free(&p->ring[i].it[k].own);
		free(p->ring[i].buf);
	}
	(void)pthread_mutex_destroy(&p->mu);
	(void)pthread_cond_destroy(&p->work);
	(void)pthread_cond_destroy(&p->done);
	free(p);
}

static int
pool_new(struct compile *cc, struct pool **ret, struct nhi_err *e)
{
	struct pool *p;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i, want;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return nhi_err_set(e, "sync: out of memory");
	p->cc = cc;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return nhi_err_set(e, "sync: cannot create a mutex");
	}
	(void)pthread_cond_init(&p->work, NULL);
	(void)pthread_cond_init(&p->done, NULL);
	/*
	 * The reading thread helps whenever it waits, so one worker per
	 * further processor keeps every processor busy.
	 */
	want = ncpu > 1 ? (size_t)ncpu - 1 : 0;
	if (want > NHI_SYNC_THREADS)
		want = NHI_SYNC_THREADS;
	for (i = 0; i < want; i++) {
		if (pthread_create(&p->th[i], NULL, pool_worker, p) != 0)
			break;
		p->n_threads++;
	}
	*ret = p;
	return 0;
}

/*
 * Records an accepted statement in the new cache. A cache that cannot be
 * written is dropped: it only ever saves time.
 */
static void
cache_add(struct compile *cc, const struct item *it)
{
	if (cc->cache_out != NULL && nhi_stcache_add(cc->cache_out, it->hash,
	    it->out.value, it->out.value_len, NULL) != 0) {
		nhi_stcache_abort(cc->cache_out);
		cc->cache_out = NULL;
	}
}

/* Commits one finished batch in file order, on the reading thread. */
static int
batch_commit(struct compile *cc, struct batch *b, struct nhi_err *e)
{
	struct item *it;
	size_t i;
	int r = 0;

	for (i = 0; i < b->n && r == 0; i++) {
		it = &b->it[i];
		if (!it->ok) {
			reject_line(cc, it->line, "%s", it->why != NULL ?
			    it->why : "out of memory");
			continue;
		}
		if (it->cached)
			cc->n_cached++;
		else
			cc->n_verified++;
		cache_add(cc, it);
		if (it->out.kind == NHI_STCACHE_BINDING) {
			/*
			 * Scope is the decision's business: it reports
			 * out-of-scope with the live config rather than a
			 * silent absence.
			 */
			if ((r = nhi_pamidx_add_binding_record(cc->pam,
			    it->out.rec, it->out.rec_len, e)) == 0)
				cc->n_bindings++;
		} else {
			r = account_keep(cc, it->account, it->line, e);
			it->account = NULL;
		}
	}
	batch_clear(b);
	return r;
}

/* Waits for the oldest batch in flight, helping with the work. */
static int
pool_drain_one(struct compile *cc, struct nhi_err *e)
{
	struct pool *p = cc->pool;
	struct batch *b = &p->ring[p->head];

	(void)pthread_mutex_lock(&p->mu);
	while (b->state != B_DONE) {
		if (!pool_step(p))
			(void)pthread_cond_wait(&p->done, &p->mu);
	}
	(void)pthread_mutex_unlock(&p->mu);
	p->head = (p->head + 1) % RING;
	return batch_commit(cc, b, e);
}

static int
pool_submit(struct compile *cc, struct nhi_err *e)
{
	struct pool *p = cc->pool;
	struct batch *b = &p->ring[p->tail];

	if (b->state != B_FILLING || b->n == 0)
		return 0;
	(void)pthread_mutex_lock(&p->mu);
	b->state = B_QUEUED;
	(void)pthread_cond_broadcast(&p->work);
	(void)pthread_mutex_unlock(&p->mu);
	p->tail = (p->tail + 1) % RING;
	while (p->ring[p->tail].state != B_FREE) {
		if (pool_drain_one(cc, e) != 0)
			return -1;
	}
	return 0;
}

/* Waits for every batch and commits them. */
static int
pool_finish(struct compile *cc, struct nhi_err *e)
{
	struct pool *p = cc->pool;

	if (p == NULL)
		return 0;
	if (pool_submit(cc, e) != 0)
		return -1;
	while (p->ring[p->head].state != B_FREE) {
		if (pool_drain_one(cc, e) != 0)
			return -1;
	}
	return 0;
}

static int
on_statement(void *ctx, const char *line, size_t len, struct nhi_err *e)
{
	struct compile *cc = ctx;
	struct batch *b;
	struct item *it;
	char *nb;

	cc->line++;
	if (cc->hash_only)
		return 0;
	b = &cc->pool->ring[cc->pool->tail];
	if (b->state == B_FREE)
		b->state = B_FILLING;
	if (len + 1 > b->cap - b->used) {
		size_t cap = b->cap == 0 ? 256 * 1024 : b->cap;

		while (cap < b->used + len + 1)
			cap *= 2;
		if ((nb = realloc(b->buf, cap)) == NULL)
			return nhi_err_set(e, "sync: out of memory");
		b->buf = nb;
		b->cap = cap;
	}
	/* The item keeps its buffer from the batch before. */
	it = &b->it[b->n++];
	it->ok = it->cached = false;
	memset(&it->out, 0, sizeof(it->out));
	it->off = b->used;
	it->len = len;
	it->line = cc->line;
	memcpy(b->buf + b->used, line, len);
	b->buf[b->used + len] = '\0';
	b->used += len + 1;
	if (b->n == BATCH)
		return pool_submit(cc, e);
	return 0;
}

/*
 * Opens the previous cache for reading and starts the new one beside it.
 * Neither is required: without them every signature is verified.
 */
static void
cache_begin(struct compile *cc)
{
	char *path;

	if (asprintf(&path, "%s/" CACHE_NAME, cc->c->state_dir) < 0)
		return;
	if (nhi_stcache_open(path, &cc->cache_in, NULL) != 0)
		cc->cache_in = NULL;
	if (nhi_stcache_create(path, &cc->cache_out, NULL) != 0)
		cc->cache_out = NULL;
	else if (nhi_stcache_set_inputs(cc->cache_out, cc->inputs,
	    NULL) != 0) {
		nhi_stcache_abort(cc->cache_out);
		cc->cache_out = NULL;
	}
	free(path);
}

/*
 * Removes the cache before the indexes it describes are replaced: should
 * the new one not be installed, no cache is left to vouch for indexes
 * built from other inputs.
 */
static void
cache_remove(const struct nhi_conf *c)
{
	char *path;

	if (asprintf(&path, "%s/" CACHE_NAME, c->state_dir) < 0)
		return;
	(void)unlink(path);
	free(path);
}

/* Installs the new cache once the indexes it describes are installed. */
static void
cache_commit(struct compile *cc)
{
	struct nhi_stcache_writer *w = cc->cache_out;

	cc->cache_out = NULL;
	if (w != NULL)
		(void)nhi_stcache_commit(w, NULL);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
nhi_sync_nss_index_check(const struct nhi_conf *c, struct nhi_err *e)
{
	const unsigned char *m;
	struct cdb cdb;
	struct stat st;
	uint32_t flags;
	int fd, r = -1;

	if ((fd = nhi_open_regular(c->nss_index, &st, e)) < 0)
		return -1;
	if (st.st_size > UINT32_MAX) {
		nhi_err_set(e, "%s: too large for a cdb file", c->nss_index);
		goto out;
	}
	if (cdb_init(&cdb, fd) != 0) {
		nhi_err_set(e, "%s: not a cdb file", c->nss_index);
		goto out;
	}
	if (cdb_find(&cdb, NHI_NSSIDX_META_KEY, NHI_NSSIDX_META_KEYLEN) <= 0 ||
	    cdb_datalen(&cdb) != NHI_NSSIDX_META_LEN ||
	    (m = cdb_getdata(&cdb)) == NULL ||
	    memcmp(m, NHI_NSSIDX_MAGIC, NHI_NSSIDX_MAGIC_LEN) != 0)
		nhi_err_set(e, "%s: no NSS index meta record of this version",
		    c->nss_index);
	else if (((flags = le32(m + NHI_NSSIDX_MAGIC_LEN)) &
	    ~NHI_NSSIDX_F_ALL) != 0)
		nhi_err_set(e, "%s: unknown flags in the meta record",
		    c->nss_index);
	else if (((flags & NHI_NSSIDX_F_ENUMERATE) != 0) != c->enumerate)
		nhi_err_set(e, "%s: enumeration is not as configured",
		    c->nss_index);
	else
		r = 0;
	cdb_free(&cdb);
out:
	(void)close(fd);
	return r;
}

/*
 * Whether the installed indexes are those of the state's register, read
 * back with their readers: a same-version sync that finds them damaged,
 * lost or built under other rules rebuilds them.
 */
/* Whether the PAM index holds the register the state names. */
static bool
index_holds(const struct nhi_pamidx *x, const struct nhi_state *s)
{
	return nhi_pamidx_meta(x)->version == s->version &&
	    strcmp(nhi_pamidx_meta(x)->sha256, s->sha256) == 0;
}

static bool
index_matches_state(const struct nhi_conf *c, const struct nhi_state *s)
{
	struct nhi_pamidx *x;
	bool ok;

	if (nhi_sync_nss_index_check(c, NULL) != 0)
		return false;
	if (nhi_pamidx_open(c->pam_index, &x, NULL) != 0)
		return false;
	/*
	 * The index also carries the config's governance rules: a config
	 * changed since the last install needs the index rebuilt.
	 */
	ok = index_holds(x, s) &&
	    nhi_governance_same(nhi_pamidx_governance(x), c);
	nhi_pamidx_close(x);
	return ok;
}

/*
 * Whether the installed indexes may be kept as they are (the same
 * version again, or a 304): they are the state's register, and the
 * statement cache installed with them says they were compiled from the
 * inputs whose digest is given, the host's as they are now.
 */
static bool
installed_is_current(const struct nhi_conf *c, const struct nhi_state *s,
    const unsigned char inputs[NHI_SHA256_LEN])
{
	struct nhi_stcache *cache;
	char *path;
	bool ok;

	if (!index_matches_state(c, s) ||
	    asprintf(&path, "%s/" CACHE_NAME, c->state_dir) < 0)
		return false;
	ok = nhi_stcache_open(path, &cache, NULL) == 0;
	free(path);
	if (ok) {
		ok = nhi_stcache_inputs_are(cache, inputs);
		nhi_stcache_close(cache);
	}
	return ok;
}

static int
on_header(void *ctx, const struct nhi_register_header *h, struct nhi_err *e)
{
	struct compile *cc = ctx;
	size_t i;

	if (nhi_ratchet_precheck(cc->ratchet, h, cc->now, cc->c->clock_skew,
	    e) != 0)
		return -1;
	/*
	 * The same version again is the common case of a timer: when the
	 * installed index is the one the state names, hashing the file is
	 * all it takes to tell "unchanged" from a forged replacement.
	 */
	if (h->version == cc->state->version &&
	    installed_is_current(cc->c, cc->state, cc->inputs)) {
		cc->hash_only = true;
		return 0;
	}
	if (nhi_pamidx_create(cc->c->pam_index, &cc->pam, e) != 0 ||
	    nhi_pamidx_add_governance(cc->pam, cc->c, e) != 0)
		return -1;
	cache_begin(cc);
	if (pool_new(cc, &cc->pool, e) != 0)
		return -1;
	for (i = 0; i < h->n_deny; i++) {
		if (nhi_pamidx_add_deny(cc->pam, &h->deny[i], e) != 0)
			return -1;
	}
	return 0;
}

/*
 * Cross-account checks. Two accounts with one name, uid or private-group
 * gid cannot both be attributed, and which one the publisher meant is not
 * for the host to guess: every account in a clash is dropped.
 */
enum clash_kind { CLASH_NAME, CLASH_UID, CLASH_GID };

struct clash_ctx {
	const struct pending *acc;
	enum clash_kind kind;
};

static int
clash_cmp(const void *a, const void *b, void *arg)
{
	const struct clash_ctx *x = arg;
	const struct nhi_account *p = x->acc[*(const size_t *)a].a;
	const struct nhi_account *q = x->acc[*(const size_t *)b].a;

	switch (x->kind) {
	case CLASH_NAME:
		return strcmp(p->name, q->name);
	case CLASH_UID:
		return p->uid < q->uid ? -1 : p->uid > q->uid;
	case CLASH_GID:
		return p->gid < q->gid ? -1 : p->gid > q->gid;
	}
	return 0;
}

static void
clash_scan(struct compile *cc, size_t *idx, size_t n, enum clash_kind kind)
{
	struct clash_ctx x = { cc->acc, kind };
	struct pending *p, *q;
	size_t i, j;

	if (n < 2)
		return;
	qsort_r(idx, n, sizeof(*idx), clash_cmp, &x);
	for (i = 0; i + 1 < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (clash_cmp(&idx[i], &idx[j], &x) != 0)
				break;
			p = &cc->acc[idx[i]];
			q = &cc->acc[idx[j]];
			if (kind == CLASH_NAME) {
				pending_reject(cc, p, "name also claimed on "
				    "line %zu", q->line);
				pending_reject(cc, q, "name also claimed on "
				    "line %zu", p->line);
			} else {
				const char *what = kind == CLASH_UID ? "uid" :
				    "gid";
				uint32_t id = kind == CLASH_UID ? p->a->uid :
				    p->a->gid;

				pending_reject(cc, p, "%s %" PRIu32 " also "
				    "claimed by account %s (line %zu)", what,
				    id, q->a->name, q->line);
				pending_reject(cc, q, "%s %" PRIu32 " also "
				    "claimed by account %s (line %zu)", what,
				    id, p->a->name, p->line);
			}
		}
	}
}

static int
accounts_cross_check(struct compile *cc, struct nhi_err *e)
{
	size_t *idx, n = 0, i;
	bool *ok;

	if (cc->n_acc == 0)
		return 0;
	idx = calloc(cc->n_acc, sizeof(*idx));
	ok = calloc(cc->n_acc, sizeof(*ok));
	if (idx == NULL || ok == NULL) {
		free(idx);
		free(ok);
		return nhi_err_set(e, "sync: out of memory");
	}
	/* Judge every clash against the same set, whatever was found first. */
	for (i = 0; i < cc->n_acc; i++)
		ok[i] = !cc->acc[i].bad;
	for (i = 0; i < cc->n_acc; i++) {
		if (ok[i])
			idx[n++] = i;
	}
	clash_scan(cc, idx, n, CLASH_NAME);
	clash_scan(cc, idx, n, CLASH_UID);
	for (i = n = 0; i < cc->n_acc; i++) {
		if (ok[i] && !cc->acc[i].local_gid)
			idx[n++] = i;
	}
	clash_scan(cc, idx, n, CLASH_GID);
	free(idx);
	free(ok);
	return 0;
}

/*
 * "nhi owner OWNER (DESCRIPTION)": the description is cut at a character
 * boundary when the whole would not fit a passwd description field.
 */
static int
gecos_make(const struct nhi_account *a, char *buf, size_t len)
{
	size_t n, room;
	const char *d = a->description;
	int w;

	w = snprintf(buf, len, GECOS_PREFIX "%s", a->owner);
	if (w < 0 || (size_t)w > NHI_MAX_FIELD || (size_t)w >= len)
		return -1;
	if (d == NULL || *d == '\0')
		return 0;
	n = strlen(d);
	room = NHI_MAX_FIELD - (size_t)w;
	if (room < 4)
		return 0;
	if (n > room - 3) {
		n = room - 3;
		while (n > 0 && ((unsigned char)d[n] & 0xc0) == 0x80)
			n--;
	}
	(void)snprintf(buf + w, len - (size_t)w, " (%.*s)", (int)n, d);
	for (n = 0; buf[n] != '\0'; n++) {
		if (buf[n] == ':' || (unsigned char)buf[n] < 0x20 ||
		    buf[n] == 0x7f)
			buf[n] = ' ';
	}
	return 0;
}

static int
accounts_write(struct compile *cc, struct nhi_nssidx_writer *nss,
    struct nhi_err *e)
{
	char gecos[NHI_MAX_FIELD + 1], home[NHI_MAX_NAME + 8];
	const char *dir, *shell;
	struct pending *p;
	size_t i;

	for (i = 0; i < cc->n_acc; i++) {
		p = &cc->acc[i];
		if (p->bad)
			continue;
		if (gecos_make(p->a, gecos, sizeof(gecos)) != 0) {
			pending_reject(cc, p, "owner too long for the "
			    "passwd description");
			continue;
		}
		(void)snprintf(home, sizeof(home), "/home/%s", p->a->name);
		dir = p->a->home != NULL ? p->a->home : home;
		shell = p->a->shell != NULL ? p->a->shell : "/bin/sh";
		if (nhi_pamidx_add_account(cc->pam, p->a, e) != 0 ||
		    nhi_nssidx_add_user(nss, p->a->name, p->a->uid, p->a->gid,
		    gecos, dir, shell, e) != 0 ||
		    (!p->local_gid && nhi_nssidx_add_group(nss, p->a->name,
		    p->a->gid, NULL, e) != 0) ||
		    (p->n_gids > 0 && nhi_nssidx_add_member(nss, p->a->name,
		    p->gids, p->n_gids, e) != 0))
			return -1;
		cc->n_accounts++;
	}
	return 0;
}

static void
compile_free(struct compile *cc)
{
	size_t i;

	/* The workers stop before anything they might touch is freed. */
	pool_free(cc->pool);
	cc->pool = NULL;
	/* Items pointed into the previous cache until the workers stopped. */
	nhi_stcache_close(cc->cache_in);
	cc->cache_in = NULL;
	nhi_stcache_abort(cc->cache_out);
	cc->cache_out = NULL;
	for (i = 0; i < cc->n_acc; i++) {
		nhi_account_free(cc->acc[i].a);
		free(cc->acc[i].gids);
	}
	free(cc->acc);
	nhi_pamidx_abort(cc->pam);
	cc->pam = NULL;
	cc->acc = NULL;
	cc->n_acc = cc->cap_acc = 0;
}

/*
 * Installs the compiled indexes: every step that can run out of space
 * comes before the first rename.
 */
static int
install(struct compile *cc, const struct nhi_register_header *h,
    const char *hex, struct nhi_err *e)
{
	struct nhi_nssidx_writer *nss = NULL;
	struct nhi_regmeta meta;
	struct nhi_pamidx_writer *pam;
	int r = -1;

	if (accounts_cross_check(cc, e) != 0 ||
	    nhi_nssidx_create(cc->c->nss_index, &nss, e) != 0)
		goto out;
	nhi_nssidx_set_enumerate(nss, cc->c->enumerate);
	if (accounts_write(cc, nss, e) != 0)
		goto out;
	memset(&meta, 0, sizeof(meta));
	meta.version = h->version;
	meta.issued_at = h->issued_at;
	meta.expires_at = h->expires_at;
	memcpy(meta.sha256, hex, sizeof(meta.sha256));
	meta.installed_at = cc->now;
	if (nhi_pamidx_finish(cc->pam, &meta, e) != 0)
		goto out;
	r = nhi_nssidx_commit(nss, e);
	nss = NULL;
	if (r != 0)
		goto out;
	pam = cc->pam;
	cc->pam = NULL;
	r = nhi_pamidx_commit(pam, &meta, e);
out:
	nhi_nssidx_abort(nss);
	return r;
}

/* The sync proper, with the lock held. */

/* Failure classes, for the log line and monitoring. */
static void
reason_set(struct nhi_sync_result *res, const char *reason)
{
	(void)snprintf(res->reason, sizeof(res->reason), "%s", reason);
}

/* The ratchet and the reader say what failed in the message's first word. */
static const char *
reason_of_register_error(const char *msg)
{
	static const struct {
		const char *prefix, *reason;
	} map[] = {
		{ "rollback", "rollback" },
		{ "same version with a different hash",
		    "same-version-different-hash" },
		{ "expired", "expired" },
		{ "clock behind", "clock-behind" },
		{ "register: read error", "disk" },
	};
	const char *m = msg;
	size_t i;

	/*
	 * Messages carry prefixes ("URL: rollback: ..."): each segment
	 * after ": " is tried in turn.
	 */
	for (;;) {
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			if (strncmp(m, map[i].prefix,
			    strlen(map[i].prefix)) == 0)
				return map[i].reason;
		}
		if ((m = strstr(m, ": ")) == NULL)
			break;
		m += 2;
	}
	return "bad-register";
}

static void
result_fill(struct nhi_sync_result *ret, const struct nhi_state *s,
    enum nhi_sync_outcome o)
{
	ret->outcome = o;
	ret->installed = o == NHI_SYNC_INSTALLED;
	ret->unchanged = o == NHI_SYNC_UNCHANGED || o == NHI_SYNC_NOT_MODIFIED;
	ret->version = s->version;
	ret->n_bindings = s->n_bindings;
	ret->n_accounts = s->n_accounts;
	ret->n_deny = s->n_deny;
	ret->n_rejected = s->n_rejected;
	memcpy(ret->source, s->source, sizeof(ret->source));
}

/*
 * What the ratchet compares a register with: the state, or the installed
 * PAM index when that is newer. A sync that renamed the index into place
 * and was then killed, or could not write the state, leaves the state
 * behind the index; the index's register was accepted all the same, and
 * neither an older one nor another under its version may replace it.
 */
static void
ratchet_base(const struct nhi_conf *c, const struct nhi_state *s,
    struct nhi_state *ret)
{
	const struct nhi_regmeta *m;
	struct nhi_pamidx *x;

	*ret = *s;
	if (nhi_pamidx_open(c->pam_index, &x, NULL) != 0)
		return;
	m = nhi_pamidx_meta(x);
	if (m->version > s->version) {
		ret->version = m->version;
		memcpy(ret->sha256, m->sha256, sizeof(ret->sha256));
		ret->issued_at = m->issued_at;
	}
	nhi_pamidx_close(x);
}

static int
sync_stream(const struct nhi_conf *c, FILE *in, const char *source,
    int64_t now, nhi_reject_fn rejectfn, void *rctx, struct nhi_state *s,
    struct nhi_sync_result *res, struct nhi_err *e)
{
	struct nhi_register_header h;
	struct nhi_state base;
	struct local_db local;
	struct compile cc;
	unsigned char sha[32];
	char hex[65];
	bool unchanged = false;
	int r = -1;

	memset(&h, 0, sizeof(h));
	memset(&local, 0, sizeof(local));
	memset(&cc, 0, sizeof(cc));
	cc.c = c;
	cc.now = now;
	cc.reject = rejectfn;
	cc.rctx = rctx;
	cc.state = s;
	ratchet_base(c, s, &base);
	cc.ratchet = &base;
	cc.local = &local;
	cc.line = 1;

	reason_set(res, "config");
	if (local_load(c, &local, e) != 0 ||
	    inputs_digest(c, &local, now, cc.inputs, e) != 0)
		goto out;
	reason_set(res, "bad-register");
	if (nhi_register_read_ext(in, c, now, on_header, on_statement, &cc,
	    &h, sha, e) != 0 || pool_finish(&cc, e) != 0 ||
	    nhi_ratchet_check(&base, &h, sha, now, c->clock_skew,
	    &unchanged, e) != 0) {
		reason_set(res, reason_of_register_error(e->msg));
		if (cc.pam != NULL && strstr(e->msg, "write error") != NULL)
			reason_set(res, "disk");
		nhi_err_prefix(e, "%s", source);
		goto out;
	}
	nhi_hex(sha, sizeof(sha), hex);
	/*
	 * Every statement is committed: nothing points into the previous
	 * cache any more, and its mapping need not weigh on what follows.
	 */
	nhi_stcache_close(cc.cache_in);
	cc.cache_in = NULL;
	if (!cc.hash_only) {
		/* Also repairs an index lost under an unchanged register. */
		reason_set(res, "disk");
		cache_remove(c);
		if (install(&cc, &h, hex, e) != 0)
			goto out;
		cache_commit(&cc);
		s->n_bindings = cc.n_bindings;
		s->n_accounts = cc.n_accounts;
		s->n_deny = h.n_deny;
		s->n_rejected = cc.n_rejected;
		res->n_verified = cc.n_verified;
		res->n_cached = cc.n_cached;
	}
	s->version = h.version;
	memcpy(s->sha256, hex, sizeof(s->sha256));
	s->issued_at = h.issued_at;
	s->expires_at = h.expires_at;
	s->last_success = now;
	s->last_error[0] = '\0';
	(void)snprintf(s->source, sizeof(s->source), "%s", source);
	result_fill(res, s, !cc.hash_only ? NHI_SYNC_INSTALLED :
	    NHI_SYNC_UNCHANGED);
	/* An index lost under an unchanged register is rebuilt. */
	res->unchanged = unchanged;
	reason_set(res, cc.hash_only ? "unchanged" : unchanged ? "repaired" :
	    "ok");
	r = 0;
out:
	compile_free(&cc);
	local_free(&local);
	nhi_register_header_clear(&h);
	return r;
}

static int
lock_take(const char *dir, int *ret_fd, struct nhi_err *e)
{
	struct timespec ts = { 0, LOCK_POLL_MS * 1000000L };
	char *path;
	int fd, i;

	if (asprintf(&path, "%s/lock", dir) < 0)
		return nhi_err_set(e, "sync: out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
	    0600);
	if (fd < 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; i++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    i * LOCK_POLL_MS >= NHI_SYNC_LOCK_WAIT * 1000) {
			if (errno == EWOULDBLOCK)
				nhi_err_set(e, "%s: another sync is running "
				    "(still locked after %d s)", path,
				    NHI_SYNC_LOCK_WAIT);
			else
				nhi_err_set(e, "%s: %s", path,
				    strerror(errno));
			(void)close(fd);
			free(path);
			return -1;
		}
		(void)nanosleep(&ts, NULL);
	}
	free(path);
	*ret_fd = fd;
	return 0;
}

/*
 * Removes the temporary files a killed sync left beside path (the
 * "PATH.tmp.XXXXXX" of an atomic write). Called with the lock held, so
 * no running sync owns them.
 */
static void
leftovers_remove(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *prefix = NULL;
	struct dirent *de;
	DIR *d;
	int dfd;

	if (slash == NULL || (dir = strndup(path, (size_t)(slash - path) +
	    1)) == NULL)
		return;
	if (asprintf(&prefix, "%s.tmp.", slash + 1) < 0)
		prefix = NULL;
	if (prefix != NULL && (d = opendir(dir)) != NULL) {
		dfd = dirfd(d);
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
			    strlen(de->d_name) == strlen(prefix) + 6)
				(void)unlinkat(dfd, de->d_name, 0);
		}
		(void)closedir(d);
	}
	free(prefix);
	free(dir);
}

static void
leftovers_clean(const struct nhi_conf *c)
{
	char *p;

	leftovers_remove(c->pam_index);
	leftovers_remove(c->nss_index);
	if (asprintf(&p, "%s/state", c->state_dir) >= 0) {
		leftovers_remove(p);
		free(p);
	}
	if (asprintf(&p, "%s/" CACHE_NAME, c->state_dir) >= 0) {
		leftovers_remove(p);
		free(p);
	}
}

/*
 * Takes the lock and loads the state. A state that cannot be read stops
 * the sync: without it the host cannot tell a rollback from an update.
 */
static int
sync_begin(const struct nhi_conf *c, int *ret_fd, struct nhi_state *s,
    struct nhi_sync_result *res, struct nhi_err *e)
{
	reason_set(res, "state");
	if (mkdir(c->state_dir, 0755) != 0 && errno != EEXIST)
		return nhi_err_set(e, "%s: %s", c->state_dir, strerror(errno));
	if (lock_take(c->state_dir, ret_fd, e) != 0) {
		if (strstr(e->msg, "another sync") != NULL)
			reason_set(res, "locked");
		return -1;
	}
	if (nhi_state_load(c->state_dir, s, e) != 0) {
		(void)close(*ret_fd);
		return -1;
	}
	leftovers_clean(c);
	return 0;
}

/*
 * Records the outcome; a failure keeps the accepted version and hash, and
 * reports them: the log line of a failed run names the register that stays
 * in force, not a version 0 that was never installed.
 */
static int
sync_end(const struct nhi_conf *c, int lockfd, struct nhi_state *s,
    int64_t now, int r, struct nhi_sync_result *res, struct nhi_err *e)
{
	struct nhi_pamidx *x;
	struct nhi_err e2;

	/* What the state names, if the PAM index holds it. */
	if (r != 0 && res->outcome == NHI_SYNC_FAILED &&
	    nhi_pamidx_open(c->pam_index, &x, NULL) == 0) {
		if (index_holds(x, s)) {
			res->version = s->version;
			res->n_bindings = s->n_bindings;
			res->n_accounts = s->n_accounts;
			res->n_deny = s->n_deny;
			res->n_rejected = s->n_rejected;
		}
		nhi_pamidx_close(x);
	}
	s->last_attempt = now;
	(void)snprintf(s->last_reason, sizeof(s->last_reason), "%s",
	    res->reason);
	if (r != 0) {
		(void)snprintf(s->last_error, sizeof(s->last_error), "%s",
		    e != NULL ? e->msg : "sync failed");
		(void)snprintf(s->last_failure_error,
		    sizeof(s->last_failure_error), "%s", s->last_error);
		s->last_failure = now;
	}
	if (nhi_state_save(c->state_dir, s, &e2) != 0) {
		if (r == 0) {
			nhi_err_set(e, "%s", e2.msg);
			reason_set(res, "disk");
			res->outcome = NHI_SYNC_FAILED;
			res->installed = res->unchanged = false;
		}
		r = -1;
	}
	(void)close(lockfd);
	return r;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
result_begin(struct nhi_sync_result *res, const char *source)
{
	memset(res, 0, sizeof(*res));
	res->outcome = NHI_SYNC_FAILED;
	res->duration_ms = mono_ms();
	reason_set(res, "internal");
	if (source != NULL)
		(void)snprintf(res->source, sizeof(res->source), "%s", source);
}

static void
result_end(struct nhi_sync_result *res, const char *source)
{
	res->duration_ms = mono_ms() - res->duration_ms;
	if (res->outcome == NHI_SYNC_FAILED && source != NULL)
		(void)snprintf(res->source, sizeof(res->source), "%s", source);
}

/*
 * Opens a register on the local disk, which must be a regular file: the
 * open of a FIFO would wait for a writer with the sync's lock held and no
 * fetch_timeout to end it, and a directory would read as a disk fault.
 * Returns the descriptor, or -1 with e and the reason set.
 */
static int
local_register_open(const char *path, struct stat *st,
    struct nhi_sync_result *res, struct nhi_err *e)
{
	reason_set(res, "unreachable");
	return nhi_open_regular(path, st, e);
}

/* The same check for a file:// URL, before libcurl opens it. */
static int
file_url_check(const char *url, struct nhi_sync_result *res,
    struct nhi_err *e)
{
	struct stat st;
	char *path = NULL;
	CURLU *u;
	int fd, r = 0;

	if (strncasecmp(url, "file:", 5) != 0)
		return 0;
	if ((u = curl_url()) == NULL)
		return nhi_err_set(e, "sync: out of memory");
	/* A URL that does not parse is libcurl's to report. */
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) ==
	    CURLUE_OK) {
		if ((fd = local_register_open(path, &st, res, e)) < 0)
			r = -1;
		else
			(void)close(fd);
	}
	curl_free(path);
	curl_url_cleanup(u);
	return r;
}

int
nhi_sync_file(const struct nhi_conf *c, const char *path,
    const char *source, int64_t now, nhi_reject_fn reject, void *ctx,
    struct nhi_sync_result *res, struct nhi_err *e)
{
	struct nhi_state s;
	struct stat st;
	FILE *in = NULL;
	int fd, rfd, r = -1;

	if (source == NULL)
		source = path;
	result_begin(res, source);
	if (sync_begin(c, &fd, &s, res, e) != 0) {
		result_end(res, source);
		return -1;
	}
	rfd = local_register_open(path, &st, res, e);
	if (rfd >= 0 && c->max_register_size > 0 &&
	    st.st_size > c->max_register_size) {
		reason_set(res, "too-large");
		nhi_err_set(e, "%s: larger than max_register_size (%" PRId64
		    " bytes)", path, c->max_register_size);
	} else if (rfd >= 0 && (in = fdopen(rfd, "r")) == NULL) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
	} else if (rfd >= 0) {
		r = sync_stream(c, in, source, now, reject, ctx, &s, res, e);
		(void)fclose(in);
		rfd = -1;
	}
	if (rfd >= 0)
		(void)close(rfd);
	if (r == 0) {
		/* A local file carries no HTTP validators. */
		s.etag[0] = s.last_modified[0] = '\0';
	}
	r = sync_end(c, fd, &s, now, r, res, e);
	result_end(res, source);
	return r;
}

/* Fetching. */

/*
 * The download is streamed: libcurl runs on a thread of its own and
 * hands the body through a bounded ring to the reader, which verifies
 * and compiles as the bytes come. The transfer and the verification
 * overlap, and the register never goes through a temporary file. The
 * reader meets the end of the stream only when the transfer succeeded
 * with a register to read (HTTP 200, or a file:// URL); any failure of
 * the transfer reaches it as a read error, so nothing is installed
 * before the whole response was received. The transfer waits while the
 * ring is full: its time limit counts the verification it waits for.
 */
struct stream {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *ring;
	size_t head, len;	/* the bytes not read yet */
	bool body;		/* a register body has begun */
	bool closed;		/* the transfer is over ... */
	bool ok;		/* ... and brought a register */
	bool abandoned;		/* the reader stopped before the end */
};

static int
stream_init(struct stream *st)
{
	memset(st, 0, sizeof(*st));
	if ((st->ring = malloc(STREAM_RING)) == NULL)
		return -1;
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		free(st->ring);
		return -1;
	}
	(void)pthread_cond_init(&st->cv, NULL);
	return 0;
}

static void
stream_destroy(struct stream *st)
{
	(void)pthread_mutex_destroy(&st->mu);
	(void)pthread_cond_destroy(&st->cv);
	free(st->ring);
}

/*
 * Appends what the transfer received, waiting for room. Returns -1 once
 * the reader has stopped: the transfer is then cut short.
 */
static int
stream_put(struct stream *st, const unsigned char *p, size_t n)
{
	size_t tail, k;
	int r = 0;

	(void)pthread_mutex_lock(&st->mu);
	st->body = true;
	while (n > 0) {
		while (st->len == STREAM_RING && !st->abandoned)
			(void)pthread_cond_wait(&st->cv, &st->mu);
		if (st->abandoned) {
			r = -1;
			break;
		}
		/* The room after the bytes, up to the end of the ring. */
		tail = (st->head + st->len) % STREAM_RING;
		k = tail >= st->head ? STREAM_RING - tail : st->head - tail;
		if (k > n)
			k = n;
		memcpy(st->ring + tail, p, k);
		st->len += k;
		p += k;
		n -= k;
		(void)pthread_cond_broadcast(&st->cv);
	}
	(void)pthread_mutex_unlock(&st->mu);
	return r;
}

/* The read function of the reader's FILE (fopencookie). */
static ssize_t
stream_read(void *cookie, char *buf, size_t size)
{
	struct stream *st = cookie;
	ssize_t r;
	size_t k;

	(void)pthread_mutex_lock(&st->mu);
	while (st->len == 0 && !st->closed)
		(void)pthread_cond_wait(&st->cv, &st->mu);
	if (st->len > 0) {
		k = st->len < STREAM_RING - st->head ? st->len :
		    STREAM_RING - st->head;
		if (k > size)
			k = size;
		memcpy(buf, st->ring + st->head, k);
		st->head = (st->head + k) % STREAM_RING;
		st->len -= k;
		(void)pthread_cond_broadcast(&st->cv);
		r = (ssize_t)k;
	} else if (st->ok)
		r = 0;
	else {
		errno = EIO;
		r = -1;
	}
	(void)pthread_mutex_unlock(&st->mu);
	return r;
}

static void
stream_close(struct stream *st, bool ok)
{
	(void)pthread_mutex_lock(&st->mu);
	st->closed = true;
	st->ok = ok;
	(void)pthread_cond_broadcast(&st->cv);
	(void)pthread_mutex_unlock(&st->mu);
}

static void
stream_abandon(struct stream *st)
{
	(void)pthread_mutex_lock(&st->mu);
	st->abandoned = true;
	(void)pthread_cond_broadcast(&st->cv);
	(void)pthread_mutex_unlock(&st->mu);
}

/*
 * Waits until a body begins or the transfer is over. Returns whether
 * there is a register to read (an empty one included).
 */
static bool
stream_wait(struct stream *st)
{
	bool r;

	(void)pthread_mutex_lock(&st->mu);
	while (!st->body && !st->closed)
		(void)pthread_cond_wait(&st->cv, &st->mu);
	r = st->body || st->ok;
	(void)pthread_mutex_unlock(&st->mu);
	return r;
}

struct fetch {
	CURL *h;
	struct stream *st;
	int64_t len, max;
	int body;		/* 0: not seen yet, 1: a register, -1: not */
	bool too_big;
	bool abandoned;		/* the reader stopped taking the body */
	char etag[256];
	char last_modified[64];
};

static size_t
fetch_write(char *p, size_t size, size_t n, void *ud)
{
	struct fetch *f = ud;
	size_t len = size * n;
	long code = 0;

	if ((int64_t)len > f->max - f->len) {
		f->too_big = true;
		return 0;
	}
	f->len += (int64_t)len;
	if (f->body == 0) {
		/* An error page is counted against the cap, not read. */
		(void)curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &code);
		f->body = code == 0 || code == 200 ? 1 : -1;
	}
	if (f->body > 0 && stream_put(f->st, (const unsigned char *)p,
	    len) != 0) {
		f->abandoned = true;
		return 0;
	}
	return len;
}

/* Copies a header's value (trimmed) when name matches. */
static void
header_take(const char *p, size_t n, const char *name, char *out,
    size_t outlen)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(p, name, k) != 0)
		return;
	p += k;
	n -= k;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' ||
	    p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	/* A value that does not fit would not match later: keep none. */
	if (n == 0 || n >= outlen || memchr(p, '\0', n) != NULL) {
		out[0] = '\0';
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * Keeps the validators of the last response only: a redirect's own
 * headers come first and must not be taken for the register's.
 */
static size_t
fetch_header(char *p, size_t size, size_t n, void *ud)
{
	struct fetch *f = ud;
	size_t len = size * n;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		f->etag[0] = '\0';
		f->last_modified[0] = '\0';
	}
	header_take(p, len, "ETag:", f->etag, sizeof(f->etag));
	header_take(p, len, "Last-Modified:", f->last_modified,
	    sizeof(f->last_modified));
	return len;
}

static long
conf_or(int64_t v, long dflt)
{
	return v > 0 ? (long)v : dflt;
}

static int
curl_setup(CURL *h, const struct nhi_conf *c, const char *url,
    struct fetch *f, struct curl_slist *hdrs, char *errbuf)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "https,file");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_FILE));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	/*
	 * No signals: libcurl then neither installs a SIGALRM handler for
	 * name resolution nor lets SIGPIPE reach the process (its sends use
	 * MSG_NOSIGNAL), and the process's dispositions stay its own.
	 */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, MAX_REDIRS);
	SET(CURLOPT_CONNECTTIMEOUT, conf_or(c->fetch_connect_timeout,
	    CONNECT_TIMEOUT));
	SET(CURLOPT_TIMEOUT, conf_or(c->fetch_timeout, TOTAL_TIMEOUT));
	SET(CURLOPT_LOW_SPEED_LIMIT, conf_or(c->fetch_low_speed_limit,
	    LOW_SPEED_LIMIT));
	SET(CURLOPT_LOW_SPEED_TIME, conf_or(c->fetch_low_speed_time,
	    LOW_SPEED_TIME));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	/* Never an address or a proxy from the environment of a timer. */
	SET(CURLOPT_PROXY, "");
	if (c->ca_file != NULL)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->ca_dir != NULL)
		SET(CURLOPT_CAPATH, c->ca_dir);
	if (c->pinned_pubkey != NULL)
		SET(CURLOPT_PINNEDPUBLICKEY, c->pinned_pubkey);
	/* Fewer, larger pieces through the ring to the reader. */
	SET(CURLOPT_BUFFERSIZE, 256L * 1024);
	SET(CURLOPT_WRITEFUNCTION, fetch_write);
	SET(CURLOPT_WRITEDATA, f);
	SET(CURLOPT_HEADERFUNCTION, fetch_header);
	SET(CURLOPT_HEADERDATA, f);
	if (hdrs != NULL)
		SET(CURLOPT_HTTPHEADER, hdrs);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

static const char *
reason_of_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_FILE_COULDNT_READ_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return "unreachable";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return "tls";
	case CURLE_TOO_MANY_REDIRECTS:
		return "redirect";
	case CURLE_UNSUPPORTED_PROTOCOL:
		return "protocol";
	case CURLE_FILESIZE_EXCEEDED:
		return "too-large";
	case CURLE_PARTIAL_FILE:
		return "truncated";
	case CURLE_WRITE_ERROR:
		return "disk";
	default:
		return "unreachable";
	}
}

/*
 * Fetches url into out (a temporary file), at most max bytes. With
 * validators (from the state, when the accepted register came from this
 * URL) the request is conditional, and *ret_not_modified tells a 304.
 */
static int
fetch(const struct nhi_conf *c, const char *url, const struct nhi_state *s,
    struct stream *st, struct fetch *f, bool *ret_not_modified,
    struct nhi_sync_result *res, struct nhi_err *e)
{
	char errbuf[CURL_ERROR_SIZE], *hv = NULL;
	struct curl_slist *hdrs = NULL, *nh;
	CURLcode rc;
	CURL *h;
	long code = 0;
	int r = -1;

	memset(f, 0, sizeof(*f));
	f->st = st;
	f->max = c->max_register_size > 0 ? c->max_register_size : INT64_MAX;
	errbuf[0] = '\0';
	*ret_not_modified = false;
	if ((h = curl_easy_init()) == NULL)
		return nhi_err_set(e, "%s: cannot start libcurl", url);
	f->h = h;
	if (s != NULL && s->etag[0] != '\0' &&
	    asprintf(&hv, "If-None-Match: %s", s->etag) >= 0) {
		if ((nh = curl_slist_append(hdrs, hv)) != NULL)
			hdrs = nh;
		free(hv);
	}
	if (s != NULL && s->last_modified[0] != '\0' &&
	    asprintf(&hv, "If-Modified-Since: %s", s->last_modified) >= 0) {
		if ((nh = curl_slist_append(hdrs, hv)) != NULL)
			hdrs = nh;
		free(hv);
	}
	if (curl_setup(h, c, url, f, hdrs, errbuf) != 0) {
		nhi_err_set(e, "%s: libcurl refused an option", url);
		goto out;
	}
	rc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		reason_set(res, "too-large");
		nhi_err_set(e, "%s: larger than max_register_size (%" PRId64
		    " bytes)", url, f->max);
	} else if (f->abandoned) {
		/* The reader's failure is the one to report. */
		reason_set(res, "internal");
		nhi_err_set(e, "%s: transfer stopped by the reader", url);
	} else if (rc != CURLE_OK) {
		reason_set(res, reason_of_curl(rc));
		nhi_err_set(e, "%s: %s", url, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc));
	} else if (code == 304 && hdrs != NULL) {
		*ret_not_modified = true;
		r = 0;
	} else if (code != 0 && code != 200) {
		reason_set(res, "http");
		nhi_err_set(e, "%s: the server answered HTTP %ld", url, code);
	} else
		r = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return r;
}

/* One transfer, on its thread. */
struct transfer {
	const struct nhi_conf *c;
	const char *url;
	const struct nhi_state *validators;	/* or NULL: unconditional */
	struct stream st;
	struct fetch f;
	bool not_modified;
	struct nhi_sync_result res;	/* its failure's reason word */
	struct nhi_err e;
	int r;
};

static void *
transfer_main(void *arg)
{
	struct transfer *t = arg;

	t->r = fetch(t->c, t->url, t->validators, &t->st, &t->f,
	    &t->not_modified, &t->res, &t->e);
	stream_close(&t->st, t->r == 0 && !t->not_modified);
	return NULL;
}

/* Verifies and installs the register while it arrives. */
static int
stream_sync(const struct nhi_conf *c, struct transfer *t, int64_t now,
    nhi_reject_fn reject, void *ctx, struct nhi_state *s,
    struct nhi_sync_result *res, struct nhi_err *e)
{
	static const cookie_io_functions_t io = { stream_read, NULL, NULL,
		NULL };
	FILE *in;
	int r;

	if ((in = fopencookie(&t->st, "r", io)) == NULL) {
		reason_set(res, "internal");
		return nhi_err_set(e, "sync: %s", strerror(errno));
	}
	r = sync_stream(c, in, t->url, now, reject, ctx, s, res, e);
	(void)fclose(in);
	return r;
}

/*
 * A 304 says the register is the one installed; it is still refused
 * once expired or when the clock runs behind, as the file would be.
 */
static int
not_modified(const struct nhi_conf *c, struct nhi_state *s, const char *url,
    int64_t now, struct nhi_sync_result *res, struct nhi_err *e)
{
	struct nhi_register_header h;

	memset(&h, 0, sizeof(h));
	h.version = s->version;
	h.issued_at = s->issued_at;
	h.expires_at = s->expires_at;
	if (nhi_ratchet_precheck(s, &h, now, c->clock_skew, e) != 0) {
		reason_set(res, reason_of_register_error(e->msg));
		nhi_err_prefix(e, "%s (not modified)", url);
		return -1;
	}
	s->last_success = now;
	s->last_error[0] = '\0';
	result_fill(res, s, NHI_SYNC_NOT_MODIFIED);
	reason_set(res, "not-modified");
	return 0;
}

/* One mirror: fetch, and verify and install what comes. */
static int
sync_url(const struct nhi_conf *c, const char *url, int64_t now,
    nhi_reject_fn reject, void *ctx, struct nhi_state *s,
    bool conditional, struct nhi_sync_result *res, struct nhi_err *e)
{
	struct transfer *t;
	pthread_t th;
	bool read = false;
	int r = -1;

	if (file_url_check(url, res, e) != 0)
		return -1;
	reason_set(res, "internal");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return nhi_err_set(e, "sync: out of memory");
	t->c = c;
	t->url = url;
	t->validators = conditional ? s : NULL;
	if (stream_init(&t->st) != 0) {
		free(t);
		return nhi_err_set(e, "sync: out of memory");
	}
	if (pthread_create(&th, NULL, transfer_main, t) != 0) {
		nhi_err_set(e, "sync: cannot start a thread");
		goto out;
	}
	if (stream_wait(&t->st)) {
		read = true;
		r = stream_sync(c, t, now, reject, ctx, s, res, e);
		/* A reader that stopped early cuts the transfer short. */
		stream_abandon(&t->st);
	}
	(void)pthread_join(th, NULL);
	if (t->r != 0 && !(read && t->f.abandoned)) {
		/*
		 * The transfer failed on its own: that is the reason, whatever
		 * the reader made of the bytes it got.
		 */
		*e = t->e;
		reason_set(res, t->res.reason);
		r = -1;
	} else if (t->not_modified)
		r = not_modified(c, s, url, now, res, e);
	else if (r == 0) {
		memcpy(s->etag, t->f.etag, sizeof(s->etag));
		memcpy(s->last_modified, t->f.last_modified,
		    sizeof(s->last_modified));
	}
out:
	stream_destroy(&t->st);
	free(t);
	return r;
}

/* installed_is_current with the host's inputs read afresh. */
static bool
inputs_current(const struct nhi_conf *c, const struct nhi_state *s,
    int64_t now)
{
	unsigned char inputs[NHI_SHA256_LEN];
	struct local_db local;
	bool ok;

	memset(&local, 0, sizeof(local));
	ok = local_load(c, &local, NULL) == 0 &&
	    inputs_digest(c, &local, now, inputs, NULL) == 0 &&
	    installed_is_current(c, s, inputs);
	local_free(&local);
	return ok;
}

/* Refusals that mean someone may be replaying or forking the register. */
static bool
reason_is_alarm(const char *reason)
{
	return strcmp(reason, "rollback") == 0 ||
	    strcmp(reason, "same-version-different-hash") == 0;
}

int
nhi_sync(const struct nhi_conf *c, int64_t now, nhi_reject_fn reject,
    void *ctx, struct nhi_sync_result *res, struct nhi_err *e)
{
	struct nhi_state s, start;
	struct nhi_err alarm;
	char alarm_reason[sizeof(res->reason)] = "";
	const char *url = NULL;
	bool conditional;
	size_t i;
	int fd, r = -1;

	result_begin(res, NULL);
	if (c->register_urls.n == 0) {
		reason_set(res, "config");
		nhi_err_set(e, "%s: no register_url configured",
		    c->path != NULL ? c->path : "config");
		result_end(res, NULL);
		return -1;
	}
	if (sync_begin(c, &fd, &s, res, e) != 0) {
		result_end(res, c->register_urls.v[0]);
		return -1;
	}
	start = s;
	/*
	 * The validators only describe the register installed from that
	 * URL, and only while its index is the one the state names.
	 */
	conditional = start.version > 0 &&
	    (start.etag[0] != '\0' || start.last_modified[0] != '\0') &&
	    inputs_current(c, &start, now);
	/*
	 * Mirrors in order: any failure of one moves on to the next, and
	 * the first alarm is kept to be reported whatever follows.
	 */
	for (i = 0; i < c->register_urls.n && r != 0; i++) {
		url = c->register_urls.v[i];
		s = start;
		r = sync_url(c, url, now, reject, ctx, &s, conditional &&
		    strcmp(url, start.source) == 0, res, e);
		if (r != 0 && alarm_reason[0] == '\0' &&
		    reason_is_alarm(res->reason)) {
			alarm = *e;
			memcpy(alarm_reason, res->reason, sizeof(alarm_reason));
		}
	}
	if (r != 0)
		s = start;
	if (alarm_reason[0] != '\0') {
		/* What was installed stays; the run fails with the alarm. */
		res->alarm = r == 0;
		*e = alarm;
		reason_set(res, alarm_reason);
		r = -1;
	}
	r = sync_end(c, fd, &s, now, r, res, e);
	result_end(res, url);
	return r;
}

int
nhi_sync_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

const char *
nhi_sync_outcome_name(enum nhi_sync_outcome o)
{
	switch (o) {
	case NHI_SYNC_INSTALLED:
		return "installed";
	case NHI_SYNC_UNCHANGED:
		return "unchanged";
	case NHI_SYNC_NOT_MODIFIED:
		return "not-modified";
	case NHI_SYNC_FAILED:
		break;
	}
	return "failed";
}

size_t
nhi_sync_logline(const struct nhi_sync_result *res,
    const struct nhi_err *err, char *out, size_t len)
{
	char src[600], msg[700];
	int w;

	if (len == 0)
		return 0;
	nhi_escape(res->source, 512, src, sizeof(src));
	w = snprintf(out, len, "nhi-sync result=%s source=\"%s\" "
	    "version=%" PRId64 " bindings=%zu accounts=%zu deny=%zu "
	    "rejected=%zu verified=%zu cached=%zu duration_ms=%" PRId64
	    " reason=%s", nhi_sync_outcome_name(res->outcome), src,
	    res->version, res->n_bindings, res->n_accounts, res->n_deny,
	    res->n_rejected, res->n_verified, res->n_cached, res->duration_ms,
	    res->reason);
	if (w < 0) {
		out[0] = '\0';
		return 0;
	}
	if ((res->outcome == NHI_SYNC_FAILED || res->alarm) && err != NULL &&
	    (size_t)w < len) {
		nhi_escape(err->msg, 600, msg, sizeof(msg));
		(void)snprintf(out + w, len - (size_t)w, " error=\"%s\"", msg);
	}
	return strlen(out);
}
