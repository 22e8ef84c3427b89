/* check_conf.c: the strict nhi.conf parser. */
#include "config.h"

#include <sys/stat.h>

#include "conf.h"
#include "keys.h"
#include "testutil.h"

/* Base64 Ed25519 keys: 32 bytes of 0x01, 0x02 and 0x03. */
#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define K3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="

static const char full_conf[] =
    "# every key once\n"
    "mode = audit\n"
    "register_url = https://reg.example.org/register.json\n"
    "register_url = file:///srv/nhi/register.json\n"
    "register_key = " K1 "\n"
    "register_key = " K2 " not_before=2024-01-01 not_after=@1900000000\n"
    "host_name = web-01.example.org\n"
    "host_groups = prod, web\n"
    "clock_skew = 2m\n"
    "max_register_age = 1d\n"
    "govern_users = deploy, root, app-*\n"
    "govern_groups = shared\n"
    "govern_uids = 0-0, 5000-5999\n"
    "ignore_services = cron, backup-agent\n"
    "account_uids = 80000-80999\n"
    "account_gids = 81000-81999\n"
    "account_groups = docker, backup\n"
    "state_dir = /srv/nhi/state\n"
    "log_dir = /srv/nhi/log\n"
    "break_glass = root@login, ops@sshd\n"
    "enumerate = yes\n"
    "require_audit = yes\n"
    "ca_file = /etc/ssl/certs/ca.pem\n"
    "ca_dir = /etc/ssl/certs\n"
    "pinned_pubkey = sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=\n"
    "max_register_size = 64M\n"
    "passwd_file = /srv/etc/passwd\n"
    "group_file = /srv/etc/group\n"
    "\n"
    "[issuer ops]\n"
    "  key = " K3 "\n"
    "  accounts = deploy, app-*\n"
    "  services = sshd, sudo\n"
    "  max_window = 8h\n"
    "  groups = docker\n"
    "[issuer everything]\n"
    "key = " K1 "\n"
    "accounts = *\n"
    "services = *\n"
    "max_window = 30d\n";

static struct nhi_conf *
parse_ok(const char *text)
{
	struct nhi_conf *c = NULL;
	struct nhi_err e;

	ck_assert_msg(nhi_conf_parse("/t/nhi.conf", text, &c, &e) == 0, "%s",
	    e.msg);
	return c;
}

START_TEST(every_key_is_read)
{
	struct nhi_conf *c = parse_ok(full_conf);
	char id[NHI_KEYID_LEN + 1];
	unsigned char pk[NHI_PK_LEN];

	ck_assert_str_eq(c->path, "/t/nhi.conf");
	ck_assert_int_eq(c->mode, NHI_MODE_AUDIT);
	ck_assert_uint_eq(c->register_urls.n, 2);
	ck_assert_str_eq(c->register_urls.v[1],
	    "file:///srv/nhi/register.json");
	ck_assert_uint_eq(c->n_register_keys, 2);
	memset(pk, 2, sizeof(pk));
	nhi_keyid(pk, id);
	ck_assert_str_eq(c->register_keys[1].keyid, id);
	ck_assert_int_eq(memcmp(c->register_keys[1].pk, pk, 32), 0);
	ck_assert_int_eq(c->register_keys[1].not_before, 1704067200);
	ck_assert_int_eq(c->register_keys[1].not_after, 1900000000);
	ck_assert_int_eq(c->register_keys[0].not_before, 0);
	ck_assert_str_eq(c->host_name, "web-01.example.org");
	ck_assert_uint_eq(c->host_groups.n, 2);
	ck_assert_int_eq(c->clock_skew, 120);
	ck_assert_int_eq(c->max_register_age, 86400);
	ck_assert_uint_eq(c->govern_users.n, 3);
	ck_assert_str_eq(c->govern_groups.v[0], "shared");
	ck_assert_uint_eq(c->n_govern_uids, 2);
	ck_assert_uint_eq(c->govern_uids[1].lo, 5000);
	ck_assert_uint_eq(c->govern_uids[1].hi, 5999);
	/* A list given replaces the default one. */
	ck_assert_uint_eq(c->ignore_services.n, 2);
	ck_assert_str_eq(c->ignore_services.v[1], "backup-agent");
	ck_assert_uint_eq(c->account_uids.lo, 80000);
	ck_assert_uint_eq(c->account_gids.hi, 81999);
	ck_assert_uint_eq(c->account_groups.n, 2);
	ck_assert_str_eq(c->account_groups.v[1], "backup");
	ck_assert_str_eq(c->state_dir, "/srv/nhi/state");
	/* Index paths follow state_dir unless given. */
	ck_assert_str_eq(c->pam_index, "/srv/nhi/state/pam.cdb");
	ck_assert_str_eq(c->nss_index, "/srv/nhi/state/nss.cdb");
	ck_assert_str_eq(c->log_dir, "/srv/nhi/log");
	ck_assert_str_eq(c->break_glass.v[1], "ops@sshd");
	ck_assert(c->enumerate);
	ck_assert(c->require_audit);
	ck_assert_str_eq(c->ca_file, "/etc/ssl/certs/ca.pem");
	ck_assert_str_eq(c->ca_dir, "/etc/ssl/certs");
	ck_assert_ptr_nonnull(strstr(c->pinned_pubkey, "sha256//"));
	ck_assert_int_eq(c->max_register_size, 64 << 20);
	ck_assert_str_eq(c->passwd_file, "/srv/etc/passwd");
	ck_assert_str_eq(c->group_file, "/srv/etc/group");

	ck_assert_uint_eq(c->n_issuers, 2);
	ck_assert_str_eq(c->issuers[0].name, "ops");
	ck_assert_uint_eq(c->issuers[0].accounts.n, 2);
	ck_assert_str_eq(c->issuers[0].services.v[1], "sudo");
	ck_assert_int_eq(c->issuers[0].max_window, 8 * 3600);
	ck_assert_str_eq(c->issuers[1].services.v[0], "*");
	ck_assert_int_eq(c->issuers[1].max_window, 30 * 86400);
	/* groups is optional: none narrows nothing. */
	ck_assert_uint_eq(c->issuers[0].groups.n, 1);
	ck_assert_str_eq(c->issuers[0].groups.v[0], "docker");
	ck_assert_uint_eq(c->issuers[1].groups.n, 0);
	nhi_conf_free(c);
}
END_TEST

START_TEST(defaults_are_documented_ones)
{
	struct nhi_conf *c = parse_ok("# nothing\n\n");
	char host[256] = { 0 };

	ck_assert_int_eq(c->mode, NHI_MODE_ENFORCE);
	ck_assert_int_eq(c->clock_skew, 60);
	ck_assert_int_eq(c->max_register_age, 0);
	ck_assert_uint_eq(c->account_uids.lo, 70000);
	ck_assert_uint_eq(c->account_uids.hi, 79999);
	ck_assert_uint_eq(c->account_gids.lo, 70000);
	ck_assert_uint_eq(c->account_gids.hi, 79999);
	/* No local group is open to pseudonymous accounts by default. */
	ck_assert_uint_eq(c->account_groups.n, 0);
	ck_assert_uint_eq(c->ignore_services.n, 3);
	ck_assert_str_eq(c->ignore_services.v[0], "cron");
	ck_assert_str_eq(c->ignore_services.v[1], "atd");
	ck_assert_str_eq(c->ignore_services.v[2], "systemd-user");
	ck_assert_str_eq(c->state_dir, "/var/lib/nhi");
	ck_assert_str_eq(c->pam_index, "/var/lib/nhi/pam.cdb");
	ck_assert_str_eq(c->nss_index, "/var/lib/nhi/nss.cdb");
	ck_assert_str_eq(c->log_dir, "/var/log/nhi");
	ck_assert_str_eq(c->passwd_file, "/etc/passwd");
	ck_assert_str_eq(c->group_file, "/etc/group");
	ck_assert(!c->enumerate);
	ck_assert(!c->require_audit);
	ck_assert_int_eq(c->max_register_size, 1 << 30);
	ck_assert_ptr_null(c->ca_file);
	ck_assert_uint_eq(c->n_issuers, 0);
	ck_assert_uint_eq(c->n_register_keys, 0);
	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
	ck_assert_str_eq(c->host_name, host);
	nhi_conf_free(c);
	nhi_conf_free(NULL);

	c = parse_ok("pam_index = /x/p.cdb\n");
	ck_assert_str_eq(c->pam_index, "/x/p.cdb");
	ck_assert_str_eq(c->nss_index, "/var/lib/nhi/nss.cdb");
	nhi_conf_free(c);
}
END_TEST

struct bad_case {
	const char *text;
	const char *msg;	/* the whole message after "/t/nhi.conf:" */
};

static const struct bad_case bad_confs[] = {
	{ "colour = blue\n", "1: colour: unknown key" },
	{ "\nmode = strict\n", "2: mode: expected enforce or audit" },
	{ "mode = audit\nmode = audit\n", "2: mode: given more than once" },
	{ "mode =\n", "1: mode: empty value" },
	{ "just words\n", "1: expected \"key = value\"" },
	{ "mode = audit\r\n", "1: control character in line" },
	{ "register_url = http://x/r\n",
	    "1: register_url: expected a file:/// or https:// URL" },
	{ "register_url = https://x/a b\n",
	    "1: register_url: expected a file:/// or https:// URL" },
	{ "register_key = AAAA\n",
	    "1: register_key: expected a base64 Ed25519 public key" },
	{ "register_key = " K1 " until=2025-01-01\n",
	    "1: register_key: unknown option \"until=2025-01-01\"" },
	{ "register_key = " K1 " not_after=tomorrow\n",
	    "1: register_key: bad time \"tomorrow\"" },
	{ "register_key = " K1 " not_after=@9223372036854775807\n",
	    "1: register_key: bad time \"@9223372036854775807\"" },
	{ "register_key = " K1 " not_after=@253402300800\n",
	    "1: register_key: bad time \"@253402300800\"" },
	{ "register_key = " K1 " not_before=@20 not_after=@10\n",
	    "1: register_key: not_after must be later than not_before" },
	{ "register_key = " K1 "\nregister_key = " K1 "\n",
	    "2: register_key: key 72cd6e8422c407fb listed twice" },
	{ "host_name = web 01\n", "1: host_name: invalid host name" },
	{ "account_groups = sudo, wh eel\n",
	    "1: account_groups: invalid item \"wh eel\"" },
	{ "host_groups = prod,,web\n", "1: host_groups: empty item in list" },
	{ "host_groups = pr od\n", "1: host_groups: invalid item \"pr od\"" },
	{ "clock_skew = 2h\n", "1: clock_skew: at most 3600 seconds" },
	{ "clock_skew = soon\n", "1: clock_skew: expected a duration such as "
	    "90s, 15m, 2h or 1h30m" },
	{ "govern_users = a b\n", "1: govern_users: invalid item \"a b\"" },
	{ "govern_uids = 10-5\n", "1: govern_uids: \"10-5\" is not LO-HI" },
	/* "*" would switch the product off for every service. */
	{ "ignore_services = *\n",
	    "1: ignore_services: invalid item \"*\"" },
	{ "ignore_services = cron, sshd/x\n",
	    "1: ignore_services: invalid item \"sshd/x\"" },
	{ "ignore_services = cron,\n",
	    "1: ignore_services: empty item in list" },
	{ "ignore_services = cron, sshd\n",
	    "1: ignore_services: sshd logs a person in and cannot be "
	    "ignored" },
	{ "ignore_services = sudo-i\n",
	    "1: ignore_services: sudo-i logs a person in and cannot be "
	    "ignored" },
	{ "ignore_services = cron, polkit-1\n",
	    "1: ignore_services: polkit-1 logs a person in and cannot be "
	    "ignored" },
	{ "ignore_services = CRON\n",
	    "1: ignore_services: CRON: PAM passes service names in lower "
	    "case" },
	{ "govern_uids = 5\n", "1: govern_uids: \"5\" is not LO-HI" },
	{ "govern_uids = 1-4294967295\n",
	    "1: govern_uids: \"1-4294967295\" is not LO-HI" },
	{ "account_uids = 0-100\n",
	    "1: account_uids: expected LO-HI with 1 <= LO <= HI" },
	{ "account_gids = -5-100\n",
	    "1: account_gids: expected LO-HI with 1 <= LO <= HI" },
	{ "state_dir = var/lib/nhi\n", "1: state_dir: expected an absolute "
	    "path" },
	{ "break_glass = root\n", "1: break_glass: invalid item \"root\"" },
	{ "break_glass = root@su do\n",
	    "1: break_glass: invalid item \"root@su do\"" },
	{ "enumerate = true\n", "1: enumerate: expected yes or no" },
	{ "pinned_pubkey = sha256//a b\n", "1: pinned_pubkey: invalid value" },
	{ "max_register_size = 0\n", "1: max_register_size: expected a size "
	    "in bytes (K, M, G allowed)" },
	{ "max_register_size = 2T\n", "1: max_register_size: expected a size "
	    "in bytes (K, M, G allowed)" },
	{ "max_register_size = 9999999G\n", "1: max_register_size: expected a "
	    "size in bytes (K, M, G allowed)" },
	{ "[issuer]\n", "1: expected a section \"[issuer NAME]\"" },
	{ "[group x]\n", "1: expected a section \"[issuer NAME]\"" },
	{ "[issuer a b]\n", "1: invalid issuer name" },
	{ "[issuer ops]\nkey = " K1 "\naccounts = *\nservices = *\n",
	    "1: max_window: missing in [issuer ops]" },
	{ "[issuer ops]\nkey = " K1 "\naccounts = *\nservices = *\n"
	    "max_window = 1h\nmode = audit\n",
	    "6: mode: unknown key in an [issuer] section" },
	{ "[issuer ops]\nkey = " K1 "\nkey = " K2 "\n",
	    "3: key: given more than once" },
	{ "[issuer ops]\nkey = x\n",
	    "2: key: expected a base64 Ed25519 public key" },
	{ "[issuer ops]\nkey = " K1 "\naccounts = *\nservices = ss hd\n",
	    "4: services: invalid item \"ss hd\"" },
	{ "[issuer ops]\nkey = " K1 "\naccounts = *\nservices = *\n"
	    "max_window = 0\n", "1: max_window: must be positive" },
	{ "[issuer a]\nkey = " K1 "\naccounts = *\nservices = *\n"
	    "max_window = 1h\n[issuer b]\nkey = " K1 "\naccounts = *\n"
	    "services = *\nmax_window = 1h\n",
	    "6: key: the same key as [issuer a]" },
	{ "[issuer a]\nkey = " K1 "\naccounts = *\nservices = *\n"
	    "max_window = 1h\n[issuer a]\n", "6: [issuer a] repeated" },
};

START_TEST(bad_config_names_file_line_and_key)
{
	const struct bad_case *c = &bad_confs[_i];
	struct nhi_conf *conf = NULL;
	struct nhi_err e;
	char want[NHI_ERRLEN];

	ck_assert_int_eq(nhi_conf_parse("/t/nhi.conf", c->text, &conf, &e),
	    -1);
	ck_assert_ptr_null(conf);
	(void)snprintf(want, sizeof(want), "/t/nhi.conf:%s", c->msg);
	ck_assert_str_eq(e.msg, want);
}
END_TEST

START_TEST(issuer_lookup_and_ranges)
{
	struct nhi_conf *c = parse_ok(full_conf);
	const struct nhi_issuer *is;
	unsigned char pk[NHI_PK_LEN];
	char id[NHI_KEYID_LEN + 1];

	memset(pk, 3, sizeof(pk));
	nhi_keyid(pk, id);
	is = nhi_conf_issuer(c, id);
	ck_assert_ptr_nonnull(is);
	ck_assert_str_eq(is->name, "ops");
	ck_assert_str_eq(is->key.keyid, id);
	ck_assert_ptr_null(nhi_conf_issuer(c, "0000000000000000"));
	ck_assert_ptr_null(nhi_conf_issuer(NULL, id));

	ck_assert(nhi_range_has(c->govern_uids, c->n_govern_uids, 0));
	ck_assert(!nhi_range_has(c->govern_uids, c->n_govern_uids, 1));
	ck_assert(nhi_range_has(c->govern_uids, c->n_govern_uids, 5000));
	ck_assert(nhi_range_has(c->govern_uids, c->n_govern_uids, 5999));
	ck_assert(!nhi_range_has(c->govern_uids, c->n_govern_uids, 6000));
	ck_assert(nhi_range_has(&c->account_uids, 1, 80500));
	ck_assert(!nhi_range_has(NULL, 0, 0));
	nhi_conf_free(c);
}
END_TEST

static char *tmp;

static char *
write_conf(const char *text, mode_t mode)
{
	char *path;

	ck_assert_int_ge(asprintf(&path, "%s/nhi.conf", tmp), 0);
	ck_assert_int_eq(nhi_write_atomic(path, text, strlen(text), mode), 0);
	return path;
}

static void
file_setup(void)
{
	tmp = tu_tmpdir();
}

static void
file_teardown(void)
{
	tu_rmtree(tmp);
}

START_TEST(load_reads_the_file)
{
	char *path = write_conf(full_conf, 0644);
	struct nhi_conf *c = NULL;
	struct nhi_err e;

	ck_assert_msg(nhi_conf_load(path, false, &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c->path, path);
	ck_assert_uint_eq(c->n_issuers, 2);
	nhi_conf_free(c);
	free(path);
}
END_TEST

START_TEST(load_errors_name_the_file)
{
	char *path = write_conf("mode = audit\nbogus = 1\n", 0644), *want;
	struct nhi_conf *c = NULL;
	struct nhi_err e;

	ck_assert_int_eq(nhi_conf_load(path, false, &c, &e), -1);
	ck_assert_int_ge(asprintf(&want, "%s:2: bogus: unknown key", path), 0);
	ck_assert_str_eq(e.msg, want);
	free(want);

	ck_assert_int_eq(nhi_conf_load(tmp, false, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	/* A FIFO in its place is refused at once, not waited on. */
	free(path);
	ck_assert_int_ge(asprintf(&path, "%s/fifo.conf", tmp), 0);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	ck_assert_int_eq(nhi_conf_load(path, false, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	ck_assert_int_eq(nhi_conf_load("/nonexistent/nhi.conf", false, &c,
	    &e), -1);
	ck_assert_str_eq(e.msg,
	    "/nonexistent/nhi.conf: No such file or directory");
	ck_assert_ptr_null(c);
	free(path);
}
END_TEST

START_TEST(load_rejects_nul_and_huge_files)
{
	char *path;
	struct nhi_conf *c = NULL;
	struct nhi_err e;
	char *big;
	size_t n = 1024 * 1024 + 1;

	ck_assert_int_ge(asprintf(&path, "%s/nhi.conf", tmp), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "mode = audit\n\0x\n", 16,
	    0644), 0);
	ck_assert_int_eq(nhi_conf_load(path, false, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "NUL byte"));

	big = malloc(n);
	memset(big, '#', n);
	ck_assert_int_eq(nhi_write_atomic(path, big, n, 0644), 0);
	ck_assert_int_eq(nhi_conf_load(path, false, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "larger than"));
	free(big);
	free(path);
}
END_TEST

START_TEST(load_checks_owner_and_mode)
{
	char *path = write_conf("mode = audit\n", 0644);
	struct nhi_conf *c = NULL;
	struct nhi_err e;

	if (geteuid() != 0) {
		/* Our own file is not root's: refused when checking. */
		ck_assert_int_eq(nhi_conf_load(path, true, &c, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "not owned by root"));
		ck_assert_int_eq(nhi_conf_load(path, false, &c, &e), 0);
		nhi_conf_free(c);
		free(path);
		return;
	}
	ck_assert_int_eq(nhi_conf_load(path, true, &c, &e), 0);
	nhi_conf_free(c);
	c = NULL;

	ck_assert_int_eq(chmod(path, 0664), 0);
	ck_assert_int_eq(nhi_conf_load(path, true, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "writable by group or others"));
	ck_assert_int_eq(chmod(path, 0646), 0);
	ck_assert_int_eq(nhi_conf_load(path, true, &c, &e), -1);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(chown(path, 65534, 0), 0);
	ck_assert_int_eq(nhi_conf_load(path, true, &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not owned by root"));
	ck_assert_ptr_null(c);
	/* Tests turn the check off for files they make themselves. */
	ck_assert_int_eq(nhi_conf_load(path, false, &c, &e), 0);
	nhi_conf_free(c);
	free(path);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, every_key_is_read);
	tcase_add_test(tc, defaults_are_documented_ones);
	tcase_add_loop_test(tc, bad_config_names_file_line_and_key, 0,
	    N(bad_confs));
	tcase_add_test(tc, issuer_lookup_and_ranges);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_add_test(tc, load_reads_the_file);
	tcase_add_test(tc, load_errors_name_the_file);
	tcase_add_test(tc, load_rejects_nul_and_huge_files);
	tcase_add_test(tc, load_checks_owner_and_mode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(conf_suite());
}
