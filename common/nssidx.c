/*
 * nssidx.c: the NSS index writer (format in nssidx.h). Records go straight
 * into a tinycdb file being built in a temporary file next to the target;
 * commit renames it into place, so readers see the old index or the new
 * one, never a mixture.
 */
#include "config.h"

#include <cdb.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdbw.h"
#include "nssidx.h"

#define NSSIDX_ID_MAX 4294967294u
#define NSSIDX_ID_LEN 11	/* tag and at most 10 digits */

/*
 * The keys written so far. tinycdb can look up a key while building, but
 * by scanning one of 256 lists and reading back from the file, which is
 * quadratic for a million entries; this open-addressing set keeps
 * duplicate detection linear.
 */
struct nssidx_key {
	unsigned hash;
	unsigned len;
	char *key;
};

struct nssidx_keyset {
	struct nssidx_key *slot;
	size_t used, cap;	/* cap is 0 or a power of two */
};

struct nhi_nssidx_writer {
	struct nhi_cdbw out;	/* out.pos: where the next record starts */
	struct nssidx_keyset keys;
	uint32_t flags;
	uint32_t n_users, n_groups, n_members;
	char *path;		/* for messages, after file is gone */
	bool broken;		/* a write failed: only abort is left */
};

static struct nssidx_key *
keyset_slot(const struct nssidx_keyset *ks, const char *key, unsigned len,
    unsigned hash)
{
	/*
	 * cdb_hash of keys that differ in their last characters (uids,
	 * numbered names) differ by small steps: the top bits of the
	 * product spread them, where linear probing would make clusters.
	 */
	unsigned bits = (unsigned)__builtin_ctzl((unsigned long)ks->cap);
	size_t i = bits == 0 ? 0 :
	    (size_t)((uint32_t)(hash * UINT32_C(2654435761)) >> (32 - bits));

	for (;;) {
		struct nssidx_key *k = &ks->slot[i];

		if (k->key == NULL || (k->hash == hash && k->len == len &&
		    memcmp(k->key, key, len) == 0))
			return k;
		i = (i + 1) & (ks->cap - 1);
	}
}

static int
keyset_grow(struct nssidx_keyset *ks)
{
	struct nssidx_keyset n;
	size_t i;

	n.cap = ks->cap == 0 ? 1024 : ks->cap * 2;
	n.used = ks->used;
	if ((n.slot = calloc(n.cap, sizeof(*n.slot))) == NULL)
		return -1;
	for (i = 0; i < ks->cap; i++) {
		struct nssidx_key *k = &ks->slot[i];

		if (k->key != NULL)
			*keyset_slot(&n, k->key, k->len, k->hash) = *k;
	}
	free(ks->slot);
	*ks = n;
	return 0;
}

static bool
keyset_has(const struct nssidx_keyset *ks, const char *key, unsigned len)
{
	if (ks->cap == 0)
		return false;
	return keyset_slot(ks, key, len, cdb_hash(key, len))->key != NULL;
}

/* Adds a key known to be absent. Returns -1 when out of memory. */
static int
keyset_add(struct nssidx_keyset *ks, const char *key, unsigned len)
{
	struct nssidx_key *k;
	unsigned hash = cdb_hash(key, len);

	if ((ks->used + 1) * 2 > ks->cap && keyset_grow(ks) == -1)
		return -1;
	k = keyset_slot(ks, key, len, hash);
	if ((k->key = malloc(len)) == NULL)
		return -1;
	memcpy(k->key, key, len);
	k->len = len;
	k->hash = hash;
	ks->used++;
	return 0;
}

static void
keyset_free(struct nssidx_keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->cap; i++)
		free(ks->slot[i].key);
	free(ks->slot);
	ks->slot = NULL;
	ks->used = ks->cap = 0;
}

/* Writes tag and id in decimal into key; returns the key's length. */
static unsigned
id_key(char key[NSSIDX_ID_LEN + 1], char tag, uint32_t id)
{
	return (unsigned)snprintf(key, NSSIDX_ID_LEN + 1, "%c%" PRIu32, tag,
	    id);
}

static int
name_key(struct nhi_buf *b, char tag, const char *name)
{
	b->len = 0;
	return nhi_buf_add(b, &tag, 1) == -1 ||
	    nhi_buf_adds(b, name) == -1 ? -1 : 0;
}

static bool
valid_id(uint32_t id)
{
	return id >= 1 && id <= NSSIDX_ID_MAX;
}

/* A field of a passwd line: no ':' and the usual path checks. */
static bool
valid_pw_path(const char *s)
{
	return s != NULL && nhi_valid_path(s) && strchr(s, ':') == NULL;
}

/* Appends s and its terminating NUL. */
static int
add_field(struct nhi_buf *b, const char *s)
{
	return nhi_buf_add(b, s, strlen(s) + 1);
}

static int
add_id_field(struct nhi_buf *b, uint32_t id)
{
	char s[NSSIDX_ID_LEN];

	(void)snprintf(s, sizeof(s), "%" PRIu32, id);
	return add_field(b, s);
}

/*
 * Adds one record to the cdb and its key to the set. The records follow
 * each other from the start of the data area, each a key length, a value
 * length, the key and the value, so w->out.pos is where the next one
 * starts.
 */
static int
put(struct nhi_nssidx_writer *w, const void *key, unsigned klen,
    const struct nhi_buf *val, struct nhi_err *e)
{
	if (nhi_cdbw_add(&w->out, key, klen, val->s, val->len) == -1) {
		w->broken = true;
		if (errno == EFBIG)
			return nhi_err_set(e, "%s: index larger than 4 GiB",
			    w->path);
		return nhi_err_set(e, "%s: cannot write: %s",
		    w->out.file.tmp, strerror(errno));
	}
	if (keyset_add(&w->keys, key, klen) == -1) {
		w->broken = true;
		return nhi_err_set(e, "nss index: out of memory");
	}
	return 0;
}

/*
 * Adds an entry under its name key and a reference to it under its id
 * key: the name, a NUL and the position of the entry's record. rec is
 * reused for the reference. Returns 0, or -1 with e set.
 */
static int
put_entry(struct nhi_nssidx_writer *w, const struct nhi_buf *key,
    struct nhi_buf *rec, const char *idkey, unsigned idlen,
    const char *name, struct nhi_err *e)
{
	unsigned char p[NHI_NSSIDX_REF_POS_LEN];
	uint64_t pos = w->out.pos;

	if (put(w, key->s, (unsigned)key->len, rec, e) == -1)
		return -1;
	cdb_pack((unsigned)pos, p);
	rec->len = 0;
	if (add_field(rec, name) == -1 || nhi_buf_add(rec, p, sizeof(p)) == -1)
		return nhi_err_set(e, "nss index: out of memory");
	return put(w, idkey, idlen, rec, e);
}

static int
check_usable(const struct nhi_nssidx_writer *w, struct nhi_err *e)
{
	if (w->broken)
		return nhi_err_set(e, "%s: an earlier write failed", w->path);
	return 0;
}

int
nhi_nssidx_create(const char *path, struct nhi_nssidx_writer **ret,
    struct nhi_err *e)
{
	struct nhi_nssidx_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->path = strdup(path)) == NULL) {
		free(w);
		return nhi_err_set(e, "nss index: out of memory");
	}
	if (nhi_cdbw_open(&w->out, path, 0644) == -1) {
		nhi_err_set(e, "%s: cannot create temporary file: %s", path,
		    strerror(errno));
		free(w->path);
		free(w);
		return -1;
	}
	*ret = w;
	return 0;
}

void
nhi_nssidx_set_enumerate(struct nhi_nssidx_writer *w, bool on)
{
	if (on)
		w->flags |= NHI_NSSIDX_F_ENUMERATE;
	else
		w->flags &= ~NHI_NSSIDX_F_ENUMERATE;
}

int
nhi_nssidx_add_user(struct nhi_nssidx_writer *w, const char *name,
    uint32_t uid, uint32_t gid, const char *gecos, const char *dir,
    const char *shell, struct nhi_err *e)
{
	struct nhi_buf key = { 0 }, rec = { 0 };
	char ukey[NSSIDX_ID_LEN + 1];
	unsigned ulen;
	int r = -1;

	if (check_usable(w, e) == -1)
		goto out;
	if (name == NULL || !nhi_valid_name(name)) {
		nhi_err_set(e, "nss index: invalid user name");
		goto out;
	}
	if (!valid_id(uid) || !valid_id(gid)) {
		nhi_err_set(e, "nss index: user %s: uid %" PRIu32 " or gid %"
		    PRIu32 " out of range", name, uid, gid);
		goto out;
	}
	if (gecos == NULL || !nhi_valid_description(gecos) ||
	    !valid_pw_path(dir) || !valid_pw_path(shell)) {
		nhi_err_set(e, "nss index: user %s: invalid description, "
		    "home or shell", name);
		goto out;
	}

	ulen = id_key(ukey, NHI_NSSIDX_TAG_PWUID, uid);
	if (name_key(&key, NHI_NSSIDX_TAG_PWNAM, name) == -1) {
		nhi_err_set(e, "nss index: out of memory");
		goto out;
	}
	if (keyset_has(&w->keys, key.s, (unsigned)key.len) ||
	    keyset_has(&w->keys, ukey, ulen)) {
		nhi_err_set(e, "nss index: user %s or uid %" PRIu32
		    " already added", name, uid);
		goto out;
	}
	if (add_field(&rec, name) == -1 || add_id_field(&rec, uid) == -1 ||
	    add_id_field(&rec, gid) == -1 || add_field(&rec, gecos) == -1 ||
	    add_field(&rec, dir) == -1 || add_field(&rec, shell) == -1) {
		nhi_err_set(e, "nss index: out of memory");
		goto out;
	}

	if (put_entry(w, &key, &rec, ukey, ulen, name, e) == -1)
		goto out;
	w->n_users++;
	r = 0;
out:
	nhi_buf_free(&key);
	nhi_buf_free(&rec);
	return r;
}

int
nhi_nssidx_add_group(struct nhi_nssidx_writer *w, const char *name,
    uint32_t gid, const struct nhi_strv *members, struct nhi_err *e)
{
	struct nhi_buf key = { 0 }, rec = { 0 };
	char gkey[NSSIDX_ID_LEN + 1];
	unsigned glen;
	size_t i, n = members == NULL ? 0 : members->n;
	int r = -1;

	if (check_usable(w, e) == -1)
		goto out;
	if (name == NULL || !nhi_valid_name(name)) {
		nhi_err_set(e, "nss index: invalid group name");
		goto out;
	}
	if (!valid_id(gid)) {
		nhi_err_set(e, "nss index: group %s: gid %" PRIu32
		    " out of range", name, gid);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!nhi_valid_name(members->v[i])) {
			nhi_err_set(e, "nss index: group %s: invalid member "
			    "name", name);
			goto out;
		}
	}

	glen = id_key(gkey, NHI_NSSIDX_TAG_GRGID, gid);
	if (name_key(&key, NHI_NSSIDX_TAG_GRNAM, name) == -1) {
		nhi_err_set(e, "nss index: out of memory");
		goto out;
	}
	if (keyset_has(&w->keys, key.s, (unsigned)key.len) ||
	    keyset_has(&w->keys, gkey, glen)) {
		nhi_err_set(e, "nss index: group %s or gid %" PRIu32
		    " already added", name, gid);
		goto out;
	}
	if (add_field(&rec, name) == -1 || add_id_field(&rec, gid) == -1) {
		nhi_err_set(e, "nss index: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (add_field(&rec, members->v[i]) == -1) {
			nhi_err_set(e, "nss index: out of memory");
			goto out;
		}
	}

	if (put_entry(w, &key, &rec, gkey, glen, name, e) == -1)
		goto out;
	w->n_groups++;
	r = 0;
out:
	nhi_buf_free(&key);
	nhi_buf_free(&rec);
	return r;
}

int
nhi_nssidx_add_member(struct nhi_nssidx_writer *w, const char *user,
    const uint32_t *gids, size_t n, struct nhi_err *e)
{
	struct nhi_buf key = { 0 }, rec = { 0 };
	size_t i;
	int r = -1;

	if (check_usable(w, e) == -1)
		goto out;
	if (user == NULL || !nhi_valid_name(user)) {
		nhi_err_set(e, "nss index: invalid member user name");
		goto out;
	}
	if (n == 0) {
		nhi_err_set(e, "nss index: member %s: no groups", user);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!valid_id(gids[i])) {
			nhi_err_set(e, "nss index: member %s: gid %" PRIu32
			    " out of range", user, gids[i]);
			goto out;
		}
	}

	if (name_key(&key, NHI_NSSIDX_TAG_MEMBER, user) == -1) {
		nhi_err_set(e, "nss index: out of memory");
		goto out;
	}
	if (keyset_has(&w->keys, key.s, (unsigned)key.len)) {
		nhi_err_set(e, "nss index: member %s already added", user);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (add_id_field(&rec, gids[i]) == -1) {
			nhi_err_set(e, "nss index: out of memory");
			goto out;
		}
	}

	if (put(w, key.s, (unsigned)key.len, &rec, e) == -1)
		goto out;
	w->n_members++;
	r = 0;
out:
	nhi_buf_free(&key);
	nhi_buf_free(&rec);
	return r;
}

static void
writer_free(struct nhi_nssidx_writer *w)
{
	keyset_free(&w->keys);
	free(w->path);
	free(w);
}

int
nhi_nssidx_commit(struct nhi_nssidx_writer *w, struct nhi_err *e)
{
	unsigned char meta[NHI_NSSIDX_META_LEN];
	int r = -1;

	if (check_usable(w, e) == -1)
		goto out;

	memcpy(meta, NHI_NSSIDX_MAGIC, NHI_NSSIDX_MAGIC_LEN);
	cdb_pack(w->flags, meta + NHI_NSSIDX_MAGIC_LEN);
	cdb_pack(w->n_users, meta + NHI_NSSIDX_MAGIC_LEN + 4);
	cdb_pack(w->n_groups, meta + NHI_NSSIDX_MAGIC_LEN + 8);
	cdb_pack(w->n_members, meta + NHI_NSSIDX_MAGIC_LEN + 12);
	if (nhi_cdbw_add(&w->out, NHI_NSSIDX_META_KEY,
	    NHI_NSSIDX_META_KEYLEN, meta, sizeof(meta)) == -1 ||
	    nhi_cdbw_finish(&w->out) == -1) {
		nhi_err_set(e, "%s: cannot write: %s", w->path,
		    strerror(errno));
		goto out;
	}
	/* On failure the temporary file is removed. */
	if (nhi_cdbw_commit(&w->out) == -1) {
		nhi_err_set(e, "%s: cannot install: %s", w->path,
		    strerror(errno));
		goto out;
	}

	r = 0;
out:
	if (r == 0)
		writer_free(w);
	else
		nhi_nssidx_abort(w);
	return r;
}

void
nhi_nssidx_abort(struct nhi_nssidx_writer *w)
{
	if (w == NULL)
		return;
	nhi_cdbw_abort(&w->out);
	writer_free(w);
}
