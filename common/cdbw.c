/* cdbw.c: cdb files written atomically, and checked when read. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cdbw.h"

/* Writeback is started every this many bytes. */
#define WRITEBACK_STEP (8 * 1024 * 1024)

int
nhi_cdb_file_check(int fd, const char *path, struct stat *ret_st,
    struct nhi_err *e)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return nhi_err_set(e, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return nhi_err_set(e, "%s: not a regular file", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return nhi_err_set(e, "%s: owned by uid %u, not root", path,
		    (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return nhi_err_set(e, "%s: writable by group or others", path);
	if (st.st_size > UINT32_MAX)
		return nhi_err_set(e, "%s: too large for a cdb file", path);
	*ret_st = st;
	return 0;
}

int
nhi_cdbw_open(struct nhi_cdbw *w, const char *path, mode_t mode)
{
	memset(w, 0, sizeof(*w));
	w->finished = true;
	if (nhi_atomic_open(&w->file, path, mode) != 0)
		return -1;
	if (cdb_make_start(&w->cdb, w->file.fd) != 0) {
		nhi_atomic_abort(&w->file);
		return -1;
	}
	w->finished = false;
	w->pos = w->flushed = NHI_CDBW_DATA_START;
	return 0;
}

/*
 * Asks the kernel to start writing what has gathered. Only a hint: the
 * commit's fsync is what makes the file durable.
 */
static void
writeback(struct nhi_cdbw *w)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (w->pos - w->flushed < WRITEBACK_STEP)
		return;
	(void)sync_file_range(w->file.fd, (off_t)w->flushed,
	    (off_t)(w->pos - w->flushed), SYNC_FILE_RANGE_WRITE);
	w->flushed = w->pos;
#else
	(void)w;
#endif
}

int
nhi_cdbw_add(struct nhi_cdbw *w, const void *key, unsigned klen,
    const void *value, size_t len)
{
	uint64_t end = w->pos + 8 + klen + len;

	if (w->finished) {
		errno = EINVAL;
		return -1;
	}
	if (end > UINT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	if (cdb_make_add(&w->cdb, key, klen, value != NULL ? value : "",
	    (unsigned)len) != 0)
		return -1;
	w->pos = end;
	writeback(w);
	return 0;
}

int
nhi_cdbw_finish(struct nhi_cdbw *w)
{
	if (w->finished) {
		errno = EINVAL;
		return -1;
	}
	/* cdb_make_finish frees the record lists whatever it returns. */
	w->finished = true;
	return cdb_make_finish(&w->cdb) == 0 ? 0 : -1;
}

int
nhi_cdbw_commit(struct nhi_cdbw *w)
{
	int saved;

	if (!w->finished && nhi_cdbw_finish(w) != 0) {
		saved = errno;
		nhi_atomic_abort(&w->file);
		errno = saved;
		return -1;
	}
	/* On failure nhi_atomic_commit has removed the temporary file. */
	return nhi_atomic_commit(&w->file);
}

void
nhi_cdbw_abort(struct nhi_cdbw *w)
{
	if (!w->finished) {
		/*
		 * tinycdb frees its record lists only in cdb_make_finish; with
		 * no descriptor its writes fail at once and nothing reaches
		 * any file.
		 */
		w->cdb.cdb_fd = -1;
		(void)cdb_make_finish(&w->cdb);
		w->finished = true;
	}
	nhi_atomic_abort(&w->file);
}
