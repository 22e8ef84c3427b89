/*
 * check_pam.c: pam_nhi.so driven through a real Linux-PAM stack
 * (pam_start_confdir with service files written into a scratch
 * directory), with a config and a PAM index made for the test.
 *
 * Each stack is "[success=done ignore=ignore default=die] pam_nhi.so"
 * followed by pam_debug.so answering PAM_CRED_INSUFFICIENT, a code the
 * module never returns: seeing it means the module said PAM_IGNORE, which
 * Linux-PAM would otherwise turn into a failure of the whole stack.
 */
#include "config.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdarg.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <security/pam_appl.h>

#include "keys.h"
#include "pamidx.h"
#include "register.h"
#include "testutil.h"

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDhn78vZx6HtlvEjYowHQQ2j" \
    "+p6dB5W+tA2h/zYGgsFi"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM8+jL316myzzLepT/ucPP/V" \
    "/IN7UxejYkUjREmZ3PAF"
#define INFO_A "publickey " KEY_A "\n"
#define INFO_B "publickey " KEY_B "\n"
#define IGNORED PAM_CRED_INSUFFICIENT

static char *dir;
static char confdir[512], conf[512], index_path[512];
static char issuer_keyid[NHI_KEYID_LEN + 1];
static int64_t t0;

/* Messages the module sent through the conversation. */
struct convbuf {
	char text[4096];
	int n;
};

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct convbuf *cb = data;
	int i;

	for (i = 0; i < n; i++) {
		size_t used = strlen(cb->text);

		/* pam_debug.so talks too; only the module's lines count. */
		if (strncmp(msg[i]->msg, "nhi:", 4) != 0)
			continue;

		(void)snprintf(cb->text + used, sizeof(cb->text) - used,
		    "%d:%s\n", msg[i]->msg_style, msg[i]->msg);
		cb->n++;
	}
	*resp = NULL;
	return PAM_SUCCESS;
}

static void
write_text(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "we");
	va_list ap;

	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

/* A service file: the module with args in every stage, then the marker. */
static void
write_service(const char *name, const char *args)
{
	char path[1024];

	(void)snprintf(path, sizeof(path), "%s/%s", confdir, name);
	write_text(path,
	    "auth [success=done ignore=ignore default=die] %s %s\n"
	    "auth required pam_debug.so auth=cred_insufficient\n"
	    "account [success=done ignore=ignore default=die] %s %s\n"
	    "account required pam_debug.so acct=cred_insufficient\n"
	    "session [success=done ignore=ignore default=die] %s %s\n"
	    "session required pam_debug.so open_session=cred_insufficient "
	    "close_session=cred_insufficient\n",
	    PAM_NHI_SO, args, PAM_NHI_SO, args, PAM_NHI_SO, args);
}

static struct nhi_binding *
binding(const char *id, const char *account, const char *key,
    const char *user, const char *owner)
{
	struct nhi_binding *b = calloc(1, sizeof(*b));
	struct nhi_err e;
	char *type = NULL;

	ck_assert_ptr_nonnull(b);
	b->id = strdup(id);
	b->account = strdup(account);
	if (key != NULL) {
		b->cred_kind = NHI_CRED_SSH_KEY;
		b->cred_key = strdup(key);
		ck_assert_int_eq(nhi_ssh_key_parse(key, b->cred_fp,
		    sizeof(b->cred_fp), &type, &e), 0);
		free(type);
	} else if (user != NULL) {
		b->cred_kind = NHI_CRED_USER;
		b->cred_user = strdup(user);
	} else {
		b->cred_kind = NHI_CRED_CHECKOUT;
	}
	ck_assert_int_eq(nhi_strv_add(&b->hosts, "testhost"), 0);
	ck_assert_int_eq(nhi_strv_add(&b->services, "*"), 0);
	/*
	 * Long enough for the ten thousand transactions under valgrind on a
	 * busy machine; shorter windows ran out mid-test.
	 */
	b->not_before = t0 - 600;
	b->not_after = t0 + 12 * 3600;
	b->issued_at = t0 - 600;
	b->owner = strdup(owner);
	b->approver = strdup("approver");
	b->ticket = strdup("CHG-7");
	memcpy(b->issuer, issuer_keyid, sizeof(b->issuer));
	return b;
}

static void
add(struct nhi_pamidx_writer *w, struct nhi_binding *b)
{
	struct nhi_err e = { "" };

	ck_assert_msg(nhi_pamidx_add_binding(w, b, &e) == 0, "%s", e.msg);
	nhi_binding_free(b);
}

/* The test index at path, with the binding deny_id on the deny list. */
static void
write_index_at(const char *path, const char *deny_id)
{
	struct nhi_pamidx_writer *w = NULL;
	struct nhi_regmeta meta = { 0 };
	char denied[64];
	struct nhi_deny deny = { NHI_DENY_BINDING, denied };
	struct nhi_binding *b;
	struct nhi_err e = { "" };

	(void)snprintf(denied, sizeof(denied), "%s", deny_id);
	ck_assert_msg(nhi_pamidx_create(path, &w, &e) == 0, "%s", e.msg);
	/* deploy: key A is alice's; su/sudo invoker root is bob's. */
	add(w, binding("b-key-a", "deploy", KEY_A, NULL, "alice"));
	add(w, binding("b-root", "deploy", NULL, "root", "bob"));
	add(w, binding("b-su", "sudeploy", NULL, "root", "bob"));
	b = binding("b-old", "olddeploy", KEY_A, NULL, "alice");
	b->not_before = t0 - 7200;
	b->not_after = t0 - 3600;
	add(w, b);
	b = binding("b-far", "farhost", KEY_A, NULL, "alice");
	nhi_strv_free(&b->hosts);
	ck_assert_int_eq(nhi_strv_add(&b->hosts, "otherhost"), 0);
	add(w, b);
	add(w, binding("b-revoked", "revoked", KEY_A, NULL, "alice"));
	b = binding("b-src", "srcdeploy", KEY_A, NULL, "alice");
	ck_assert_int_eq(nhi_strv_add(&b->source, "10.1.0.0/16"), 0);
	add(w, b);
	ck_assert_msg(nhi_pamidx_add_deny(w, &deny, &e) == 0, "%s", e.msg);
	meta.version = 7;
	meta.issued_at = t0 - 60;
	meta.expires_at = t0 + 12 * 3600;
	memset(meta.sha256, '0', 64);
	meta.installed_at = t0;
	ck_assert_msg(nhi_pamidx_commit(w, &meta, &e) == 0, "%s", e.msg);
}

static void
write_index(void)
{
	write_index_at(index_path, "b-revoked");
}

/* The test config at path, reading the PAM index at index. */
static void
write_conf(const char *path, const char *index)
{
	unsigned char pk[NHI_PK_LEN];
	char pkb64[64];

	memset(pk, 7, sizeof(pk));
	nhi_pubkey_encode(pk, pkb64, sizeof(pkb64));
	write_text(path,
	    "mode = enforce\n"
	    "register_url = file://%s/register\n"
	    "register_key = %s\n"
	    "host_name = testhost\n"
	    "govern_users = deploy, olddeploy, farhost, revoked, srcdeploy, "
	    "sudeploy, svc-*\n"
	    "state_dir = %s\n"
	    "pam_index = %s\n"
	    "[issuer ops]\n"
	    "key = %s\n"
	    "accounts = *\n"
	    "services = *\n"
	    "max_window = 1d\n",
	    dir, pkb64, dir, index, pkb64);
}

static void
setup(void)
{
	unsigned char pk[NHI_PK_LEN];
	char pkb64[64], path[1024];
	char *args;

	t0 = (int64_t)time(NULL);
	dir = tu_tmpdir();
	ck_assert_int_eq(chmod(dir, 0755), 0);
	(void)snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	(void)snprintf(conf, sizeof(conf), "%s/nhi.conf", dir);
	(void)snprintf(index_path, sizeof(index_path), "%s/pam.cdb", dir);
	ck_assert_int_eq(mkdir(confdir, 0755), 0);
	memset(pk, 7, sizeof(pk));
	nhi_keyid(pk, issuer_keyid);
	nhi_pubkey_encode(pk, pkb64, sizeof(pkb64));
	write_conf(conf, index_path);
	write_index();

	ck_assert_int_ne(asprintf(&args, "config=%s", conf), -1);
	write_service("sshd", args);
	write_service("su", args);
	write_service("sudo", args);
	free(args);
	ck_assert_int_ne(asprintf(&args, "config=%s mode=audit", conf), -1);
	write_service("audit", args);
	free(args);
	ck_assert_int_ne(asprintf(&args, "config=%s debug frobnicate=1",
	    conf), -1);
	write_service("unknownarg", args);
	free(args);
	write_service("noconfig", "config=/nonexistent/nhi.conf");
	(void)snprintf(path, sizeof(path), "%s/broken.conf", dir);
	write_text(path, "host_name = testhost\nfrobnicate = yes\n");
	ck_assert_int_ne(asprintf(&args, "config=%s", path), -1);
	write_service("brokenconfig", args);
	free(args);
	/* A sound config that is group-writable is refused all the same. */
	(void)snprintf(path, sizeof(path), "%s/open.conf", dir);
	write_text(path, "host_name = testhost\ngovern_users = deploy\n");
	ck_assert_int_eq(chmod(path, 0664), 0);
	ck_assert_int_ne(asprintf(&args, "config=%s", path), -1);
	write_service("openconfig", args);
	free(args);
	(void)snprintf(path, sizeof(path), "%s/stale.conf", dir);
	write_text(path,
	    "register_url = file:///nonexistent\nregister_key = %s\n"
	    "host_name = testhost\ngovern_users = deploy\n"
	    "state_dir = %s\npam_index = %s/missing.cdb\n", pkb64, dir, dir);
	ck_assert_int_ne(asprintf(&args, "config=%s", path), -1);
	write_service("stale", args);
	free(args);
}

static void
teardown(void)
{
	tu_rmtree(dir);
	dir = NULL;
}

/* One PAM transaction's inputs. NULL items stay unset. */
struct call {
	const char *service, *user;
	const char *authinfo;	/* NULL: SSH_AUTH_INFO_0 not set */
	const char *rhost, *ruser, *tty;
	bool no_conv;
};

static pam_handle_t *
start(const struct call *c, struct convbuf *cb, struct pam_conv *pc)
{
	pam_handle_t *h = NULL;
	char *env;

	memset(cb, 0, sizeof(*cb));
	pc->conv = c->no_conv ? NULL : conv_fn;
	pc->appdata_ptr = cb;
	ck_assert_int_eq(pam_start_confdir(c->service, c->user, pc, confdir,
	    &h), PAM_SUCCESS);
	if (c->rhost != NULL)
		ck_assert_int_eq(pam_set_item(h, PAM_RHOST, c->rhost), 0);
	if (c->ruser != NULL)
		ck_assert_int_eq(pam_set_item(h, PAM_RUSER, c->ruser), 0);
	if (c->tty != NULL)
		ck_assert_int_eq(pam_set_item(h, PAM_TTY, c->tty), 0);
	if (c->authinfo != NULL) {
		ck_assert_int_ne(asprintf(&env, "SSH_AUTH_INFO_0=%s",
		    c->authinfo), -1);
		ck_assert_int_eq(pam_putenv(h, env), PAM_SUCCESS);
		free(env);
	}
	return h;
}

enum op { OP_AUTH, OP_ACCT, OP_OPEN, OP_CLOSE, OP_SETCRED };

static int
do_op(pam_handle_t *h, enum op op)
{
	int rc = PAM_SYSTEM_ERR;

	switch (op) {
	case OP_AUTH: rc = pam_authenticate(h, 0); break;
	case OP_ACCT: rc = pam_acct_mgmt(h, 0); break;
	case OP_OPEN: rc = pam_open_session(h, 0); break;
	case OP_CLOSE: rc = pam_close_session(h, 0); break;
	case OP_SETCRED: rc = pam_setcred(h, PAM_ESTABLISH_CRED); break;
	}
	return rc == IGNORED ? PAM_IGNORE : rc;
}

/* Runs one operation in a fresh transaction; messages land in cb. */
static int
one(const struct call *c, enum op op, struct convbuf *cb)
{
	struct pam_conv pc;
	pam_handle_t *h = start(c, cb, &pc);
	int rc = do_op(h, op);

	pam_end(h, rc);
	return rc;
}

START_TEST(ungoverned_user_is_ignored_in_every_stage)
{
	struct call c = { "sshd", "root", INFO_A, "127.0.0.1", NULL, "ssh",
	    false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_AUTH, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_CLOSE, &cb), PAM_IGNORE);
	ck_assert_int_eq(cb.n, 0);
}
END_TEST

START_TEST(setcred_is_harmless_for_every_flag)
{
	static const int flags[] = { PAM_ESTABLISH_CRED, PAM_DELETE_CRED,
	    PAM_REINITIALIZE_CRED, PAM_REFRESH_CRED,
	    PAM_ESTABLISH_CRED | PAM_SILENT };
	struct call c = { "sshd", "deploy", INFO_B, NULL, NULL, NULL, false };
	struct convbuf cb;
	struct pam_conv pc;
	pam_handle_t *h = start(&c, &cb, &pc);
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		ck_assert_int_eq(pam_setcred(h, flags[i]), PAM_SUCCESS);
	pam_end(h, PAM_SUCCESS);
	ck_assert_int_eq(cb.n, 0);
}
END_TEST

START_TEST(sshd_account_with_key_pending_allows_a_bindable_account)
{
	struct call c = { "sshd", "deploy", "", "127.0.0.1", NULL, "ssh",
	    false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_SUCCESS);
}
END_TEST

START_TEST(sshd_account_refuses_early_when_no_binding_could_apply)
{
	struct call c = { "sshd", "svc-nobody", "", "127.0.0.1", NULL, "ssh",
	    false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_PERM_DENIED);
	ck_assert_int_eq(cb.n, 1);
	ck_assert_ptr_nonnull(strstr(cb.text, "svc-nobody"));
	ck_assert_ptr_nonnull(strstr(cb.text, "(no-binding)"));
	ck_assert_ptr_nonnull(strstr(cb.text, "nhictl check --service sshd "
	    "--user svc-nobody"));
}
END_TEST

START_TEST(sshd_session_with_bound_key_allows_and_exports_binding)
{
	struct call c = { "sshd", "deploy", INFO_A, "127.0.0.1", NULL, "ssh",
	    false };
	struct convbuf cb;
	struct pam_conv pc;
	pam_handle_t *h = start(&c, &cb, &pc);
	const char *na;

	ck_assert_int_eq(do_op(h, OP_OPEN), PAM_SUCCESS);
	ck_assert_str_eq(pam_getenv(h, "NHI_OWNER"), "alice");
	ck_assert_str_eq(pam_getenv(h, "NHI_BINDING"), "b-key-a");
	ck_assert_str_eq(pam_getenv(h, "NHI_TICKET"), "CHG-7");
	na = pam_getenv(h, "NHI_NOT_AFTER");
	ck_assert_ptr_nonnull(na);
	ck_assert_int_eq((int)strlen(na), 20);
	ck_assert_int_eq(do_op(h, OP_CLOSE), PAM_SUCCESS);
	pam_end(h, PAM_SUCCESS);
	ck_assert_int_eq(cb.n, 0);
}
END_TEST

START_TEST(sshd_session_with_unbound_key_is_refused)
{
	struct call c = { "sshd", "deploy", INFO_B, "127.0.0.1", NULL, "ssh",
	    false };
	struct convbuf cb;
	struct pam_conv pc;
	pam_handle_t *h = start(&c, &cb, &pc);

	ck_assert_int_eq(do_op(h, OP_OPEN), PAM_PERM_DENIED);
	ck_assert_ptr_null(pam_getenv(h, "NHI_OWNER"));
	pam_end(h, PAM_SUCCESS);
	ck_assert_ptr_nonnull(strstr(cb.text, "(wrong-key)"));
}
END_TEST

START_TEST(sshd_auth_stage_sees_the_key_when_kbdint_follows)
{
	struct call c = { "sshd", "deploy",
	    INFO_A "keyboard-interactive/pam\n", "127.0.0.1", NULL, "ssh",
	    false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_AUTH, &cb), PAM_SUCCESS);
	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_SUCCESS);
	c.authinfo = INFO_B;
	ck_assert_int_eq(one(&c, OP_AUTH, &cb), PAM_PERM_DENIED);
	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_PERM_DENIED);
}
END_TEST

/* Each account's only binding fails in one way; the reason says which. */
struct reason_case {
	const char *account;
	const char *rhost;
	const char *reason;
};

static const struct reason_case reason_cases[] = {
	{ "olddeploy", "127.0.0.1", "(expired)" },
	{ "farhost", "127.0.0.1", "(wrong-host)" },
	{ "revoked", "127.0.0.1", "(revoked)" },
	{ "srcdeploy", "127.0.0.1", "(wrong-source)" },
	{ "srcdeploy", "", "(wrong-source)" },
};

START_TEST(sshd_session_refusal_names_the_reason)
{
	const struct reason_case *rc = &reason_cases[_i];
	struct call c = { "sshd", rc->account, INFO_A, rc->rhost, NULL,
	    "ssh", false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_PERM_DENIED);
	ck_assert_msg(strstr(cb.text, rc->reason) != NULL, "%s: %s",
	    rc->account, cb.text);
}
END_TEST

START_TEST(bound_source_allows_an_address_inside)
{
	struct call c = { "sshd", "srcdeploy", INFO_A, "10.1.2.3", NULL,
	    "ssh", false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
}
END_TEST

START_TEST(su_decides_at_account_with_the_real_uid)
{
	/* The test runs as root, and "b-root" binds invoker root. */
	struct call c = { "su", "deploy", NULL, NULL, "root", NULL, false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_AUTH, &cb), PAM_IGNORE);
	ck_assert_msg(one(&c, OP_ACCT, &cb) == PAM_SUCCESS, "%s", cb.text);
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
}
END_TEST

/*
 * Another person's real uid is refused, and naming root in PAM_RUSER
 * does not help: only the real uid counts.
 */
START_TEST(su_other_invoker_is_refused_whatever_ruser_says)
{
	struct call c = { "su", "sudeploy", NULL, NULL, "root", "pts/3",
	    false };
	struct convbuf cb;
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		int rc;

		if (setresuid(65534, 0, 0) != 0)
			_exit(3);
		rc = one(&c, OP_ACCT, &cb);
		if (rc == PAM_PERM_DENIED &&
		    strstr(cb.text, "(wrong-invoker)") != NULL)
			_exit(0);
		fprintf(stderr, "rc=%d %s\n", rc, cb.text);
		_exit(1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

START_TEST(sudo_ignores_account_and_decides_at_session)
{
	struct call c = { "sudo", "deploy", NULL, NULL, "root", NULL, false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_AUTH, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
	c.user = "olddeploy";
	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_PERM_DENIED);
}
END_TEST

START_TEST(audit_mode_allows_what_it_would_deny)
{
	struct call c = { "audit", "deploy", INFO_B, "127.0.0.1", NULL,
	    "ssh", false };
	struct convbuf cb;

	c.service = "audit";
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
	ck_assert_int_eq(cb.n, 0);
}
END_TEST

START_TEST(stale_register_denies_governed_and_ignores_others)
{
	struct call c = { "stale", "deploy", INFO_A, NULL, NULL, NULL, false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_PERM_DENIED);
	ck_assert_ptr_nonnull(strstr(cb.text, "(stale-register)"));
	c.user = "root";
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_IGNORE);
}
END_TEST

START_TEST(missing_config_ignores_accounts_it_cannot_tell_are_governed)
{
	struct call c = { "noconfig", "root", INFO_A, NULL, NULL, NULL,
	    false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_IGNORE);
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_IGNORE);
}
END_TEST

/*
 * Without a usable config the module still knows one thing: uids in the
 * default pseudonymous range (70000-79999) are governed. Such accounts
 * are denied with no-config; everyone else is left alone.
 */
static const char *const bad_config_services[] = {
	"noconfig", "brokenconfig", "openconfig",
};

#define PSEUDO_IN "nhi-pseudo1"
#define PSEUDO_OUT "nhi-pseudo2"

/*
 * In a private mount namespace of this (forked) process, /etc/passwd
 * becomes a copy with two more users: one inside the range, one just
 * past it. The machine's file is never written. Returns 0 on success.
 * The kernel ignores the type of these mounts; "none" rather than NULL
 * keeps valgrind from reading it.
 */
static int
private_passwd(void)
{
	char path[1024];
	FILE *in, *out;
	int ch;

	if (unshare(CLONE_NEWNS) != 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/passwd", dir);
	if ((in = fopen("/etc/passwd", "re")) == NULL)
		return -1;
	if ((out = fopen(path, "we")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((ch = getc(in)) != EOF)
		(void)putc(ch, out);
	fclose(in);
	fprintf(out, "%s:x:79999:79999:test:/nonexistent:/bin/false\n"
	    "%s:x:80000:80000:test:/nonexistent:/bin/false\n",
	    PSEUDO_IN, PSEUDO_OUT);
	if (fclose(out) != 0 || chmod(path, 0644) != 0)
		return -1;
	return mount(path, "/etc/passwd", "none", MS_BIND, NULL);
}

/* One expectation, checked in the child; failures go to stderr. */
static int
expect(const struct call *c, enum op op, int want, const char *msg)
{
	struct convbuf cb;
	int rc = one(c, op, &cb);

	if (rc == want && (msg == NULL ? cb.n == 0 :
	    strstr(cb.text, msg) != NULL))
		return 0;
	fprintf(stderr, "%s %s op %d: rc=%d want %d, told \"%s\"\n",
	    c->service, c->user, (int)op, rc, want, cb.text);
	return 1;
}

START_TEST(bad_config_denies_the_range_ignores_the_rest)
{
	const char *service = bad_config_services[_i];
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		struct call su = { service, PSEUDO_IN, NULL, NULL, "root",
		    NULL, false };
		struct call ssh = { service, PSEUDO_IN, INFO_A, "127.0.0.1",
		    NULL, "ssh", false };
		int bad = 0;

		if (private_passwd() != 0) {
			perror("private /etc/passwd");
			_exit(3);
		}
		bad += expect(&su, OP_AUTH, PAM_IGNORE, NULL);
		bad += expect(&su, OP_ACCT, PAM_PERM_DENIED, "(no-config)");
		bad += expect(&su, OP_OPEN, PAM_PERM_DENIED, "(no-config)");
		bad += expect(&ssh, OP_AUTH, PAM_PERM_DENIED, "(no-config)");
		bad += expect(&ssh, OP_ACCT, PAM_PERM_DENIED, "(no-config)");
		bad += expect(&ssh, OP_OPEN, PAM_PERM_DENIED, "(no-config)");
		ssh.user = su.user = PSEUDO_OUT;
		bad += expect(&su, OP_ACCT, PAM_IGNORE, NULL);
		bad += expect(&ssh, OP_OPEN, PAM_IGNORE, NULL);
		ssh.user = su.user = "root";
		bad += expect(&su, OP_ACCT, PAM_IGNORE, NULL);
		bad += expect(&ssh, OP_OPEN, PAM_IGNORE, NULL);
		ssh.user = su.user = "deploy";
		bad += expect(&su, OP_ACCT, PAM_IGNORE, NULL);
		_exit(bad == 0 ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_msg(WEXITSTATUS(st) == 0, "%s: see stderr", service);
}
END_TEST

/*
 * The stages of one login share the config and index they loaded, but
 * only while the files stay the versions read: a register installed
 * between the account and the session stage, and a config made unsafe
 * in between (a chmod: only the inode's ctime changes), are both seen by
 * the session stage.
 */
START_TEST(files_changed_between_stages_are_read_again)
{
	struct call c = { "swap", "deploy", INFO_A, "127.0.0.1", NULL, "ssh",
	    false };
	char swap_conf[600], swap_index[600], *args;
	struct convbuf cb;
	struct pam_conv pc;
	pam_handle_t *h;

	(void)snprintf(swap_conf, sizeof(swap_conf), "%s/swap.conf", dir);
	(void)snprintf(swap_index, sizeof(swap_index), "%s/swap.cdb", dir);
	write_conf(swap_conf, swap_index);
	write_index_at(swap_index, "b-revoked");
	ck_assert_int_ne(asprintf(&args, "config=%s", swap_conf), -1);
	write_service("swap", args);
	free(args);

	h = start(&c, &cb, &pc);
	ck_assert_int_eq(do_op(h, OP_ACCT), PAM_SUCCESS);
	write_index_at(swap_index, "b-key-a");
	ck_assert_int_eq(do_op(h, OP_OPEN), PAM_PERM_DENIED);
	ck_assert_ptr_null(pam_getenv(h, "NHI_OWNER"));
	pam_end(h, PAM_PERM_DENIED);
	ck_assert_ptr_nonnull(strstr(cb.text, "(revoked)"));

	write_index_at(swap_index, "b-revoked");
	h = start(&c, &cb, &pc);
	ck_assert_int_eq(do_op(h, OP_ACCT), PAM_SUCCESS);
	/*
	 * Group-writable, the config is refused; deploy is governed only by
	 * that config, so the session stage now leaves it alone (as with no
	 * config at all) instead of allowing it under the binding.
	 */
	ck_assert_int_eq(chmod(swap_conf, 0664), 0);
	ck_assert_int_eq(do_op(h, OP_OPEN), PAM_IGNORE);
	ck_assert_ptr_null(pam_getenv(h, "NHI_OWNER"));
	pam_end(h, PAM_SUCCESS);

	/* Unchanged files: the session stage decides as before. */
	ck_assert_int_eq(chmod(swap_conf, 0644), 0);
	h = start(&c, &cb, &pc);
	ck_assert_int_eq(do_op(h, OP_ACCT), PAM_SUCCESS);
	ck_assert_int_eq(do_op(h, OP_OPEN), PAM_SUCCESS);
	ck_assert_str_eq(pam_getenv(h, "NHI_OWNER"), "alice");
	pam_end(h, PAM_SUCCESS);
}
END_TEST

START_TEST(missing_conversation_still_refuses)
{
	struct call c = { "sshd", "deploy", INFO_B, NULL, NULL, NULL, true };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_PERM_DENIED);
	ck_assert_int_eq(cb.n, 0);
}
END_TEST

START_TEST(null_and_empty_items_are_alike)
{
	struct call c = { "sshd", "deploy", INFO_A, "", "", "", false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
	c.rhost = c.ruser = c.tty = NULL;
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
}
END_TEST

START_TEST(no_user_is_user_unknown)
{
	struct call c = { "sshd", NULL, INFO_A, NULL, NULL, NULL, false };
	struct convbuf cb;

	ck_assert_int_eq(one(&c, OP_ACCT, &cb), PAM_USER_UNKNOWN);
}
END_TEST

START_TEST(unknown_argument_is_ignored)
{
	struct call c = { "unknownarg", "deploy", INFO_A, NULL, NULL, NULL,
	    false };
	struct convbuf cb;

	c.authinfo = INFO_A;
	ck_assert_int_eq(one(&c, OP_OPEN, &cb), PAM_SUCCESS);
}
END_TEST

START_TEST(silent_flag_sends_no_message)
{
	struct call c = { "sshd", "deploy", INFO_B, NULL, NULL, NULL, false };
	struct convbuf cb;
	struct pam_conv pc;
	pam_handle_t *h = start(&c, &cb, &pc);

	ck_assert_int_eq(pam_open_session(h, PAM_SILENT), PAM_PERM_DENIED);
	pam_end(h, PAM_SUCCESS);
	ck_assert_int_eq(cb.n, 0);
}
END_TEST

/* No memory is kept from one transaction to the next. */
START_TEST(ten_thousand_transactions_keep_no_memory)
{
	struct call ok_call = { "sshd", "deploy", INFO_A, "127.0.0.1", NULL,
	    "ssh", false };
	struct call no_call = { "sshd", "deploy", INFO_B, "127.0.0.1", NULL,
	    "ssh", false };
	struct convbuf cb;
	size_t before, after;
	int i;

	for (i = 0; i < 50; i++) {
		(void)one(&ok_call, OP_OPEN, &cb);
		(void)one(&no_call, OP_OPEN, &cb);
	}
	before = mallinfo2().uordblks;
	for (i = 0; i < 5000; i++) {
		ck_assert_int_eq(one(&ok_call, OP_OPEN, &cb), PAM_SUCCESS);
		ck_assert_int_eq(one(&no_call, OP_OPEN, &cb),
		    PAM_PERM_DENIED);
	}
	after = mallinfo2().uordblks;
	/*
	 * One lost allocation per call would be at least 16 bytes each,
	 * 160 KiB in all; libc's own caches stay well below that.
	 */
	ck_assert_msg(after <= before + 64 * 1024, "grew from %zu to %zu",
	    before, after);
}
END_TEST

START_TEST(module_exports_only_its_entry_points)
{
	static const char *const entry[] = { "pam_sm_authenticate",
	    "pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_open_session",
	    "pam_sm_close_session" };
	void *so = dlopen(PAM_NHI_SO, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	ck_assert_msg(so != NULL, "%s", dlerror());
	for (i = 0; i < sizeof(entry) / sizeof(entry[0]); i++)
		ck_assert_ptr_nonnull(dlsym(so, entry[i]));
	ck_assert_ptr_null(dlsym(so, "pam_sm_chauthtok"));
	ck_assert_ptr_null(dlsym(so, "nhi_decide"));
	ck_assert_ptr_null(dlsym(so, "nhi_logline"));
#ifdef NHI_PAM_STATIC_DEPS
	/*
	 * Its copies of json-c, libsodium and tinycdb are private: nothing
	 * in the host process binds to them, and they bind to nothing of
	 * the host's (dlsym on the handle would also find these in a
	 * shared library the module had brought in).
	 */
	ck_assert_ptr_null(dlsym(so, "sodium_init"));
	ck_assert_ptr_null(dlsym(so, "crypto_generichash"));
	ck_assert_ptr_null(dlsym(so, "json_tokener_new"));
	ck_assert_ptr_null(dlsym(so, "cdb_init"));
#endif
	dlclose(so);
}
END_TEST

static Suite *
pam_suite(void)
{
	Suite *s = suite_create("pam_nhi");
	TCase *tc = tcase_create("stack");
	TCase *tl = tcase_create("limits");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, module_exports_only_its_entry_points);
	tcase_add_test(tc, ungoverned_user_is_ignored_in_every_stage);
	tcase_add_test(tc, setcred_is_harmless_for_every_flag);
	tcase_add_test(tc,
	    missing_config_ignores_accounts_it_cannot_tell_are_governed);
	tcase_add_test(tc, no_user_is_user_unknown);
	if (geteuid() == 0) {
		tcase_add_test(tc,
		    sshd_account_with_key_pending_allows_a_bindable_account);
		tcase_add_test(tc,
		    sshd_account_refuses_early_when_no_binding_could_apply);
		tcase_add_test(tc,
		    sshd_session_with_bound_key_allows_and_exports_binding);
		tcase_add_test(tc, sshd_session_with_unbound_key_is_refused);
		tcase_add_test(tc,
		    sshd_auth_stage_sees_the_key_when_kbdint_follows);
		tcase_add_loop_test(tc, sshd_session_refusal_names_the_reason,
		    0, (int)(sizeof(reason_cases) / sizeof(reason_cases[0])));
		tcase_add_test(tc, bound_source_allows_an_address_inside);
		tcase_add_test(tc, su_decides_at_account_with_the_real_uid);
		tcase_add_test(tc,
		    su_other_invoker_is_refused_whatever_ruser_says);
		tcase_add_test(tc, sudo_ignores_account_and_decides_at_session);
		tcase_add_test(tc, audit_mode_allows_what_it_would_deny);
		tcase_add_test(tc,
		    stale_register_denies_governed_and_ignores_others);
		tcase_add_loop_test(tc,
		    bad_config_denies_the_range_ignores_the_rest, 0,
		    (int)(sizeof(bad_config_services) /
			sizeof(bad_config_services[0])));
		tcase_add_test(tc,
		    files_changed_between_stages_are_read_again);
		tcase_add_test(tc, missing_conversation_still_refuses);
		tcase_add_test(tc, null_and_empty_items_are_alike);
		tcase_add_test(tc, unknown_argument_is_ignored);
		tcase_add_test(tc, silent_flag_sends_no_message);
		tcase_add_unchecked_fixture(tl, setup, teardown);
		tcase_set_timeout(tl, 600);
		tcase_add_test(tl, ten_thousand_transactions_keep_no_memory);
		suite_add_tcase(s, tl);
	} else {
		fprintf(stderr, "check_pam: not root: the decision cases need "
		    "a root-owned config and index; running the others\n");
	}
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(pam_suite());
}
