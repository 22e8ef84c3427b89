/*
 * pamidx.c: the PAM index, a tinycdb file.
 *
 * Keys carry a one-byte tag, then the lookup value:
 *   "\0meta"            meta record: NHI_PAMIDX_MAGIC, then the fields
 *                       version, issued_at, expires_at, sha256,
 *                       installed_at, bindings, accounts, deny
 *   'b' ACCOUNT         one binding record per value (several values)
 *   'a' NAME            account record
 *   'u' UID             account record (UID in decimal)
 *   'd' KIND VALUE      deny entry (KIND '1' binding, '2' owner, '3' key);
 *                       the value is empty
 *   "\0govern"          governance rules of the config the sync ran with:
 *                       users, groups, uid range count, then each range's
 *                       lo and hi, then account_uids lo and hi (optional:
 *                       an index written before it existed has none)
 * Records are fields, each terminated by NUL; integers are decimal; a
 * list is its item count followed by the items; an absent optional string
 * is an empty field.
 *   binding: id, account, kind, key, fingerprint, user, hosts, services,
 *            source, not_before, not_after, issued_at, max_session, owner,
 *            approver, ticket, issuer
 *   account: name, uid, gid, owner, description, home, shell, groups,
 *            recertify_by, issued_at, issuer
 * The reader trusts nothing in the file: every field must end inside its
 * record, every record must be consumed exactly, every value is checked.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "cdbw.h"
#include "pamidx.h"
#include "util.h"

#define META_KEY "\0meta"
#define META_KEYLEN 5
#define GOVERN_KEY "\0govern"
#define GOVERN_KEYLEN 7
#define KEY_MAX (2 + NHI_MAX_FIELD + 1)
/* Room for a fingerprint in struct nhi_binding, its NUL included. */
#define FP_MAX sizeof(((struct nhi_binding *)NULL)->cred_fp)

struct nhi_pamidx_writer {
	struct nhi_cdbw out;
	bool governance;
	size_t n_bindings, n_accounts, n_deny;
	struct nhi_buf rec;
};

struct nhi_pamidx {
	int fd;
	struct nhi_fileid id;
	struct cdb cdb;
	struct nhi_regmeta meta;
	size_t n_bindings, n_accounts, n_deny;
	struct nhi_governance governance;
};

/* Governance rules. */

static int
strv_copy(const struct nhi_strv *from, struct nhi_strv *to)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		if (nhi_strv_add(to, from->v[i]) != 0)
			return -1;
	return 0;
}

static bool
strv_same(const struct nhi_strv *a, const struct nhi_strv *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

bool
nhi_governance_same(const struct nhi_governance *g, const struct nhi_conf *c)
{
	size_t i;

	if (!g->present || !strv_same(&g->users, &c->govern_users) ||
	    !strv_same(&g->groups, &c->govern_groups) ||
	    g->n_uids != c->n_govern_uids ||
	    g->account_uids.lo != c->account_uids.lo ||
	    g->account_uids.hi != c->account_uids.hi)
		return false;
	for (i = 0; i < g->n_uids; i++)
		if (g->uids[i].lo != c->govern_uids[i].lo ||
		    g->uids[i].hi != c->govern_uids[i].hi)
			return false;
	return true;
}

void
nhi_governance_clear(struct nhi_governance *g)
{
	if (g == NULL)
		return;
	nhi_strv_free(&g->users);
	nhi_strv_free(&g->groups);
	free(g->uids);
	memset(g, 0, sizeof(*g));
}

static int
governance_copy(const struct nhi_governance *from, struct nhi_governance *to)
{
	memset(to, 0, sizeof(*to));
	if (!from->present)
		return 0;
	to->present = true;
	to->account_uids = from->account_uids;
	if (strv_copy(&from->users, &to->users) != 0 ||
	    strv_copy(&from->groups, &to->groups) != 0)
		goto fail;
	if (from->n_uids > 0) {
		if ((to->uids = calloc(from->n_uids, sizeof(*to->uids))) ==
		    NULL)
			goto fail;
		memcpy(to->uids, from->uids, from->n_uids * sizeof(*to->uids));
		to->n_uids = from->n_uids;
	}
	return 0;
fail:
	nhi_governance_clear(to);
	return -1;
}

/* Keys. */

static int
key_make(char tag, char sub, const char *value, char *buf, unsigned *ret_len)
{
	size_t n = strlen(value), off = sub != '\0' ? 2 : 1;

	if (n == 0 || n > NHI_MAX_FIELD)
		return -1;
	buf[0] = tag;
	buf[1] = sub;
	memcpy(buf + off, value, n);
	*ret_len = (unsigned)(off + n);
	return 0;
}

static char
deny_sub(enum nhi_deny_kind k)
{
	return (char)('0' + (int)k);
}

/* Writing. */

static int
rec_str(struct nhi_buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	return nhi_buf_add(b, s, strlen(s) + 1);
}

/*
 * Decimal, as "%" PRId64 writes it, without the formatting machinery: a
 * sync writes several integers for each of a million records.
 */
static int
rec_int(struct nhi_buf *b, int64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	d[--i] = '\0';
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--i] = '-';
	return nhi_buf_add(b, d + i, sizeof(d) - i);
}

static int
rec_strv(struct nhi_buf *b, const struct nhi_strv *sv)
{
	size_t i;

	if (rec_int(b, (int64_t)sv->n) != 0)
		return -1;
	for (i = 0; i < sv->n; i++) {
		if (rec_str(b, sv->v[i]) != 0)
			return -1;
	}
	return 0;
}

int
nhi_pamidx_create(const char *path, struct nhi_pamidx_writer **ret,
    struct nhi_err *e)
{
	struct nhi_pamidx_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return nhi_err_set(e, "%s: out of memory", path);
	if (nhi_cdbw_open(&w->out, path, 0600) != 0) {
		nhi_err_set(e, "%s: cannot create a temporary file: %s", path,
		    strerror(errno));
		free(w);
		return -1;
	}
	*ret = w;
	return 0;
}

static int
writer_put_value(struct nhi_pamidx_writer *w, const char *key, unsigned klen,
    const char *value, size_t len, struct nhi_err *e)
{
	if (w->out.finished)
		return nhi_err_set(e, "PAM index: already finished");
	if (nhi_cdbw_add(&w->out, key, klen, value, len) != 0)
		return nhi_err_set(e, "%s: write error: %s", w->out.file.tmp,
		    strerror(errno));
	return 0;
}

/* Adds the record built in w->rec under key. */
static int
writer_put(struct nhi_pamidx_writer *w, const char *key, unsigned klen,
    struct nhi_err *e)
{
	return writer_put_value(w, key, klen, w->rec.s, w->rec.len, e);
}

int
nhi_pamidx_binding_record(const struct nhi_binding *b, struct nhi_buf *out)
{
	if (rec_str(out, b->id) != 0 ||
	    rec_str(out, b->account) != 0 ||
	    rec_int(out, b->cred_kind) != 0 ||
	    rec_str(out, b->cred_key) != 0 ||
	    rec_str(out, b->cred_fp) != 0 ||
	    rec_str(out, b->cred_user) != 0 ||
	    rec_strv(out, &b->hosts) != 0 ||
	    rec_strv(out, &b->services) != 0 ||
	    rec_strv(out, &b->source) != 0 ||
	    rec_int(out, b->not_before) != 0 ||
	    rec_int(out, b->not_after) != 0 ||
	    rec_int(out, b->issued_at) != 0 ||
	    rec_int(out, b->max_session) != 0 ||
	    rec_str(out, b->owner) != 0 ||
	    rec_str(out, b->approver) != 0 ||
	    rec_str(out, b->ticket) != 0 ||
	    rec_str(out, b->issuer) != 0)
		return -1;
	return 0;
}

int
nhi_pamidx_account_record(const struct nhi_account *a, struct nhi_buf *out)
{
	if (rec_str(out, a->name) != 0 ||
	    rec_int(out, a->uid) != 0 ||
	    rec_int(out, a->gid) != 0 ||
	    rec_str(out, a->owner) != 0 ||
	    rec_str(out, a->description) != 0 ||
	    rec_str(out, a->home) != 0 ||
	    rec_str(out, a->shell) != 0 ||
	    rec_strv(out, &a->groups) != 0 ||
	    rec_int(out, a->recertify_by) != 0 ||
	    rec_int(out, a->issued_at) != 0 ||
	    rec_str(out, a->issuer) != 0)
		return -1;
	return 0;
}

int
nhi_pamidx_add_binding(struct nhi_pamidx_writer *w,
    const struct nhi_binding *b, struct nhi_err *e)
{
	w->rec.len = 0;
	if (nhi_pamidx_binding_record(b, &w->rec) != 0)
		return nhi_err_set(e, "PAM index: out of memory");
	return nhi_pamidx_add_binding_record(w, w->rec.s, w->rec.len, e);
}

int
nhi_pamidx_add_binding_record(struct nhi_pamidx_writer *w, const char *rec,
    size_t len, struct nhi_err *e)
{
	const char *id = rec, *account, *end;
	char key[KEY_MAX];
	unsigned klen;

	/* The key is the record's second field, its account. */
	end = len > 0 ? memchr(rec, '\0', len) : NULL;
	account = end != NULL ? end + 1 : NULL;
	if (account == NULL || memchr(account, '\0', len - (size_t)(account -
	    rec)) == NULL || key_make('b', '\0', account, key, &klen) != 0)
		return nhi_err_set(e, "binding %.64s: bad account name",
		    end != NULL ? id : "");
	if (writer_put_value(w, key, klen, rec, len, e) != 0)
		return -1;
	w->n_bindings++;
	return 0;
}

int
nhi_pamidx_add_account(struct nhi_pamidx_writer *w,
    const struct nhi_account *a, struct nhi_err *e)
{
	char key[KEY_MAX], uid[16];
	unsigned klen;

	w->rec.len = 0;
	if (nhi_pamidx_account_record(a, &w->rec) != 0)
		return nhi_err_set(e, "PAM index: out of memory");
	if (key_make('a', '\0', a->name, key, &klen) != 0)
		return nhi_err_set(e, "account: bad name");
	if (writer_put(w, key, klen, e) != 0)
		return -1;
	(void)snprintf(uid, sizeof(uid), "%" PRIu32, a->uid);
	if (key_make('u', '\0', uid, key, &klen) != 0 ||
	    writer_put(w, key, klen, e) != 0)
		return -1;
	w->n_accounts++;
	return 0;
}

int
nhi_pamidx_add_deny(struct nhi_pamidx_writer *w, const struct nhi_deny *d,
    struct nhi_err *e)
{
	char key[KEY_MAX];
	unsigned klen;

	if (d->kind < NHI_DENY_BINDING || d->kind > NHI_DENY_KEY ||
	    key_make('d', deny_sub(d->kind), d->value, key, &klen) != 0)
		return nhi_err_set(e, "deny: bad entry");
	w->rec.len = 0;
	if (writer_put(w, key, klen, e) != 0)
		return -1;
	w->n_deny++;
	return 0;
}

int
nhi_pamidx_add_governance(struct nhi_pamidx_writer *w,
    const struct nhi_conf *c, struct nhi_err *e)
{
	size_t i;

	if (w->governance)
		return nhi_err_set(e, "PAM index: governance rules twice");
	w->rec.len = 0;
	if (rec_strv(&w->rec, &c->govern_users) != 0 ||
	    rec_strv(&w->rec, &c->govern_groups) != 0 ||
	    rec_int(&w->rec, (int64_t)c->n_govern_uids) != 0)
		return nhi_err_set(e, "PAM index: out of memory");
	for (i = 0; i < c->n_govern_uids; i++)
		if (rec_int(&w->rec, c->govern_uids[i].lo) != 0 ||
		    rec_int(&w->rec, c->govern_uids[i].hi) != 0)
			return nhi_err_set(e, "PAM index: out of memory");
	if (rec_int(&w->rec, c->account_uids.lo) != 0 ||
	    rec_int(&w->rec, c->account_uids.hi) != 0)
		return nhi_err_set(e, "PAM index: out of memory");
	if (writer_put(w, GOVERN_KEY, GOVERN_KEYLEN, e) != 0)
		return -1;
	w->governance = true;
	return 0;
}

int
nhi_pamidx_finish(struct nhi_pamidx_writer *w,
    const struct nhi_regmeta *meta, struct nhi_err *e)
{
	w->rec.len = 0;
	if (nhi_buf_add(&w->rec, NHI_PAMIDX_MAGIC, NHI_PAMIDX_MAGIC_LEN) != 0 ||
	    rec_int(&w->rec, meta->version) != 0 ||
	    rec_int(&w->rec, meta->issued_at) != 0 ||
	    rec_int(&w->rec, meta->expires_at) != 0 ||
	    rec_str(&w->rec, meta->sha256) != 0 ||
	    rec_int(&w->rec, meta->installed_at) != 0 ||
	    rec_int(&w->rec, (int64_t)w->n_bindings) != 0 ||
	    rec_int(&w->rec, (int64_t)w->n_accounts) != 0 ||
	    rec_int(&w->rec, (int64_t)w->n_deny) != 0)
		return nhi_err_set(e, "PAM index: out of memory");
	if (writer_put(w, META_KEY, META_KEYLEN, e) != 0)
		return -1;
	if (nhi_cdbw_finish(&w->out) != 0)
		return nhi_err_set(e, "%s: write error: %s", w->out.file.tmp,
		    strerror(errno));
	return 0;
}

int
nhi_pamidx_commit(struct nhi_pamidx_writer *w,
    const struct nhi_regmeta *meta, struct nhi_err *e)
{
	char *path;
	int r = -1;

	if (!w->out.finished && nhi_pamidx_finish(w, meta, e) != 0)
		goto out;
	if ((path = strdup(w->out.file.path)) == NULL) {
		nhi_err_set(e, "PAM index: out of memory");
		goto out;
	}
	if (nhi_cdbw_commit(&w->out) != 0)
		nhi_err_set(e, "%s: cannot install: %s", path,
		    strerror(errno));
	else
		r = 0;
	free(path);
out:
	if (r != 0)
		nhi_pamidx_abort(w);
	else {
		nhi_buf_free(&w->rec);
		free(w);
	}
	return r;
}

void
nhi_pamidx_abort(struct nhi_pamidx_writer *w)
{
	if (w == NULL)
		return;
	nhi_cdbw_abort(&w->out);
	nhi_buf_free(&w->rec);
	free(w);
}

/* Reading. */

struct cursor {
	const char *p;
	size_t left;
};

static const char *
field(struct cursor *c)
{
	const char *s = c->p, *end;

	if (c->left == 0 || (end = memchr(c->p, '\0', c->left)) == NULL)
		return NULL;
	c->left -= (size_t)(end - s) + 1;
	c->p = end + 1;
	return s;
}

static int
field_int(struct cursor *c, int64_t min, int64_t max, int64_t *ret)
{
	const char *s = field(c);

	if (s == NULL || nhi_parse_int(s, min, max, ret) != 0)
		return -1;
	return 0;
}

/*
 * The next field, checked and left in the record; optional fields may be
 * empty (then NULL).
 */
static int
field_ref(struct cursor *c, bool optional, bool (*valid)(const char *),
    const char **ret)
{
	const char *s = field(c);

	if (s == NULL)
		return -1;
	if (*s == '\0') {
		if (!optional)
			return -1;
		*ret = NULL;
		return 0;
	}
	if (valid != NULL && !valid(s))
		return -1;
	*ret = s;
	return 0;
}

/* A copy of a field read in place (NULL stays NULL). */
static int
ref_dup(const char *s, char **ret)
{
	*ret = NULL;
	return s != NULL && (*ret = strdup(s)) == NULL ? -1 : 0;
}

/* A copy of the next field; optional fields may be empty (then NULL). */
static int
field_str(struct cursor *c, bool optional, bool (*valid)(const char *),
    char **ret)
{
	const char *s;

	if (field_ref(c, optional, valid, &s) != 0)
		return -1;
	return ref_dup(s, ret);
}

static int
field_copy(struct cursor *c, char *buf, size_t len)
{
	const char *s = field(c);

	if (s == NULL || strlen(s) >= len)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

/* What a binding's lists may hold, as nhi_binding_parse allows them. */
static bool
valid_host(const char *s)
{
	if (s[0] == '@')
		return nhi_valid_name(s + 1);
	return nhi_valid_glob(s);
}

static bool
valid_service(const char *s)
{
	return strcmp(s, "*") == 0 || nhi_valid_service(s);
}

static bool
valid_keyid(const char *s)
{
	return strlen(s) == NHI_KEYID_LEN &&
	    strspn(s, "0123456789abcdef") == NHI_KEYID_LEN;
}

/* A list: its count, then each item checked; copied into ret unless NULL. */
static int
field_strv(struct cursor *c, bool (*valid)(const char *),
    struct nhi_strv *ret)
{
	const char *s;
	int64_t n, i;

	if (field_int(c, 0, NHI_MAX_LIST, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((s = field(c)) == NULL || *s == '\0' || !valid(s) ||
		    (ret != NULL && nhi_strv_add(ret, s) != 0))
			return -1;
	}
	return 0;
}

/*
 * A binding record read in place: strings point into the record, and the
 * lists (hosts, services, source), checked, are left there for a cursor.
 */
struct binding_ref {
	const char *id, *account, *cred_key, *cred_fp, *cred_user;
	struct cursor lists;
	int64_t kind, not_before, not_after, issued_at, max_session;
	const char *owner, *approver, *ticket, *issuer;
};

/* Reads and checks every field of a binding record, allocating nothing. */
static int
binding_read(const char *rec, size_t len, struct binding_ref *r)
{
	struct cursor c = { rec, len };

	if (field_ref(&c, false, nhi_valid_text, &r->id) != 0 ||
	    field_ref(&c, false, nhi_valid_name, &r->account) != 0 ||
	    field_int(&c, NHI_CRED_SSH_KEY, NHI_CRED_CHECKOUT, &r->kind) != 0 ||
	    field_ref(&c, true, nhi_valid_plain, &r->cred_key) != 0 ||
	    field_ref(&c, true, NULL, &r->cred_fp) != 0 ||
	    field_ref(&c, true, nhi_valid_name, &r->cred_user) != 0)
		return -1;
	r->lists = c;
	if (field_strv(&c, valid_host, NULL) != 0 ||
	    field_strv(&c, valid_service, NULL) != 0 ||
	    field_strv(&c, nhi_valid_cidr, NULL) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &r->not_before) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &r->not_after) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &r->issued_at) != 0 ||
	    field_int(&c, 0, INT64_MAX, &r->max_session) != 0 ||
	    field_ref(&c, false, nhi_valid_text, &r->owner) != 0 ||
	    field_ref(&c, false, nhi_valid_text, &r->approver) != 0 ||
	    field_ref(&c, false, nhi_valid_text, &r->ticket) != 0 ||
	    field_ref(&c, false, valid_keyid, &r->issuer) != 0 || c.left != 0)
		return -1;
	/* Each credential kind carries exactly what it is matched on. */
	if ((r->cred_fp != NULL && strlen(r->cred_fp) >= FP_MAX) ||
	    r->not_before >= r->not_after ||
	    (r->kind == NHI_CRED_SSH_KEY && (r->cred_key == NULL ||
	    r->cred_fp == NULL || !nhi_valid_fingerprint(r->cred_fp))) ||
	    (r->kind == NHI_CRED_USER && r->cred_user == NULL))
		return -1;
	return 0;
}

static int
binding_decode(const char *rec, size_t len, const char *account,
    struct nhi_binding **ret)
{
	struct binding_ref r;
	struct nhi_binding *b;
	struct cursor c;

	if (binding_read(rec, len, &r) != 0 ||
	    (account != NULL && strcmp(r.account, account) != 0) ||
	    (b = calloc(1, sizeof(*b))) == NULL)
		return -1;
	c = r.lists;
	if (ref_dup(r.id, &b->id) != 0 ||
	    ref_dup(r.account, &b->account) != 0 ||
	    ref_dup(r.cred_key, &b->cred_key) != 0 ||
	    ref_dup(r.cred_user, &b->cred_user) != 0 ||
	    field_strv(&c, valid_host, &b->hosts) != 0 ||
	    field_strv(&c, valid_service, &b->services) != 0 ||
	    field_strv(&c, nhi_valid_cidr, &b->source) != 0 ||
	    ref_dup(r.owner, &b->owner) != 0 ||
	    ref_dup(r.approver, &b->approver) != 0 ||
	    ref_dup(r.ticket, &b->ticket) != 0) {
		nhi_binding_free(b);
		return -1;
	}
	if (r.cred_fp != NULL)
		memcpy(b->cred_fp, r.cred_fp, strlen(r.cred_fp) + 1);
	memcpy(b->issuer, r.issuer, NHI_KEYID_LEN + 1);
	b->cred_kind = (enum nhi_cred_kind)r.kind;
	b->not_before = r.not_before;
	b->not_after = r.not_after;
	b->issued_at = r.issued_at;
	b->max_session = r.max_session;
	*ret = b;
	return 0;
}

static int
account_decode(const char *rec, size_t len, struct nhi_account **ret)
{
	struct cursor c = { rec, len };
	struct nhi_account *a;
	int64_t uid, gid;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	if (field_str(&c, false, nhi_valid_name, &a->name) != 0 ||
	    field_int(&c, 1, UINT32_MAX - 1, &uid) != 0 ||
	    field_int(&c, 1, UINT32_MAX - 1, &gid) != 0 ||
	    field_str(&c, false, nhi_valid_text, &a->owner) != 0 ||
	    field_str(&c, true, nhi_valid_description, &a->description) != 0 ||
	    field_str(&c, true, nhi_valid_path, &a->home) != 0 ||
	    field_str(&c, true, nhi_valid_path, &a->shell) != 0 ||
	    field_strv(&c, nhi_valid_name, &a->groups) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &a->recertify_by) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &a->issued_at) != 0 ||
	    field_copy(&c, a->issuer, sizeof(a->issuer)) != 0 ||
	    !valid_keyid(a->issuer) || c.left != 0)
		goto fail;
	a->uid = (uint32_t)uid;
	a->gid = (uint32_t)gid;
	*ret = a;
	return 0;
fail:
	nhi_account_free(a);
	return -1;
}

int
nhi_pamidx_binding_decode(const char *rec, size_t len,
    struct nhi_binding **ret)
{
	return binding_decode(rec, len, NULL, ret);
}

int
nhi_pamidx_binding_check(const char *rec, size_t len,
    const char **ret_issuer)
{
	struct binding_ref r;

	if (binding_read(rec, len, &r) != 0)
		return -1;
	*ret_issuer = r.issuer;
	return 0;
}

int
nhi_pamidx_account_decode(const char *rec, size_t len,
    struct nhi_account **ret)
{
	return account_decode(rec, len, ret);
}

static int
meta_decode(const char *rec, size_t len, struct nhi_pamidx *x)
{
	struct cursor c;
	int64_t nb, na, nd;

	if (len < NHI_PAMIDX_MAGIC_LEN ||
	    memcmp(rec, NHI_PAMIDX_MAGIC, NHI_PAMIDX_MAGIC_LEN) != 0)
		return -1;
	c.p = rec + NHI_PAMIDX_MAGIC_LEN;
	c.left = len - NHI_PAMIDX_MAGIC_LEN;
	if (field_int(&c, 1, INT64_MAX, &x->meta.version) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &x->meta.issued_at) != 0 ||
	    field_int(&c, 0, NHI_TIME_MAX, &x->meta.expires_at) != 0 ||
	    field_copy(&c, x->meta.sha256, sizeof(x->meta.sha256)) != 0 ||
	    strlen(x->meta.sha256) != 64 ||
	    strspn(x->meta.sha256, "0123456789abcdef") != 64 ||
	    field_int(&c, 0, NHI_TIME_MAX, &x->meta.installed_at) != 0 ||
	    field_int(&c, 0, INT64_MAX, &nb) != 0 ||
	    field_int(&c, 0, INT64_MAX, &na) != 0 ||
	    field_int(&c, 0, INT64_MAX, &nd) != 0 || c.left != 0)
		return -1;
	x->n_bindings = (size_t)nb;
	x->n_accounts = (size_t)na;
	x->n_deny = (size_t)nd;
	return 0;
}

static int
field_range(struct cursor *c, struct nhi_range *ret)
{
	int64_t lo, hi;

	if (field_int(c, 0, UINT32_MAX - 1, &lo) != 0 ||
	    field_int(c, lo, UINT32_MAX - 1, &hi) != 0)
		return -1;
	ret->lo = (uint32_t)lo;
	ret->hi = (uint32_t)hi;
	return 0;
}

/* The governance record, checked as nhi_conf_parse checks the keys. */
static int
governance_decode(const char *rec, size_t len, struct nhi_governance *g)
{
	struct cursor c = { rec, len };
	int64_t n, i;

	memset(g, 0, sizeof(*g));
	if (field_strv(&c, nhi_valid_glob, &g->users) != 0 ||
	    field_strv(&c, nhi_valid_name, &g->groups) != 0 ||
	    field_int(&c, 0, NHI_MAX_LIST, &n) != 0)
		goto fail;
	if (n > 0 && (g->uids = calloc((size_t)n, sizeof(*g->uids))) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (field_range(&c, &g->uids[i]) != 0)
			goto fail;
	g->n_uids = (size_t)n;
	if (field_range(&c, &g->account_uids) != 0 ||
	    g->account_uids.lo == 0 || c.left != 0)
		goto fail;
	g->present = true;
	return 0;
fail:
	nhi_governance_clear(g);
	return -1;
}

/*
 * Looks key up. Returns 1 with the value, 0 when absent, -1 when the file
 * is corrupt (tinycdb checks every offset against the file size).
 */
static int
lookup(struct nhi_pamidx *x, const char *key, unsigned klen,
    const char **ret, size_t *ret_len)
{
	const void *p;
	int r;

	if ((r = cdb_find(&x->cdb, key, klen)) <= 0)
		return r;
	if ((p = cdb_getdata(&x->cdb)) == NULL)
		return -1;
	*ret = p;
	*ret_len = cdb_datalen(&x->cdb);
	return 1;
}

/* The index holds authorization data: see nhi_cdb_file_check. */
static int
file_check(int fd, const char *path, struct nhi_fileid *ret_id,
    struct nhi_err *e)
{
	struct stat st;

	if (nhi_cdb_file_check(fd, path, &st, e) != 0)
		return -1;
	nhi_fileid_of(&st, ret_id);
	return 0;
}

int
nhi_pamidx_open(const char *path, struct nhi_pamidx **ret,
    struct nhi_err *e)
{
	struct nhi_pamidx *x;
	const char *rec;
	size_t len;
	int r;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return nhi_err_set(e, "%s: out of memory", path);
	/* O_NONBLOCK: a FIFO in its place must not hang a login. */
	x->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (x->fd < 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		free(x);
		return -1;
	}
	if (file_check(x->fd, path, &x->id, e) != 0)
		goto fail;
	if (cdb_init(&x->cdb, x->fd) != 0) {
		nhi_err_set(e, "%s: not a PAM index (cdb: %s)", path,
		    strerror(errno));
		goto fail;
	}
	/*
	 * Lookups read the mapping only. A caller may keep the index for
	 * the life of a PAM handle, and no descriptor should stay open in
	 * the host program (or its children) meanwhile.
	 */
	(void)close(x->fd);
	x->fd = -1;
	r = lookup(x, META_KEY, META_KEYLEN, &rec, &len);
	if (r <= 0 || meta_decode(rec, len, x) != 0) {
		nhi_err_set(e, "%s: not a PAM index of this version", path);
		goto fail;
	}
	r = lookup(x, GOVERN_KEY, GOVERN_KEYLEN, &rec, &len);
	if (r < 0 || (r > 0 && governance_decode(rec, len,
	    &x->governance) != 0)) {
		nhi_err_set(e, "%s: corrupt governance record", path);
		goto fail;
	}
	*ret = x;
	return 0;
fail:
	nhi_pamidx_close(x);
	return -1;
}

void
nhi_pamidx_close(struct nhi_pamidx *x)
{
	if (x == NULL)
		return;
	nhi_governance_clear(&x->governance);
	if (x->cdb.cdb_mem != NULL)
		cdb_free(&x->cdb);
	if (x->fd >= 0)
		(void)close(x->fd);
	free(x);
}

const struct nhi_fileid *
nhi_pamidx_fileid(const struct nhi_pamidx *x)
{
	return &x->id;
}

const struct nhi_regmeta *
nhi_pamidx_meta(const struct nhi_pamidx *x)
{
	return &x->meta;
}

const struct nhi_governance *
nhi_pamidx_governance(const struct nhi_pamidx *x)
{
	return &x->governance;
}

void
nhi_pamidx_counts(const struct nhi_pamidx *x, size_t *ret_bindings,
    size_t *ret_accounts, size_t *ret_deny)
{
	*ret_bindings = x->n_bindings;
	*ret_accounts = x->n_accounts;
	*ret_deny = x->n_deny;
}

/* A deny list that cannot be read fails closed: corrupt counts as denied. */
bool
nhi_pamidx_denied(struct nhi_pamidx *x, enum nhi_deny_kind k,
    const char *value)
{
	char key[KEY_MAX];
	unsigned klen;

	if (value == NULL || key_make('d', deny_sub(k), value, key,
	    &klen) != 0)
		return false;
	return cdb_find(&x->cdb, key, klen) != 0;
}

bool
nhi_pamidx_key_denied(struct nhi_pamidx *x, const char *key_fp)
{
	if (x == NULL || key_fp == NULL)
		return false;
	return nhi_pamidx_denied(x, NHI_DENY_KEY, key_fp);
}

static int
account_get(struct nhi_pamidx *x, char tag, const char *value,
    struct nhi_account **ret, struct nhi_err *e)
{
	struct nhi_account *a;
	char key[KEY_MAX];
	const char *rec;
	unsigned klen;
	size_t len;
	int r;

	*ret = NULL;
	if (key_make(tag, '\0', value, key, &klen) != 0)
		return 0;
	if ((r = lookup(x, key, klen, &rec, &len)) == 0)
		return 0;
	if (r < 0 || account_decode(rec, len, &a) != 0)
		return nhi_err_set(e, "PAM index: corrupt account record "
		    "for \"%.32s\"", value);
	if (tag == 'a' && strcmp(a->name, value) != 0) {
		nhi_account_free(a);
		return nhi_err_set(e, "PAM index: account record under the "
		    "wrong name");
	}
	*ret = a;
	return 0;
}

int
nhi_pamidx_account_by_uid(struct nhi_pamidx *x, uint32_t uid,
    struct nhi_account **ret, struct nhi_err *e)
{
	struct nhi_account *a;
	char buf[16];

	(void)snprintf(buf, sizeof(buf), "%" PRIu32, uid);
	if (account_get(x, 'u', buf, &a, e) != 0)
		return -1;
	if (a != NULL && a->uid != uid) {
		nhi_account_free(a);
		return nhi_err_set(e, "PAM index: account record under the "
		    "wrong uid");
	}
	*ret = a;
	return 0;
}

static bool
binding_revoked(struct nhi_pamidx *x, const struct nhi_binding *b)
{
	return nhi_pamidx_denied(x, NHI_DENY_BINDING, b->id) ||
	    nhi_pamidx_denied(x, NHI_DENY_OWNER, b->owner) ||
	    (b->cred_kind == NHI_CRED_SSH_KEY &&
	    nhi_pamidx_denied(x, NHI_DENY_KEY, b->cred_fp));
}

static int
view_add(struct nhi_view *v, struct nhi_binding *b, size_t *cap)
{
	struct nhi_binding **nb;
	size_t ncap;

	if (v->n_bindings == *cap) {
		ncap = *cap == 0 ? 8 : *cap * 2;
		if ((nb = reallocarray(v->bindings, ncap, sizeof(*nb))) ==
		    NULL)
			return -1;
		v->bindings = nb;
		*cap = ncap;
	}
	v->bindings[v->n_bindings++] = b;
	return 0;
}

int
nhi_pamidx_view(struct nhi_pamidx *x, const char *account,
    struct nhi_view *v, struct nhi_err *e)
{
	struct cdb_find f;
	struct nhi_binding *b;
	char key[KEY_MAX];
	const void *rec;
	unsigned klen;
	size_t cap = 0;
	int r;

	memset(v, 0, sizeof(*v));
	if (account == NULL)
		return nhi_err_set(e, "PAM index: no account name");
	v->meta = x->meta;
	if (governance_copy(&x->governance, &v->governance) != 0) {
		nhi_err_set(e, "PAM index: out of memory");
		goto fail;
	}
	/*
	 * A name empty or too long for a key is in no record: the register
	 * is usable, and nothing in it binds the name.
	 */
	if (key_make('b', '\0', account, key, &klen) != 0) {
		v->have_register = true;
		return 0;
	}
	if (account_get(x, 'a', account, &v->account, e) != 0)
		goto fail;

	if ((r = cdb_findinit(&f, &x->cdb, key, klen)) < 0)
		goto corrupt;
	while (r > 0 && (r = cdb_findnext(&f)) > 0) {
		rec = cdb_getdata(&x->cdb);
		if (rec == NULL || binding_decode(rec, cdb_datalen(&x->cdb),
		    account, &b) != 0)
			goto corrupt;
		b->revoked = binding_revoked(x, b);
		if (view_add(v, b, &cap) != 0) {
			nhi_binding_free(b);
			nhi_err_set(e, "PAM index: out of memory");
			goto fail;
		}
	}
	if (r < 0)
		goto corrupt;
	v->have_register = true;
	return 0;
corrupt:
	nhi_err_set(e, "PAM index: corrupt binding record for \"%.32s\"",
	    account);
fail:
	nhi_view_clear(v);
	return -1;
}

void
nhi_view_clear(struct nhi_view *v)
{
	size_t i;

	if (v == NULL)
		return;
	nhi_account_free(v->account);
	for (i = 0; i < v->n_bindings; i++)
		nhi_binding_free(v->bindings[i]);
	free(v->bindings);
	nhi_governance_clear(&v->governance);
	memset(v, 0, sizeof(*v));
}
