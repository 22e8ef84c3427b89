/* util.c: small helpers used across common/ and nhictl. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"

/*
 * Character classes. Locale-independent on purpose: isalnum(3) follows
 * LC_CTYPE, which the process that loaded us may have set to anything.
 */
static bool
is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

/* True when s is 1..max bytes, each alnum or in extra, not starting '-'. */
static bool
valid_charset(const char *s, size_t max, const char *extra)
{
	size_t i;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return false;
		if (!is_alnum((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return false;
	}
	return true;
}

bool
nhi_valid_name(const char *s)
{
	return valid_charset(s, NHI_MAX_NAME, "._-");
}

bool
nhi_valid_text(const char *s)
{
	return valid_charset(s, NHI_MAX_FIELD, "._@+=/-");
}

bool
nhi_valid_glob(const char *s)
{
	return valid_charset(s, NHI_MAX_FIELD, "._@*?[]!-");
}

bool
nhi_valid_service(const char *s)
{
	return valid_charset(s, NHI_MAX_NAME, "._-");
}

bool
nhi_valid_service_or_all(const char *s)
{
	return s != NULL && (strcmp(s, "*") == 0 || nhi_valid_service(s));
}

/*
 * Length of the well-formed UTF-8 sequence at p (2 to 4 bytes), or 0 when
 * it is malformed, overlong, a surrogate or beyond U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *p)
{
	uint32_t cp;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

bool
nhi_valid_description(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL || strlen(s) > NHI_MAX_FIELD)
		return false;
	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x7f) {
			if (*p == ':')
				return false;
			p++;
			continue;
		}
		if ((n = utf8_seq(p)) == 0)
			return false;
		/* C1 controls (U+0080..U+009F) are controls too. */
		if (p[0] == 0xc2 && p[1] < 0xa0)
			return false;
		p += n;
	}
	return true;
}

bool
nhi_valid_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return false;
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

bool
nhi_valid_path(const char *s)
{
	return s != NULL && *s == '/' && strlen(s) < PATH_MAX &&
	    nhi_valid_plain(s);
}

const char *
nhi_nonempty(const char *s)
{
	return s == NULL || *s == '\0' ? NULL : s;
}

/* Reads exactly n decimal digits at s into ret. */
static bool
fixed_digits(const char *s, size_t n, int *ret)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian civil date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Parses "YYYY-MM-DD" optionally followed by sep "HH:MM:SS" and suffix. */
static int
parse_civil(const char *s, int64_t *ret_t)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t len = strlen(s);

	if (len < 10 || !fixed_digits(s, 4, &y) || s[4] != '-' ||
	    !fixed_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !fixed_digits(s + 8, 2, &d))
		return -1;
	if (len == 10)
		goto check;
	if (s[10] != 'T' && s[10] != ' ')
		return -1;
	if (len != (s[10] == 'T' ? 20 : 19))
		return -1;
	if (s[10] == 'T' && s[19] != 'Z')
		return -1;
	if (!fixed_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !fixed_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !fixed_digits(s + 17, 2, &sec))
		return -1;
check:
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*ret_t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

int
nhi_parse_time(const char *s, int64_t now, int64_t *ret_t)
{
	int64_t t;

	if (s == NULL)
		return -1;
	if (strcmp(s, "now") == 0) {
		if (now <= 0)
			return -1;
		*ret_t = now;
		return 0;
	}
	if (s[0] == '@') {
		if (nhi_parse_int(s + 1, 0, INT64_MAX, &t) != 0)
			return -1;
	} else if (parse_civil(s, &t) != 0)
		return -1;
	*ret_t = t;
	return 0;
}

int
nhi_parse_duration(const char *s, int64_t *ret_secs)
{
	int64_t total = 0, v, unit;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	/* A bare number is seconds; otherwise every number has a unit. */
	if (strspn(s, "0123456789") == strlen(s))
		return nhi_parse_int(s, 0, INT64_MAX, ret_secs);
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			if (v > (INT64_MAX - (*p - '0')) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		switch (*p++) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return -1;
		}
		if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
			return -1;
		total += v * unit;
	}
	*ret_secs = total;
	return 0;
}

const char *
nhi_format_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (len == 0)
		return buf;
	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, len, "@%lld", (long long)t);
	return buf;
}

int
nhi_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret_v)
{
	long long v;
	char *end;
	const char *d;

	if (s == NULL)
		return -1;
	/* strtoll skips spaces and takes '+'; neither belongs here. */
	d = s[0] == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*ret_v = v;
	return 0;
}

void
nhi_fileid_of(const struct stat *st, struct nhi_fileid *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->dev = st->st_dev;
	ret->ino = st->st_ino;
	ret->size = st->st_size;
	ret->mtime = st->st_mtim;
	ret->ctime = st->st_ctim;
}

bool
nhi_fileid_same(const char *path, const struct nhi_fileid *id)
{
	struct nhi_fileid now;
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	nhi_fileid_of(&st, &now);
	return now.dev == id->dev && now.ino == id->ino &&
	    now.size == id->size && now.mtime.tv_sec == id->mtime.tv_sec &&
	    now.mtime.tv_nsec == id->mtime.tv_nsec &&
	    now.ctime.tv_sec == id->ctime.tv_sec &&
	    now.ctime.tv_nsec == id->ctime.tv_nsec;
}

int
nhi_read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int saved, r = -1;

	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if ((uintmax_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	/* Room for the terminator: max + 1 below must not wrap to 0. */
	if (max == SIZE_MAX)
		max--;
	/* The file may grow while we read; the loop, not st_size, decides. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (len + 1 == cap) {
			char *nb;

			if (len >= max) {
				/* One probe byte tells EOF from growth. */
				char c;

				n = read(fd, &c, 1);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					goto out;
				if (n > 0) {
					errno = EFBIG;
					goto out;
				}
				break;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto out;
			buf = nb;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	saved = errno;
	free(buf);
	errno = saved;
	return r;
}

int
nhi_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	int fd, r, saved;

	/* O_NONBLOCK: a FIFO put in a file's place must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return -1;
	r = nhi_read_fd(fd, max, ret_buf, ret_len);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
}

int
nhi_open_regular(const char *path, struct stat *st, struct nhi_err *e)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return nhi_err_set(e, "%s: %s", path, strerror(errno));
	if (fstat(fd, st) != 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		nhi_err_set(e, "%s: not a regular file", path);
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
nhi_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	struct nhi_atomic a;
	int saved;

	if (nhi_atomic_open(&a, path, mode) != 0)
		return -1;
	if (write_all(a.fd, data, len) != 0) {
		saved = errno;
		nhi_atomic_abort(&a);
		errno = saved;
		return -1;
	}
	return nhi_atomic_commit(&a);
}

int
nhi_atomic_open(struct nhi_atomic *a, const char *path, mode_t mode)
{
	int saved;

	a->fd = -1;
	a->mode = mode;
	a->tmp = NULL;
	if ((a->path = strdup(path)) == NULL)
		return -1;
	if (asprintf(&a->tmp, "%s.tmp.XXXXXX", path) < 0) {
		a->tmp = NULL;
		goto fail;
	}
	if ((a->fd = mkostemp(a->tmp, O_CLOEXEC)) < 0)
		goto fail;
	/* The mode is set now, so the content is never more readable. */
	if (fchmod(a->fd, mode) != 0) {
		saved = errno;
		(void)close(a->fd);
		(void)unlink(a->tmp);
		errno = saved;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	a->fd = -1;
	errno = saved;
	return -1;
}

/* fsyncs the directory holding path, so a rename in it is durable. */
static int
sync_parent(const char *path)
{
	char *dir, *slash;
	int fd, r = -1, saved;

	if ((dir = strdup(path)) == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		r = fsync(fd);
		saved = errno;
		(void)close(fd);
		errno = saved;
	}
	saved = errno;
	free(dir);
	errno = saved;
	return r;
}

int
nhi_atomic_commit(struct nhi_atomic *a)
{
	int r = -1, saved;

	if (a->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fsync(a->fd) != 0) {
		saved = errno;
		nhi_atomic_abort(a);
		errno = saved;
		return -1;
	}
	if (close(a->fd) != 0) {
		a->fd = -1;
		saved = errno;
		nhi_atomic_abort(a);
		errno = saved;
		return -1;
	}
	a->fd = -1;
	if (rename(a->tmp, a->path) != 0) {
		saved = errno;
		nhi_atomic_abort(a);
		errno = saved;
		return -1;
	}
	r = sync_parent(a->path);
	saved = errno;
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = saved;
	return r;
}

void
nhi_atomic_abort(struct nhi_atomic *a)
{
	int saved = errno;

	if (a->fd >= 0)
		(void)close(a->fd);
	a->fd = -1;
	if (a->tmp != NULL)
		(void)unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = saved;
}

void
nhi_escape(const char *s, size_t cap, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t i, o = 0;
	bool cut = false;

	if (outlen == 0)
		return;
	p = (const unsigned char *)(s != NULL ? s : "");
	for (i = 0; p[i] != '\0'; i++) {
		if (i >= cap) {
			cut = true;
			break;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' &&
		    p[i] != '\\') {
			if (o + 1 >= outlen) {
				cut = true;
				break;
			}
			out[o++] = (char)p[i];
		} else {
			if (o + 4 >= outlen) {
				cut = true;
				break;
			}
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
		}
	}
	if (cut) {
		/* Make room for the marker, dropping whole escapes only. */
		while (o > 0 && o + 3 >= outlen) {
			if (o >= 4 && out[o - 4] == '\\' && out[o - 3] == 'x')
				o -= 4;
			else
				o--;
		}
		if (o + 3 < outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	out[o] = '\0';
}

int
nhi_buf_add(struct nhi_buf *b, const void *p, size_t n)
{
	size_t need, cap;
	char *ns;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap < 64 ? 64 : b->cap;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if ((ns = realloc(b->s, cap)) == NULL)
			return -1;
		b->s = ns;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int
nhi_buf_adds(struct nhi_buf *b, const char *s)
{
	return nhi_buf_add(b, s, strlen(s));
}

int
nhi_buf_addf(struct nhi_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	r = nhi_buf_add(b, s, (size_t)n);
	free(s);
	return r;
}

void
nhi_buf_free(struct nhi_buf *b)
{
	if (b == NULL)
		return;
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int
nhi_strv_split(const char *s, bool (*valid)(const char *),
    struct nhi_strv *ret, struct nhi_err *e)
{
	struct nhi_strv sv = { NULL, 0 };
	char item[NHI_MAX_FIELD * 4 + 1], esc[128];
	const char *p = s, *start, *end, *next;
	size_t n;
	int r = -1;

	if (s == NULL)
		return nhi_err_set(e, "empty list");
	for (;;) {
		next = strchr(p, ',');
		end = next != NULL ? next : p + strlen(p);
		start = p;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - start);
		if (n == 0) {
			nhi_err_set(e, "empty item in list");
			goto out;
		}
		if (n >= sizeof(item)) {
			nhi_err_set(e, "list item too long");
			goto out;
		}
		memcpy(item, start, n);
		item[n] = '\0';
		if (valid != NULL && !valid(item)) {
			nhi_escape(item, 64, esc, sizeof(esc));
			nhi_err_set(e, "invalid item \"%s\"", esc);
			goto out;
		}
		if (sv.n >= NHI_MAX_LIST) {
			nhi_err_set(e, "more than %d items", NHI_MAX_LIST);
			goto out;
		}
		if (nhi_strv_add(&sv, item) != 0) {
			nhi_err_set(e, "out of memory");
			goto out;
		}
		if (next == NULL)
			break;
		p = next + 1;
	}
	*ret = sv;
	sv.v = NULL;
	sv.n = 0;
	r = 0;
out:
	nhi_strv_free(&sv);
	return r;
}

int
nhi_strv_add(struct nhi_strv *sv, const char *s)
{
	char **nv, *copy;

	if (sv->n >= SIZE_MAX / sizeof(*nv) - 1)
		return -1;
	if ((copy = strdup(s)) == NULL)
		return -1;
	if ((nv = realloc(sv->v, (sv->n + 2) * sizeof(*nv))) == NULL) {
		free(copy);
		return -1;
	}
	nv[sv->n++] = copy;
	nv[sv->n] = NULL;
	sv->v = nv;
	return 0;
}

bool
nhi_strv_has(const struct nhi_strv *sv, const char *s)
{
	size_t i;

	if (sv == NULL || s == NULL)
		return false;
	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

bool
nhi_strv_match(const struct nhi_strv *sv, const char *s)
{
	size_t i;

	if (sv == NULL || s == NULL)
		return false;
	for (i = 0; i < sv->n; i++)
		if (fnmatch(sv->v[i], s, 0) == 0)
			return true;
	return false;
}

char *
nhi_strv_join(const struct nhi_strv *sv, const char *sep)
{
	struct nhi_buf b = { NULL, 0, 0 };
	size_t i;

	if (nhi_buf_add(&b, "", 0) != 0)
		return NULL;
	for (i = 0; sv != NULL && i < sv->n; i++) {
		if ((i > 0 && nhi_buf_adds(&b, sep) != 0) ||
		    nhi_buf_adds(&b, sv->v[i]) != 0) {
			nhi_buf_free(&b);
			return NULL;
		}
	}
	return b.s;
}

void
nhi_strv_free(struct nhi_strv *sv)
{
	size_t i;

	if (sv == NULL)
		return;
	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void
nhi_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void
nhi_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		sodium_memzero(p, n);
}
