/*
 * nssidx.h: the NSS index, a cdb file (0644) with passwd and group entries
 * of the pseudonymous accounts, written by nhictl sync and read by
 * libnss_nhi.so.2. The format (keys and records) is defined once here, for
 * the writer in common/ and the reader in nss_nhi/, which links nothing
 * but libc and tinycdb.
 *
 * Keys, each a one-byte tag followed by the lookup value:
 *   "\0meta"        NHI_NSSIDX_MAGIC, then counts (see nssidx.c)
 *   'p' NAME        passwd record
 *   'u' UID         passwd record (UID in decimal)
 *   'g' NAME        group record
 *   'h' GID         group record (GID in decimal)
 *   'm' NAME        supplementary gids of user NAME (for initgroups_dyn)
 * Records are NUL-separated fields, each NUL-terminated:
 *   passwd: name, uid, gid, gecos, dir, shell
 *   group:  name, gid, member...
 *   member: gid...  (decimal)
 */
#ifndef NHI_NSSIDX_H
#define NHI_NSSIDX_H

#include <stdbool.h>
#include <stdint.h>

#define NHI_NSSIDX_MAGIC "NHINSS\0\1"	/* 8 bytes, last is the version */
#define NHI_NSSIDX_MAGIC_LEN 8

#ifndef NHI_NSS_READER_ONLY
#include "nhi.h"
#include "util.h"

struct nhi_nssidx_writer;
int nhi_nssidx_create(const char *path, struct nhi_nssidx_writer **ret,
    struct nhi_err *e);
int nhi_nssidx_add_user(struct nhi_nssidx_writer *w, const char *name,
    uint32_t uid, uint32_t gid, const char *gecos, const char *dir,
    const char *shell, struct nhi_err *e);
int nhi_nssidx_add_group(struct nhi_nssidx_writer *w, const char *name,
    uint32_t gid, const struct nhi_strv *members, struct nhi_err *e);
int nhi_nssidx_add_member(struct nhi_nssidx_writer *w, const char *user,
    const uint32_t *gids, size_t n, struct nhi_err *e);
/* Installs atomically with mode 0644. */
int nhi_nssidx_commit(struct nhi_nssidx_writer *w, struct nhi_err *e);
void nhi_nssidx_abort(struct nhi_nssidx_writer *w);
#endif

#endif
