/*
 * fuzz_nss.c: libnss_nhi.so.2's reader over a whole index file, through
 * the module's own entry points (_nss_nhi_*), compiled into the target
 * from nss_nhi/ so that the fuzzer sees their coverage.
 *
 * The input is installed by rename at the path NHI_NSS_INDEX names, as
 * nhictl sync installs it, so the module maps each input anew. Every key
 * of the file is then looked up by name or id with a large buffer and a
 * small one, initgroups is asked for each member record, and both
 * enumerations are walked. Whatever the file holds, an entry point
 * answers with a status glibc knows, a filled entry holds no ':' or
 * newline, and errno is left alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "fuzz.h"

#define MAX_LOOKUPS 64
#define MAX_ENUM 256

enum nss_status _nss_nhi_getpwnam_r(const char *, struct passwd *, char *,
    size_t, int *);
enum nss_status _nss_nhi_getpwuid_r(uid_t, struct passwd *, char *, size_t,
    int *);
enum nss_status _nss_nhi_setpwent(int);
enum nss_status _nss_nhi_getpwent_r(struct passwd *, char *, size_t, int *);
enum nss_status _nss_nhi_endpwent(void);
enum nss_status _nss_nhi_getgrnam_r(const char *, struct group *, char *,
    size_t, int *);
enum nss_status _nss_nhi_getgrgid_r(gid_t, struct group *, char *, size_t,
    int *);
enum nss_status _nss_nhi_setgrent(int);
enum nss_status _nss_nhi_getgrent_r(struct group *, char *, size_t, int *);
enum nss_status _nss_nhi_endgrent(void);
enum nss_status _nss_nhi_initgroups_dyn(const char *, gid_t, long int *,
    long int *, gid_t **, long int, int *);

static char dir[64], idx[96], tmp[96];
static char big[65536];
static char small[24];

static void
cleanup(void)
{
	(void)unlink(idx);
	(void)unlink(tmp);
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");

	(void)snprintf(dir, sizeof(dir), "%s/fuzz_nss.XXXXXX",
	    t != NULL && *t == '/' && strlen(t) < 40 ? t : "/tmp");
	FUZZ_ASSERT(mkdtemp(dir) != NULL);
	(void)snprintf(idx, sizeof(idx), "%s/nss.cdb", dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/nss.cdb.new", dir);
	FUZZ_ASSERT(setenv("NHI_NSS_INDEX", idx, 1) == 0);
	FUZZ_ASSERT(atexit(cleanup) == 0);
	return 0;
}

static void
status_ok(enum nss_status st, int err)
{
	FUZZ_ASSERT(st == NSS_STATUS_SUCCESS || st == NSS_STATUS_NOTFOUND ||
	    st == NSS_STATUS_UNAVAIL || st == NSS_STATUS_TRYAGAIN);
	if (st == NSS_STATUS_TRYAGAIN)
		FUZZ_ASSERT(err == ERANGE);
}

static void
field_ok(const char *s)
{
	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(strpbrk(s, ":\n") == NULL);
}

static void
pw_ok(enum nss_status st, int err, const struct passwd *pw)
{
	status_ok(st, err);
	if (st != NSS_STATUS_SUCCESS)
		return;
	field_ok(pw->pw_name);
	field_ok(pw->pw_gecos);
	field_ok(pw->pw_dir);
	field_ok(pw->pw_shell);
	FUZZ_ASSERT(pw->pw_uid != 0 && pw->pw_gid != 0);
}

static void
gr_ok(enum nss_status st, int err, const struct group *gr)
{
	size_t i;

	status_ok(st, err);
	if (st != NSS_STATUS_SUCCESS)
		return;
	field_ok(gr->gr_name);
	FUZZ_ASSERT(gr->gr_gid != 0 && gr->gr_mem != NULL);
	for (i = 0; gr->gr_mem[i] != NULL; i++)
		field_ok(gr->gr_mem[i]);
}

/*
 * Each lookup runs with a large buffer and a small one; the status is
 * read before *errnop (argument order is unspecified in C).
 */
static void
pwnam(const char *name, char *buf, size_t len)
{
	struct passwd pw;
	enum nss_status st;
	int err = 0;

	st = _nss_nhi_getpwnam_r(name, &pw, buf, len, &err);
	pw_ok(st, err, &pw);
}

static void
pwuid(uid_t uid, char *buf, size_t len)
{
	struct passwd pw;
	enum nss_status st;
	int err = 0;

	st = _nss_nhi_getpwuid_r(uid, &pw, buf, len, &err);
	pw_ok(st, err, &pw);
}

static void
grnam(const char *name, char *buf, size_t len)
{
	struct group gr;
	enum nss_status st;
	int err = 0;

	st = _nss_nhi_getgrnam_r(name, &gr, buf, len, &err);
	gr_ok(st, err, &gr);
}

static void
grgid(gid_t gid, char *buf, size_t len)
{
	struct group gr;
	enum nss_status st;
	int err = 0;

	st = _nss_nhi_getgrgid_r(gid, &gr, buf, len, &err);
	gr_ok(st, err, &gr);
}

static void
groups_of(const char *name)
{
	enum nss_status st;
	long int start = 0, size = 1;
	gid_t *groups = malloc(sizeof(*groups));
	int err = 0;

	FUZZ_ASSERT(groups != NULL);
	st = _nss_nhi_initgroups_dyn(name, 1, &start, &size, &groups, 8,
	    &err);
	FUZZ_ASSERT(st == NSS_STATUS_SUCCESS || st == NSS_STATUS_NOTFOUND ||
	    st == NSS_STATUS_UNAVAIL);
	FUZZ_ASSERT(start >= 0 && start <= size && size <= 8);
	free(groups);
}

static void
by_name(char tag, const char *name)
{
	switch (tag) {
	case 'p':
		pwnam(name, big, sizeof(big));
		pwnam(name, small, sizeof(small));
		break;
	case 'g':
		grnam(name, big, sizeof(big));
		grnam(name, small, sizeof(small));
		break;
	case 'm':
		groups_of(name);
		break;
	default:
		break;
	}
}

static void
by_id(char tag, const char *s)
{
	unsigned long id;
	char *end;

	errno = 0;
	id = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || id > UINT32_MAX)
		return;
	if (tag == 'u') {
		pwuid((uid_t)id, big, sizeof(big));
		pwuid((uid_t)id, small, sizeof(small));
	} else {
		grgid((gid_t)id, big, sizeof(big));
		grgid((gid_t)id, small, sizeof(small));
	}
}

static void
lookup_keys(void)
{
	struct cdb c;
	unsigned pos, n = 0, klen;
	char key[300];
	int fd;

	if ((fd = open(idx, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (cdb_init(&c, fd) != 0) {
		(void)close(fd);
		return;
	}
	cdb_seqinit(&pos, &c);
	while (n++ < MAX_LOOKUPS && cdb_seqnext(&pos, &c) > 0) {
		klen = cdb_keylen(&c);
		if (klen < 2 || klen >= sizeof(key) ||
		    cdb_readkey(&c, key) != 0)
			continue;
		key[klen] = '\0';
		if (strlen(key) != klen)
			continue;
		if (key[0] == 'u' || key[0] == 'h')
			by_id(key[0], key + 1);
		else
			by_name(key[0], key + 1);
	}
	cdb_free(&c);
	(void)close(fd);
}

static void
enumerate(void)
{
	struct passwd pw;
	struct group gr;
	enum nss_status st;
	int err = 0, i;

	status_ok(_nss_nhi_setpwent(0), 0);
	for (i = 0; i < MAX_ENUM; i++) {
		/* Every other call too small: the entry must come again. */
		st = _nss_nhi_getpwent_r(&pw, (i & 1) != 0 ? big : small,
		    (i & 1) != 0 ? sizeof(big) : sizeof(small), &err);
		pw_ok(st, err, &pw);
		if (st != NSS_STATUS_SUCCESS && st != NSS_STATUS_TRYAGAIN)
			break;
	}
	(void)_nss_nhi_endpwent();
	status_ok(_nss_nhi_setgrent(0), 0);
	for (i = 0; i < MAX_ENUM; i++) {
		st = _nss_nhi_getgrent_r(&gr, (i & 1) != 0 ? big : small,
		    (i & 1) != 0 ? sizeof(big) : sizeof(small), &err);
		gr_ok(st, err, &gr);
		if (st != NSS_STATUS_SUCCESS && st != NSS_STATUS_TRYAGAIN)
			break;
	}
	(void)_nss_nhi_endgrent();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, data, size) == (ssize_t)size);
	FUZZ_ASSERT(close(fd) == 0);
	FUZZ_ASSERT(rename(tmp, idx) == 0);

	/* The module changes errno only through *errnop. */
	errno = 4242;
	by_name('p', "deploy");
	by_name('g', "deploy");
	FUZZ_ASSERT(errno == 4242);
	lookup_keys();
	enumerate();
	return 0;
}
