/* util.h: small helpers used across common/ and nhictl. */
#ifndef NHI_UTIL_H
#define NHI_UTIL_H

#include "nhi.h"

#include <sys/stat.h>
#include <sys/types.h>

/*
 * Character-set checks. All return true when s is acceptable.
 * - nhi_valid_name: POSIX portable login name: [A-Za-z0-9._-], not starting
 *   with '-', 1..NHI_MAX_NAME bytes (a trailing '$' is not allowed).
 * - nhi_valid_text: owner, approver, ticket, ids: 1..NHI_MAX_FIELD bytes of
 *   [A-Za-z0-9._@+=/-] and no leading '-'. Never ':' (passwd field
 *   separator), ',' (list separator), space, quote, backslash or control.
 * - nhi_valid_glob: host/account glob: [A-Za-z0-9._@*?[]!-], 1..NHI_MAX_FIELD.
 * - nhi_valid_service: PAM service name: [A-Za-z0-9._-], 1..NHI_MAX_NAME.
 * - nhi_valid_description: printable ASCII and UTF-8, no ':' or control
 *   characters, 0..NHI_MAX_FIELD bytes.
 */
bool nhi_valid_name(const char *s);
bool nhi_valid_text(const char *s);
bool nhi_valid_glob(const char *s);
bool nhi_valid_service(const char *s);
bool nhi_valid_service_or_all(const char *s);	/* a service name or "*" */
bool nhi_valid_description(const char *s);
bool nhi_valid_path(const char *s);	/* absolute, no control characters */
bool nhi_valid_plain(const char *s);	/* no control characters */

/* Treats NULL and "" alike: returns NULL for both. */
const char *nhi_nonempty(const char *s);

/*
 * Times. nhi_parse_time accepts "@SECONDS", "YYYY-MM-DDTHH:MM:SSZ",
 * "YYYY-MM-DD HH:MM:SS" (UTC) and "YYYY-MM-DD" (00:00 UTC); "now" is
 * accepted when now is given. nhi_parse_duration accepts "90", "90s",
 * "15m", "2h", "7d" and sums such as "1h30m". nhi_format_time writes
 * "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes).
 */
int nhi_parse_time(const char *s, int64_t now, int64_t *ret_t);
int nhi_parse_duration(const char *s, int64_t *ret_secs);
const char *nhi_format_time(int64_t t, char *buf, size_t len);

/* Parses a decimal integer in [min, max] with no trailing garbage. */
int nhi_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret_v);

/*
 * Reads a whole regular file, opened O_CLOEXEC|O_NOFOLLOW-less, into a
 * NUL-terminated heap buffer. Fails when the file is larger than max.
 * ret_len excludes the terminator. Returns -1 with errno set.
 */
int nhi_read_file(const char *path, size_t max, char **ret_buf,
    size_t *ret_len);
/* The same for a descriptor already open (for checks made with fstat). */
int nhi_read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len);
/*
 * Opens path read-only where a regular file must be: O_NONBLOCK, so a
 * FIFO put in its place does not wait for a writer, and the checks look
 * at the descriptor, not at the name. Returns the descriptor with *st
 * filled, or -1 with e set ("PATH: reason").
 */
int nhi_open_regular(const char *path, struct stat *st, struct nhi_err *e);

/*
 * One version of a file: a rename over it, a write, a chmod or a chown
 * changes at least one of these. Lets a caller that read a file keep what
 * it read while the file stays the same, at the cost of one stat.
 */
struct nhi_fileid {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

void nhi_fileid_of(const struct stat *st, struct nhi_fileid *ret);
/* True when path (symbolic links followed) is still the version id. */
bool nhi_fileid_same(const char *path, const struct nhi_fileid *id);

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, fchmod to mode, rename over path, fsync of the directory. On any
 * failure the temporary file is removed and path is untouched. Returns -1
 * with errno set.
 */
int nhi_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode);

/*
 * An atomic file being written in pieces (for large indexes): open returns
 * a descriptor to "path.tmp.XXXXXX"; commit fsyncs, renames and fsyncs the
 * directory; abort unlinks. Both close the descriptor.
 */
struct nhi_atomic {
	int fd;
	char *path;
	char *tmp;
	mode_t mode;
};
int nhi_atomic_open(struct nhi_atomic *a, const char *path, mode_t mode);
int nhi_atomic_commit(struct nhi_atomic *a);
void nhi_atomic_abort(struct nhi_atomic *a);

/*
 * Escapes an untrusted string for a log line: printable ASCII except '"'
 * and '\\' is kept; everything else becomes \xNN. The input is cut at cap
 * bytes (an ellipsis "..." marks the cut). Always NUL-terminates out.
 */
void nhi_escape(const char *s, size_t cap, char *out, size_t outlen);

/* A growable string. Each append returns -1 on allocation failure. */
struct nhi_buf {
	char *s;
	size_t len, cap;
};
int nhi_buf_add(struct nhi_buf *b, const void *p, size_t n);
int nhi_buf_adds(struct nhi_buf *b, const char *s);
int nhi_buf_addf(struct nhi_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nhi_buf_free(struct nhi_buf *b);

/*
 * A list of strings parsed from "a,b, c" (spaces around items trimmed,
 * empty items rejected). Each item is checked with valid(); at most
 * NHI_MAX_LIST items.
 */
struct nhi_strv {
	char **v;
	size_t n;
};
int nhi_strv_split(const char *s, bool (*valid)(const char *),
    struct nhi_strv *ret, struct nhi_err *e);
int nhi_strv_add(struct nhi_strv *sv, const char *s);
bool nhi_strv_has(const struct nhi_strv *sv, const char *s);
/* True when any item, read as an fnmatch(3) glob, matches s. */
bool nhi_strv_match(const struct nhi_strv *sv, const char *s);
char *nhi_strv_join(const struct nhi_strv *sv, const char *sep);
void nhi_strv_free(struct nhi_strv *sv);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void nhi_hex(const unsigned char *p, size_t n, char *out);

/* Secret wiping through libsodium (never optimised away). */
void nhi_wipe(void *p, size_t n);

#endif
