/*
 * nss_nhi.c: libnss_nhi.so.2, the passwd, group and initgroups entries of
 * the pseudonymous accounts, read from the NSS index (common/nssidx.h).
 *
 * The module runs inside every process on the host, so each entry point
 * restores errno (results go through *errnop only), logs nothing, keeps no
 * descriptor, and checks every record it reads before copying from it:
 * a record of the wrong shape makes the index corrupt (UNAVAIL), never a
 * crash. NOTFOUND means "not in a valid index"; names that could not be
 * in any index are NOTFOUND without looking.
 */
#include "config.h"

#include <cdb.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define NHI_NSS_READER_ONLY
#include "nhi.h"
#include "nssidx.h"
#include "nssmap.h"

#define ID_MAX 4294967294u
#define ID_DIGITS 10

/* A key: tag and name (at most NHI_MAX_NAME bytes) or decimal id. */
struct key {
	char s[1 + NHI_MAX_NAME + 1];
	unsigned len;
};

/* A checked passwd record; the strings point into the mapping. */
struct pw_rec {
	const char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
};

/* A checked group record: members are nmem strings after gid. */
struct gr_rec {
	const char *name, *mem;
	uint32_t gid;
	size_t nmem, memlen;	/* memlen: bytes of all members with NULs */
};

/* State of one enumeration (getpwent or getgrent), shared process-wide. */
struct enum_state {
	pthread_mutex_t lock;
	struct nhi_map *map;	/* a reference: the file being listed */
	unsigned pos;
	bool started;
};

static struct enum_state pw_enum = { PTHREAD_MUTEX_INITIALIZER, NULL, 0,
	false };
static struct enum_state gr_enum = { PTHREAD_MUTEX_INITIALIZER, NULL, 0,
	false };
static pthread_once_t enum_once = PTHREAD_ONCE_INIT;

static void
enum_fork_prepare(void)
{
	(void)pthread_mutex_lock(&pw_enum.lock);
	(void)pthread_mutex_lock(&gr_enum.lock);
}

static void
enum_fork_release(void)
{
	(void)pthread_mutex_unlock(&gr_enum.lock);
	(void)pthread_mutex_unlock(&pw_enum.lock);
}

static void
enum_init_once(void)
{
	(void)pthread_atfork(enum_fork_prepare, enum_fork_release,
	    enum_fork_release);
}

/* The account name rule of nhi_valid_name, without reading past 33 bytes. */
static bool
valid_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '-')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == NHI_MAX_NAME)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i > 0;
}

static bool
valid_id(uint32_t id)
{
	return id >= 1 && id <= ID_MAX;
}

static void
name_key(struct key *k, char tag, const char *name)
{
	size_t n = strlen(name);

	k->s[0] = tag;
	memcpy(k->s + 1, name, n);
	k->len = (unsigned)(n + 1);
}

static void
id_key(struct key *k, char tag, uint32_t id)
{
	k->len = (unsigned)snprintf(k->s, sizeof(k->s), "%c%u", tag,
	    (unsigned)id);
}

/* Parses a decimal id of the index (no sign, no leading zero). */
static bool
parse_id(const char *s, uint32_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == ID_DIGITS || s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || v > ID_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/*
 * Checks that a record is a sequence of NUL-terminated fields free of
 * ':' and control characters, and counts them. Returns -1 otherwise.
 */
static int
count_fields(const char *v, unsigned len, size_t *ret_n)
{
	size_t n = 0;
	unsigned i;

	if (len == 0 || v[len - 1] != '\0')
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\0')
			n++;
		else if (c < 0x20 || c == 0x7f || c == ':')
			return -1;
	}
	*ret_n = n;
	return 0;
}

static const char *
next_field(const char *f)
{
	return f + strlen(f) + 1;
}

static int
pw_parse(const char *v, unsigned len, struct pw_rec *ret)
{
	const char *uid, *gid;
	size_t n;

	if (count_fields(v, len, &n) == -1 || n != NHI_NSSIDX_PW_FIELDS)
		return -1;
	ret->name = v;
	uid = next_field(ret->name);
	gid = next_field(uid);
	ret->gecos = next_field(gid);
	ret->dir = next_field(ret->gecos);
	ret->shell = next_field(ret->dir);
	if (!valid_name(ret->name) || !parse_id(uid, &ret->uid) ||
	    !parse_id(gid, &ret->gid) || ret->dir[0] != '/' ||
	    ret->shell[0] != '/')
		return -1;
	return 0;
}

static int
gr_parse(const char *v, unsigned len, struct gr_rec *ret)
{
	const char *gid, *m;
	size_t n, i;

	if (count_fields(v, len, &n) == -1 || n < 2)
		return -1;
	ret->name = v;
	gid = next_field(ret->name);
	if (!valid_name(ret->name) || !parse_id(gid, &ret->gid))
		return -1;
	ret->mem = m = next_field(gid);
	ret->nmem = n - 2;
	for (i = 0; i < ret->nmem; i++) {
		if (!valid_name(m))
			return -1;
		m = next_field(m);
	}
	ret->memlen = (size_t)(v + len - ret->mem);
	return 0;
}

/* Copies s into the caller's buffer at *p; the size was checked. */
static char *
put_str(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = *p;

	memcpy(d, s, n);
	*p += n;
	return d;
}

static enum nss_status
pw_fill(const struct pw_rec *r, struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	size_t need = strlen(r->name) + strlen(r->gecos) + strlen(r->dir) +
	    strlen(r->shell) + 4 + sizeof("x");
	char *p = buf;

	if (buflen < need) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_name = put_str(&p, r->name);
	pw->pw_passwd = put_str(&p, "x");
	pw->pw_uid = (uid_t)r->uid;
	pw->pw_gid = (gid_t)r->gid;
	pw->pw_gecos = put_str(&p, r->gecos);
	pw->pw_dir = put_str(&p, r->dir);
	pw->pw_shell = put_str(&p, r->shell);
	return NSS_STATUS_SUCCESS;
}

/*
 * The member pointers go first, at the first pointer-aligned address of
 * the caller's buffer, the strings after them.
 */
static enum nss_status
gr_fill(const struct gr_rec *r, struct group *gr, char *buf, size_t buflen,
    int *errnop)
{
	size_t pad = (alignof(char *) - (uintptr_t)buf % alignof(char *)) %
	    alignof(char *);
	size_t need = pad + (r->nmem + 1) * sizeof(char *) +
	    strlen(r->name) + 1 + sizeof("x") + r->memlen;
	const char *m = r->mem;
	char **mem, *p;
	size_t i;

	if (buflen < need) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	mem = (char **)(void *)(buf + pad);
	p = (char *)(mem + r->nmem + 1);
	for (i = 0; i < r->nmem; i++) {
		mem[i] = put_str(&p, m);
		m = next_field(m);
	}
	mem[r->nmem] = NULL;
	gr->gr_name = put_str(&p, r->name);
	gr->gr_passwd = put_str(&p, "x");
	gr->gr_gid = (gid_t)r->gid;
	gr->gr_mem = mem;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status
unavail(int fault, int *errnop)
{
	*errnop = fault == NHI_MAP_CORRUPT ? EIO : ENOENT;
	return NSS_STATUS_UNAVAIL;
}

/* A record of m is corrupt: UNAVAIL, and m is checked on the next call. */
static enum nss_status
corrupt(const struct nhi_map *m, int *errnop)
{
	nhi_map_distrust(m);
	return unavail(NHI_MAP_CORRUPT, errnop);
}

static enum nss_status
notfound(int *errnop)
{
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

/* Looks key up in the current index: 1 found, 0 absent, else a fault. */
static int
find(const struct key *k, struct nhi_map **ret_map, const char **ret_val,
    unsigned *ret_vlen)
{
	struct nhi_map *m;
	int r;

	/* Each fault maps to a known one, so none can read as "found". */
	if ((r = nhi_map_acquire(&m)) != 0)
		return r == NHI_MAP_CORRUPT ? -NHI_MAP_CORRUPT :
		    -NHI_MAP_MISSING;
	if ((r = nhi_map_find(m, k->s, k->len, ret_val, ret_vlen)) != 1) {
		if (r != 0)
			nhi_map_distrust(m);
		nhi_map_release(m);
		return r == 0 ? 0 : -NHI_MAP_CORRUPT;
	}
	*ret_map = m;
	return 1;
}

/*
 * Follows a reference record (name, NUL, position) to the entry it names,
 * which must be stored under tag and that name. Returns 0 with the
 * entry's record, or -1 when the reference or its target is corrupt.
 */
static int
deref(const struct nhi_map *m, char tag, const char *v, unsigned vlen,
    const char **ret_val, unsigned *ret_vlen)
{
	const char *key;
	unsigned nlen, klen;

	if (vlen < 2 + NHI_NSSIDX_REF_POS_LEN)
		return -1;
	nlen = vlen - 1 - NHI_NSSIDX_REF_POS_LEN;
	if (v[nlen] != '\0' || memchr(v, '\0', nlen) != NULL ||
	    !valid_name(v))
		return -1;
	if (nhi_map_record_at(m, cdb_unpack((const unsigned char *)v +
	    nlen + 1), &key, &klen, ret_val, ret_vlen) == -1)
		return -1;
	if (klen != nlen + 1 || key[0] != tag || memcmp(key + 1, v, nlen) != 0)
		return -1;
	return 0;
}

/*
 * A passwd lookup by name (name != NULL) or uid. The record must agree
 * with the key it was found under.
 */
static enum nss_status
pw_lookup(const char *name, uint32_t uid, struct passwd *pw, char *buf,
    size_t buflen, int *errnop)
{
	struct nhi_map *m = NULL;
	struct pw_rec rec;
	struct key k;
	const char *v;
	unsigned vlen;
	enum nss_status st;
	int r;

	if (name != NULL)
		name_key(&k, NHI_NSSIDX_TAG_PWNAM, name);
	else
		id_key(&k, NHI_NSSIDX_TAG_PWUID, uid);
	if ((r = find(&k, &m, &v, &vlen)) <= 0)
		return r == 0 ? notfound(errnop) : unavail(-r, errnop);

	if (name == NULL &&
	    deref(m, NHI_NSSIDX_TAG_PWNAM, v, vlen, &v, &vlen) == -1)
		st = corrupt(m, errnop);
	else if (pw_parse(v, vlen, &rec) == -1 ||
	    (name != NULL ? strcmp(rec.name, name) != 0 : rec.uid != uid))
		st = corrupt(m, errnop);
	else
		st = pw_fill(&rec, pw, buf, buflen, errnop);
	nhi_map_release(m);
	return st;
}

static enum nss_status
gr_lookup(const char *name, uint32_t gid, struct group *gr, char *buf,
    size_t buflen, int *errnop)
{
	struct nhi_map *m = NULL;
	struct gr_rec rec;
	struct key k;
	const char *v;
	unsigned vlen;
	enum nss_status st;
	int r;

	if (name != NULL)
		name_key(&k, NHI_NSSIDX_TAG_GRNAM, name);
	else
		id_key(&k, NHI_NSSIDX_TAG_GRGID, gid);
	if ((r = find(&k, &m, &v, &vlen)) <= 0)
		return r == 0 ? notfound(errnop) : unavail(-r, errnop);

	if (name == NULL &&
	    deref(m, NHI_NSSIDX_TAG_GRNAM, v, vlen, &v, &vlen) == -1)
		st = corrupt(m, errnop);
	else if (gr_parse(v, vlen, &rec) == -1 ||
	    (name != NULL ? strcmp(rec.name, name) != 0 : rec.gid != gid))
		st = corrupt(m, errnop);
	else
		st = gr_fill(&rec, gr, buf, buflen, errnop);
	nhi_map_release(m);
	return st;
}

/* Appends gid to the caller's list unless present; grows it up to limit. */
static enum nss_status
groups_add(gid_t gid, long int *start, long int *size, gid_t **groupsp,
    long int limit, int *errnop)
{
	gid_t *g = *groupsp;
	long int i, n;

	for (i = 0; i < *start; i++)
		if (g[i] == gid)
			return NSS_STATUS_SUCCESS;
	if (*start == *size) {
		if (limit > 0 && *size >= limit)
			return NSS_STATUS_SUCCESS;
		n = *size > 0 ? *size * 2 : 8;
		if (limit > 0 && n > limit)
			n = limit;
		if ((g = realloc(g, (size_t)n * sizeof(*g))) == NULL) {
			*errnop = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
		*groupsp = g;
		*size = n;
	}
	g[(*start)++] = gid;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status
groups_lookup(const char *user, gid_t skip, long int *start, long int *size,
    gid_t **groupsp, long int limit, int *errnop)
{
	struct nhi_map *m = NULL;
	enum nss_status st = NSS_STATUS_SUCCESS;
	const char *v, *f;
	struct key k;
	uint32_t gid;
	unsigned vlen;
	size_t n, i;
	int r;

	name_key(&k, NHI_NSSIDX_TAG_MEMBER, user);
	if ((r = find(&k, &m, &v, &vlen)) <= 0)
		return r == 0 ? notfound(errnop) : unavail(-r, errnop);

	/* Check the whole record before adding anything from it. */
	if (count_fields(v, vlen, &n) == -1) {
		st = corrupt(m, errnop);
		goto out;
	}
	for (i = 0, f = v; i < n; i++, f = next_field(f)) {
		if (!parse_id(f, &gid)) {
			st = corrupt(m, errnop);
			goto out;
		}
	}
	for (i = 0, f = v; i < n && st == NSS_STATUS_SUCCESS; i++) {
		(void)parse_id(f, &gid);
		if ((gid_t)gid != skip)
			st = groups_add((gid_t)gid, start, size, groupsp,
			    limit, errnop);
		f = next_field(f);
	}
out:
	nhi_map_release(m);
	return st;
}

/* Starts (or restarts) an enumeration on the current index. */
static enum nss_status
enum_set(struct enum_state *e, int *errnop)
{
	struct nhi_map *m = NULL, *old;
	int r;

	(void)pthread_once(&enum_once, enum_init_once);
	r = nhi_map_acquire(&m);
	(void)pthread_mutex_lock(&e->lock);
	old = e->map;
	e->map = m;
	e->pos = nhi_map_first();
	e->started = true;
	(void)pthread_mutex_unlock(&e->lock);
	nhi_map_release(old);
	return r == 0 ? NSS_STATUS_SUCCESS : unavail(r, errnop);
}

static void
enum_end(struct enum_state *e)
{
	struct nhi_map *old;

	(void)pthread_once(&enum_once, enum_init_once);
	(void)pthread_mutex_lock(&e->lock);
	old = e->map;
	e->map = NULL;
	e->started = false;
	(void)pthread_mutex_unlock(&e->lock);
	nhi_map_release(old);
}

typedef enum nss_status (*enum_fill_fn)(const char *key, unsigned klen,
    const char *v, unsigned vlen, void *ent, char *buf, size_t buflen,
    int *errnop);

/*
 * The next entry of an enumeration. The position moves only past an
 * entry returned whole, so a caller that got ERANGE retries the same
 * entry with a larger buffer. The enumeration keeps its own reference to
 * the index it started on: a new index installed meanwhile is seen by the
 * next setpwent, and every entry of the old one is listed exactly once.
 */
static enum nss_status
enum_get(struct enum_state *e, char tag, enum_fill_fn fill, void *ent,
    char *buf, size_t buflen, int *errnop)
{
	const char *key, *v;
	unsigned klen, vlen, next;
	enum nss_status st;
	int r;

	(void)pthread_once(&enum_once, enum_init_once);
	(void)pthread_mutex_lock(&e->lock);
	if (!e->started) {
		(void)pthread_mutex_unlock(&e->lock);
		if ((st = enum_set(e, errnop)) != NSS_STATUS_SUCCESS)
			return st;
		(void)pthread_mutex_lock(&e->lock);
	}
	if (e->map == NULL) {
		st = unavail(NHI_MAP_MISSING, errnop);
		goto out;
	}
	if ((nhi_map_flags(e->map) & NHI_NSSIDX_F_ENUMERATE) == 0) {
		st = notfound(errnop);
		goto out;
	}

	r = nhi_map_next(e->map, e->pos, tag, &key, &klen, &v, &vlen, &next);
	if (r <= 0) {
		st = r == 0 ? notfound(errnop) :
		    unavail(NHI_MAP_CORRUPT, errnop);
		goto out;
	}
	if ((st = fill(key, klen, v, vlen, ent, buf, buflen, errnop)) ==
	    NSS_STATUS_SUCCESS)
		e->pos = next;
out:
	(void)pthread_mutex_unlock(&e->lock);
	return st;
}

static bool
key_is(const char *key, unsigned klen, const char *name)
{
	return strlen(name) == klen && memcmp(key, name, klen) == 0;
}

static enum nss_status
pw_enum_fill(const char *key, unsigned klen, const char *v, unsigned vlen,
    void *ent, char *buf, size_t buflen, int *errnop)
{
	struct pw_rec rec;

	if (pw_parse(v, vlen, &rec) == -1 || !key_is(key, klen, rec.name))
		return unavail(NHI_MAP_CORRUPT, errnop);
	return pw_fill(&rec, ent, buf, buflen, errnop);
}

static enum nss_status
gr_enum_fill(const char *key, unsigned klen, const char *v, unsigned vlen,
    void *ent, char *buf, size_t buflen, int *errnop)
{
	struct gr_rec rec;

	if (gr_parse(v, vlen, &rec) == -1 || !key_is(key, klen, rec.name))
		return unavail(NHI_MAP_CORRUPT, errnop);
	return gr_fill(&rec, ent, buf, buflen, errnop);
}

/*
 * The entry points. Each saves errno and restores it, so that the calling
 * program sees a change only through *errnop, as glibc expects.
 */
enum nss_status _nss_nhi_getpwnam_r(const char *, struct passwd *, char *,
    size_t, int *);
enum nss_status _nss_nhi_getpwuid_r(uid_t, struct passwd *, char *, size_t,
    int *);
enum nss_status _nss_nhi_setpwent(int);
enum nss_status _nss_nhi_getpwent_r(struct passwd *, char *, size_t, int *);
enum nss_status _nss_nhi_endpwent(void);
enum nss_status _nss_nhi_getgrnam_r(const char *, struct group *, char *,
    size_t, int *);
enum nss_status _nss_nhi_getgrgid_r(gid_t, struct group *, char *, size_t,
    int *);
enum nss_status _nss_nhi_setgrent(int);
enum nss_status _nss_nhi_getgrent_r(struct group *, char *, size_t, int *);
enum nss_status _nss_nhi_endgrent(void);
enum nss_status _nss_nhi_initgroups_dyn(const char *, gid_t, long int *,
    long int *, gid_t **, long int, int *);

enum nss_status
_nss_nhi_getpwnam_r(const char *name, struct passwd *pw, char *buf,
    size_t buflen, int *errnop)
{
	int saved = errno;
	enum nss_status st;

	if (!valid_name(name))
		st = notfound(errnop);
	else
		st = pw_lookup(name, 0, pw, buf, buflen, errnop);
	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	int saved = errno;
	enum nss_status st;

	if (!valid_id((uint32_t)uid))
		st = notfound(errnop);
	else
		st = pw_lookup(NULL, (uint32_t)uid, pw, buf, buflen, errnop);
	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_setpwent(int stayopen)
{
	int saved = errno, err;
	enum nss_status st = enum_set(&pw_enum, &err);

	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
    int *errnop)
{
	int saved = errno;
	enum nss_status st = enum_get(&pw_enum, NHI_NSSIDX_TAG_PWNAM,
	    pw_enum_fill, pw, buf, buflen, errnop);

	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_endpwent(void)
{
	int saved = errno;

	enum_end(&pw_enum);
	errno = saved;
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_nhi_getgrnam_r(const char *name, struct group *gr, char *buf,
    size_t buflen, int *errnop)
{
	int saved = errno;
	enum nss_status st;

	if (!valid_name(name))
		st = notfound(errnop);
	else
		st = gr_lookup(name, 0, gr, buf, buflen, errnop);
	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
    int *errnop)
{
	int saved = errno;
	enum nss_status st;

	if (!valid_id((uint32_t)gid))
		st = notfound(errnop);
	else
		st = gr_lookup(NULL, (uint32_t)gid, gr, buf, buflen, errnop);
	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_setgrent(int stayopen)
{
	int saved = errno, err;
	enum nss_status st = enum_set(&gr_enum, &err);

	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	int saved = errno;
	enum nss_status st = enum_get(&gr_enum, NHI_NSSIDX_TAG_GRNAM,
	    gr_enum_fill, gr, buf, buflen, errnop);

	errno = saved;
	return st;
}

enum nss_status
_nss_nhi_endgrent(void)
{
	int saved = errno;

	enum_end(&gr_enum);
	errno = saved;
	return NSS_STATUS_SUCCESS;
}

enum nss_status
_nss_nhi_initgroups_dyn(const char *user, gid_t group, long int *start,
    long int *size, gid_t **groupsp, long int limit, int *errnop)
{
	int saved = errno;
	enum nss_status st;

	if (!valid_name(user))
		st = notfound(errnop);
	else
		st = groups_lookup(user, group, start, size, groupsp, limit,
		    errnop);
	errno = saved;
	return st;
}
