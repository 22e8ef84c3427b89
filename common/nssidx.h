/*
 * nssidx.h: the NSS index, a cdb file (0644) with passwd and group entries
 * of the pseudonymous accounts, written by nhictl sync and read by
 * libnss_nhi.so.2. The format (keys and records) is defined once here, for
 * the writer in common/ and the reader in nss_nhi/, which links nothing
 * but libc and tinycdb (it includes this file with NHI_NSS_READER_ONLY).
 *
 * Keys, each a one-byte tag followed by the lookup value (no terminator):
 *   "\0meta"        the meta record (below); exactly one
 *   'p' NAME        passwd record
 *   'u' UID         reference to the passwd record (UID in decimal)
 *   'g' NAME        group record
 *   'h' GID         reference to the group record (GID in decimal)
 *   'm' NAME        supplementary gids of user NAME (for initgroups_dyn)
 * Each key occurs at most once: the writer refuses a second user or group
 * of the same name or id, and a second member record for one user.
 *
 * The meta record is NHI_NSSIDX_META_LEN bytes: NHI_NSSIDX_MAGIC (whose
 * last byte is the format version), then four unsigned 32-bit
 * little-endian numbers: flags (NHI_NSSIDX_F_*; a reader refuses unknown
 * bits), the number of passwd entries, of group entries and of member
 * records. A reader refuses a file whose meta record is missing, of
 * another length or another magic or version.
 *
 * Records are NUL-separated fields, each NUL-terminated (so the last byte
 * of every record is NUL):
 *   passwd: name, uid, gid, gecos, dir, shell        (exactly 6 fields)
 *   group:  name, gid, member...                     (2 fields or more)
 *   member: gid...                                   (1 field or more)
 *   reference: name, NUL, then the position in the file of the 'p' or
 *              'g' record of that name (4 bytes, little-endian): where
 *              its cdb record starts (the two lengths before the key)
 * A reference rather than a second copy of the entry keeps the file
 * small (at a million accounts the copies were a fifth of it); a reader
 * checks that the position lies in the data area, that the key found
 * there is the tag and name of the reference, and that the entry has the
 * id it was looked up by.
 * Numbers are decimal without sign or leading zeros, 1..4294967294; 0 is
 * never a uid or gid here. No field holds ':', a newline or any other
 * control character, so every entry prints as one valid passwd or group
 * line. Names follow nhi_valid_name (util.h).
 */
#ifndef NHI_NSSIDX_H
#define NHI_NSSIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NHI_NSSIDX_MAGIC "NHINSS\0\2"	/* 8 bytes, last is the version */
#define NHI_NSSIDX_MAGIC_LEN 8
#define NHI_NSSIDX_META_KEY "\0meta"
#define NHI_NSSIDX_META_KEYLEN 5
#define NHI_NSSIDX_META_LEN (NHI_NSSIDX_MAGIC_LEN + 4 * 4)
#define NHI_NSSIDX_F_ENUMERATE 0x1u	/* getpwent and getgrent list all */
#define NHI_NSSIDX_F_ALL NHI_NSSIDX_F_ENUMERATE

/*
 * A reader keeps the index mapped and looks at its path again at most
 * this often: a file installed by rename is seen within this bound.
 */
#define NHI_NSSIDX_REVALIDATE_MS 1000

#define NHI_NSSIDX_TAG_PWNAM 'p'
#define NHI_NSSIDX_TAG_PWUID 'u'
#define NHI_NSSIDX_TAG_GRNAM 'g'
#define NHI_NSSIDX_TAG_GRGID 'h'
#define NHI_NSSIDX_TAG_MEMBER 'm'

#define NHI_NSSIDX_PW_FIELDS 6
#define NHI_NSSIDX_REF_POS_LEN 4	/* the position after name and NUL */
#define NHI_NSSIDX_DATA_START 2048	/* cdb: records follow the table list */

#ifndef NHI_NSS_READER_ONLY
#include "nhi.h"
#include "util.h"

struct nhi_nssidx_writer;

/*
 * Starts a new index that will replace path on commit; path itself stays
 * untouched until then. Enumeration is off unless set below. Returns 0,
 * or -1 with e set.
 */
int nhi_nssidx_create(const char *path, struct nhi_nssidx_writer **ret,
    struct nhi_err *e);

/* Records whether getpwent/getgrent list the entries (conf "enumerate"). */
void nhi_nssidx_set_enumerate(struct nhi_nssidx_writer *w, bool on);

/*
 * Each add checks its fields (names, ids in 1..4294967294, text without
 * ':' or control characters, absolute paths) and refuses a name or id
 * already added. A refusal leaves the writer usable: the caller may skip
 * the record and go on. Returns 0, or -1 with e set.
 */
int nhi_nssidx_add_user(struct nhi_nssidx_writer *w, const char *name,
    uint32_t uid, uint32_t gid, const char *gecos, const char *dir,
    const char *shell, struct nhi_err *e);
int nhi_nssidx_add_group(struct nhi_nssidx_writer *w, const char *name,
    uint32_t gid, const struct nhi_strv *members, struct nhi_err *e);
/* The supplementary gids of user (n >= 1), for initgroups_dyn. */
int nhi_nssidx_add_member(struct nhi_nssidx_writer *w, const char *user,
    const uint32_t *gids, size_t n, struct nhi_err *e);

/*
 * Writes the meta record and installs the file atomically with mode 0644.
 * The writer is freed whatever the outcome. Returns 0, or -1 with e set.
 */
int nhi_nssidx_commit(struct nhi_nssidx_writer *w, struct nhi_err *e);
/* Discards the temporary file and frees the writer. Accepts NULL. */
void nhi_nssidx_abort(struct nhi_nssidx_writer *w);
#endif

#endif
