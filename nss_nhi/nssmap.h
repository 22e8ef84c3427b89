/*
 * nssmap.h: the NSS index as mapped by libnss_nhi.so.2 (format in
 * common/nssidx.h). One mapping is shared by every thread of the process
 * and replaced when the file at the index path changes; each caller holds
 * a reference for the duration of its call, so a replaced mapping stays
 * valid until its last reader is done. Nothing here keeps a descriptor.
 */
#ifndef NHI_NSSMAP_H
#define NHI_NSSMAP_H

#include <stdbool.h>
#include <stdint.h>

struct nhi_map;

/*
 * Why nhi_map_acquire failed: the index is missing or unreadable, or it
 * is there but corrupt or of another format version.
 */
enum nhi_map_fault {
	NHI_MAP_MISSING = 1,
	NHI_MAP_CORRUPT = 2,
};

/*
 * Returns a reference to the current index. At most once per
 * NHI_NSSIDX_REVALIDATE_MS it looks at the index path and maps the file
 * anew when it is not the one mapped (device, inode, size or mtime
 * changed). Returns 0, or an enum nhi_map_fault. Changes errno.
 */
int nhi_map_acquire(struct nhi_map **ret_map);

/*
 * Tells that a record of m was found corrupt: the next acquire looks at
 * the index path again instead of trusting the mapping until the bound.
 */
void nhi_map_distrust(const struct nhi_map *m);

/* Drops a reference; the last one unmaps. Accepts NULL. */
void nhi_map_release(struct nhi_map *m);

/* The meta record's flags (NHI_NSSIDX_F_*). */
uint32_t nhi_map_flags(const struct nhi_map *m);

/*
 * Looks key up. Returns 1 and the record (inside the mapping, valid while
 * the reference is held) when found, 0 when absent, -1 when the file is
 * corrupt. Changes errno.
 */
int nhi_map_find(const struct nhi_map *m, const void *key, unsigned klen,
    const char **ret_val, unsigned *ret_vlen);

/*
 * The record whose cdb entry starts at pos (a position taken from a
 * reference record). Returns 0 with its key and value, both inside the
 * data area, or -1 when pos does not lead to a whole record there.
 */
int nhi_map_record_at(const struct nhi_map *m, uint32_t pos,
    const char **ret_key, unsigned *ret_klen, const char **ret_val,
    unsigned *ret_vlen);

/* The position of the first record, for nhi_map_next. */
unsigned nhi_map_first(void);

/*
 * Finds the first record at or after pos whose key starts with tag.
 * Returns 1 with the key without its tag, the record and the position
 * after it; 0 at the end; -1 when the file is corrupt. Changes errno.
 */
int nhi_map_next(const struct nhi_map *m, unsigned pos, char tag,
    const char **ret_key, unsigned *ret_klen, const char **ret_val,
    unsigned *ret_vlen, unsigned *ret_next);

#endif
