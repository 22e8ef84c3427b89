/*
 * stcache.c: the statement cache, a tinycdb file.
 *
 *   "\0stcache"        format record: STCACHE_MAGIC
 *   "\0inputs"         the inputs digest (SHA-256, 32 bytes)
 *   SHA-256 (32 bytes) kind ('b' or 'a'), the issuer's public key
 *                      (NHI_PK_LEN bytes), the PAM index record, then
 *                      SipHash-2-4 of all that keyed with the first 16
 *                      bytes of the SHA-256 (8 bytes)
 *
 * A key of any other length is not an entry. The record is checked by
 * whoever uses it (nhi_pamidx_binding_decode, nhi_pamidx_account_decode),
 * as the index reader checks the index.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>
#include <sodium.h>

#include "cdbw.h"
#include "stcache.h"

#define FORMAT_KEY "\0stcache"
#define FORMAT_KEYLEN 8
/* The last byte is the format version. */
#define STCACHE_MAGIC "NHISTC\0\1"
#define STCACHE_MAGIC_LEN 8
#define INPUTS_KEY "\0inputs"
#define INPUTS_KEYLEN 7
#define HEAD_LEN (1 + NHI_PK_LEN)
#define CHECK_LEN crypto_shorthash_siphash24_BYTES

struct nhi_stcache {
	struct cdb cdb;
};

struct nhi_stcache_writer {
	struct nhi_cdbw out;
};

int
nhi_stcache_value_start(char kind, const unsigned char pk[NHI_PK_LEN],
    struct nhi_buf *out)
{
	if (nhi_buf_add(out, &kind, 1) != 0 ||
	    nhi_buf_add(out, pk, NHI_PK_LEN) != 0)
		return -1;
	return 0;
}

/*
 * Not a defence against whoever can write the file (root, who could as
 * well write the index): a check that a damaged disk block or a torn
 * write is not taken for a record.
 */
static void
check_of(const unsigned char hash[NHI_SHA256_LEN], const void *p, size_t n,
    unsigned char out[CHECK_LEN])
{
	(void)crypto_shorthash_siphash24(out, p, n, hash);
}

int
nhi_stcache_value_end(const unsigned char hash[NHI_SHA256_LEN],
    struct nhi_buf *out)
{
	unsigned char check[CHECK_LEN];

	check_of(hash, out->s, out->len, check);
	return nhi_buf_add(out, check, sizeof(check));
}

int
nhi_stcache_entry_of(const unsigned char hash[NHI_SHA256_LEN],
    const void *value, size_t len, struct nhi_stcache_entry *ret)
{
	const unsigned char *v = value;
	unsigned char check[CHECK_LEN];

	if (len <= HEAD_LEN + CHECK_LEN || (v[0] != NHI_STCACHE_BINDING &&
	    v[0] != NHI_STCACHE_ACCOUNT))
		return -1;
	check_of(hash, v, len - CHECK_LEN, check);
	if (memcmp(check, v + len - CHECK_LEN, CHECK_LEN) != 0)
		return -1;
	ret->kind = (char)v[0];
	ret->pk = v + 1;
	ret->rec = (const char *)(v + HEAD_LEN);
	ret->rec_len = len - HEAD_LEN - CHECK_LEN;
	ret->value = value;
	ret->value_len = len;
	return 0;
}

/*
 * The cache decides what is installed without a signature check: it is
 * trusted only as the PAM index is.
 */
static int
file_check(int fd, const char *path, struct nhi_err *e)
{
	struct stat st;

	if (nhi_cdb_file_check(fd, path, &st, e) != 0)
		return -1;
	if (st.st_size < 2048)
		return nhi_err_set(e, "%s: too short for a cdb file", path);
	return 0;
}

int
nhi_stcache_open(const char *path, struct nhi_stcache **ret,
    struct nhi_err *e)
{
	struct nhi_stcache *c;
	const void *m;
	int fd, r = -1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return nhi_err_set(e, "%s: out of memory", path);
	/* O_NONBLOCK: a FIFO in its place would wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK);
	if (fd < 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		free(c);
		return -1;
	}
	if (file_check(fd, path, e) != 0)
		goto out;
	if (cdb_init(&c->cdb, fd) != 0) {
		nhi_err_set(e, "%s: not a cdb file", path);
		goto out;
	}
	if (cdb_find(&c->cdb, FORMAT_KEY, FORMAT_KEYLEN) <= 0 ||
	    cdb_datalen(&c->cdb) != STCACHE_MAGIC_LEN ||
	    (m = cdb_getdata(&c->cdb)) == NULL ||
	    memcmp(m, STCACHE_MAGIC, STCACHE_MAGIC_LEN) != 0) {
		nhi_err_set(e, "%s: not a statement cache of this version",
		    path);
		cdb_free(&c->cdb);
		goto out;
	}
	/* Lookups read the mapping only. */
	*ret = c;
	c = NULL;
	r = 0;
out:
	free(c);
	(void)close(fd);
	return r;
}

int
nhi_stcache_find(const struct nhi_stcache *c,
    const unsigned char hash[NHI_SHA256_LEN], struct nhi_stcache_entry *ret)
{
	struct cdb db;
	const void *v;

	/*
	 * cdb_find writes its position into the handle: each lookup works
	 * on a copy, so that threads share only the read-only mapping.
	 */
	db = c->cdb;
	if (cdb_find(&db, hash, NHI_SHA256_LEN) <= 0 ||
	    (v = cdb_getdata(&db)) == NULL)
		return 0;
	return nhi_stcache_entry_of(hash, v, cdb_datalen(&db), ret) == 0 ?
	    1 : 0;
}

bool
nhi_stcache_inputs_are(const struct nhi_stcache *c,
    const unsigned char digest[NHI_SHA256_LEN])
{
	struct cdb db;
	const void *v;

	db = c->cdb;
	return cdb_find(&db, INPUTS_KEY, INPUTS_KEYLEN) > 0 &&
	    cdb_datalen(&db) == NHI_SHA256_LEN &&
	    (v = cdb_getdata(&db)) != NULL &&
	    sodium_memcmp(v, digest, NHI_SHA256_LEN) == 0;
}

void
nhi_stcache_close(struct nhi_stcache *c)
{
	if (c == NULL)
		return;
	cdb_free(&c->cdb);
	free(c);
}

int
nhi_stcache_create(const char *path, struct nhi_stcache_writer **ret,
    struct nhi_err *e)
{
	struct nhi_stcache_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return nhi_err_set(e, "%s: out of memory", path);
	/* Aborting a writer that did not open is harmless. */
	if (nhi_cdbw_open(&w->out, path, 0600) != 0 ||
	    nhi_cdbw_add(&w->out, FORMAT_KEY, FORMAT_KEYLEN, STCACHE_MAGIC,
	    STCACHE_MAGIC_LEN) != 0) {
		nhi_err_set(e, "%s: cannot start a new cache: %s", path,
		    strerror(errno));
		nhi_stcache_abort(w);
		return -1;
	}
	*ret = w;
	return 0;
}

static int
writer_put(struct nhi_stcache_writer *w, const void *key, unsigned klen,
    const void *value, size_t len, struct nhi_err *e)
{
	if (nhi_cdbw_add(&w->out, key, klen, value, len) != 0)
		return nhi_err_set(e, "%s: write error: %s", w->out.file.tmp,
		    strerror(errno));
	return 0;
}

int
nhi_stcache_add(struct nhi_stcache_writer *w,
    const unsigned char hash[NHI_SHA256_LEN], const void *value, size_t len,
    struct nhi_err *e)
{
	return writer_put(w, hash, NHI_SHA256_LEN, value, len, e);
}

int
nhi_stcache_set_inputs(struct nhi_stcache_writer *w,
    const unsigned char digest[NHI_SHA256_LEN], struct nhi_err *e)
{
	return writer_put(w, INPUTS_KEY, INPUTS_KEYLEN, digest,
	    NHI_SHA256_LEN, e);
}

int
nhi_stcache_commit(struct nhi_stcache_writer *w, struct nhi_err *e)
{
	int r = 0;

	/* On failure the temporary file is removed (and its name freed). */
	if (nhi_cdbw_commit(&w->out) != 0)
		r = nhi_err_set(e, "statement cache: cannot install: %s",
		    strerror(errno));
	free(w);
	return r;
}

void
nhi_stcache_abort(struct nhi_stcache_writer *w)
{
	if (w == NULL)
		return;
	nhi_cdbw_abort(&w->out);
	free(w);
}
