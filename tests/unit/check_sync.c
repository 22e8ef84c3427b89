/*
 * check_sync.c: nhi_sync end to end with file:// URLs in a private
 * directory: fetch, verify, compile, install, state, and every way a
 * register can fail without touching what is installed.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>

#include <cdb.h>
#include <sodium.h>

#include "conf.h"
#include "dsse.h"
#include "keys.h"
#include "nssidx.h"
#include "pamidx.h"
#include "register.h"
#include "statement.h"
#include "sync.h"
#include "util.h"

#include "testutil.h"

#define NOW 1800000000
#define MAXST 32

struct fixture {
	char *dir, *url, *regpath, *statedir;
	struct nhi_seckey *reg, *iss, *stranger;
	struct nhi_conf *c;
	char *st[MAXST];
	size_t n;
	/* What the reject callback heard. */
	size_t rej_line[MAXST];
	char *rej_msg[MAXST];
	size_t n_rej;
};

static struct nhi_seckey *
key_new(const char *name)
{
	struct nhi_seckey *k = nhi_seckey_generate(name);

	ck_assert_ptr_nonnull(k);
	return k;
}

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* The config, with extra top-level lines and extra lines for the issuer. */
static void
conf_load_issuer(struct fixture *fx, const char *extra,
    const char *issuer_extra)
{
	char reg[64], iss[64], *text, *pw, *gr;
	struct nhi_err e;

	nhi_conf_free(fx->c);
	nhi_pubkey_encode(fx->reg->pk, reg, sizeof(reg));
	nhi_pubkey_encode(fx->iss->pk, iss, sizeof(iss));
	pw = path_in(fx->dir, "passwd");
	gr = path_in(fx->dir, "group");
	ck_assert_int_gt(asprintf(&text,
	    "register_url = %s\n"
	    "register_key = %s\n"
	    "host_name = web1\n"
	    "state_dir = %s\n"
	    "passwd_file = %s\n"
	    "group_file = %s\n"
	    "account_uids = 70000-79999\n"
	    "%s"
	    "%s"
	    "account_groups = docker, adm\n"
	    "[issuer ops]\n"
	    "key = %s\n"
	    "accounts = deploy, nhi-*, localgrp\n"
	    "services = *\n"
	    "max_window = 30d\n"
	    "%s",
	    fx->url, reg, fx->statedir, pw, gr,
	    strstr(extra, "account_gids") != NULL ? "" :
	    "account_gids = 70000-79999\n", extra, iss, issuer_extra), 0);
	ck_assert_msg(nhi_conf_parse("test.conf", text, &fx->c, &e) == 0,
	    "%s", e.msg);
	free(text);
	free(pw);
	free(gr);
}

static void
conf_load(struct fixture *fx, const char *extra)
{
	conf_load_issuer(fx, extra, "");
}

static void
fixture_init(struct fixture *fx)
{
	char *p;

	memset(fx, 0, sizeof(*fx));
	fx->dir = tu_tmpdir();
	fx->regpath = path_in(fx->dir, "register.json");
	fx->statedir = path_in(fx->dir, "state");
	ck_assert_int_gt(asprintf(&fx->url, "file://%s", fx->regpath), 0);
	fx->reg = key_new("register");
	fx->iss = key_new("ops");
	fx->stranger = key_new("stranger");
	p = path_in(fx->dir, "passwd");
	write_text(p, "root:x:0:0:root:/root:/bin/sh\n"
	    "localuser:x:70500:70500::/home/localuser:/bin/sh\n");
	free(p);
	p = path_in(fx->dir, "group");
	write_text(p, "root:x:0:\nadm:x:4:\ndisk:x:6:\nsudo:x:27:\n"
	    "shadow:x:42:\ndocker:x:999:\nshared:x:70600:\n"
	    "localgrp:x:70700:\n");
	free(p);
	conf_load(fx, "");
}

static void
fixture_clear(struct fixture *fx)
{
	size_t i;

	for (i = 0; i < fx->n; i++)
		free(fx->st[i]);
	for (i = 0; i < fx->n_rej; i++)
		free(fx->rej_msg[i]);
	nhi_conf_free(fx->c);
	nhi_seckey_free(fx->reg);
	nhi_seckey_free(fx->iss);
	nhi_seckey_free(fx->stranger);
	free(fx->url);
	free(fx->regpath);
	free(fx->statedir);
	tu_rmtree(fx->dir);
}

/* Statements. */

static void
add_statement(struct fixture *fx, char *env)
{
	ck_assert_ptr_nonnull(env);
	ck_assert_uint_lt(fx->n, MAXST);
	fx->st[fx->n++] = env;
}

static char *
ssh_key_line(void)
{
	unsigned char blob[4 + 11 + 4 + 32], pk[32], sk[64];
	char *b64, *line;

	crypto_sign_keypair(pk, sk);
	memcpy(blob, "\0\0\0\13ssh-ed25519\0\0\0\40", 19);
	memcpy(blob + 19, pk, 32);
	b64 = nhi_b64_encode(blob, sizeof(blob));
	ck_assert_int_gt(asprintf(&line, "ssh-ed25519 %s", b64), 0);
	free(b64);
	return line;
}

static void
add_binding(struct fixture *fx, const struct nhi_seckey *k, const char *id,
    const char *account, enum nhi_cred_kind kind)
{
	struct nhi_binding b;
	char *json;

	memset(&b, 0, sizeof(b));
	b.id = (char *)(uintptr_t)id;
	b.account = (char *)(uintptr_t)account;
	b.cred_kind = kind;
	if (kind == NHI_CRED_SSH_KEY)
		b.cred_key = ssh_key_line();
	else if (kind == NHI_CRED_USER)
		b.cred_user = strdup("alice");
	ck_assert_int_eq(nhi_strv_add(&b.hosts, "web*"), 0);
	ck_assert_int_eq(nhi_strv_add(&b.services, "sshd"), 0);
	b.not_before = NOW - 3600;
	b.not_after = NOW + 3600;
	b.issued_at = NOW - 3600;
	b.owner = (char *)(uintptr_t)"alice";
	b.approver = (char *)(uintptr_t)"bob";
	b.ticket = (char *)(uintptr_t)"CHG-1";
	memcpy(b.issuer, k->keyid, sizeof(b.issuer));
	json = nhi_binding_json(&b);
	ck_assert_ptr_nonnull(json);
	add_statement(fx, nhi_dsse_sign(k, NHI_PT_BINDING, json,
	    strlen(json)));
	free(json);
	free(b.cred_key);
	free(b.cred_user);
	nhi_strv_free(&b.hosts);
	nhi_strv_free(&b.services);
}

static void
add_account(struct fixture *fx, const char *name, uint32_t uid,
    uint32_t gid, const char *groups)
{
	struct nhi_account a;
	struct nhi_err e;
	char *json;

	memset(&a, 0, sizeof(a));
	a.name = (char *)(uintptr_t)name;
	a.uid = uid;
	a.gid = gid;
	a.owner = (char *)(uintptr_t)"alice";
	a.description = (char *)(uintptr_t)"build bot";
	a.issued_at = NOW - 3600;
	memcpy(a.issuer, fx->iss->keyid, sizeof(a.issuer));
	if (groups != NULL)
		ck_assert_int_eq(nhi_strv_split(groups, nhi_valid_name,
		    &a.groups, &e), 0);
	json = nhi_account_json(&a);
	ck_assert_ptr_nonnull(json);
	add_statement(fx, nhi_dsse_sign(fx->iss, NHI_PT_ACCOUNT, json,
	    strlen(json)));
	free(json);
	nhi_strv_free(&a.groups);
}

/* The usual register: three bindings, two accounts. */
static void
add_standard(struct fixture *fx)
{
	add_binding(fx, fx->iss, "b-1", "deploy", NHI_CRED_SSH_KEY);
	add_binding(fx, fx->iss, "b-2", "deploy", NHI_CRED_USER);
	add_binding(fx, fx->iss, "b-3", "nhi-a", NHI_CRED_CHECKOUT);
	add_account(fx, "nhi-a", 70001, 70001, "docker");
	add_account(fx, "nhi-b", 70002, 70600, NULL);
}

static void
publish(struct fixture *fx, int64_t version, int64_t expires_at)
{
	struct nhi_err e;
	FILE *f = fopen(fx->regpath, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(nhi_register_publish(fx->reg, version, NOW - 60,
	    expires_at, NULL, 0, fx->st, fx->n, f, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(fclose(f), 0);
}

static void
on_reject(void *ctx, size_t line, const char *reason)
{
	struct fixture *fx = ctx;

	ck_assert_uint_lt(fx->n_rej, MAXST);
	fx->rej_line[fx->n_rej] = line;
	fx->rej_msg[fx->n_rej++] = strdup(reason);
}

static int
sync_at(struct fixture *fx, int64_t now, struct nhi_sync_result *r,
    struct nhi_err *e)
{
	memset(r, 0, sizeof(*r));
	return nhi_sync(fx->c, now, on_reject, fx, r, e);
}

/* Finds a rejection on line whose reason contains want. */
static bool
rejected(const struct fixture *fx, size_t line, const char *want)
{
	size_t i;

	for (i = 0; i < fx->n_rej; i++) {
		if (fx->rej_line[i] == line && strstr(fx->rej_msg[i], want))
			return true;
	}
	return false;
}

/* Looking at what is installed. */

static int64_t
pam_version(const struct fixture *fx)
{
	struct nhi_pamidx *x;
	struct nhi_err e;
	int64_t v;

	if (nhi_pamidx_open(fx->c->pam_index, &x, &e) != 0)
		return -1;
	v = nhi_pamidx_meta(x)->version;
	nhi_pamidx_close(x);
	return v;
}

/* How many bindings the installed PAM index holds for account. */
static size_t
pam_bindings(const struct fixture *fx, const char *account)
{
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;
	size_t n;

	ck_assert_msg(nhi_pamidx_open(fx->c->pam_index, &x, &e) == 0, "%s",
	    e.msg);
	ck_assert_msg(nhi_pamidx_view(x, account, &v, &e) == 0, "%s", e.msg);
	n = v.n_bindings;
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	return n;
}

/* The NSS record under key, or NULL; *ret_len is its length. */
static char *
nss_get(const struct fixture *fx, char tag, const char *value,
    size_t *ret_len)
{
	struct cdb cdb;
	char key[128], *rec = NULL;
	int fd;

	key[0] = tag;
	(void)snprintf(key + 1, sizeof(key) - 1, "%s", value);
	fd = open(fx->c->nss_index, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cdb_init(&cdb, fd), 0);
	if (cdb_find(&cdb, key, (unsigned)strlen(key)) > 0) {
		*ret_len = cdb_datalen(&cdb);
		rec = malloc(*ret_len + 1);
		memcpy(rec, cdb_getdata(&cdb), *ret_len);
		rec[*ret_len] = '\0';
	}
	cdb_free(&cdb);
	close(fd);
	return rec;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	char *buf;

	ck_assert_int_eq(nhi_read_file(path, 1 << 24, &buf, len), 0);
	return (unsigned char *)buf;
}

static void
state_get(const struct fixture *fx, struct nhi_state *s)
{
	struct nhi_err e;

	ck_assert_msg(nhi_state_load(fx->statedir, s, &e) == 0, "%s", e.msg);
}

/* Tests. */

START_TEST(good_sync_installs_both_indexes_and_the_state)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_pamidx *x;
	struct nhi_account *a;
	struct nhi_view v;
	struct nhi_state s;
	struct nhi_err e;
	unsigned char *buf, sha[32];
	char hex[65], *rec;
	struct stat st;
	size_t len;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert(r.installed);
	ck_assert(!r.unchanged);
	ck_assert_int_eq(r.version, 1);
	ck_assert_uint_eq(r.n_bindings, 3);
	ck_assert_uint_eq(r.n_accounts, 2);
	ck_assert_uint_eq(r.n_rejected, 0);
	ck_assert_uint_eq(fx.n_rej, 0);
	ck_assert_str_eq(r.source, fx.url);

	/* The PAM index. */
	ck_assert_int_eq(stat(fx.c->pam_index, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(nhi_pamidx_open(fx.c->pam_index, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_meta(x)->version, 1);
	ck_assert_int_eq(nhi_pamidx_meta(x)->installed_at, NOW);
	ck_assert_int_eq(nhi_pamidx_view(x, "deploy", &v, &e), 0);
	ck_assert_uint_eq(v.n_bindings, 2);
	nhi_view_clear(&v);
	ck_assert_int_eq(nhi_pamidx_account_by_uid(x, 70001, &a, &e), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "nhi-a");
	nhi_account_free(a);
	nhi_pamidx_close(x);

	/* The NSS index: passwd, private group, supplementary groups. */
	ck_assert_int_eq(stat(fx.c->nss_index, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-a", &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_mem_eq(rec, "nhi-a\0" "70001\0" "70001\0"
	    "nhi owner alice (build bot)\0" "/home/nhi-a\0" "/bin/sh\0", len);
	free(rec);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_GRNAM, "nhi-a", &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec + strlen(rec) + 1, "70001");
	free(rec);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_MEMBER, "nhi-a", &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_mem_eq(rec, "999", 4);
	free(rec);
	/* nhi-b's gid is the local group "shared": no private group. */
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_GRNAM, "nhi-b", &len));
	rec = nss_get(&fx, NHI_NSSIDX_TAG_PWUID, "70002", &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec, "nhi-b");
	free(rec);

	/* The state. */
	state_get(&fx, &s);
	buf = slurp(fx.regpath, &len);
	crypto_hash_sha256(sha, buf, len);
	nhi_hex(sha, 32, hex);
	free(buf);
	ck_assert_int_eq(s.version, 1);
	ck_assert_str_eq(s.sha256, hex);
	ck_assert_int_eq(s.issued_at, NOW - 60);
	ck_assert_int_eq(s.expires_at, NOW + 3600);
	ck_assert_int_eq(s.last_success, NOW);
	ck_assert_int_eq(s.last_attempt, NOW);
	ck_assert_str_eq(s.last_error, "");
	ck_assert_str_eq(s.source, fx.url);
	ck_assert_uint_eq(s.n_bindings, 3);
	ck_assert_uint_eq(s.n_accounts, 2);
	fixture_clear(&fx);
}
END_TEST

START_TEST(same_register_again_is_unchanged_and_not_reinstalled)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;
	struct stat st1, st2;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), 0);
	ck_assert_int_eq(stat(fx.c->pam_index, &st1), 0);
	ck_assert_msg(sync_at(&fx, NOW + 10, &r, &e) == 0, "%s", e.msg);
	ck_assert(r.unchanged);
	ck_assert(!r.installed);
	ck_assert_uint_eq(r.n_bindings, 3);
	ck_assert_int_eq(stat(fx.c->pam_index, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	state_get(&fx, &s);
	ck_assert_int_eq(s.last_success, NOW + 10);

	/* A lost index under an unchanged register is rebuilt. */
	ck_assert_int_eq(unlink(fx.c->pam_index), 0);
	ck_assert_msg(sync_at(&fx, NOW + 20, &r, &e) == 0, "%s", e.msg);
	ck_assert(r.unchanged);
	ck_assert(r.installed);
	ck_assert_str_eq(r.reason, "repaired");
	ck_assert_int_eq(pam_version(&fx), 1);
	fixture_clear(&fx);
}
END_TEST

/*
 * A same-version sync reads both indexes back: damage to either, or an
 * NSS index built for other enumeration, is repaired and said so.
 */
/*
 * The same register again, under a config that changed since it was
 * installed: what the host now allows is judged again, not taken from
 * the index built under the old rules.
 */
START_TEST(same_register_under_a_changed_config_is_judged_again)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_seckey *k;
	struct nhi_err e;
	size_t len;
	char *rec;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-a", &len);
	ck_assert_ptr_nonnull(rec);
	free(rec);

	/* The issuer may no longer issue nhi-* accounts. */
	ck_assert_str_eq(fx.c->issuers[0].accounts.v[1], "nhi-*");
	fx.c->issuers[0].accounts.v[1][0] = 'X';
	ck_assert_msg(sync_at(&fx, NOW + 10, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_accounts, 0);
	ck_assert(rejected(&fx, 5, "may not issue this account"));
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-a", &len));

	/* The issuer may no longer hand out docker. */
	conf_load(&fx, "");
	ck_assert_msg(sync_at(&fx, NOW + 20, &r, &e) == 0, "%s", e.msg);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_MEMBER, "nhi-a", &len);
	ck_assert_ptr_nonnull(rec);
	free(rec);
	conf_load_issuer(&fx, "", "groups = adm\n");
	ck_assert_msg(sync_at(&fx, NOW + 30, &r, &e) == 0, "%s", e.msg);
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_MEMBER, "nhi-a",
	    &len));
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-a", &len));

	ck_assert_uint_eq(pam_bindings(&fx, "deploy"), 2);

	/* The issuer's key is rotated: its statements are not trusted. */
	k = fx.iss;
	fx.iss = fx.stranger;
	conf_load(&fx, "");
	fx.iss = k;
	ck_assert_msg(sync_at(&fx, NOW + 40, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_bindings, 0);
	ck_assert_uint_eq(pam_bindings(&fx, "deploy"), 0);
	fixture_clear(&fx);
}
END_TEST

START_TEST(same_register_repairs_damaged_indexes)
{
	static const char *const damage[] = {
		"not a cdb at all",
		"",
	};
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	char *garbage;
	size_t i, k;
	int64_t t = NOW;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, t++, &r, &e), 0);
	ck_assert_int_eq(nhi_sync_nss_index_check(fx.c, &e), 0);
	/* A cdb that is no NSS index (2048 bytes of an empty table list). */
	garbage = calloc(1, 2048);
	ck_assert_ptr_nonnull(garbage);
	for (k = 0; k < 2; k++) {
		const char *path = k == 0 ? fx.c->nss_index : fx.c->pam_index;

		for (i = 0; i < sizeof(damage) / sizeof(damage[0]) + 1; i++) {
			if (i < sizeof(damage) / sizeof(damage[0])) {
				write_text(path, damage[i]);
			} else {
				FILE *f = fopen(path, "w");

				ck_assert_ptr_nonnull(f);
				ck_assert_uint_eq(fwrite(garbage, 1, 2048, f),
				    2048);
				ck_assert_int_eq(fclose(f), 0);
			}
			(void)chmod(path, k == 0 ? 0644 : 0600);
			ck_assert_msg(sync_at(&fx, t++, &r, &e) == 0, "%s",
			    e.msg);
			ck_assert_msg(strcmp(r.reason, "repaired") == 0,
			    "%s damage %zu: %s", path, i, r.reason);
			ck_assert(r.installed);
			ck_assert_int_eq(nhi_sync_nss_index_check(fx.c, &e),
			    0);
			ck_assert_int_eq(pam_version(&fx), 1);
			/* And now it is whole again: unchanged. */
			ck_assert_int_eq(sync_at(&fx, t++, &r, &e), 0);
			ck_assert_str_eq(r.reason, "unchanged");
		}
	}
	free(garbage);

	/* Enumeration switched on in the config: the NSS index follows. */
	conf_load(&fx, "enumerate = yes\n");
	ck_assert_int_ne(nhi_sync_nss_index_check(fx.c, &e), 0);
	ck_assert_int_eq(sync_at(&fx, t++, &r, &e), 0);
	ck_assert_str_eq(r.reason, "repaired");
	ck_assert_int_eq(nhi_sync_nss_index_check(fx.c, &e), 0);
	fixture_clear(&fx);
}
END_TEST

/*
 * The config's governance rules go into the PAM index, for pam_nhi to
 * use when the config is broken; a config whose rules changed has the
 * index rebuilt under the same register.
 */
START_TEST(governance_rules_go_into_the_index_and_follow_the_config)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_pamidx *x;
	struct nhi_err e;

	fixture_init(&fx);
	conf_load(&fx, "govern_users = root, svc-*\ngovern_groups = shared\n"
	    "govern_uids = 60000-60999\n");
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(nhi_pamidx_open(fx.c->pam_index, &x, &e), 0);
	ck_assert(nhi_pamidx_governance(x)->present);
	ck_assert(nhi_governance_same(nhi_pamidx_governance(x), fx.c));
	ck_assert_str_eq(nhi_pamidx_governance(x)->users.v[0], "root");
	nhi_pamidx_close(x);

	/* Same register, the same rules: nothing to rebuild. */
	ck_assert_msg(sync_at(&fx, NOW + 10, &r, &e) == 0, "%s", e.msg);
	ck_assert(!r.installed);
	ck_assert_str_eq(r.reason, "unchanged");

	/* Same register, new rules: rebuilt with them. */
	conf_load(&fx, "govern_users = root, deploy\n");
	ck_assert_msg(sync_at(&fx, NOW + 20, &r, &e) == 0, "%s", e.msg);
	ck_assert(r.installed);
	ck_assert_int_eq(nhi_pamidx_open(fx.c->pam_index, &x, &e), 0);
	ck_assert(nhi_governance_same(nhi_pamidx_governance(x), fx.c));
	ck_assert_str_eq(nhi_pamidx_governance(x)->users.v[1], "deploy");
	ck_assert_uint_eq(nhi_pamidx_governance(x)->n_uids, 0);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(tampered_register_fails_and_installed_indexes_stay)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;
	unsigned char *nss1, *nss2, *buf;
	size_t l1, l2, len, off;
	char *nl;
	FILE *f;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), 0);
	nss1 = slurp(fx.c->nss_index, &l1);

	add_account(&fx, "nhi-c", 70003, 70003, NULL);
	publish(&fx, 2, NOW + 3600);
	buf = slurp(fx.regpath, &len);
	nl = memchr(buf, '\n', len);
	off = (size_t)(nl - (char *)buf) + 30;
	buf[off] = buf[off] == 'A' ? 'B' : 'A';
	f = fopen(fx.regpath, "w");
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);

	ck_assert_int_eq(sync_at(&fx, NOW + 5, &r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "statements_sha256"));
	ck_assert_int_eq(pam_version(&fx), 1);
	nss2 = slurp(fx.c->nss_index, &l2);
	ck_assert_uint_eq(l1, l2);
	ck_assert_mem_eq(nss1, nss2, l1);
	state_get(&fx, &s);
	ck_assert_int_eq(s.version, 1);
	ck_assert_int_eq(s.last_success, NOW);
	ck_assert_int_eq(s.last_attempt, NOW + 5);
	ck_assert_ptr_nonnull(strstr(s.last_error, "statements_sha256"));
	free(nss1);
	free(nss2);
	fixture_clear(&fx);
}
END_TEST

START_TEST(older_version_is_refused_as_a_rollback)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 5, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), 0);
	publish(&fx, 4, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW + 1, &r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "rollback"));
	ck_assert_int_eq(pam_version(&fx), 5);
	state_get(&fx, &s);
	ck_assert_int_eq(s.version, 5);
	ck_assert_ptr_nonnull(strstr(s.last_error, "rollback"));
	fixture_clear(&fx);
}
END_TEST

START_TEST(same_version_with_other_content_is_an_alarm)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 3, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), 0);
	add_binding(&fx, fx.iss, "b-9", "deploy", NHI_CRED_USER);
	publish(&fx, 3, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW + 1, &r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "same version with a different "
	    "hash"));
	ck_assert_int_eq(pam_version(&fx), 3);
	fixture_clear(&fx);
}
END_TEST

START_TEST(expired_register_is_refused)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 100);
	ck_assert_int_eq(sync_at(&fx, NOW + 100 + 60, &r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "expired"));
	ck_assert_int_eq(pam_version(&fx), -1);
	fixture_clear(&fx);
}
END_TEST

START_TEST(bad_accounts_are_rejected_and_the_rest_kept)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	size_t len;
	char *rec;

	fixture_init(&fx);
	add_account(&fx, "nhi-a", 70001, 70001, NULL);		/* line 2 */
	add_account(&fx, "nhi-far", 80000, 70010, NULL);	/* 3 */
	add_account(&fx, "nhi-gid", 70011, 90000, NULL);	/* 4 */
	add_account(&fx, "nhi-lu", 70500, 70012, NULL);		/* 5 */
	add_account(&fx, "localgrp", 70013, 70013, NULL);	/* 6 */
	add_account(&fx, "nhi-x1", 70020, 70020, NULL);		/* 7 */
	add_account(&fx, "nhi-x2", 70020, 70021, NULL);		/* 8 */
	add_account(&fx, "nhi-dup", 70030, 70030, NULL);	/* 9 */
	add_account(&fx, "nhi-dup", 70031, 70031, NULL);	/* 10 */
	add_account(&fx, "nhi-grp", 70040, 70040, "nosuch");	/* 11 */
	add_account(&fx, "other", 70050, 70050, NULL);		/* 12 */
	add_account(&fx, "nhi-g1", 70060, 70061, NULL);		/* 13 */
	add_account(&fx, "nhi-g2", 70062, 70061, NULL);		/* 14 */
	add_account(&fx, "nhi-root", 70070, 70070, "root");	/* 15 */
	add_account(&fx, "nhi-b", 70002, 70600, "adm,docker");	/* 16 */
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_accounts, 2);
	ck_assert_uint_eq(r.n_rejected, 13);
	ck_assert_uint_eq(fx.n_rej, 13);
	ck_assert(rejected(&fx, 3, "outside account_uids"));
	ck_assert(rejected(&fx, 4, "outside account_gids"));
	ck_assert(rejected(&fx, 5, "local user"));
	ck_assert(rejected(&fx, 6, "local group"));
	ck_assert(rejected(&fx, 7, "uid 70020 also claimed by account "
	    "nhi-x2 (line 8)"));
	ck_assert(rejected(&fx, 8, "nhi-x1 (line 7)"));
	ck_assert(rejected(&fx, 9, "name also claimed on line 10"));
	ck_assert(rejected(&fx, 10, "name also claimed on line 9"));
	ck_assert(rejected(&fx, 11, "group nosuch not found"));
	ck_assert(rejected(&fx, 12, "may not issue"));
	ck_assert(rejected(&fx, 13, "gid 70061 also claimed"));
	ck_assert(rejected(&fx, 14, "gid 70061 also claimed"));
	ck_assert(rejected(&fx, 15, "gid 0"));

	rec = nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-a", &len);
	ck_assert_ptr_nonnull(rec);
	free(rec);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_MEMBER, "nhi-b", &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_mem_eq(rec, "4\0" "999", 6);
	free(rec);
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-x1", &len));
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-dup",
	    &len));
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_PWUID, "70500", &len));
	fixture_clear(&fx);
}
END_TEST

/*
 * An issuer cannot put pseudonymous accounts into privileged local
 * groups: only those the host lists in account_groups, narrowed by the
 * issuer's own groups, and a primary gid below 1000 only when listed.
 */
START_TEST(accounts_join_only_the_groups_the_host_allows)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	size_t len;
	char *rec;

	fixture_init(&fx);
	add_account(&fx, "nhi-sudo", 70001, 70001, "sudo");	/* line 2 */
	add_account(&fx, "nhi-shadow", 70002, 70002, "docker,shadow"); /* 3 */
	add_account(&fx, "nhi-disk", 70003, 70003, "disk");	/* 4 */
	add_account(&fx, "nhi-ok", 70004, 70004, "docker,adm");	/* 5 */
	add_account(&fx, "nhi-pg", 70005, 27, NULL);		/* 6 */
	add_account(&fx, "nhi-pga", 70006, 4, NULL);		/* 7 */
	publish(&fx, 1, NOW + 3600);
	conf_load(&fx, "account_gids = 1-79999\n");
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_accounts, 2);
	ck_assert_uint_eq(r.n_rejected, 4);
	ck_assert(rejected(&fx, 2, "group sudo is not in account_groups"));
	ck_assert(rejected(&fx, 3, "group shadow is not in account_groups"));
	ck_assert(rejected(&fx, 4, "group disk is not in account_groups"));
	ck_assert(rejected(&fx, 6, "primary group sudo (gid 27) is not in "
	    "account_groups"));
	rec = nss_get(&fx, NHI_NSSIDX_TAG_MEMBER, "nhi-ok", &len);
	ck_assert_ptr_nonnull(rec);
	ck_assert_mem_eq(rec, "999\0" "4", 6);
	free(rec);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-pga", &len);
	ck_assert_ptr_nonnull(rec);
	free(rec);

	/* The issuer's own groups narrow the host's list. */
	while (fx.n_rej > 0)
		free(fx.rej_msg[--fx.n_rej]);
	conf_load_issuer(&fx, "account_gids = 1-79999\n", "groups = docker\n");
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_accounts, 0);
	ck_assert(rejected(&fx, 5, "group adm is not among the issuer's "
	    "groups"));
	ck_assert(rejected(&fx, 7, "primary group adm (gid 4) is not among "
	    "the issuer's groups"));
	fixture_clear(&fx);
}
END_TEST

START_TEST(bad_statements_are_rejected_by_line_and_the_rest_kept)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_pamidx *x;
	struct nhi_view v;
	struct nhi_err e;
	char *sig;

	fixture_init(&fx);
	add_binding(&fx, fx.iss, "b-1", "deploy", NHI_CRED_USER);
	add_binding(&fx, fx.stranger, "b-2", "deploy", NHI_CRED_USER);
	add_binding(&fx, fx.iss, "b-3", "deploy", NHI_CRED_USER);
	sig = strstr(fx.st[2], "\"sig\":\"") + 8;
	*sig = *sig == 'A' ? 'B' : 'A';
	add_statement(&fx, nhi_dsse_sign(fx.iss, NHI_PT_REGISTER, "{}", 2));
	/* Out of the issuer's account globs: kept for the decision. */
	add_binding(&fx, fx.iss, "b-5", "root", NHI_CRED_CHECKOUT);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_bindings, 2);
	ck_assert_uint_eq(r.n_rejected, 3);
	ck_assert(rejected(&fx, 3, "not a trusted issuer"));
	ck_assert(rejected(&fx, 4, ""));
	ck_assert(rejected(&fx, 5, "not a statement"));
	ck_assert_int_eq(nhi_pamidx_open(fx.c->pam_index, &x, &e), 0);
	ck_assert_int_eq(nhi_pamidx_view(x, "deploy", &v, &e), 0);
	ck_assert_uint_eq(v.n_bindings, 1);
	ck_assert_str_eq(v.bindings[0]->id, "b-1");
	nhi_view_clear(&v);
	ck_assert_int_eq(nhi_pamidx_view(x, "root", &v, &e), 0);
	ck_assert_uint_eq(v.n_bindings, 1);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	fixture_clear(&fx);
}
END_TEST

START_TEST(second_sync_waits_for_the_lock_then_fails_clearly)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	time_t t0;
	char *lock;
	int fd;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_int_eq(mkdir(fx.statedir, 0755), 0);
	lock = path_in(fx.statedir, "lock");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	t0 = time(NULL);
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), -1);
	ck_assert_int_ge(time(NULL) - t0, NHI_SYNC_LOCK_WAIT - 1);
	ck_assert_ptr_nonnull(strstr(e.msg, "another sync is running"));
	ck_assert_int_eq(pam_version(&fx), -1);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pam_version(&fx), 1);
	close(fd);
	free(lock);
	fixture_clear(&fx);
}
END_TEST

START_TEST(unreachable_source_fails_and_a_mirror_takes_over)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;
	char *good;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	good = fx.url;
	ck_assert_int_gt(asprintf(&fx.url, "file://%s/missing.json", fx.dir),
	    0);
	conf_load(&fx, "");
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing.json"));
	state_get(&fx, &s);
	ck_assert_int_eq(s.version, 0);
	ck_assert_int_eq(s.last_attempt, NOW);
	ck_assert_str_ne(s.last_error, "");
	ck_assert_int_eq(pam_version(&fx), -1);

	/* The missing URL first, the good one as a mirror. */
	free(fx.url);
	ck_assert_int_gt(asprintf(&fx.url, "file://%s/missing.json\n"
	    "register_url = %s", fx.dir, good), 0);
	conf_load(&fx, "");
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(r.source, good);
	free(good);
	fixture_clear(&fx);
}
END_TEST

/*
 * A mirror that serves a rollback, or the same version with other
 * content, raises an alarm that a later mirror's success does not hide:
 * the good register is installed, the run fails with the alarm.
 */
START_TEST(a_mirror_alarm_survives_failover)
{
	static const struct {
		int64_t bad_version, good_version;
		const char *reason, *words;
		bool installed;
	} cases[] = {
		{ 1, 3, "rollback", "rollback", true },
		{ 2, 2, "same-version-different-hash", "same version with a "
		    "different hash", false },
	};
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;
	char *good, *bad, line[2048];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_init(&fx);
		add_standard(&fx);
		publish(&fx, 2, NOW + 3600);
		ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
		/* The bad mirror's register, then the good one's. */
		bad = path_in(fx.dir, "bad.json");
		good = fx.url;
		if (cases[i].bad_version == 2)
			add_binding(&fx, fx.iss, "b-9", "deploy",
			    NHI_CRED_USER);
		publish(&fx, cases[i].bad_version, NOW + 3600);
		ck_assert_int_eq(rename(fx.regpath, bad), 0);
		if (cases[i].bad_version == 2)
			free(fx.st[--fx.n]);
		publish(&fx, cases[i].good_version, NOW + 3600);
		ck_assert_int_gt(asprintf(&fx.url, "file://%s\n"
		    "register_url = %s", bad, good), 0);
		conf_load(&fx, "");

		ck_assert_int_eq(sync_at(&fx, NOW + 10, &r, &e), -1);
		ck_assert_msg(strstr(e.msg, cases[i].words) != NULL, "%s",
		    e.msg);
		ck_assert_ptr_nonnull(strstr(e.msg, "bad.json"));
		ck_assert_str_eq(r.reason, cases[i].reason);
		ck_assert(r.alarm);
		ck_assert(r.installed == cases[i].installed);
		ck_assert_int_eq(pam_version(&fx), cases[i].good_version);
		state_get(&fx, &s);
		ck_assert_int_eq(s.version, cases[i].good_version);
		ck_assert_ptr_nonnull(strstr(s.last_error, cases[i].words));
		ck_assert_str_eq(s.last_reason, cases[i].reason);
		nhi_sync_logline(&r, &e, line, sizeof(line));
		ck_assert_msg(strstr(line, cases[i].reason) != NULL &&
		    strstr(line, " error=\"") != NULL, "%s", line);
		free(good);
		free(bad);
		fixture_clear(&fx);
	}
}
END_TEST

START_TEST(oversized_register_is_refused)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	conf_load(&fx, "max_register_size = 1000\n");
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "max_register_size"));
	ck_assert_int_eq(pam_version(&fx), -1);
	conf_load(&fx, "");
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	fixture_clear(&fx);
}
END_TEST

START_TEST(sync_file_installs_a_local_file)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(nhi_sync_file(fx.c, fx.regpath, NULL, NOW, NULL, NULL,
	    &r, &e) == 0, "%s", e.msg);
	ck_assert(r.installed);
	ck_assert_str_eq(r.source, fx.regpath);
	ck_assert_int_eq(pam_version(&fx), 2);
	fixture_clear(&fx);
}
END_TEST

/*
 * A register on the local disk that is not a regular file fails at once
 * with its reason, through nhi_sync_file and through a file:// URL: a
 * FIFO would otherwise wait for a writer with the lock held, past any
 * timeout. A file over max_register_size is refused as a download is.
 * The register installed before stays.
 */
START_TEST(local_register_must_be_a_regular_file_within_the_cap)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	char *fifo, *fifo_url, *dir_url, *saved;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	fifo = path_in(fx.dir, "fifo.json");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_gt(asprintf(&fifo_url, "file://%s", fifo), 0);
	ck_assert_int_gt(asprintf(&dir_url, "file://%s/", fx.dir), 0);

	ck_assert_int_eq(nhi_sync_file(fx.c, fifo, NULL, NOW + 1, NULL, NULL,
	    &r, &e), -1);
	ck_assert_str_eq(r.reason, "unreachable");
	ck_assert_msg(strstr(e.msg, "not a regular file") != NULL, "%s",
	    e.msg);
	ck_assert_int_eq(nhi_sync_file(fx.c, fx.dir, NULL, NOW + 1, NULL,
	    NULL, &r, &e), -1);
	ck_assert_str_eq(r.reason, "unreachable");
	ck_assert_msg(strstr(e.msg, "not a regular file") != NULL, "%s",
	    e.msg);

	saved = fx.url;
	fx.url = fifo_url;
	conf_load(&fx, "");
	ck_assert_int_eq(sync_at(&fx, NOW + 1, &r, &e), -1);
	ck_assert_str_eq(r.reason, "unreachable");
	ck_assert_msg(strstr(e.msg, "not a regular file") != NULL, "%s",
	    e.msg);
	fx.url = dir_url;
	conf_load(&fx, "");
	ck_assert_int_eq(sync_at(&fx, NOW + 1, &r, &e), -1);
	ck_assert_str_eq(r.reason, "unreachable");
	fx.url = saved;

	publish(&fx, 2, NOW + 3600);
	conf_load(&fx, "max_register_size = 1000\n");
	ck_assert_int_eq(nhi_sync_file(fx.c, fx.regpath, NULL, NOW + 1, NULL,
	    NULL, &r, &e), -1);
	ck_assert_str_eq(r.reason, "too-large");
	ck_assert_ptr_nonnull(strstr(e.msg, "max_register_size"));
	ck_assert_int_eq(pam_version(&fx), 1);
	conf_load(&fx, "");
	ck_assert_msg(nhi_sync_file(fx.c, fx.regpath, NULL, NOW + 1, NULL,
	    NULL, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pam_version(&fx), 2);
	free(fifo);
	free(fifo_url);
	free(dir_url);
	fixture_clear(&fx);
}
END_TEST

START_TEST(unchanged_signatures_come_from_the_cache)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	size_t n;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	n = r.n_verified;
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(r.n_cached, 0);
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert(r.installed);
	ck_assert_uint_eq(r.n_verified, 0);
	ck_assert_uint_eq(r.n_cached, n);
	ck_assert_int_eq(pam_version(&fx), 2);
	fixture_clear(&fx);
}
END_TEST

START_TEST(a_damaged_cache_costs_verification_not_correctness)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	char *cache;
	size_t n;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	n = r.n_verified;
	cache = path_in(fx.statedir, "verified.cdb");
	ck_assert_int_eq(nhi_write_atomic(cache, "garbage", 7, 0600), 0);
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_verified, n);
	ck_assert_uint_eq(r.n_cached, 0);
	free(cache);
	fixture_clear(&fx);
}
END_TEST

/*
 * A FIFO where the statement cache or the NSS index should be: opening
 * it must not wait for a writer with the lock held.
 */
START_TEST(a_fifo_in_place_of_the_cache_or_index_does_not_hang_a_sync)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	struct stat st;
	char *cache;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	cache = path_in(fx.statedir, "verified.cdb");
	ck_assert_int_eq(unlink(cache), 0);
	ck_assert_int_eq(mkfifo(cache, 0600), 0);
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_cached, 0);
	ck_assert_uint_eq(r.n_verified, fx.n);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert(S_ISREG(st.st_mode));

	ck_assert_int_eq(unlink(fx.c->nss_index), 0);
	ck_assert_int_eq(mkfifo(fx.c->nss_index, 0644), 0);
	ck_assert_msg(sync_at(&fx, NOW + 2, &r, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(r.reason, "repaired");
	ck_assert_int_eq(stat(fx.c->nss_index, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	free(cache);
	fixture_clear(&fx);
}
END_TEST

/*
 * A sync that installed the indexes but could not record the state (a
 * full disk under the state directory; a sync killed between the two is
 * the same): the older register the state still names must not replace
 * the newer index. The state directory is a small tmpfs in a private
 * mount namespace (this test's own process), the indexes are beside it.
 */
START_TEST(an_index_newer_than_the_state_is_not_rolled_back)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;
	unsigned char *v1;
	char *extra, *fill, block[4096];
	size_t len;
	int fd;

	ck_assert_msg(geteuid() == 0, "needs root (CI runs as root)");
	fixture_init(&fx);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	/* Source and type are ignored here; valgrind wants them readable. */
	ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE,
	    NULL), 0);
	ck_assert_int_eq(mkdir(fx.statedir, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", fx.statedir, "tmpfs", 0,
	    "size=256k,mode=0755"), 0);
	ck_assert_int_gt(asprintf(&extra, "pam_index = %s/pam.cdb\n"
	    "nss_index = %s/nss.cdb\n", fx.dir, fx.dir), 0);
	conf_load(&fx, extra);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	v1 = slurp(fx.regpath, &len);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);

	/* The state directory fills up. */
	fill = path_in(fx.statedir, "fill");
	fd = open(fill, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	memset(block, 'x', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(close(fd), 0);
	publish(&fx, 2, NOW + 3600);
	ck_assert_int_ne(sync_at(&fx, NOW + 1, &r, &e), 0);
	ck_assert_str_eq(r.reason, "disk");
	ck_assert_int_eq(pam_version(&fx), 2);

	/* Room again; version 1 is served again. */
	ck_assert_int_eq(unlink(fill), 0);
	ck_assert_int_eq(nhi_write_atomic(fx.regpath, v1, len, 0644), 0);
	ck_assert_int_ne(sync_at(&fx, NOW + 2, &r, &e), 0);
	ck_assert_str_eq(r.reason, "rollback");
	ck_assert_int_eq(pam_version(&fx), 2);

	/* Nor another register under the index's version. */
	fx.n--;
	publish(&fx, 2, NOW + 3600);
	fx.n++;
	ck_assert_int_ne(sync_at(&fx, NOW + 2, &r, &e), 0);
	ck_assert_str_eq(r.reason, "same-version-different-hash");

	/* Version 2 again is accepted and recorded. */
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 3, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pam_version(&fx), 2);
	state_get(&fx, &s);
	ck_assert_int_eq(s.version, 2);
	free(v1);
	free(fill);
	free(extra);
	ck_assert_int_eq(umount(fx.statedir), 0);
	fixture_clear(&fx);
}
END_TEST

/*
 * A sync killed between renaming the NSS index and the PAM index leaves
 * the new NSS index beside the old PAM index and state (and no statement
 * cache: it goes before the first rename). The old register served again
 * must rebuild both, not keep the NSS index of a register never recorded.
 */
START_TEST(a_sync_killed_between_the_two_renames_is_repaired)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	unsigned char *v1, *pam, *state;
	size_t n1, npam, nstate, len;
	char *cache, *statefile, *rec;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	v1 = slurp(fx.regpath, &n1);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	statefile = path_in(fx.statedir, "state");
	cache = path_in(fx.statedir, "verified.cdb");
	pam = slurp(fx.c->pam_index, &npam);
	state = slurp(statefile, &nstate);

	add_account(&fx, "nhi-c", 70003, 70003, NULL);
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	rec = nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-c", &len);
	ck_assert_ptr_nonnull(rec);
	free(rec);
	/* What the kill left: the PAM index and state of version 1. */
	ck_assert_int_eq(nhi_write_atomic(fx.c->pam_index, pam, npam, 0600),
	    0);
	ck_assert_int_eq(nhi_write_atomic(statefile, state, nstate, 0644), 0);
	ck_assert_int_eq(unlink(cache), 0);

	ck_assert_int_eq(nhi_write_atomic(fx.regpath, v1, n1, 0644), 0);
	ck_assert_msg(sync_at(&fx, NOW + 2, &r, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(r.reason, "repaired");
	ck_assert_ptr_null(nss_get(&fx, NHI_NSSIDX_TAG_PWNAM, "nhi-c", &len));
	ck_assert_int_eq(pam_version(&fx), 1);
	free(v1);
	free(pam);
	free(state);
	free(cache);
	free(statefile);
	fixture_clear(&fx);
}
END_TEST

START_TEST(leftovers_of_a_killed_sync_are_removed)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	char *tmp;
	int fd;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	publish(&fx, 2, NOW + 3600);
	ck_assert(asprintf(&tmp, "%s.tmp.AbC123", fx.c->pam_index) > 0);
	fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "half", 4), 4);
	close(fd);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	ck_assert_int_eq(pam_version(&fx), 2);
	free(tmp);
	fixture_clear(&fx);
}
END_TEST

START_TEST(failures_carry_a_reason_word_and_a_log_line)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_state s;
	struct nhi_err e;
	char line[2048], *moved;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 2, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW, &r, &e), 0);
	ck_assert_str_eq(r.reason, "ok");
	nhi_sync_logline(&r, NULL, line, sizeof(line));
	ck_assert_msg(strncmp(line, "nhi-sync result=installed source=\"",
	    34) == 0, "%s", line);
	ck_assert_ptr_nonnull(strstr(line, " version=2 bindings=3 "));
	ck_assert_ptr_nonnull(strstr(line, " reason=ok"));
	ck_assert_ptr_null(strstr(line, "error="));

	publish(&fx, 1, NOW + 3600);
	ck_assert_int_ne(sync_at(&fx, NOW + 1, &r, &e), 0);
	ck_assert_int_eq(r.outcome, NHI_SYNC_FAILED);
	ck_assert_str_eq(r.reason, "rollback");
	ck_assert_str_eq(r.source, fx.url);
	nhi_sync_logline(&r, &e, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "result=failed "));
	/* The counts are those of the register that stays installed. */
	ck_assert_msg(strstr(line, " version=2 bindings=3 ") != NULL, "%s",
	    line);
	ck_assert_ptr_nonnull(strstr(line, " reason=rollback error=\""));
	/* With the PAM index gone, nothing is in force to name. */
	moved = path_in(fx.dir, "pam.cdb.moved");
	ck_assert_int_eq(rename(fx.c->pam_index, moved), 0);
	ck_assert_int_ne(sync_at(&fx, NOW + 1, &r, &e), 0);
	ck_assert_str_eq(r.reason, "rollback");
	nhi_sync_logline(&r, &e, line, sizeof(line));
	ck_assert_msg(strstr(line, " version=0 bindings=0 ") != NULL, "%s",
	    line);
	free(moved);
	state_get(&fx, &s);
	ck_assert_int_eq(s.last_failure, NOW + 1);
	ck_assert_str_eq(s.last_reason, "rollback");

	/* A later success keeps the last failure for nhictl status. */
	publish(&fx, 3, NOW + 3600);
	ck_assert_int_eq(sync_at(&fx, NOW + 2, &r, &e), 0);
	state_get(&fx, &s);
	ck_assert_str_eq(s.last_error, "");
	ck_assert_int_eq(s.last_failure, NOW + 1);
	ck_assert_ptr_nonnull(strstr(s.last_failure_error, "rollback"));
	fixture_clear(&fx);
}
END_TEST

START_TEST(a_state_file_without_the_later_fields_still_loads)
{
	struct nhi_state s;
	struct nhi_err e;
	char dir[] = "/tmp/nhi-state.XXXXXX", *path;
	const char *old = "format=1\nversion=3\nsha256="
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
	    "issued_at=1\nexpires_at=2\nlast_success=1\nlast_attempt=1\n"
	    "last_error=\nsource=file:///r\nbindings=1\naccounts=0\ndeny=0\n"
	    "rejected=0\n";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = path_in(dir, "state");
	ck_assert_int_eq(nhi_write_atomic(path, old, strlen(old), 0644), 0);
	ck_assert_msg(nhi_state_load(dir, &s, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(s.version, 3);
	ck_assert_str_eq(s.etag, "");
	ck_assert_int_eq(s.last_failure, 0);
	unlink(path);
	rmdir(dir);
	free(path);
}
END_TEST

/* The statement cache. */

static void
rejections_clear(struct fixture *fx)
{
	size_t i;

	for (i = 0; i < fx->n_rej; i++)
		free(fx->rej_msg[i]);
	fx->n_rej = 0;
}

/* What a sync installed and said, to compare two syncs by. */
struct outcome {
	unsigned char *pam, *nss;
	size_t pam_len, nss_len;
	size_t n_bindings, n_accounts, n_rejected;
	char *rejections;	/* "LINE: REASON\n" each */
};

static void
outcome_take(struct fixture *fx, const struct nhi_sync_result *r,
    struct outcome *o)
{
	struct nhi_buf b = { NULL, 0, 0 };
	size_t i;

	o->pam = slurp(fx->c->pam_index, &o->pam_len);
	o->nss = slurp(fx->c->nss_index, &o->nss_len);
	o->n_bindings = r->n_bindings;
	o->n_accounts = r->n_accounts;
	o->n_rejected = r->n_rejected;
	ck_assert_int_eq(nhi_buf_adds(&b, ""), 0);
	for (i = 0; i < fx->n_rej; i++)
		ck_assert_int_eq(nhi_buf_addf(&b, "%zu: %s\n", fx->rej_line[i],
		    fx->rej_msg[i]), 0);
	o->rejections = b.s;
	rejections_clear(fx);
}

static void
outcome_clear(struct outcome *o)
{
	free(o->pam);
	free(o->nss);
	free(o->rejections);
}

/*
 * Syncs the published register at now into a state that never saw it
 * (no cache, every signature verified) and asserts that it installs and
 * says exactly what o holds. The state is gone afterwards.
 */
static void
assert_as_verified(struct fixture *fx, int64_t now, const struct outcome *o)
{
	struct nhi_sync_result r;
	struct outcome fresh;
	struct nhi_err e;

	ck_assert_int_eq(tu_rmpath(fx->statedir), 0);
	rejections_clear(fx);
	ck_assert_msg(sync_at(fx, now, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_cached, 0);
	outcome_take(fx, &r, &fresh);
	ck_assert_uint_eq(fresh.pam_len, o->pam_len);
	ck_assert(memcmp(fresh.pam, o->pam, o->pam_len) == 0);
	ck_assert_uint_eq(fresh.nss_len, o->nss_len);
	ck_assert(memcmp(fresh.nss, o->nss, o->nss_len) == 0);
	ck_assert_uint_eq(fresh.n_bindings, o->n_bindings);
	ck_assert_uint_eq(fresh.n_accounts, o->n_accounts);
	ck_assert_uint_eq(fresh.n_rejected, o->n_rejected);
	ck_assert_str_eq(fresh.rejections, o->rejections);
	outcome_clear(&fresh);
}

/*
 * The standard register, and statements rejected for what the host
 * holds (a local uid, a clash, a stranger's signature): the rejections
 * too must not change with the cache.
 */
static void
add_mixed(struct fixture *fx)
{
	add_standard(fx);
	add_account(fx, "nhi-local", 70500, 70500, NULL);
	add_account(fx, "nhi-c", 70003, 70003, "docker, adm");
	add_account(fx, "nhi-c", 70004, 70004, NULL);
	add_binding(fx, fx->stranger, "b-9", "deploy", NHI_CRED_USER);
	add_binding(fx, fx->iss, "b-4", "nhi-b", NHI_CRED_SSH_KEY);
}

START_TEST(a_cache_hit_installs_what_verification_installs)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct outcome cached;
	struct nhi_err e;
	struct stat st;
	char *cache;

	fixture_init(&fx);
	add_mixed(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_cached, 0);
	publish(&fx, 2, NOW + 3600);
	rejections_clear(&fx);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_verified, 0);
	ck_assert_uint_eq(r.n_cached, fx.n - 1);
	ck_assert_uint_gt(r.n_rejected, 2);
	ck_assert(rejected(&fx, 7, "belongs to a local user"));
	ck_assert(rejected(&fx, 9, "also claimed"));
	ck_assert(rejected(&fx, 10, "not a trusted issuer"));
	/* The cache is the host's own: root only, no temporary left. */
	cache = path_in(fx.statedir, "verified.cdb");
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	outcome_take(&fx, &r, &cached);
	assert_as_verified(&fx, NOW + 1, &cached);
	outcome_clear(&cached);
	free(cache);
	fixture_clear(&fx);
}
END_TEST

START_TEST(a_cache_entry_of_an_issuer_key_no_longer_pinned_is_not_used)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_seckey *k;
	struct nhi_err e;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_verified, fx.n);

	/* The issuer's key is replaced by another one. */
	k = fx.iss;
	fx.iss = fx.stranger;
	conf_load(&fx, "");
	fx.iss = k;
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_cached, 0);
	ck_assert_uint_eq(r.n_rejected, fx.n);
	ck_assert_uint_eq(r.n_bindings + r.n_accounts, 0);
	ck_assert(rejected(&fx, 2, "not a trusted issuer"));

	/* Pinned again: verified again, the cache having lost them. */
	conf_load(&fx, "");
	publish(&fx, 3, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 2, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_rejected, 0);
	ck_assert_uint_eq(r.n_verified, fx.n);
	fixture_clear(&fx);
}
END_TEST

START_TEST(a_statement_changed_by_one_byte_is_verified_again)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct nhi_err e;
	char *sig;

	fixture_init(&fx);
	add_standard(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);

	/* One byte of the first signature changed: refused, not cached. */
	sig = strstr(fx.st[0], "\"sig\":\"");
	ck_assert_ptr_nonnull(sig);
	sig += 7;
	*sig = *sig == 'A' ? 'B' : 'A';
	publish(&fx, 2, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_cached, fx.n - 1);
	ck_assert_uint_eq(r.n_verified, 0);
	ck_assert_uint_eq(r.n_rejected, 1);
	ck_assert(rejected(&fx, 2, "bad signature"));

	/* Re-issued with one byte of its payload changed: verified. */
	free(fx.st[0]);
	fx.n = 0;
	add_binding(&fx, fx.iss, "b-7", "deploy", NHI_CRED_SSH_KEY);
	fx.n = 5;
	publish(&fx, 3, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW + 2, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.n_verified, 1);
	ck_assert_uint_eq(r.n_cached, fx.n - 1);
	ck_assert_uint_eq(r.n_rejected, 0);
	fixture_clear(&fx);
}
END_TEST

/* Ways the cache file can be found. */
enum damage {
	D_TRUNCATED_HALF,
	D_HEADER_ONLY,
	D_BYTE_FLIPPED,
	D_OLD_FORMAT,
	D_ENTRIES_SWAPPED,
	D_WRITABLE_BY_GROUP,
	D_A_DIRECTORY,
	D_EMPTY,
	D_GARBAGE,
};

/* A cdb holding what the statements' hashes are given. */
static void
cache_write(const char *path, char *const *st, size_t n,
    const unsigned char *const *values, const size_t *lens, bool format)
{
	unsigned char h[32];
	struct cdb_make cm;
	size_t i;
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cdb_make_start(&cm, fd), 0);
	if (format)
		ck_assert_int_eq(cdb_make_add(&cm, "\0stcache", 8,
		    "NHISTC\0\1", 8), 0);
	for (i = 0; i < n; i++) {
		crypto_hash_sha256(h, (const unsigned char *)st[i],
		    strlen(st[i]));
		ck_assert_int_eq(cdb_make_add(&cm, h, 32, values[i],
		    (unsigned)lens[i]), 0);
	}
	ck_assert_int_eq(cdb_make_finish(&cm), 0);
	ck_assert_int_eq(close(fd), 0);
}

/*
 * The cache's value for each statement, as this version stores it (NULL
 * for a statement it does not hold).
 */
static void
cache_values(const char *path, char *const *st, size_t n,
    unsigned char **values, size_t *lens)
{
	unsigned char h[32];
	struct cdb cdb;
	size_t i;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cdb_init(&cdb, fd), 0);
	for (i = 0; i < n; i++) {
		crypto_hash_sha256(h, (const unsigned char *)st[i],
		    strlen(st[i]));
		values[i] = NULL;
		lens[i] = 0;
		if (cdb_find(&cdb, h, 32) <= 0)
			continue;
		lens[i] = cdb_datalen(&cdb);
		values[i] = malloc(lens[i]);
		ck_assert_ptr_nonnull(values[i]);
		memcpy(values[i], cdb_getdata(&cdb), lens[i]);
	}
	cdb_free(&cdb);
	close(fd);
}

static void
cache_damage(struct fixture *fx, const char *path, enum damage d)
{
	unsigned char *buf, *values[MAXST], *rot[MAXST] = { NULL };
	size_t len, lens[MAXST], rlens[MAXST] = { 0 }, i, n;
	struct stat st;

	switch (d) {
	case D_TRUNCATED_HALF:
	case D_HEADER_ONLY:
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(truncate(path, d == D_HEADER_ONLY ? 2048 :
		    st.st_size / 2), 0);
		break;
	case D_BYTE_FLIPPED:
		/* The middle of the records of the first statement. */
		buf = slurp(path, &len);
		cache_values(path, fx->st, 1, values, lens);
		ck_assert_ptr_nonnull(values[0]);
		for (i = 2048; i + lens[0] <= len; i++)
			if (memcmp(buf + i, values[0], lens[0]) == 0)
				break;
		ck_assert_uint_lt(i + lens[0], len + 1);
		buf[i + lens[0] / 2] ^= 0x01;
		ck_assert_int_eq(nhi_write_atomic(path, buf, len, 0600), 0);
		free(buf);
		free(values[0]);
		break;
	case D_OLD_FORMAT:
		/* The cache before it kept records: the issuer key only. */
		for (i = 0; i < fx->n; i++) {
			values[i] = fx->iss->pk;
			lens[i] = 32;
		}
		cache_write(path, fx->st, fx->n,
		    (const unsigned char *const *)values, lens, false);
		break;
	case D_ENTRIES_SWAPPED:
		/* Well-formed entries, each under another statement. */
		cache_values(path, fx->st, fx->n, values, lens);
		for (i = n = 0; i < fx->n; i++) {
			if (values[i] != NULL) {
				values[n] = values[i];
				lens[n++] = lens[i];
			}
		}
		for (i = 0; i < n; i++) {
			rot[i] = values[(i + 1) % n];
			rlens[i] = lens[(i + 1) % n];
		}
		cache_write(path, fx->st, n,
		    (const unsigned char *const *)rot, rlens, true);
		for (i = 0; i < n; i++)
			free(values[i]);
		break;
	case D_WRITABLE_BY_GROUP:
		ck_assert_int_eq(chmod(path, 0620), 0);
		break;
	case D_A_DIRECTORY:
		ck_assert_int_eq(unlink(path), 0);
		ck_assert_int_eq(mkdir(path, 0700), 0);
		break;
	case D_EMPTY:
		ck_assert_int_eq(truncate(path, 0), 0);
		break;
	case D_GARBAGE:
		buf = slurp(path, &len);
		randombytes_buf(buf, len);
		ck_assert_int_eq(nhi_write_atomic(path, buf, len, 0600), 0);
		free(buf);
		break;
	}
}

START_TEST(a_damaged_or_foreign_cache_costs_time_not_correctness)
{
	struct fixture fx;
	struct nhi_sync_result r;
	struct outcome o;
	struct nhi_err e;
	char *cache;

	fixture_init(&fx);
	add_mixed(&fx);
	publish(&fx, 1, NOW + 3600);
	ck_assert_msg(sync_at(&fx, NOW, &r, &e) == 0, "%s", e.msg);
	cache = path_in(fx.statedir, "verified.cdb");
	cache_damage(&fx, cache, (enum damage)_i);
	publish(&fx, 2, NOW + 3600);
	rejections_clear(&fx);
	ck_assert_msg(sync_at(&fx, NOW + 1, &r, &e) == 0, "%s", e.msg);
	ck_assert(r.installed);
	if (_i == D_BYTE_FLIPPED)
		ck_assert_uint_eq(r.n_cached, fx.n - 2);
	else
		ck_assert_uint_eq(r.n_cached, 0);
	ck_assert_uint_eq(r.n_verified + r.n_cached, fx.n - 1);
	outcome_take(&fx, &r, &o);
	assert_as_verified(&fx, NOW + 1, &o);
	outcome_clear(&o);
	free(cache);
	fixture_clear(&fx);
}
END_TEST

static Suite *
sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *t;

	t = tcase_create("sync");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, good_sync_installs_both_indexes_and_the_state);
	tcase_add_test(t, same_register_again_is_unchanged_and_not_reinstalled);
	tcase_add_test(t, same_register_repairs_damaged_indexes);
	tcase_add_test(t, same_register_under_a_changed_config_is_judged_again);
	tcase_add_test(t,
	    governance_rules_go_into_the_index_and_follow_the_config);
	tcase_add_test(t, tampered_register_fails_and_installed_indexes_stay);
	tcase_add_test(t, older_version_is_refused_as_a_rollback);
	tcase_add_test(t, same_version_with_other_content_is_an_alarm);
	tcase_add_test(t, expired_register_is_refused);
	tcase_add_test(t, bad_accounts_are_rejected_and_the_rest_kept);
	tcase_add_test(t, accounts_join_only_the_groups_the_host_allows);
	tcase_add_test(t,
	    bad_statements_are_rejected_by_line_and_the_rest_kept);
	tcase_add_test(t, second_sync_waits_for_the_lock_then_fails_clearly);
	tcase_add_test(t, unreachable_source_fails_and_a_mirror_takes_over);
	tcase_add_test(t, a_mirror_alarm_survives_failover);
	tcase_add_test(t, oversized_register_is_refused);
	tcase_add_test(t, sync_file_installs_a_local_file);
	tcase_add_test(t, local_register_must_be_a_regular_file_within_the_cap);
	tcase_add_test(t, unchanged_signatures_come_from_the_cache);
	tcase_add_test(t, a_damaged_cache_costs_verification_not_correctness);
	tcase_add_test(t, leftovers_of_a_killed_sync_are_removed);
	tcase_add_test(t, an_index_newer_than_the_state_is_not_rolled_back);
	tcase_add_test(t, a_sync_killed_between_the_two_renames_is_repaired);
	tcase_add_test(t,
	    a_fifo_in_place_of_the_cache_or_index_does_not_hang_a_sync);
	tcase_add_test(t, failures_carry_a_reason_word_and_a_log_line);
	tcase_add_test(t, a_state_file_without_the_later_fields_still_loads);
	suite_add_tcase(s, t);

	t = tcase_create("cache");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, a_cache_hit_installs_what_verification_installs);
	tcase_add_test(t,
	    a_cache_entry_of_an_issuer_key_no_longer_pinned_is_not_used);
	tcase_add_test(t, a_statement_changed_by_one_byte_is_verified_again);
	tcase_add_loop_test(t,
	    a_damaged_or_foreign_cache_costs_time_not_correctness,
	    D_TRUNCATED_HALF, D_GARBAGE + 1);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(sync_suite());
}
