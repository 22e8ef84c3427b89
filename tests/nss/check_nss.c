/*
 * check_nss: calls libnss_nhi.so.2 the way glibc does (dlopen, dlsym of
 * each _nss_nhi_* entry point) against indexes written by the real writer.
 * The module is found through NHI_NSS_MODULE, else in the build tree; the
 * index through NHI_NSS_INDEX, which each test points at its own file.
 */
#include "config.h"

#include <cdb.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "nssidx.h"
#include "../unit/testutil.h"

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *,
    size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t,
    int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *,
    size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t,
    int *);
typedef enum nss_status (*setent_fn)(int);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*endent_fn)(void);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *,
    long int *, gid_t **, long int, int *);

static struct {
	void *dl;
	pwnam_fn getpwnam_r;
	pwuid_fn getpwuid_r;
	grnam_fn getgrnam_r;
	grgid_fn getgrgid_r;
	setent_fn setpwent, setgrent;
	pwent_fn getpwent_r;
	grent_fn getgrent_r;
	endent_fn endpwent, endgrent;
	initgroups_fn initgroups_dyn;
} nss;

static char *dir, *idx;

#define N_FIXTURE_USERS 3
#define N_FIXTURE_GROUPS 4

/* The fixture: what the tests expect to read back. */
static const struct fx_user {
	const char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
} fx_users[N_FIXTURE_USERS] = {
	{ "nhi-7f3a2c", "nhi owner alice@example.com", "/home/nhi-7f3a2c",
	  "/bin/sh", 70001, 70001 },
	{ "nhi-b0b", "nhi owner bob@example.com", "/nonexistent",
	  "/usr/sbin/nologin", 70002, 70010 },
	{ "svc.deploy_x", "", "/", "/bin/false", 70003, 70003 },
};

static const struct fx_group {
	const char *name;
	uint32_t gid;
	const char *mem[3];
} fx_groups[N_FIXTURE_GROUPS] = {
	{ "nhi-7f3a2c", 70001, { NULL } },
	{ "nhi-ops", 70010, { "nhi-7f3a2c", "nhi-b0b", NULL } },
	{ "nhi-empty", 70011, { NULL } },
	{ "nhi-audit", 70012, { "nhi-7f3a2c", NULL } },
};

static void
load_module(void)
{
	const char *top = getenv("top_builddir");
	const char *path = getenv("NHI_NSS_MODULE");
	char *p = NULL;

	if (path == NULL) {
		if (asprintf(&p, "%s/nss_nhi/.libs/libnss_nhi.so.2",
		    top != NULL ? top : ".") < 0)
			abort();
		path = p;
	}
	nss.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(nss.dl != NULL, "dlopen %s: %s", path, dlerror());
	free(p);
#define SYM(f) ck_assert_ptr_nonnull(*(void **)&nss.f = \
	    dlsym(nss.dl, "_nss_nhi_" #f))
	SYM(getpwnam_r);
	SYM(getpwuid_r);
	SYM(getgrnam_r);
	SYM(getgrgid_r);
	SYM(setpwent);
	SYM(getpwent_r);
	SYM(endpwent);
	SYM(setgrent);
	SYM(getgrent_r);
	SYM(endgrent);
	SYM(initgroups_dyn);
#undef SYM
}

/* Writes the fixture to path through the real writer. */
static void
write_fixture_to(const char *path, bool enumerate, const char *gecos0)
{
	struct nhi_nssidx_writer *w;
	struct nhi_err e;
	const uint32_t g0[] = { 70010, 70012 }, g1[] = { 70010 };
	size_t i, j;

	ck_assert_int_eq(nhi_nssidx_create(path, &w, &e), 0);
	nhi_nssidx_set_enumerate(w, enumerate);
	for (i = 0; i < N_FIXTURE_USERS; i++) {
		const struct fx_user *u = &fx_users[i];

		ck_assert_msg(nhi_nssidx_add_user(w, u->name, u->uid, u->gid,
		    i == 0 && gecos0 != NULL ? gecos0 : u->gecos, u->dir,
		    u->shell, &e) == 0, "%s", e.msg);
	}
	for (i = 0; i < N_FIXTURE_GROUPS; i++) {
		struct nhi_strv sv = { 0 };

		for (j = 0; fx_groups[i].mem[j] != NULL; j++)
			ck_assert_int_eq(nhi_strv_add(&sv,
			    fx_groups[i].mem[j]), 0);
		ck_assert_msg(nhi_nssidx_add_group(w, fx_groups[i].name,
		    fx_groups[i].gid, &sv, &e) == 0, "%s", e.msg);
		nhi_strv_free(&sv);
	}
	ck_assert_int_eq(nhi_nssidx_add_member(w, "nhi-7f3a2c", g0, 2, &e),
	    0);
	ck_assert_int_eq(nhi_nssidx_add_member(w, "nhi-b0b", g1, 1, &e), 0);
	ck_assert_msg(nhi_nssidx_commit(w, &e) == 0, "%s", e.msg);
}

static void
write_fixture(bool enumerate)
{
	write_fixture_to(idx, enumerate, NULL);
}

static void
setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&idx, "%s/nss.cdb", dir) < 0)
		abort();
	setenv("NHI_NSS_INDEX", idx, 1);
	load_module();
}

static void
teardown(void)
{
	free(idx);
	tu_rmtree(dir);
}

static bool
in_buf(const char *p, const char *buf, size_t len)
{
	return p >= buf && p + strlen(p) < buf + len;
}

static void
assert_user(const struct passwd *pw, const struct fx_user *u,
    const char *buf, size_t len)
{
	ck_assert_str_eq(pw->pw_name, u->name);
	ck_assert_str_eq(pw->pw_passwd, "x");
	ck_assert_uint_eq(pw->pw_uid, u->uid);
	ck_assert_uint_eq(pw->pw_gid, u->gid);
	ck_assert_str_eq(pw->pw_gecos, u->gecos);
	ck_assert_str_eq(pw->pw_dir, u->dir);
	ck_assert_str_eq(pw->pw_shell, u->shell);
	ck_assert(in_buf(pw->pw_name, buf, len));
	ck_assert(in_buf(pw->pw_passwd, buf, len));
	ck_assert(in_buf(pw->pw_gecos, buf, len));
	ck_assert(in_buf(pw->pw_dir, buf, len));
	ck_assert(in_buf(pw->pw_shell, buf, len));
}

static void
assert_group(const struct group *gr, const struct fx_group *g,
    const char *buf, size_t len)
{
	size_t i;

	ck_assert_str_eq(gr->gr_name, g->name);
	ck_assert_str_eq(gr->gr_passwd, "x");
	ck_assert_uint_eq(gr->gr_gid, g->gid);
	ck_assert(in_buf(gr->gr_name, buf, len));
	ck_assert_uint_eq((uintptr_t)gr->gr_mem % alignof(char *), 0);
	ck_assert((const char *)gr->gr_mem >= buf &&
	    (const char *)gr->gr_mem < buf + len);
	for (i = 0; g->mem[i] != NULL; i++) {
		ck_assert_ptr_nonnull(gr->gr_mem[i]);
		ck_assert_str_eq(gr->gr_mem[i], g->mem[i]);
		ck_assert(in_buf(gr->gr_mem[i], buf, len));
	}
	ck_assert_ptr_null(gr->gr_mem[i]);
}

/* Bytes a passwd entry needs: five strings with their NULs. */
static size_t
user_size(const struct fx_user *u)
{
	return strlen(u->name) + 1 + 2 + strlen(u->gecos) + 1 + strlen(u->dir) +
	    1 + strlen(u->shell) + 1;
}

/*
 * Every buffer size from 0 up: ERANGE below the size the entry needs,
 * the entry at and above it. The buffer is a heap block of exactly that
 * size, so a write past its end shows under ASan and valgrind.
 */
static void
user_sizes(bool by_uid)
{
	size_t i, len;

	write_fixture(false);
	for (i = 0; i < N_FIXTURE_USERS; i++) {
		const struct fx_user *u = &fx_users[i];
		size_t need = user_size(u);

		for (len = 0; len <= need + 16; len++) {
			char *buf = malloc(len > 0 ? len : 1);
			struct passwd pw;
			int err = 0;
			enum nss_status st;

			st = by_uid ?
			    nss.getpwuid_r(u->uid, &pw, buf, len, &err) :
			    nss.getpwnam_r(u->name, &pw, buf, len, &err);
			if (len < need) {
				ck_assert_int_eq(st, NSS_STATUS_TRYAGAIN);
				ck_assert_int_eq(err, ERANGE);
			} else {
				ck_assert_int_eq(st, NSS_STATUS_SUCCESS);
				assert_user(&pw, u, buf, len);
			}
			free(buf);
		}
	}
}

START_TEST(getpwnam_every_buffer_size_is_erange_then_the_entry)
{
	user_sizes(false);
}
END_TEST

START_TEST(getpwuid_every_buffer_size_is_erange_then_the_entry)
{
	user_sizes(true);
}
END_TEST

/*
 * Groups hold a pointer array: each size is tried at every misalignment
 * of the buffer start, and the minimum found must be monotonic (once an
 * entry fits, every larger buffer fits too).
 */
static void
group_sizes(bool by_gid)
{
	size_t i, len, off;

	write_fixture(false);
	for (i = 0; i < N_FIXTURE_GROUPS; i++) {
		const struct fx_group *g = &fx_groups[i];

		for (off = 0; off < alignof(char *); off++) {
			bool fitted = false;

			for (len = 0; len <= 160; len++) {
				char *block = malloc(off + len + 1);
				char *buf = block + off;
				struct group gr;
				int err = 0;
				enum nss_status st;

				st = by_gid ?
				    nss.getgrgid_r(g->gid, &gr, buf, len,
				    &err) :
				    nss.getgrnam_r(g->name, &gr, buf, len,
				    &err);
				if (st == NSS_STATUS_TRYAGAIN) {
					ck_assert(!fitted);
					ck_assert_int_eq(err, ERANGE);
				} else {
					ck_assert_int_eq(st,
					    NSS_STATUS_SUCCESS);
					assert_group(&gr, g, buf, len);
					fitted = true;
				}
				free(block);
			}
			ck_assert(fitted);
		}
	}
}

START_TEST(getgrnam_every_buffer_size_and_alignment)
{
	group_sizes(false);
}
END_TEST

START_TEST(getgrgid_every_buffer_size_and_alignment)
{
	group_sizes(true);
}
END_TEST

/*
 * Enumeration with a buffer that starts at 0 bytes and grows by one after
 * each ERANGE: every entry comes exactly once, in order, then NOTFOUND.
 */
START_TEST(getpwent_lists_every_user_once_growing_from_zero)
{
	size_t seen = 0, len = 0, ranges = 0;
	char *buf = NULL;
	struct passwd pw;
	int err;
	enum nss_status st;

	write_fixture(true);
	ck_assert_int_eq(nss.setpwent(0), NSS_STATUS_SUCCESS);
	for (;;) {
		free(buf);
		buf = malloc(len > 0 ? len : 1);
		st = nss.getpwent_r(&pw, buf, len, &err);
		if (st == NSS_STATUS_TRYAGAIN) {
			ck_assert_int_eq(err, ERANGE);
			len++;
			ranges++;
			continue;
		}
		if (st == NSS_STATUS_NOTFOUND)
			break;
		ck_assert_int_eq(st, NSS_STATUS_SUCCESS);
		ck_assert_uint_lt(seen, N_FIXTURE_USERS);
		assert_user(&pw, &fx_users[seen], buf, len);
		seen++;
		len = 0;
	}
	free(buf);
	ck_assert_uint_eq(seen, N_FIXTURE_USERS);
	ck_assert_uint_gt(ranges, 0);
	ck_assert_int_eq(nss.endpwent(), NSS_STATUS_SUCCESS);
}
END_TEST

START_TEST(getgrent_lists_every_group_once_growing_from_zero)
{
	size_t seen = 0, len = 0;
	char *buf = NULL;
	struct group gr;
	int err;
	enum nss_status st;

	write_fixture(true);
	ck_assert_int_eq(nss.setgrent(0), NSS_STATUS_SUCCESS);
	for (;;) {
		free(buf);
		buf = malloc(len > 0 ? len : 1);
		st = nss.getgrent_r(&gr, buf, len, &err);
		if (st == NSS_STATUS_TRYAGAIN) {
			ck_assert_int_eq(err, ERANGE);
			len++;
			continue;
		}
		if (st == NSS_STATUS_NOTFOUND)
			break;
		ck_assert_int_eq(st, NSS_STATUS_SUCCESS);
		ck_assert_uint_lt(seen, N_FIXTURE_GROUPS);
		assert_group(&gr, &fx_groups[seen], buf, len);
		seen++;
		len = 0;
	}
	free(buf);
	ck_assert_uint_eq(seen, N_FIXTURE_GROUPS);
	ck_assert_int_eq(nss.endgrent(), NSS_STATUS_SUCCESS);
}
END_TEST

START_TEST(enumeration_off_lists_nothing_but_lookups_work)
{
	char buf[1024];
	struct passwd pw;
	struct group gr;
	int err;

	write_fixture(false);
	ck_assert_int_eq(nss.setpwent(0), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(nss.getpwent_r(&pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.endpwent(), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(nss.getgrent_r(&gr, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.getpwnam_r("nhi-b0b", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_SUCCESS);
}
END_TEST

START_TEST(absent_names_and_ids_are_notfound_in_a_valid_index)
{
	char buf[1024];
	struct passwd pw;
	struct group gr;
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	int err;

	write_fixture(true);
	err = 0;
	ck_assert_int_eq(nss.getpwnam_r("nhi-absent", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(err, ENOENT);
	ck_assert_int_eq(nss.getpwuid_r(70099, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.getgrnam_r("nhi-absent", &gr, buf, sizeof(buf),
	    &err), NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.getgrgid_r(70099, &gr, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND);
	/* A group name is not a user name: the tags keep them apart. */
	ck_assert_int_eq(nss.getpwnam_r("nhi-ops", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.initgroups_dyn("svc.deploy_x", 70003, &start,
	    &size, &groups, 0, &err), NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.getpwuid_r(0, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND);
	/* Matching is byte for byte. */
	ck_assert_int_eq(nss.getpwnam_r("NHI-B0B", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_NOTFOUND);
	free(groups);
}
END_TEST

static const char *const invalid_names[] = {
	"", "a:b", "-abc", "a b", "a/b", "a\nb", "\001abc", "ab\x7f",
	"nhi-7f3a2c:", "nhi-7f3a2c\n", "\xc3\xa9t\xc3\xa9",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",	/* 33 bytes */
};

/* Invalid names never reach the index: NOTFOUND even when it is missing. */
START_TEST(invalid_names_are_notfound_without_an_index)
{
	char buf[1024], big[301];
	struct passwd pw;
	struct group gr;
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	size_t i;
	int err;

	memset(big, 'a', 300);
	big[300] = '\0';
	for (i = 0; i <= sizeof(invalid_names) / sizeof(invalid_names[0]);
	    i++) {
		const char *n = i < sizeof(invalid_names) /
		    sizeof(invalid_names[0]) ? invalid_names[i] : big;

		err = 0;
		ck_assert_int_eq(nss.getpwnam_r(n, &pw, buf, sizeof(buf),
		    &err), NSS_STATUS_NOTFOUND);
		ck_assert_int_eq(err, ENOENT);
		ck_assert_int_eq(nss.getgrnam_r(n, &gr, buf, sizeof(buf),
		    &err), NSS_STATUS_NOTFOUND);
		ck_assert_int_eq(nss.initgroups_dyn(n, 1, &start, &size,
		    &groups, 0, &err), NSS_STATUS_NOTFOUND);
	}
	ck_assert_int_eq(nss.getpwnam_r(NULL, &pw, buf, sizeof(buf), &err),
	    NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.getpwuid_r((uid_t)-1, &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_NOTFOUND);
	ck_assert_int_eq(nss.getgrgid_r((gid_t)-1, &gr, buf, sizeof(buf),
	    &err), NSS_STATUS_NOTFOUND);
	/* Still valid names: UNAVAIL, since there is no index. */
	ck_assert_int_eq(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_UNAVAIL);
	free(groups);
}
END_TEST

/* Every lookup kind, for a present and an absent key: all UNAVAIL. */
static void
assert_all_unavail(const char *what)
{
	char buf[1024];
	struct passwd pw;
	struct group gr;
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	int err;

	err = 0;
	ck_assert_msg(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err) == NSS_STATUS_UNAVAIL, "%s: getpwnam", what);
	ck_assert_int_ne(err, 0);
	ck_assert_msg(nss.getpwnam_r("nhi-absent", &pw, buf, sizeof(buf),
	    &err) == NSS_STATUS_UNAVAIL, "%s: getpwnam absent", what);
	ck_assert_msg(nss.getpwuid_r(70001, &pw, buf, sizeof(buf), &err) ==
	    NSS_STATUS_UNAVAIL, "%s: getpwuid", what);
	ck_assert_msg(nss.getgrnam_r("nhi-ops", &gr, buf, sizeof(buf),
	    &err) == NSS_STATUS_UNAVAIL, "%s: getgrnam", what);
	ck_assert_msg(nss.getgrgid_r(70010, &gr, buf, sizeof(buf), &err) ==
	    NSS_STATUS_UNAVAIL, "%s: getgrgid", what);
	ck_assert_msg(nss.initgroups_dyn("nhi-7f3a2c", 70001, &start, &size,
	    &groups, 0, &err) == NSS_STATUS_UNAVAIL, "%s: initgroups", what);
	ck_assert_msg(nss.getpwent_r(&pw, buf, sizeof(buf), &err) ==
	    NSS_STATUS_UNAVAIL, "%s: getpwent", what);
	(void)nss.endpwent();
	free(groups);
}

static void
write_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
}

static char *
read_index(size_t *ret_len)
{
	char *p;

	ck_assert_int_eq(nhi_read_file(idx, 1 << 20, &p, ret_len), 0);
	return p;
}

/*
 * Waits out the module's revalidation bound: a file installed by rename
 * before this returns is seen by the next call.
 */
static void
wait_revalidation(void)
{
	ck_assert_int_eq(usleep((NHI_NSSIDX_REVALIDATE_MS + 20) * 1000), 0);
}

/* Installs bytes by rename, as nhictl does, under a fresh inode. */
static void
install_bytes(const void *p, size_t n)
{
	char *tmp;

	if (asprintf(&tmp, "%s.new", idx) < 0)
		abort();
	write_bytes(tmp, p, n);
	ck_assert_int_eq(rename(tmp, idx), 0);
	free(tmp);
}

START_TEST(missing_index_is_unavail)
{
	assert_all_unavail("missing");
}
END_TEST

/* A FIFO in the index's place: UNAVAIL at once, never a wait. */
START_TEST(fifo_in_place_of_the_index_is_unavail)
{
	ck_assert_int_eq(mkfifo(idx, 0644), 0);
	assert_all_unavail("fifo");
}
END_TEST

START_TEST(empty_zeroed_and_random_indexes_are_unavail)
{
	size_t len, i;
	char *good = NULL, *bad;
	int fd;

	write_fixture(true);
	good = read_index(&len);
	install_bytes("", 0);
	assert_all_unavail("empty");
	bad = calloc(1, len);
	install_bytes(bad, len);
	assert_all_unavail("zeroed");
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(read(fd, bad, len), (ssize_t)len);
		install_bytes(bad, len);
		assert_all_unavail("random");
	}
	close(fd);
	/* A directory where the file should be. */
	ck_assert_int_eq(unlink(idx), 0);
	ck_assert_int_eq(mkdir(idx, 0755), 0);
	assert_all_unavail("directory");
	free(bad);
	free(good);
}
END_TEST

/* The index cut at every length, and with bytes appended. */
START_TEST(truncated_and_extended_indexes_are_unavail)
{
	size_t len, cut;
	char *good, *longer;
	char what[64];

	write_fixture(true);
	good = read_index(&len);
	for (cut = 0; cut < len; cut++) {
		install_bytes(good, cut);
		snprintf(what, sizeof(what), "cut at %zu of %zu", cut, len);
		assert_all_unavail(what);
	}
	longer = calloc(1, len + 8);
	memcpy(longer, good, len);
	install_bytes(longer, len + 8);
	assert_all_unavail("extended");
	free(longer);
	free(good);
}
END_TEST

/* Flips one byte of the meta record: version, magic, flags. */
static void
assert_meta_change_unavail(size_t off, unsigned char value)
{
	char *p, *meta;
	size_t len;

	write_fixture(true);
	p = read_index(&len);
	meta = memmem(p, len, NHI_NSSIDX_MAGIC, NHI_NSSIDX_MAGIC_LEN);
	ck_assert_ptr_nonnull(meta);
	meta[off] = (char)value;
	install_bytes(p, len);
	assert_all_unavail("meta changed");
	free(p);
}

START_TEST(other_format_version_is_unavail)
{
	assert_meta_change_unavail(NHI_NSSIDX_MAGIC_LEN - 1,
	    (unsigned char)(NHI_NSSIDX_MAGIC[NHI_NSSIDX_MAGIC_LEN - 1] + 1));
}
END_TEST

START_TEST(other_magic_is_unavail)
{
	assert_meta_change_unavail(0, 'X');
}
END_TEST

START_TEST(unknown_flag_is_unavail)
{
	assert_meta_change_unavail(NHI_NSSIDX_MAGIC_LEN, 0x81);
}
END_TEST

/* A well-formed cdb whose records break the format: UNAVAIL, no crash. */
START_TEST(records_of_the_wrong_shape_are_unavail)
{
	static const struct {
		const char *key;
		size_t klen;
		const char *val;
		size_t vlen;
	} bad[] = {
		{ "pa", 2, "a\0" "5\0" "5\0" "g\0" "/\0" "/", 11 },
		{ "pa", 2, "a\0" "5\0" "5\0" "g\0" "/\0", 10 },
		{ "pa", 2, "a\0" "5\0" "5\0" "g\0" "/\0" "/\0" "x\0", 14 },
		{ "pa", 2, "a\0" "0\0" "5\0" "g\0" "/\0" "/\0", 12 },
		{ "pa", 2, "a\0" "05\0" "5\0" "g\0" "/\0" "/\0", 13 },
		{ "pa", 2, "a\0" "5\0" "5\0" "g:h\0" "/\0" "/\0", 14 },
		{ "pa", 2, "a\0" "5\0" "5\0" "g\nh\0" "/\0" "/\0", 14 },
		{ "pa", 2, "b\0" "5\0" "5\0" "g\0" "/\0" "/\0", 12 },
		{ "pa", 2, "a\0" "4294967295\0" "5\0" "g\0" "/\0" "/\0", 21 },
		{ "pa", 2, "", 0 },
	};
	struct cdb_make cm;
	unsigned char meta[NHI_NSSIDX_META_LEN] = { 0 };
	char buf[256];
	struct passwd pw;
	char *tmp;
	size_t i;
	int fd, err;

	if (asprintf(&tmp, "%s.new", idx) < 0)
		abort();
	memcpy(meta, NHI_NSSIDX_MAGIC, NHI_NSSIDX_MAGIC_LEN);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(cdb_make_start(&cm, fd), 0);
		ck_assert_int_eq(cdb_make_add(&cm, NHI_NSSIDX_META_KEY,
		    NHI_NSSIDX_META_KEYLEN, meta, sizeof(meta)), 0);
		ck_assert_int_eq(cdb_make_add(&cm, bad[i].key,
		    (unsigned)bad[i].klen, bad[i].val, (unsigned)bad[i].vlen),
		    0);
		ck_assert_int_eq(cdb_make_finish(&cm), 0);
		ck_assert_int_eq(close(fd), 0);
		ck_assert_int_eq(rename(tmp, idx), 0);
		ck_assert_msg(nss.getpwnam_r("a", &pw, buf, sizeof(buf),
		    &err) == NSS_STATUS_UNAVAIL, "record %zu", i);
	}
	free(tmp);
}
END_TEST

/*
 * References by uid that lead astray: UNAVAIL, never another entry or a
 * read outside the data area. The last one is right, so the check can
 * fail.
 */
START_TEST(uid_references_leading_astray_are_unavail)
{
	static const char pa[] = "a\0" "5\0" "5\0" "g\0" "/\0" "/";
	const unsigned at = NHI_NSSIDX_DATA_START + 8 +
	    NHI_NSSIDX_META_KEYLEN + NHI_NSSIDX_META_LEN;
	const struct {
		const char *name;
		size_t nlen;	/* with the NUL, or without for "no NUL" */
		unsigned pos;
		enum nss_status want;
	} ref[] = {
		{ "a", 2, 0, NSS_STATUS_UNAVAIL },
		{ "a", 2, 2047, NSS_STATUS_UNAVAIL },
		{ "a", 2, NHI_NSSIDX_DATA_START, NSS_STATUS_UNAVAIL },
		{ "a", 2, at + 1, NSS_STATUS_UNAVAIL },
		{ "a", 2, 0xfffffff0u, NSS_STATUS_UNAVAIL },
		{ "b", 2, at, NSS_STATUS_UNAVAIL },
		{ "ab", 2, at, NSS_STATUS_UNAVAIL },
		{ "a", 1, at, NSS_STATUS_UNAVAIL },
		{ "", 1, at, NSS_STATUS_UNAVAIL },
		{ "a", 2, at, NSS_STATUS_SUCCESS },
	};
	unsigned char meta[NHI_NSSIDX_META_LEN] = { 0 }, v[16];
	struct cdb_make cm;
	char buf[256], *tmp;
	struct passwd pw;
	size_t i;
	int fd, err;

	if (asprintf(&tmp, "%s.new", idx) < 0)
		abort();
	memcpy(meta, NHI_NSSIDX_MAGIC, NHI_NSSIDX_MAGIC_LEN);
	for (i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
		memcpy(v, ref[i].name, ref[i].nlen);
		cdb_pack(ref[i].pos, v + ref[i].nlen);
		fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(cdb_make_start(&cm, fd), 0);
		ck_assert_int_eq(cdb_make_add(&cm, NHI_NSSIDX_META_KEY,
		    NHI_NSSIDX_META_KEYLEN, meta, sizeof(meta)), 0);
		ck_assert_int_eq(cdb_make_add(&cm, "pa", 2, pa, sizeof(pa)),
		    0);
		ck_assert_int_eq(cdb_make_add(&cm, "u5", 2, v,
		    (unsigned)ref[i].nlen + 4), 0);
		ck_assert_int_eq(cdb_make_finish(&cm), 0);
		ck_assert_int_eq(close(fd), 0);
		ck_assert_int_eq(rename(tmp, idx), 0);
		ck_assert_msg(nss.getpwuid_r(5, &pw, buf, sizeof(buf), &err) ==
		    ref[i].want, "reference %zu", i);
	}
	ck_assert_str_eq(pw.pw_name, "a");
	free(tmp);
}
END_TEST

/* errno stays as it was, whatever the outcome; results go via *errnop. */
START_TEST(errno_is_left_alone)
{
	char buf[1024];
	struct passwd pw;
	struct group gr;
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	int err;

#define KEEPS_ERRNO(call) do {						\
	errno = 4242;							\
	(void)(call);							\
	ck_assert_msg(errno == 4242, "%s changed errno to %d", #call,	\
	    errno);							\
} while (0)
	KEEPS_ERRNO(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err));
	write_fixture(true);
	KEEPS_ERRNO(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err));
	KEEPS_ERRNO(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, 3, &err));
	KEEPS_ERRNO(nss.getpwnam_r("nhi-none", &pw, buf, sizeof(buf), &err));
	KEEPS_ERRNO(nss.getpwnam_r("a:b", &pw, buf, sizeof(buf), &err));
	KEEPS_ERRNO(nss.getpwuid_r(70001, &pw, buf, sizeof(buf), &err));
	KEEPS_ERRNO(nss.getgrnam_r("nhi-ops", &gr, buf, 5, &err));
	KEEPS_ERRNO(nss.getgrgid_r(70010, &gr, buf, sizeof(buf), &err));
	KEEPS_ERRNO(nss.initgroups_dyn("nhi-7f3a2c", 1, &start, &size,
	    &groups, 0, &err));
	KEEPS_ERRNO(nss.setpwent(0));
	KEEPS_ERRNO(nss.getpwent_r(&pw, buf, sizeof(buf), &err));
	KEEPS_ERRNO(nss.endpwent());
	KEEPS_ERRNO(nss.setgrent(0));
	KEEPS_ERRNO(nss.getgrent_r(&gr, buf, sizeof(buf), &err));
	KEEPS_ERRNO(nss.endgrent());
	install_bytes("garbage", 7);
	wait_revalidation();
	ck_assert_int_eq(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_UNAVAIL);
	KEEPS_ERRNO(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err));
#undef KEEPS_ERRNO
	free(groups);
}
END_TEST

START_TEST(initgroups_adds_member_gids_once_and_skips_the_primary)
{
	long int start, size;
	gid_t *groups;
	int err;

	write_fixture(true);
	/* As glibc calls it: the primary gid already in the list. */
	start = 1;
	size = 1;
	groups = malloc(sizeof(*groups));
	groups[0] = 70010;
	ck_assert_int_eq(nss.initgroups_dyn("nhi-7f3a2c", 70010, &start,
	    &size, &groups, 0, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(start, 2);
	ck_assert_int_ge(size, start);
	ck_assert_uint_eq(groups[0], 70010);
	ck_assert_uint_eq(groups[1], 70012);
	/* A gid already listed by an earlier module is not added again. */
	ck_assert_int_eq(nss.initgroups_dyn("nhi-7f3a2c", 1, &start, &size,
	    &groups, 0, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(start, 2);
	free(groups);

	/* The limit caps the list. */
	start = 0;
	size = 0;
	groups = NULL;
	ck_assert_int_eq(nss.initgroups_dyn("nhi-7f3a2c", 1, &start, &size,
	    &groups, 1, &err), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(start, 1);
	ck_assert_int_eq(size, 1);
	ck_assert_uint_eq(groups[0], 70010);
	free(groups);
}
END_TEST

/*
 * A mapped index is used for at most NHI_NSSIDX_REVALIDATE_MS without
 * looking at its path: after that bound a renamed-in file is seen, and a
 * removed one is UNAVAIL.
 */
START_TEST(a_new_index_is_seen_after_rename_and_removal)
{
	char buf[1024], *tmp;
	struct passwd pw;
	int err;

	write_fixture(false);
	ck_assert_int_eq(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_gecos, "nhi owner alice@example.com");
	if (asprintf(&tmp, "%s/other.cdb", dir) < 0)
		abort();
	write_fixture_to(tmp, false, "nhi owner carol@example.com");
	ck_assert_int_eq(rename(tmp, idx), 0);
	wait_revalidation();
	ck_assert_int_eq(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_gecos, "nhi owner carol@example.com");
	ck_assert_int_eq(unlink(idx), 0);
	wait_revalidation();
	ck_assert_int_eq(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_UNAVAIL);
	/* With no index mapped, every call looks: no wait needed. */
	write_fixture(false);
	ck_assert_int_eq(nss.getpwnam_r("nhi-7f3a2c", &pw, buf, sizeof(buf),
	    &err), NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_gecos, "nhi owner alice@example.com");
	free(tmp);
}
END_TEST

/* True when one of this process's descriptors is the index file. */
static bool
holds_index_fd(void)
{
	char path[64], target[4096];
	struct dirent *d;
	DIR *dp = opendir("/proc/self/fd");
	bool found = false;
	ssize_t n;

	ck_assert_ptr_nonnull(dp);
	while ((d = readdir(dp)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "nss.cdb") != NULL)
			found = true;
	}
	closedir(dp);
	return found;
}

/*
 * A child exec'd in the middle of an enumeration lists its descriptors
 * and mappings: none is the index. The module keeps none itself either.
 */
START_TEST(a_child_execd_during_enumeration_sees_no_descriptor)
{
	static const char cmd[] = "ls -l /proc/self/fd/ && "
	    "cat /proc/self/maps; echo done";
	char buf[1024], out[8192];
	struct passwd pw;
	FILE *f;
	size_t n;
	int err;

	write_fixture(true);
	ck_assert_int_eq(nss.setpwent(0), NSS_STATUS_SUCCESS);
	ck_assert_int_eq(nss.getpwent_r(&pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS);
	ck_assert(!holds_index_fd());
	/* The child must really exec: a shell and the tools it runs. */
	/* NOLINTNEXTLINE(cert-env33-c) */
	f = popen(cmd, "re");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_ptr_nonnull(strstr(out, "done"));
	ck_assert_msg(strstr(out, "nss.cdb") == NULL, "child saw: %s", out);
	/* The enumeration goes on after the child. */
	ck_assert_int_eq(nss.getpwent_r(&pw, buf, sizeof(buf), &err),
	    NSS_STATUS_SUCCESS);
	ck_assert_str_eq(pw.pw_name, fx_users[1].name);
	(void)nss.endpwent();
}
END_TEST

/* Threads: mixed hits and misses, one enumerating, one swapping files. */
struct worker {
	pthread_t t;
	unsigned seed;
	int id;
	atomic_bool *stop;
	long lookups;
	gid_t *groups;		/* reachable from the main thread (for fork) */
	long int ngroups;
	char failure[256];
};

static void
fail_worker(struct worker *w, const char *what, int st)
{
	if (w->failure[0] == '\0')
		snprintf(w->failure, sizeof(w->failure), "%s: status %d",
		    what, st);
}

static void
one_lookup(struct worker *w)
{
	char buf[512];
	struct passwd pw;
	struct group gr;
	long int start = 0;
	unsigned r = (unsigned)rand_r(&w->seed);
	const struct fx_user *u = &fx_users[r % N_FIXTURE_USERS];
	const struct fx_group *g = &fx_groups[r % N_FIXTURE_GROUPS];
	int err, st;

	switch ((r >> 8) % 6) {
	case 0:
		st = nss.getpwnam_r(u->name, &pw, buf, sizeof(buf), &err);
		if (st != NSS_STATUS_SUCCESS || pw.pw_uid != u->uid)
			fail_worker(w, "getpwnam hit", st);
		break;
	case 1:
		st = nss.getpwuid_r(u->uid, &pw, buf, sizeof(buf), &err);
		if (st != NSS_STATUS_SUCCESS ||
		    strcmp(pw.pw_name, u->name) != 0)
			fail_worker(w, "getpwuid hit", st);
		break;
	case 2:
		st = nss.getgrgid_r(g->gid, &gr, buf, sizeof(buf), &err);
		if (st != NSS_STATUS_SUCCESS ||
		    strcmp(gr.gr_name, g->name) != 0)
			fail_worker(w, "getgrgid hit", st);
		break;
	case 3:
		st = nss.getpwnam_r("nhi-miss", &pw, buf, sizeof(buf), &err);
		if (st != NSS_STATUS_NOTFOUND)
			fail_worker(w, "getpwnam miss", st);
		break;
	case 4:
		st = nss.getgrgid_r(80000 + r % 100, &gr, buf, sizeof(buf),
		    &err);
		if (st != NSS_STATUS_NOTFOUND)
			fail_worker(w, "getgrgid miss", st);
		break;
	default:
		st = nss.initgroups_dyn("nhi-7f3a2c", 70001, &start,
		    &w->ngroups, &w->groups, 0, &err);
		if (st != NSS_STATUS_SUCCESS || start != 2)
			fail_worker(w, "initgroups", st);
		break;
	}
	w->lookups++;
}

static void *
lookup_worker(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(w->stop))
		one_lookup(w);
	return NULL;
}

static void *
enum_worker(void *arg)
{
	struct worker *w = arg;
	char buf[512];
	struct passwd pw;
	int err, st;
	size_t seen;

	while (!atomic_load(w->stop)) {
		if (nss.setpwent(0) != NSS_STATUS_SUCCESS)
			fail_worker(w, "setpwent", -1);
		for (seen = 0; (st = nss.getpwent_r(&pw, buf, sizeof(buf),
		    &err)) == NSS_STATUS_SUCCESS; seen++) {
			if (seen >= N_FIXTURE_USERS ||
			    strcmp(pw.pw_name, fx_users[seen].name) != 0)
				fail_worker(w, "getpwent order", (int)seen);
		}
		if (st != NSS_STATUS_NOTFOUND || seen != N_FIXTURE_USERS)
			fail_worker(w, "getpwent end", st);
		(void)nss.endpwent();
		w->lookups++;
	}
	return NULL;
}

/* Installs fresh copies of the index by rename, alternating the gecos. */
static void *
swap_worker(void *arg)
{
	struct worker *w = arg;
	char *tmp;

	if (asprintf(&tmp, "%s/swap.cdb", dir) < 0)
		abort();
	while (!atomic_load(w->stop)) {
		write_fixture_to(tmp, true, w->lookups % 2 ?
		    "nhi owner carol@example.com" : NULL);
		if (rename(tmp, idx) != 0)
			fail_worker(w, "rename", errno);
		w->lookups++;
	}
	free(tmp);
	return NULL;
}

#define N_THREADS 16

static void
run_threads(bool swap, unsigned millis)
{
	struct worker w[N_THREADS + 1];
	atomic_bool stop = false;
	int i, n = swap ? N_THREADS + 1 : N_THREADS;

	write_fixture(true);
	memset(w, 0, sizeof(w));
	for (i = 0; i < n; i++) {
		w[i].seed = (unsigned)i * 7919u + 1;
		w[i].id = i;
		w[i].stop = &stop;
		ck_assert_int_eq(pthread_create(&w[i].t, NULL,
		    i == N_THREADS ? swap_worker : i == 0 ? enum_worker :
		    lookup_worker, &w[i]), 0);
	}
	usleep(millis * 1000);
	atomic_store(&stop, true);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(pthread_join(w[i].t, NULL), 0);
		ck_assert_msg(w[i].failure[0] == '\0', "thread %d: %s", i,
		    w[i].failure);
		ck_assert_int_gt(w[i].lookups, 0);
		free(w[i].groups);
	}
}

START_TEST(sixteen_threads_of_hits_misses_and_enumeration)
{
	run_threads(false, 500);
}
END_TEST

START_TEST(lookups_stay_correct_while_the_index_is_swapped)
{
	run_threads(true, 500);
}
END_TEST

/*
 * fork() while 16 threads are inside the module: the child, with only the
 * forking thread left, must find no lock held and answer at once.
 */
START_TEST(fork_in_the_middle_of_lookups)
{
	struct worker w[N_THREADS];
	atomic_bool stop = false;
	char buf[512];
	struct passwd pw;
	int i, status, err;
	pid_t pid;

	write_fixture(true);
	memset(w, 0, sizeof(w));
	for (i = 0; i < N_THREADS; i++) {
		w[i].seed = (unsigned)i + 1;
		w[i].stop = &stop;
		ck_assert_int_eq(pthread_create(&w[i].t, NULL,
		    i == 0 ? enum_worker : lookup_worker, &w[i]), 0);
	}
	for (i = 0; i < 50; i++) {
		if ((pid = fork()) == 0) {
			alarm(10);
			for (int j = 0; j < 100; j++) {
				if (nss.getpwnam_r("nhi-b0b", &pw, buf,
				    sizeof(buf), &err) != NSS_STATUS_SUCCESS)
					_exit(1);
				if (nss.setpwent(0) != NSS_STATUS_SUCCESS ||
				    nss.getpwent_r(&pw, buf, sizeof(buf),
				    &err) != NSS_STATUS_SUCCESS)
					_exit(2);
				(void)nss.endpwent();
			}
			_exit(0);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d: status %#x", i, status);
	}
	atomic_store(&stop, true);
	for (i = 0; i < N_THREADS; i++) {
		ck_assert_int_eq(pthread_join(w[i].t, NULL), 0);
		ck_assert_msg(w[i].failure[0] == '\0', "thread %d: %s", i,
		    w[i].failure);
		free(w[i].groups);
	}
}
END_TEST

/* Only the _nss_nhi_* entry points are visible. */
START_TEST(only_the_entry_points_are_exported)
{
	static const char *const hidden[] = {
		"nhi_map_acquire", "nhi_map_find", "nhi_map_next",
		"valid_name",
#ifdef NHI_NSS_STATIC_CDB
		/* The copy of tinycdb inside; a shared libcdb exports them. */
		"cdb_find", "cdb_init", "cdb_hash",
#endif
	};
	size_t i;

	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		ck_assert_msg(dlsym(nss.dl, hidden[i]) == NULL,
		    "%s is exported", hidden[i]);
}
END_TEST

static Suite *
nss_suite(void)
{
	Suite *s = suite_create("nss");
	TCase *tc = tcase_create("module");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, getpwnam_every_buffer_size_is_erange_then_the_entry);
	tcase_add_test(tc, getpwuid_every_buffer_size_is_erange_then_the_entry);
	tcase_add_test(tc, getgrnam_every_buffer_size_and_alignment);
	tcase_add_test(tc, getgrgid_every_buffer_size_and_alignment);
	tcase_add_test(tc, getpwent_lists_every_user_once_growing_from_zero);
	tcase_add_test(tc, getgrent_lists_every_group_once_growing_from_zero);
	tcase_add_test(tc, enumeration_off_lists_nothing_but_lookups_work);
	tcase_add_test(tc, absent_names_and_ids_are_notfound_in_a_valid_index);
	tcase_add_test(tc, invalid_names_are_notfound_without_an_index);
	tcase_add_test(tc, missing_index_is_unavail);
	tcase_add_test(tc, fifo_in_place_of_the_index_is_unavail);
	tcase_add_test(tc, empty_zeroed_and_random_indexes_are_unavail);
	tcase_add_test(tc, truncated_and_extended_indexes_are_unavail);
	tcase_add_test(tc, other_format_version_is_unavail);
	tcase_add_test(tc, other_magic_is_unavail);
	tcase_add_test(tc, unknown_flag_is_unavail);
	tcase_add_test(tc, records_of_the_wrong_shape_are_unavail);
	tcase_add_test(tc, uid_references_leading_astray_are_unavail);
	tcase_add_test(tc, errno_is_left_alone);
	tcase_add_test(tc,
	    initgroups_adds_member_gids_once_and_skips_the_primary);
	tcase_add_test(tc, a_new_index_is_seen_after_rename_and_removal);
	tcase_add_test(tc, a_child_execd_during_enumeration_sees_no_descriptor);
	tcase_add_test(tc, only_the_entry_points_are_exported);
	suite_add_tcase(s, tc);

	/*
	 * A case of its own so that scripts/test can leave it out of the
	 * memcheck pass: valgrind serialises threads, and these cases then
	 * run for minutes; ASan and helgrind cover them instead.
	 */
	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sixteen_threads_of_hits_misses_and_enumeration);
	tcase_add_test(tc, lookups_stay_correct_while_the_index_is_swapped);
	tcase_add_test(tc, fork_in_the_middle_of_lookups);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(nss_suite());
}
