/*
 * nssmap.c: maps the NSS index read-only and keeps it mapped between
 * calls. The descriptor is closed as soon as the file is mapped, so a
 * child exec'd at any moment inherits nothing and the mapping itself does
 * not survive exec.
 *
 * Revalidation: a stat() of the index path costs a system call, which on
 * a virtual machine with the usual mitigations is more than the whole
 * lookup (about 1 us against 0.2 us). So the path is checked at most once
 * per NHI_NSSIDX_REVALIDATE_MS, timed with CLOCK_MONOTONIC_COARSE (read
 * from the vDSO, no system call): a file installed by rename (new inode,
 * size or mtime) is mapped by the first call after that bound, and a
 * removed index is answered UNAVAIL after it too. nhictl sync runs from a
 * timer, minutes apart, so a bound of one second changes nothing an admin
 * can see. A record found corrupt ends the grace at once: the next call
 * looks at the path again, so a broken file is never kept longer than
 * needed once a good one is installed. Cheaper checks were considered and
 * refused: inotify keeps a descriptor in every process, and a flag the
 * writer sets in the old file would change a file readers have mapped.
 *
 * The index is replaced by rename and never changed in place (nhictl sync
 * installs it so); a file truncated in place under a live mapping would
 * fault on access, as for any mmap reader.
 */
#include "config.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NHI_NSS_READER_ONLY
#include "nssidx.h"
#include "nssmap.h"

#ifndef NHI_NSS_INDEX_PATH
#define NHI_NSS_INDEX_PATH "/var/lib/nhi/nss.cdb"
#endif

/* tinycdb's table of contents: the smallest valid file. */
#define CDB_TOC_LEN 2048

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct nhi_map {
	struct cdb cdb;		/* never used directly: copied per lookup */
	struct file_id id;
	uint32_t flags;
	uint32_t dend;		/* end of the data area: the first table */
	unsigned refs;		/* guarded by map_lock */
};

/*
 * map_lock guards map_current (which holds one reference of its own),
 * map_checked (when the path last matched map_current, in nanoseconds of
 * the coarse monotonic clock) and the reference counts. It is held only
 * for a few instructions, or while a changed file is mapped; the fork
 * handlers take it around fork so that a child never inherits it locked.
 */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;
static struct nhi_map *map_current;
static uint64_t map_checked;

#define REVALIDATE_NS ((uint64_t)NHI_NSSIDX_REVALIDATE_MS * 1000000u)

static void
map_fork_prepare(void)
{
	(void)pthread_mutex_lock(&map_lock);
}

static void
map_fork_release(void)
{
	(void)pthread_mutex_unlock(&map_lock);
}

static void
map_init_once(void)
{
	(void)pthread_atfork(map_fork_prepare, map_fork_release,
	    map_fork_release);
}

/*
 * The coarse monotonic clock in nanoseconds, or 0 when it cannot be read,
 * which makes every call look at the path.
 */
static uint64_t
coarse_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* True while the mapping was confirmed less than the bound ago. */
static bool
map_fresh_locked(uint64_t now)
{
	return map_current != NULL && now != 0 && now >= map_checked &&
	    now - map_checked < REVALIDATE_NS;
}

/*
 * The index path. NHI_NSS_INDEX overrides it for tests; secure_getenv
 * ignores it in setuid and setgid programs, so it cannot point those at
 * a file of the caller's making.
 */
static const char *
index_path(void)
{
	const char *p = secure_getenv("NHI_NSS_INDEX");

	return p != NULL && *p == '/' ? p : NHI_NSS_INDEX_PATH;
}

static void
file_id_of(const struct stat *st, struct file_id *ret)
{
	ret->dev = st->st_dev;
	ret->ino = st->st_ino;
	ret->size = st->st_size;
	ret->mtime = st->st_mtim;
}

static bool
file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void
map_free(struct nhi_map *m)
{
	cdb_free(&m->cdb);
	free(m);
}

/*
 * Checks tinycdb's table of contents against the file size: the 256 hash
 * tables follow the data one after the other, in order, and the last one
 * ends at the end of the file. A file cut short or grown at the end, or
 * with a table pointing anywhere else, is refused here, before any
 * lookup, rather than answering some keys and not others.
 */
static int
map_check_toc(struct nhi_map *m)
{
	const unsigned char *toc = m->cdb.cdb_mem;
	uint64_t pos = cdb_unpack(toc), fsize = m->cdb.cdb_fsize;
	unsigned i;

	if (pos < CDB_TOC_LEN)
		return -1;
	m->dend = (uint32_t)pos;
	for (i = 0; i < 256; i++) {
		if (cdb_unpack(toc + 8 * i) != pos)
			return -1;
		pos += 8 * (uint64_t)cdb_unpack(toc + 8 * i + 4);
		if (pos > fsize)
			return -1;
	}
	return pos == fsize ? 0 : -1;
}

/* Checks the meta record: magic, version, length and known flags only. */
static int
map_check_meta(struct nhi_map *m)
{
	const unsigned char *meta;
	const char *v;
	unsigned len;

	if (nhi_map_find(m, NHI_NSSIDX_META_KEY, NHI_NSSIDX_META_KEYLEN, &v,
	    &len) != 1)
		return -1;
	meta = (const unsigned char *)v;
	if (len != NHI_NSSIDX_META_LEN ||
	    memcmp(meta, NHI_NSSIDX_MAGIC, NHI_NSSIDX_MAGIC_LEN) != 0)
		return -1;
	m->flags = cdb_unpack(meta + NHI_NSSIDX_MAGIC_LEN);
	if ((m->flags & ~NHI_NSSIDX_F_ALL) != 0)
		return -1;
	return 0;
}

/* Maps the file at path. Returns 0 or an enum nhi_map_fault. */
static int
map_open(const char *path, struct nhi_map **ret)
{
	struct nhi_map *m = NULL;
	struct stat st;
	int fd, r = NHI_MAP_MISSING;

	/* O_NONBLOCK: a FIFO in its place must not hang the caller. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		goto out;
	if (fstat(fd, &st) == -1)
		goto out;
	r = NHI_MAP_CORRUPT;
	/* tinycdb addresses the file with 32 bits. */
	if (!S_ISREG(st.st_mode) || st.st_size < CDB_TOC_LEN ||
	    (uintmax_t)st.st_size > UINT32_MAX)
		goto out;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = NHI_MAP_MISSING;
		goto out;
	}
	if (cdb_init(&m->cdb, fd) == -1) {
		free(m);
		m = NULL;
		goto out;
	}
	m->cdb.cdb_fd = -1;
	file_id_of(&st, &m->id);
	if (map_check_toc(m) == -1 || map_check_meta(m) == -1)
		goto out;

	m->refs = 1;
	*ret = m;
	m = NULL;
	r = 0;
out:
	if (m != NULL)
		map_free(m);
	if (fd != -1)
		(void)close(fd);
	return r;
}

/* Drops one reference; map_lock is held. Returns the map to free or NULL. */
static struct nhi_map *
map_unref_locked(struct nhi_map *m)
{
	if (m == NULL || --m->refs > 0)
		return NULL;
	return m;
}

/* Looks at the index path and maps it anew if it is another file. */
static int
map_revalidate(uint64_t now, struct nhi_map **ret_map)
{
	struct nhi_map *m = NULL, *dead = NULL;
	const char *path = index_path();
	struct file_id id;
	struct stat st;
	int r = NHI_MAP_MISSING;

	if (stat(path, &st) == -1) {
		/* The index is gone: free the old mapping with it. */
		(void)pthread_mutex_lock(&map_lock);
		dead = map_unref_locked(map_current);
		map_current = NULL;
		goto out;
	}
	file_id_of(&st, &id);

	(void)pthread_mutex_lock(&map_lock);
	if (map_current != NULL && file_id_eq(&map_current->id, &id))
		goto take;
	dead = map_unref_locked(map_current);
	map_current = NULL;
	/* A corrupt file is opened again on each call: it is rare. */
	if ((r = map_open(path, &m)) != 0)
		goto out;
	map_current = m;
take:
	map_checked = now;
	map_current->refs++;
	*ret_map = map_current;
	r = 0;
out:
	(void)pthread_mutex_unlock(&map_lock);
	if (dead != NULL)
		map_free(dead);
	return r;
}

int
nhi_map_acquire(struct nhi_map **ret_map)
{
	uint64_t now = coarse_now();

	(void)pthread_once(&map_once, map_init_once);
	(void)pthread_mutex_lock(&map_lock);
	if (map_fresh_locked(now)) {
		map_current->refs++;
		*ret_map = map_current;
		(void)pthread_mutex_unlock(&map_lock);
		return 0;
	}
	(void)pthread_mutex_unlock(&map_lock);
	return map_revalidate(now, ret_map);
}

void
nhi_map_distrust(const struct nhi_map *m)
{
	(void)pthread_mutex_lock(&map_lock);
	if (m == map_current)
		map_checked = 0;
	(void)pthread_mutex_unlock(&map_lock);
}

void
nhi_map_release(struct nhi_map *m)
{
	struct nhi_map *dead;

	if (m == NULL)
		return;
	(void)pthread_mutex_lock(&map_lock);
	dead = map_unref_locked(m);
	(void)pthread_mutex_unlock(&map_lock);
	if (dead != NULL)
		map_free(dead);
}

uint32_t
nhi_map_flags(const struct nhi_map *m)
{
	return m->flags;
}

int
nhi_map_find(const struct nhi_map *m, const void *key, unsigned klen,
    const char **ret_val, unsigned *ret_vlen)
{
	/* cdb_find writes its result into the struct: use a private copy. */
	struct cdb c = m->cdb;
	const char *v;
	int r;

	if ((r = cdb_find(&c, key, klen)) <= 0)
		return r < 0 ? -1 : 0;
	if ((v = cdb_getdata(&c)) == NULL)
		return -1;
	*ret_val = v;
	*ret_vlen = cdb_datalen(&c);
	return 1;
}

int
nhi_map_record_at(const struct nhi_map *m, uint32_t pos,
    const char **ret_key, unsigned *ret_klen, const char **ret_val,
    unsigned *ret_vlen)
{
	const unsigned char *p = m->cdb.cdb_mem;
	uint32_t klen, vlen;

	if (pos < CDB_TOC_LEN || (uint64_t)pos + 8 > m->dend)
		return -1;
	klen = cdb_unpack(p + pos);
	vlen = cdb_unpack(p + pos + 4);
	if ((uint64_t)pos + 8 + klen + vlen > m->dend)
		return -1;
	*ret_key = (const char *)p + pos + 8;
	*ret_klen = klen;
	*ret_val = *ret_key + klen;
	*ret_vlen = vlen;
	return 0;
}

unsigned
nhi_map_first(void)
{
	unsigned pos;

	cdb_seqinit(&pos, NULL);
	return pos;
}

int
nhi_map_next(const struct nhi_map *m, unsigned pos, char tag,
    const char **ret_key, unsigned *ret_klen, const char **ret_val,
    unsigned *ret_vlen, unsigned *ret_next)
{
	struct cdb c = m->cdb;
	const char *k, *v;
	int r;

	for (;;) {
		if ((r = cdb_seqnext(&pos, &c)) <= 0)
			return r < 0 ? -1 : 0;
		if (cdb_keylen(&c) < 1 || (k = cdb_getkey(&c)) == NULL ||
		    (v = cdb_getdata(&c)) == NULL)
			return -1;
		if (k[0] == tag)
			break;
	}
	*ret_key = k + 1;
	*ret_klen = cdb_keylen(&c) - 1;
	*ret_val = v;
	*ret_vlen = cdb_datalen(&c);
	*ret_next = pos;
	return 1;
}
