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

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "nssidx.h"
#include "pamidx.h"
#include "statement.h"
#include "sync.h"
#include "util.h"

#define LOCK_POLL_MS 100
#define CONNECT_TIMEOUT 10L
#define TOTAL_TIMEOUT 600L
#define LOW_SPEED_LIMIT 1024L	/* bytes per second ... */
#define LOW_SPEED_TIME 30L	/* ... for this many seconds */
#define MAX_REDIRS 3L
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

struct compile {
	const struct nhi_conf *c;
	int64_t now;
	nhi_reject_fn reject;
	void *rctx;
	const struct nhi_state *state;
	const struct local_db *local;
	bool hash_only;		/* same version as installed: only hash it */
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

static bool
set_has_id(const struct local_set *ls, uint32_t id)
{
	struct local_ent key = { NULL, id };

	return ls->n > 0 && bsearch(&key, ls->by_id, ls->n, sizeof(key),
	    cmp_ent_id) != NULL;
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
	size_t i;

	if (iss == NULL || !nhi_strv_match(&iss->accounts, a->name))
		pending_reject(cc, p, "issuer %s may not issue this account",
		    iss != NULL ? iss->name : a->issuer);
	else if (a->uid == 0 || !nhi_range_has(&c->account_uids, 1, a->uid))
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
		if (g->id == 0) {
			pending_reject(cc, p, "group %s has gid 0",
			    a->groups.v[i]);
			return false;
		}
		p->gids[p->n_gids++] = g->id;
	}
	return true;
}

static int
account_keep(struct compile *cc, struct nhi_account *a, struct nhi_err *e)
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
	p->line = cc->line;
	if (!account_local_check(cc, p) && !p->bad)
		return nhi_err_set(e, "sync: out of memory");
	return 0;
}

static int
on_statement(void *ctx, const char *line, size_t len, struct nhi_err *e)
{
	struct compile *cc = ctx;
	struct nhi_statement st;
	struct nhi_err why;
	int r = 0;

	cc->line++;
	if (cc->hash_only)
		return 0;
	memset(&st, 0, sizeof(st));
	why.msg[0] = '\0';
	if (nhi_statement_open(line, len, find_issuer_key, cc, &st,
	    &why) != 0) {
		reject_line(cc, cc->line, "%s", why.msg[0] != '\0' ? why.msg :
		    "statement rejected");
		return 0;
	}
	if (st.binding != NULL) {
		/*
		 * Scope is the decision's business: it reports out-of-scope
		 * with the live config rather than a silent absence.
		 */
		if ((r = nhi_pamidx_add_binding(cc->pam, st.binding, e)) == 0)
			cc->n_bindings++;
	} else if (st.account != NULL) {
		r = account_keep(cc, st.account, e);
		st.account = NULL;
	}
	nhi_statement_clear(&st);
	return r;
}

static bool
index_matches_state(const struct nhi_conf *c, const struct nhi_state *s)
{
	struct nhi_pamidx *x;
	struct stat st;
	bool ok;

	if (stat(c->nss_index, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if (nhi_pamidx_open(c->pam_index, &x, NULL) != 0)
		return false;
	ok = nhi_pamidx_meta(x)->version == s->version &&
	    strcmp(nhi_pamidx_meta(x)->sha256, s->sha256) == 0;
	nhi_pamidx_close(x);
	return ok;
}

static int
on_header(void *ctx, const struct nhi_register_header *h, struct nhi_err *e)
{
	struct compile *cc = ctx;
	size_t i;

	if (nhi_ratchet_precheck(cc->state, h, cc->now, cc->c->clock_skew,
	    e) != 0)
		return -1;
	/*
	 * The same version again is the common case of a timer: when the
	 * installed index is the one the state names, hashing the file is
	 * all it takes to tell "unchanged" from a forged replacement.
	 */
	if (h->version == cc->state->version &&
	    index_matches_state(cc->c, cc->state)) {
		cc->hash_only = true;
		return 0;
	}
	if (nhi_pamidx_create(cc->c->pam_index, &cc->pam, e) != 0)
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

static void
result_fill(struct nhi_sync_result *ret, const struct nhi_state *s,
    bool installed, bool unchanged)
{
	memset(ret, 0, sizeof(*ret));
	ret->installed = installed;
	ret->unchanged = unchanged;
	ret->version = s->version;
	ret->n_bindings = s->n_bindings;
	ret->n_accounts = s->n_accounts;
	ret->n_deny = s->n_deny;
	ret->n_rejected = s->n_rejected;
	memcpy(ret->source, s->source, sizeof(ret->source));
}

static int
sync_stream(const struct nhi_conf *c, FILE *in, const char *source,
    int64_t now, nhi_reject_fn rejectfn, void *rctx, struct nhi_state *s,
    bool *ret_installed, bool *ret_unchanged, struct nhi_err *e)
{
	struct nhi_register_header h;
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
	cc.local = &local;
	cc.line = 1;

	if (local_read(c->passwd_file, false, &local.users, e) != 0 ||
	    local_read(c->group_file, true, &local.groups, e) != 0)
		goto out;
	if (nhi_register_read_ext(in, c, now, on_header, on_statement, &cc,
	    &h, sha, e) != 0) {
		nhi_err_prefix(e, "%s", source);
		goto out;
	}
	if (nhi_ratchet_check(s, &h, sha, now, c->clock_skew, &unchanged,
	    e) != 0) {
		nhi_err_prefix(e, "%s", source);
		goto out;
	}
	nhi_hex(sha, sizeof(sha), hex);
	if (!cc.hash_only) {
		/* Also repairs an index lost under an unchanged register. */
		if (install(&cc, &h, hex, e) != 0)
			goto out;
		s->n_bindings = cc.n_bindings;
		s->n_accounts = cc.n_accounts;
		s->n_deny = h.n_deny;
		s->n_rejected = cc.n_rejected;
		*ret_installed = true;
	}
	s->version = h.version;
	memcpy(s->sha256, hex, sizeof(s->sha256));
	s->issued_at = h.issued_at;
	s->expires_at = h.expires_at;
	s->last_success = now;
	s->last_error[0] = '\0';
	(void)snprintf(s->source, sizeof(s->source), "%s", source);
	*ret_unchanged = unchanged;
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
 * Takes the lock and loads the state. A state that cannot be read stops
 * the sync: without it the host cannot tell a rollback from an update.
 */
static int
sync_begin(const struct nhi_conf *c, int *ret_fd, struct nhi_state *s,
    struct nhi_err *e)
{
	if (mkdir(c->state_dir, 0755) != 0 && errno != EEXIST)
		return nhi_err_set(e, "%s: %s", c->state_dir, strerror(errno));
	if (lock_take(c->state_dir, ret_fd, e) != 0)
		return -1;
	if (nhi_state_load(c->state_dir, s, e) != 0) {
		(void)close(*ret_fd);
		return -1;
	}
	return 0;
}

/* Records the outcome; a failure keeps the accepted version and hash. */
static int
sync_end(const struct nhi_conf *c, int lockfd, struct nhi_state *s,
    int64_t now, int r, struct nhi_err *e)
{
	struct nhi_err e2;

	s->last_attempt = now;
	if (r != 0)
		(void)snprintf(s->last_error, sizeof(s->last_error), "%s",
		    e != NULL ? e->msg : "sync failed");
	if (nhi_state_save(c->state_dir, s, &e2) != 0) {
		if (r == 0)
			nhi_err_set(e, "%s", e2.msg);
		r = -1;
	}
	(void)close(lockfd);
	return r;
}

int
nhi_sync_file(const struct nhi_conf *c, const char *path,
    const char *source, int64_t now, nhi_reject_fn reject, void *ctx,
    struct nhi_sync_result *ret, struct nhi_err *e)
{
	struct nhi_state s;
	bool installed = false, unchanged = false;
	FILE *in;
	int fd, r = -1;

	if (source == NULL)
		source = path;
	if (sync_begin(c, &fd, &s, e) != 0)
		return -1;
	if ((in = fopen(path, "re")) == NULL)
		nhi_err_set(e, "%s: %s", path, strerror(errno));
	else {
		r = sync_stream(c, in, source, now, reject, ctx, &s,
		    &installed, &unchanged, e);
		(void)fclose(in);
	}
	if ((r = sync_end(c, fd, &s, now, r, e)) == 0)
		result_fill(ret, &s, installed, unchanged);
	return r;
}

/* Fetching. */

struct fetch {
	FILE *out;
	int64_t len, max;
	bool too_big;
};

static size_t
fetch_write(char *p, size_t size, size_t n, void *ud)
{
	struct fetch *f = ud;
	size_t len = size * n;

	if ((int64_t)len > f->max - f->len) {
		f->too_big = true;
		return 0;
	}
	if (fwrite(p, 1, len, f->out) != len)
		return 0;
	f->len += (int64_t)len;
	return len;
}

static int
curl_setup(CURL *h, const struct nhi_conf *c, const char *url,
    struct fetch *f, char *errbuf)
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
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, MAX_REDIRS);
	SET(CURLOPT_FAILONERROR, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	SET(CURLOPT_TIMEOUT, TOTAL_TIMEOUT);
	SET(CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_LIMIT);
	SET(CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	if (c->ca_file != NULL)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->ca_dir != NULL)
		SET(CURLOPT_CAPATH, c->ca_dir);
	if (c->pinned_pubkey != NULL)
		SET(CURLOPT_PINNEDPUBLICKEY, c->pinned_pubkey);
	SET(CURLOPT_WRITEFUNCTION, fetch_write);
	SET(CURLOPT_WRITEDATA, f);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* Fetches url into out (a temporary file), at most max bytes. */
static int
fetch(const struct nhi_conf *c, const char *url, FILE *out,
    struct nhi_err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct fetch f = { out, 0, 0, false };
	CURLcode rc;
	CURL *h;
	int r = -1;

	f.max = c->max_register_size > 0 ? c->max_register_size : INT64_MAX;
	errbuf[0] = '\0';
	if ((h = curl_easy_init()) == NULL)
		return nhi_err_set(e, "%s: cannot start libcurl", url);
	if (curl_setup(h, c, url, &f, errbuf) != 0) {
		nhi_err_set(e, "%s: libcurl refused an option", url);
		goto out;
	}
	rc = curl_easy_perform(h);
	if (f.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		nhi_err_set(e, "%s: larger than max_register_size (%" PRId64
		    " bytes)", url, f.max);
	else if (rc != CURLE_OK)
		nhi_err_set(e, "%s: %s", url, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc));
	else if (fflush(out) != 0 || ferror(out))
		nhi_err_set(e, "%s: cannot write the download: %s", url,
		    strerror(errno));
	else
		r = 0;
out:
	curl_easy_cleanup(h);
	return r;
}

/*
 * A temporary file in state_dir, unlinked at once: nothing is left over
 * when the process dies.
 */
static FILE *
temp_open(const char *dir, struct nhi_err *e)
{
	char *path;
	FILE *f;
	int fd;

	if (asprintf(&path, "%s/register.tmp.XXXXXX", dir) < 0) {
		nhi_err_set(e, "sync: out of memory");
		return NULL;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	(void)unlink(path);
	free(path);
	if ((f = fdopen(fd, "w+")) == NULL) {
		nhi_err_set(e, "sync: %s", strerror(errno));
		(void)close(fd);
	}
	return f;
}

int
nhi_sync(const struct nhi_conf *c, int64_t now, nhi_reject_fn reject,
    void *ctx, struct nhi_sync_result *ret, struct nhi_err *e)
{
	struct nhi_state s, start;
	bool installed = false, unchanged = false;
	size_t i;
	FILE *tmp;
	int fd, r = -1;

	if (c->register_urls.n == 0)
		return nhi_err_set(e, "%s: no register_url configured",
		    c->path != NULL ? c->path : "config");
	if (sync_begin(c, &fd, &s, e) != 0)
		return -1;
	start = s;
	/* Mirrors in order: any failure of one moves on to the next. */
	for (i = 0; i < c->register_urls.n && r != 0; i++) {
		const char *url = c->register_urls.v[i];

		s = start;
		if ((tmp = temp_open(c->state_dir, e)) == NULL)
			break;
		if (fetch(c, url, tmp, e) == 0) {
			rewind(tmp);
			r = sync_stream(c, tmp, url, now, reject, ctx, &s,
			    &installed, &unchanged, e);
		}
		(void)fclose(tmp);
	}
	if ((r = sync_end(c, fd, &s, now, r, e)) == 0)
		result_fill(ret, &s, installed, unchanged);
	return r;
}
