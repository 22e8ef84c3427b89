/*
 * check_index.c: the PAM index, written and read back, and damaged files.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>

#include <cdb.h>

#include "pamidx.h"
#include "util.h"

#include "testutil.h"

#define FP_A "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
#define FP_B "SHA256:Bv8Gyw1xxbkBNkTxyjn8NIbd1HA1FuyFfaDOp9rIemg"
#define ISSUER "0123456789abcdef"

static void
strv_set(struct nhi_strv *sv, const char *const *items)
{
	memset(sv, 0, sizeof(*sv));
	for (; *items != NULL; items++)
		ck_assert_int_eq(nhi_strv_add(sv, *items), 0);
}

static struct nhi_binding *
binding_new(const char *id, const char *account, enum nhi_cred_kind kind,
    const char *owner)
{
	static const char *const hosts[] = { "web*", "@prod", NULL };
	static const char *const services[] = { "sshd", "sudo", NULL };
	static const char *const source[] = { "10.0.0.0/8", NULL };
	struct nhi_binding *b = calloc(1, sizeof(*b));

	ck_assert_ptr_nonnull(b);
	b->id = strdup(id);
	b->account = strdup(account);
	b->cred_kind = kind;
	if (kind == NHI_CRED_SSH_KEY) {
		b->cred_key = strdup("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI");
		strcpy(b->cred_fp, strcmp(id, "b-2") == 0 ? FP_B : FP_A);
	} else if (kind == NHI_CRED_USER)
		b->cred_user = strdup("alice");
	strv_set(&b->hosts, hosts);
	strv_set(&b->services, services);
	if (kind == NHI_CRED_SSH_KEY)
		strv_set(&b->source, source);
	b->not_before = 1000;
	b->not_after = 2000;
	b->issued_at = 900;
	b->max_session = kind == NHI_CRED_CHECKOUT ? 3600 : 0;
	b->owner = strdup(owner);
	b->approver = strdup("bob");
	b->ticket = strdup("CHG-1");
	strcpy(b->issuer, ISSUER);
	return b;
}

static struct nhi_account *
account_new(const char *name, uint32_t uid, const char *desc)
{
	static const char *const groups[] = { "adm", "docker", NULL };
	struct nhi_account *a = calloc(1, sizeof(*a));

	ck_assert_ptr_nonnull(a);
	a->name = strdup(name);
	a->uid = uid;
	a->gid = uid;
	a->owner = strdup("alice");
	a->description = desc != NULL ? strdup(desc) : NULL;
	a->home = strdup("/srv/bot");
	strv_set(&a->groups, groups);
	a->recertify_by = 5000;
	a->issued_at = 800;
	strcpy(a->issuer, ISSUER);
	return a;
}

static void
strv_eq(const struct nhi_strv *a, const struct nhi_strv *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++)
		ck_assert_str_eq(a->v[i], b->v[i]);
}

static void
binding_eq(const struct nhi_binding *a, const struct nhi_binding *b)
{
	ck_assert_str_eq(a->id, b->id);
	ck_assert_str_eq(a->account, b->account);
	ck_assert_int_eq(a->cred_kind, b->cred_kind);
	ck_assert_pstr_eq(a->cred_key, b->cred_key);
	ck_assert_str_eq(a->cred_fp, b->cred_fp);
	ck_assert_pstr_eq(a->cred_user, b->cred_user);
	strv_eq(&a->hosts, &b->hosts);
	strv_eq(&a->services, &b->services);
	strv_eq(&a->source, &b->source);
	ck_assert_int_eq(a->not_before, b->not_before);
	ck_assert_int_eq(a->not_after, b->not_after);
	ck_assert_int_eq(a->issued_at, b->issued_at);
	ck_assert_int_eq(a->max_session, b->max_session);
	ck_assert_str_eq(a->owner, b->owner);
	ck_assert_str_eq(a->approver, b->approver);
	ck_assert_str_eq(a->ticket, b->ticket);
	ck_assert_str_eq(a->issuer, b->issuer);
}

/* A written index with four bindings, two accounts and three denials. */
struct fixture {
	char *dir, *path;
	struct nhi_binding *b[4];
	struct nhi_account *a[2];
	struct nhi_regmeta meta;
};

static void
fixture_init(struct fixture *fx, bool with_deny)
{
	static char d_id[] = "b-1", d_owner[] = "mallory", d_key[] = FP_B;
	const struct nhi_deny deny[] = {
		{ NHI_DENY_BINDING, d_id },
		{ NHI_DENY_OWNER, d_owner },
		{ NHI_DENY_KEY, d_key },
	};
	struct nhi_pamidx_writer *w;
	struct nhi_err e;
	size_t i;

	memset(fx, 0, sizeof(*fx));
	fx->dir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&fx->path, "%s/pam.cdb", fx->dir), 0);
	fx->b[0] = binding_new("b-1", "deploy", NHI_CRED_SSH_KEY, "alice");
	fx->b[1] = binding_new("b-2", "deploy", NHI_CRED_SSH_KEY, "carol");
	fx->b[2] = binding_new("b-3", "deploy", NHI_CRED_USER, "mallory");
	fx->b[3] = binding_new("b-4", "nhi-7f3a2c", NHI_CRED_CHECKOUT,
	    "dave");
	fx->a[0] = account_new("nhi-7f3a2c", 70001, "build bot");
	fx->a[1] = account_new("nhi-0b1d", 70002, NULL);
	fx->meta.version = 12;
	fx->meta.issued_at = 1500;
	fx->meta.expires_at = 1600;
	memset(fx->meta.sha256, 'c', 64);
	fx->meta.installed_at = 1510;

	ck_assert_int_eq(nhi_pamidx_create(fx->path, &w, &e), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(nhi_pamidx_add_binding(w, fx->b[i], &e), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(nhi_pamidx_add_account(w, fx->a[i], &e), 0);
	for (i = 0; with_deny && i < 3; i++)
		ck_assert_int_eq(nhi_pamidx_add_deny(w, &deny[i], &e), 0);
	ck_assert_msg(nhi_pamidx_commit(w, &fx->meta, &e) == 0, "%s", e.msg);
}

static void
fixture_clear(struct fixture *fx)
{
	size_t i;

	for (i = 0; i < 4; i++)
		nhi_binding_free(fx->b[i]);
	for (i = 0; i < 2; i++)
		nhi_account_free(fx->a[i]);
	free(fx->path);
	tu_rmtree(fx->dir);
}

static const struct nhi_binding *
view_find(const struct nhi_view *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->n_bindings; i++) {
		if (strcmp(v->bindings[i]->id, id) == 0)
			return v->bindings[i];
	}
	ck_abort_msg("binding %s not in the view", id);
	return NULL;
}

static bool
view_revoked(const struct nhi_view *v, const char *id)
{
	const struct nhi_binding *b = view_find(v, id);

	return b != NULL && b->revoked;
}

START_TEST(written_index_reads_back_every_field)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;
	const struct nhi_regmeta *m;
	size_t nb, na, nd;

	fixture_init(&fx, false);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	m = nhi_pamidx_meta(x);
	ck_assert_int_eq(m->version, 12);
	ck_assert_int_eq(m->issued_at, 1500);
	ck_assert_int_eq(m->expires_at, 1600);
	ck_assert_str_eq(m->sha256, fx.meta.sha256);
	ck_assert_int_eq(m->installed_at, 1510);
	nhi_pamidx_counts(x, &nb, &na, &nd);
	ck_assert_uint_eq(nb, 4);
	ck_assert_uint_eq(na, 2);
	ck_assert_uint_eq(nd, 0);

	ck_assert_int_eq(nhi_pamidx_view(x, "nhi-7f3a2c", &v, &e), 0);
	ck_assert(v.have_register);
	ck_assert_int_eq(v.meta.version, 12);
	ck_assert_uint_eq(v.n_bindings, 1);
	binding_eq(v.bindings[0], fx.b[3]);
	ck_assert(!v.bindings[0]->revoked);
	ck_assert_ptr_nonnull(v.account);
	ck_assert_str_eq(v.account->name, "nhi-7f3a2c");
	ck_assert_uint_eq(v.account->uid, 70001);
	ck_assert_uint_eq(v.account->gid, 70001);
	ck_assert_str_eq(v.account->owner, "alice");
	ck_assert_str_eq(v.account->description, "build bot");
	ck_assert_str_eq(v.account->home, "/srv/bot");
	ck_assert_ptr_null(v.account->shell);
	strv_eq(&v.account->groups, &fx.a[0]->groups);
	ck_assert_int_eq(v.account->recertify_by, 5000);
	ck_assert_int_eq(v.account->issued_at, 800);
	ck_assert_str_eq(v.account->issuer, ISSUER);
	nhi_view_clear(&v);
	ck_assert_uint_eq(v.n_bindings, 0);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(several_bindings_under_one_account_all_come_back)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;
	size_t i;

	fixture_init(&fx, false);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_view(x, "deploy", &v, &e), 0);
	ck_assert_uint_eq(v.n_bindings, 3);
	ck_assert_ptr_null(v.account);
	for (i = 0; i < 3; i++) {
		const struct nhi_binding *b = view_find(&v, fx.b[i]->id);

		ck_assert_ptr_nonnull(b);
		binding_eq(b, fx.b[i]);
		ck_assert(!b->revoked);
	}
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(unknown_account_has_an_empty_view_of_a_valid_register)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_account *a;
	struct nhi_view v;
	struct nhi_err e;
	char *long_name;

	fixture_init(&fx, false);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_view(x, "root", &v, &e), 0);
	ck_assert(v.have_register);
	ck_assert_uint_eq(v.n_bindings, 0);
	ck_assert_ptr_null(v.account);
	nhi_view_clear(&v);
	/*
	 * Nor is a name too long for any record (PAM_USER is the client's):
	 * the register is usable and binds nothing to it.
	 */
	long_name = malloc(100001);
	ck_assert_ptr_nonnull(long_name);
	memset(long_name, 'd', 100000);
	long_name[100000] = '\0';
	ck_assert_int_eq(nhi_pamidx_view(x, long_name, &v, &e), 0);
	ck_assert(v.have_register);
	ck_assert_uint_eq(v.n_bindings, 0);
	nhi_view_clear(&v);
	free(long_name);
	ck_assert_int_eq(nhi_pamidx_account_by_uid(x, 70002, &a, &e), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "nhi-0b1d");
	ck_assert_ptr_null(a->description);
	nhi_account_free(a);
	ck_assert_int_eq(nhi_pamidx_account_by_uid(x, 70003, &a, &e), 0);
	ck_assert_ptr_null(a);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(deny_list_revokes_by_id_owner_and_key)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;

	fixture_init(&fx, true);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_view(x, "deploy", &v, &e), 0);
	ck_assert_uint_eq(v.n_bindings, 3);
	/* b-1 by its id, b-2 by its key, b-3 by its owner. */
	ck_assert(view_revoked(&v, "b-1"));
	ck_assert(view_revoked(&v, "b-2"));
	ck_assert(view_revoked(&v, "b-3"));
	nhi_view_clear(&v);
	ck_assert_int_eq(nhi_pamidx_view(x, "nhi-7f3a2c", &v, &e), 0);
	ck_assert(!view_revoked(&v, "b-4"));
	ck_assert_uint_eq(v.n_bindings, 1);
	nhi_view_clear(&v);

	ck_assert(nhi_pamidx_denied(x, NHI_DENY_BINDING, "b-1"));
	ck_assert(!nhi_pamidx_denied(x, NHI_DENY_BINDING, "b-4"));
	ck_assert(nhi_pamidx_denied(x, NHI_DENY_OWNER, "mallory"));
	ck_assert(!nhi_pamidx_denied(x, NHI_DENY_OWNER, "alice"));
	ck_assert(nhi_pamidx_denied(x, NHI_DENY_KEY, FP_B));
	ck_assert(!nhi_pamidx_denied(x, NHI_DENY_KEY, FP_A));
	/* Kinds do not leak into each other. */
	ck_assert(!nhi_pamidx_denied(x, NHI_DENY_OWNER, "b-1"));
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(index_is_installed_0600_and_leaves_no_temporary_file)
{
	struct fixture fx;
	struct stat st;

	fixture_init(&fx, false);
	ck_assert_int_eq(stat(fx.path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(tu_dir_entries(fx.dir), 1);
	fixture_clear(&fx);
}
END_TEST

START_TEST(aborted_writer_leaves_the_installed_index_alone)
{
	struct fixture fx;
	struct nhi_pamidx_writer *w;
	struct nhi_pamidx *x;
	struct nhi_err e;

	fixture_init(&fx, false);
	ck_assert_int_eq(nhi_pamidx_create(fx.path, &w, &e), 0);
	ck_assert_int_eq(nhi_pamidx_add_binding(w, fx.b[0], &e), 0);
	ck_assert_uint_eq(tu_dir_entries(fx.dir), 2);
	nhi_pamidx_abort(w);
	ck_assert_uint_eq(tu_dir_entries(fx.dir), 1);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_meta(x)->version, 12);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(missing_index_is_an_error_naming_the_file)
{
	struct nhi_pamidx *x = NULL;
	struct nhi_err e;

	ck_assert_int_eq(nhi_pamidx_open("/nonexistent/pam.cdb", &x, &e), -1);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/pam.cdb"));
	ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));
}
END_TEST

/* A FIFO in the index's place is refused at once: a login never waits. */
START_TEST(fifo_in_place_of_the_index_is_refused_at_once)
{
	struct nhi_pamidx *x = NULL;
	struct nhi_err e;
	char *dir = tu_tmpdir(), *path;

	ck_assert_int_ge(asprintf(&path, "%s/fifo.cdb", dir), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(nhi_pamidx_open(path, &x, &e), -1);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(e.msg, path));
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* Damaged files. */

static unsigned char *
slurp(const char *path, size_t *ret_len)
{
	char *buf;

	ck_assert_int_eq(nhi_read_file(path, 1 << 20, &buf, ret_len), 0);
	return (unsigned char *)buf;
}

static void
spit(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/*
 * Whatever the file holds, opening and reading it either fails cleanly or
 * yields records that passed every check; it never crashes or hangs.
 */
static int
probe(const char *path)
{
	struct nhi_pamidx *x;
	struct nhi_account *a;
	struct nhi_view v;
	struct nhi_err e;
	int r;

	if (nhi_pamidx_open(path, &x, &e) != 0)
		return -1;
	r = nhi_pamidx_view(x, "deploy", &v, &e);
	if (r == 0) {
		ck_assert(v.have_register);
		nhi_view_clear(&v);
	} else
		ck_assert(!v.have_register);
	if (nhi_pamidx_account_by_uid(x, 70001, &a, &e) == 0)
		nhi_account_free(a);
	(void)nhi_pamidx_denied(x, NHI_DENY_OWNER, "mallory");
	nhi_pamidx_close(x);
	return 0;
}

START_TEST(truncated_index_files_are_rejected)
{
	static const size_t cuts[] = { 0, 1, 100, 2047, 2048, 2100 };
	struct fixture fx;
	unsigned char *buf;
	size_t len, i;

	fixture_init(&fx, true);
	buf = slurp(fx.path, &len);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		spit(fx.path, buf, cuts[i]);
		ck_assert_msg(probe(fx.path) == -1, "cut at %zu", cuts[i]);
	}
	/* Every other length fails cleanly or reads sane records. */
	for (i = 0; i < len; i += 7) {
		spit(fx.path, buf, i);
		(void)probe(fx.path);
	}
	spit(fx.path, buf, len);
	ck_assert_int_eq(probe(fx.path), 0);
	free(buf);
	fixture_clear(&fx);
}
END_TEST

START_TEST(zeroed_and_random_index_files_are_rejected)
{
	struct fixture fx;
	unsigned char *buf;
	size_t len, i, j;

	fixture_init(&fx, true);
	buf = slurp(fx.path, &len);
	memset(buf, 0, len);
	spit(fx.path, buf, len);
	ck_assert_int_eq(probe(fx.path), -1);
	srandom(4711);
	for (i = 0; i < 50; i++) {
		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)random();
		spit(fx.path, buf, len);
		ck_assert_int_eq(probe(fx.path), -1);
	}
	free(buf);
	fixture_clear(&fx);
}
END_TEST

START_TEST(flipped_bytes_never_crash_the_reader)
{
	struct fixture fx;
	unsigned char *orig, *buf;
	size_t len, i;

	fixture_init(&fx, true);
	orig = slurp(fx.path, &len);
	buf = malloc(len);
	srandom(1234);
	for (i = 0; i < 2000; i++) {
		memcpy(buf, orig, len);
		buf[(size_t)random() % len] ^= (unsigned char)(1 +
		    random() % 255);
		buf[(size_t)random() % len] ^= (unsigned char)(1 +
		    random() % 255);
		spit(fx.path, buf, len);
		(void)probe(fx.path);
	}
	free(buf);
	free(orig);
	fixture_clear(&fx);
}
END_TEST

/* Hand-made cdb files: a valid meta record and one crafted record. */
static void
craft(const char *path, const char *magic, const char *key, size_t klen,
    const char *rec, size_t rlen)
{
	struct cdb_make cm;
	struct nhi_buf meta = { NULL, 0, 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(nhi_buf_add(&meta, magic, 8), 0);
	ck_assert_int_eq(nhi_buf_add(&meta, "3\0" "1\0" "2\0", 6), 0);
	ck_assert_int_eq(nhi_buf_addf(&meta, "%064d", 0), 0);
	ck_assert_int_eq(nhi_buf_add(&meta, "\0" "1\0" "0\0" "0\0" "0", 9),
	    0);
	cdb_make_start(&cm, fd);
	ck_assert_int_eq(cdb_make_add(&cm, "\0meta", 5, meta.s,
	    (unsigned)meta.len), 0);
	if (key != NULL)
		ck_assert_int_eq(cdb_make_add(&cm, key, (unsigned)klen, rec,
		    (unsigned)rlen), 0);
	ck_assert_int_eq(cdb_make_finish(&cm), 0);
	close(fd);
	nhi_buf_free(&meta);
}

#define BREC(id, extra) id "\0deploy\0" "3\0\0\0\0" "1\0*\0" "1\0sshd\0" \
	"0\0" "10\0" "20\0" "5\0" "0\0" "alice\0bob\0T-1\0" ISSUER extra
/* A checkout binding valid from nb to na. */
#define BREC_T(nb, na) "b-1\0deploy\0" "3\0\0\0\0" "1\0*\0" "1\0sshd\0" \
	"0\0" nb "\0" na "\0" "5\0" "0\0" "alice\0bob\0T-1\0" ISSUER

START_TEST(records_of_the_wrong_shape_are_rejected)
{
	static const struct {
		const char *rec;
		size_t len;
		bool ok;
	} cases[] = {
		{ BREC("b-1", ""), sizeof(BREC("b-1", "")), true },
		/* The last field lacks its terminator. */
		{ BREC("b-1", ""), sizeof(BREC("b-1", "")) - 1, false },
		/* A field too many. */
		{ BREC("b-1", "\0x"), sizeof(BREC("b-1", "\0x")), false },
		/* An id outside the safe character set. */
		{ BREC("b 1", ""), sizeof(BREC("b 1", "")), false },
		/* A list count larger than the record holds. */
		{ "b-1\0deploy\0" "3\0\0\0\0" "60\0*\0", 20, false },
		/* A number that is not one. */
		{ "b-1\0deploy\0" "x\0", 13, false },
		/*
		 * Times beyond what statements carry (the end of year 9999):
		 * adding the clock skew to them would overflow.
		 */
		{ BREC_T("10", "253402300799"),
		    sizeof(BREC_T("10", "253402300799")), true },
		{ BREC_T("10", "253402300800"),
		    sizeof(BREC_T("10", "253402300800")), false },
		{ BREC_T("10", "9223372036854775807"),
		    sizeof(BREC_T("10", "9223372036854775807")), false },
		{ BREC_T("-9223372036854775807", "20"),
		    sizeof(BREC_T("-9223372036854775807", "20")), false },
		{ "", 0, false },
	};
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;
	size_t i;

	fixture_init(&fx, false);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		craft(fx.path, NHI_PAMIDX_MAGIC, "bdeploy", 7, cases[i].rec,
		    cases[i].len);
		ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
		if (cases[i].ok) {
			ck_assert_msg(nhi_pamidx_view(x, "deploy", &v,
			    &e) == 0, "case %zu: %s", i, e.msg);
			ck_assert_uint_eq(v.n_bindings, 1);
			ck_assert_str_eq(v.bindings[0]->owner, "alice");
			nhi_view_clear(&v);
		} else {
			ck_assert_msg(nhi_pamidx_view(x, "deploy", &v,
			    &e) == -1, "case %zu accepted", i);
			ck_assert_ptr_nonnull(strstr(e.msg, "corrupt"));
			ck_assert(!v.have_register);
			ck_assert_uint_eq(v.n_bindings, 0);
		}
		nhi_pamidx_close(x);
	}
	/* A record filed under another account's key. */
	craft(fx.path, NHI_PAMIDX_MAGIC, "bother", 6, BREC("b-1", ""),
	    sizeof(BREC("b-1", "")));
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_view(x, "other", &v, &e), -1);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

/* Register times past the year 9999 are refused, not added to. */
START_TEST(meta_times_beyond_the_last_year_are_rejected)
{
	struct nhi_pamidx_writer *w;
	struct nhi_regmeta meta;
	struct nhi_pamidx *x;
	struct nhi_err e;
	char *dir = tu_tmpdir(), *path;
	int i;

	ck_assert_int_gt(asprintf(&path, "%s/pam.cdb", dir), 0);
	for (i = 0; i < 4; i++) {
		memset(&meta, 0, sizeof(meta));
		meta.version = 1;
		meta.issued_at = 10;
		meta.expires_at = i == 0 ? NHI_TIME_MAX : i == 1 ?
		    NHI_TIME_MAX + 1 : INT64_MAX;
		meta.installed_at = i == 3 ? INT64_MAX : 20;
		memset(meta.sha256, 'c', 64);
		ck_assert_int_eq(nhi_pamidx_create(path, &w, &e), 0);
		ck_assert_int_eq(nhi_pamidx_commit(w, &meta, &e), 0);
		if (i == 0) {
			ck_assert_msg(nhi_pamidx_open(path, &x, &e) == 0,
			    "%s", e.msg);
			nhi_pamidx_close(x);
		} else {
			ck_assert_msg(nhi_pamidx_open(path, &x, &e) == -1,
			    "case %d accepted", i);
		}
	}
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* The governance rules of the sync's config come back as written. */
START_TEST(governance_rules_round_trip)
{
	struct nhi_pamidx_writer *w;
	struct nhi_regmeta meta;
	struct nhi_pamidx *x;
	struct nhi_conf *c;
	struct nhi_view v;
	struct nhi_err e;
	char *dir = tu_tmpdir(), *path;
	const struct nhi_governance *g;

	ck_assert_int_gt(asprintf(&path, "%s/pam.cdb", dir), 0);
	ck_assert_msg(nhi_conf_parse("t.conf", "govern_users = root, svc-*\n"
	    "govern_groups = wheel\ngovern_uids = 1000-1999, 60000-60999\n"
	    "account_uids = 80000-80999\naccount_gids = 80000-80999\n",
	    &c, &e) == 0, "%s", e.msg);
	memset(&meta, 0, sizeof(meta));
	meta.version = 1;
	meta.issued_at = 10;
	meta.expires_at = 20;
	memset(meta.sha256, 'c', 64);
	ck_assert_int_eq(nhi_pamidx_create(path, &w, &e), 0);
	ck_assert_int_eq(nhi_pamidx_add_governance(w, c, &e), 0);
	ck_assert_int_eq(nhi_pamidx_add_governance(w, c, &e), -1);
	ck_assert_int_eq(nhi_pamidx_commit(w, &meta, &e), 0);
	ck_assert_msg(nhi_pamidx_open(path, &x, &e) == 0, "%s", e.msg);
	g = nhi_pamidx_governance(x);
	ck_assert(g->present);
	ck_assert(nhi_governance_same(g, c));
	ck_assert_uint_eq(g->users.n, 2);
	ck_assert_str_eq(g->users.v[1], "svc-*");
	ck_assert_str_eq(g->groups.v[0], "wheel");
	ck_assert_uint_eq(g->n_uids, 2);
	ck_assert_uint_eq(g->uids[1].lo, 60000);
	ck_assert_uint_eq(g->account_uids.hi, 80999);
	/* Each view carries its own copy. */
	ck_assert_int_eq(nhi_pamidx_view(x, "root", &v, &e), 0);
	ck_assert(v.governance.present);
	ck_assert(nhi_governance_same(&v.governance, c));
	nhi_view_clear(&v);
	ck_assert(!v.governance.present);
	nhi_pamidx_close(x);
	/* Another config's rules are not the same. */
	nhi_conf_free(c);
	ck_assert_int_eq(nhi_conf_parse("t.conf", "govern_users = root\n", &c,
	    &e), 0);
	ck_assert_int_eq(nhi_pamidx_open(path, &x, &e), 0);
	ck_assert(!nhi_governance_same(nhi_pamidx_governance(x), c));
	nhi_pamidx_close(x);
	nhi_conf_free(c);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* An index without the record (an older sync) has no rules; a bad one
 * makes the index corrupt. */
START_TEST(governance_record_absent_or_corrupt)
{
#define REC(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *rec;
		size_t len;
	} bad[] = {
		REC(""),
		/* Cut after the users. */
		REC("1\0root\0"),
		/* A uid range with lo above hi. */
		REC("1\0root\0" "0\0" "1\0" "5\0" "4\0" "70000\0" "79999\0"),
		/* A user that is no glob. */
		REC("1\0ro ot\0" "0\0" "0\0" "70000\0" "79999\0"),
		/* account_uids starting at 0. */
		REC("1\0root\0" "0\0" "0\0" "0\0" "79999\0"),
		/* A field too many. */
		REC("1\0root\0" "0\0" "0\0" "70000\0" "79999\0" "x\0"),
	};
#undef REC
	static const char good[] = "1\0root\0" "0\0" "1\0" "5\0" "9\0"
	    "70000\0" "79999\0";
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_err e;
	size_t i;

	fixture_init(&fx, false);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	ck_assert(!nhi_pamidx_governance(x)->present);
	nhi_pamidx_close(x);
	craft(fx.path, NHI_PAMIDX_MAGIC, "\0govern", 7, good,
	    sizeof(good) - 1);
	ck_assert_msg(nhi_pamidx_open(fx.path, &x, &e) == 0, "%s", e.msg);
	ck_assert(nhi_pamidx_governance(x)->present);
	ck_assert_uint_eq(nhi_pamidx_governance(x)->uids[0].hi, 9);
	nhi_pamidx_close(x);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		craft(fx.path, NHI_PAMIDX_MAGIC, "\0govern", 7, bad[i].rec,
		    bad[i].len);
		ck_assert_msg(nhi_pamidx_open(fx.path, &x, &e) == -1,
		    "case %zu accepted", i);
		ck_assert_ptr_nonnull(strstr(e.msg, "governance"));
	}
	fixture_clear(&fx);
}
END_TEST

START_TEST(other_format_versions_are_rejected)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_err e;

	fixture_init(&fx, false);
	craft(fx.path, NHI_PAMIDX_MAGIC, NULL, 0, NULL, 0);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	nhi_pamidx_close(x);
	craft(fx.path, "NHIPAM\0\2", NULL, 0, NULL, 0);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "version"));
	craft(fx.path, "NHINSS\0\1", NULL, 0, NULL, 0);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), -1);
	fixture_clear(&fx);
}
END_TEST

START_TEST(index_writable_by_others_is_refused)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_err e;

	fixture_init(&fx, false);
	ck_assert_int_eq(chmod(fx.path, 0622), 0);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "writable"));
	ck_assert_int_eq(chmod(fx.path, 0644), 0);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

/*
 * An open index keeps no descriptor: pam_nhi keeps it for the life of a
 * PAM handle, and nothing of it may stay open in sshd or leak into the
 * session it forks.
 */
START_TEST(open_index_keeps_no_descriptor)
{
	struct fixture fx;
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;
	char link[64], target[4096];
	int fd, found = 0;
	ssize_t n;

	fixture_init(&fx, false);
	ck_assert_int_eq(nhi_pamidx_open(fx.path, &x, &e), 0);
	for (fd = 0; fd < 1024; fd++) {
		(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, fx.path) == 0)
			found++;
	}
	ck_assert_int_eq(found, 0);
	/* Every record is still read, through the mapping alone. */
	ck_assert_int_eq(nhi_pamidx_view(x, "nhi-7f3a2c", &v, &e), 0);
	ck_assert_uint_eq(v.n_bindings, 1);
	binding_eq(v.bindings[0], fx.b[3]);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

static Suite *
index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *t;

	t = tcase_create("round_trip");
	tcase_add_test(t, written_index_reads_back_every_field);
	tcase_add_test(t, several_bindings_under_one_account_all_come_back);
	tcase_add_test(t,
	    unknown_account_has_an_empty_view_of_a_valid_register);
	tcase_add_test(t, deny_list_revokes_by_id_owner_and_key);
	tcase_add_test(t, index_is_installed_0600_and_leaves_no_temporary_file);
	tcase_add_test(t, aborted_writer_leaves_the_installed_index_alone);
	tcase_add_test(t, open_index_keeps_no_descriptor);
	tcase_add_test(t, governance_rules_round_trip);
	suite_add_tcase(s, t);

	t = tcase_create("damage");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, missing_index_is_an_error_naming_the_file);
	tcase_add_test(t, fifo_in_place_of_the_index_is_refused_at_once);
	tcase_add_test(t, truncated_index_files_are_rejected);
	tcase_add_test(t, zeroed_and_random_index_files_are_rejected);
	tcase_add_test(t, flipped_bytes_never_crash_the_reader);
	tcase_add_test(t, records_of_the_wrong_shape_are_rejected);
	tcase_add_test(t, other_format_versions_are_rejected);
	tcase_add_test(t, meta_times_beyond_the_last_year_are_rejected);
	tcase_add_test(t, governance_record_absent_or_corrupt);
	tcase_add_test(t, index_writable_by_others_is_refused);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(index_suite());
}
