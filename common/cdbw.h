/*
 * cdbw.h: a cdb file built in a temporary file beside its path and
 * renamed into place, so that readers see the old file or the new one,
 * never a mixture (the PAM and NSS indexes, the statement cache).
 *
 * What is written is handed to the kernel for writeback as it goes: the
 * fsync before the rename, which a sync waits for, then finds little
 * left to write.
 */
#ifndef NHI_CDBW_H
#define NHI_CDBW_H

#include <sys/stat.h>
#include <sys/types.h>

#include <cdb.h>

#include "nhi.h"
#include "util.h"

struct nhi_cdbw {
	struct nhi_atomic file;
	struct cdb_make cdb;
	bool finished;		/* cdb_make_finish ran (its lists are freed) */
	uint64_t pos;		/* where the next record starts */
	uint64_t flushed;	/* handed to writeback up to here */
};

/*
 * Checks a cdb file opened for reading that decides what is installed or
 * allowed (the PAM index, the statement cache): a regular file owned by
 * root or this user, writable by nobody else, within the 4 GiB a cdb can
 * address. Fills ret_st. Returns -1 with the reason in e.
 */
int nhi_cdb_file_check(int fd, const char *path, struct stat *ret_st,
    struct nhi_err *e);

/* Offset of the first record: tinycdb's table of 256 hash tables. */
#define NHI_CDBW_DATA_START 2048

/* Starts path's temporary file with mode. Returns -1 with errno set. */
int nhi_cdbw_open(struct nhi_cdbw *w, const char *path, mode_t mode);

/*
 * Adds a record. Returns -1 with errno set: EFBIG when the file would
 * pass the 4 GiB a cdb can address.
 */
int nhi_cdbw_add(struct nhi_cdbw *w, const void *key, unsigned klen,
    const void *value, size_t len);

/*
 * Writes the hash tables: the temporary file is complete, not yet
 * installed. Returns -1 with errno set.
 */
int nhi_cdbw_finish(struct nhi_cdbw *w);

/*
 * Finishes the file unless done, then fsyncs it and renames it over its
 * path. Returns -1 with errno set, the temporary file removed.
 */
int nhi_cdbw_commit(struct nhi_cdbw *w);

/* Removes the temporary file and frees what w holds (not w itself). */
void nhi_cdbw_abort(struct nhi_cdbw *w);

#endif
