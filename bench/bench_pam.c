/*
 * bench_pam: what pam_nhi.so adds to a login, at 10, 10 000 and 1 000 000
 * bindings.
 *
 * For each size a register is signed and synced into a scratch directory
 * with the library, as a host's nhictl sync would, and two PAM stacks are
 * timed transaction by transaction, interleaved so that drift hits both
 * alike: pam_start_confdir + pam_acct_mgmt + pam_open_session +
 * pam_close_session + pam_end, once with pam_nhi.so (config= the scratch
 * config) in the account and session stacks, once with pam_permit.so in
 * their place. The login is an sshd key login to a governed account with
 * ten bindings among all the others, allowed; pam_nhi decides twice per
 * transaction (account and session stage, both seeing the key).
 *
 *   bench_pam [TRANSACTIONS [SIZE...]]
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "conf.h"
#include "dsse.h"
#include "keys.h"
#include "register.h"
#include "statement.h"
#include "sync.h"

/* An account every Debian system has, so the module's lookups are real. */
#define ACCOUNT "daemon"
#define HOST "bench-host"
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDhn78vZx6HtlvEjYowHQQ2j" \
    "+p6dB5W+tA2h/zYGgsFi"
#define PER_ACCOUNT 10
#define DECISIONS 2
#define TARGET_US 50.0

struct stats {
	double median, p99;
};

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_pam: %s%s%s\n", what, why != NULL ? ": " : "",
	    why != NULL ? why : "");
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
keypair(struct nhi_seckey *k, const char *name)
{
	memset(k, 0, sizeof(*k));
	crypto_sign_keypair(k->pk, k->sk);
	nhi_keyid(k->pk, k->keyid);
	if ((k->name = strdup(name)) == NULL)
		die("out of memory", NULL);
}

/*
 * Statement i: the first PER_ACCOUNT bind ACCOUNT (the first of them the
 * benchmark's key, owned by alice; the others su/sudo invokers), the rest
 * bind PER_ACCOUNT invokers to each of svc-0, svc-1, ...
 */
static char *
sign_binding(const struct nhi_seckey *k, size_t i, int64_t now)
{
	char id[32], account[32], person[32], approver[] = "approver";
	char ticket[] = "OPS-1", key[] = KEY, alice[] = "alice", *json, *env;
	struct nhi_binding b;
	struct nhi_err e = { "" };
	const char *services = "sshd,su,sudo";

	memset(&b, 0, sizeof(b));
	(void)snprintf(id, sizeof(id), "b-%08zx", i);
	(void)snprintf(person, sizeof(person), "person%zu", i % 5000);
	if (i < PER_ACCOUNT)
		(void)snprintf(account, sizeof(account), "%s", ACCOUNT);
	else
		(void)snprintf(account, sizeof(account), "svc-%zu",
		    i / PER_ACCOUNT - 1);
	b.id = id;
	b.account = account;
	b.owner = person;
	b.cred_kind = NHI_CRED_USER;
	b.cred_user = person;
	if (i == 0) {
		b.owner = alice;
		b.cred_kind = NHI_CRED_SSH_KEY;
		b.cred_key = key;
		services = "sshd";
	}
	b.approver = approver;
	b.ticket = ticket;
	if (nhi_strv_split(HOST ",web-*", NULL, &b.hosts, &e) != 0 ||
	    nhi_strv_split(services, NULL, &b.services, &e) != 0)
		die("split", e.msg);
	b.not_before = b.issued_at = now - 60;
	b.not_after = now + 3600;
	memcpy(b.issuer, k->keyid, sizeof(b.issuer));
	if ((json = nhi_binding_json(&b)) == NULL ||
	    (env = nhi_dsse_sign(k, NHI_PT_BINDING, json, strlen(json))) ==
	    NULL)
		die("sign", NULL);
	free(json);
	nhi_strv_free(&b.hosts);
	nhi_strv_free(&b.services);
	return env;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		die(path, "cannot write");
}

/*
 * Signs n bindings, publishes them and syncs them into dir, in a child so
 * that the memory of a million statements is not the benchmark's.
 * Returns the seconds it took.
 */
static double
make_register(const char *dir, const char *conf_path, size_t n)
{
	double t0 = now_us();
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		die("fork", NULL);
	if (pid == 0) {
		struct nhi_seckey iss, reg;
		struct nhi_sync_result res;
		struct nhi_conf *c = NULL;
		struct nhi_err e = { "" };
		char path[512], text[2048], pk1[64], pk2[64], **sv;
		int64_t now = (int64_t)time(NULL);
		FILE *out;
		size_t i;

		keypair(&iss, "ops");
		keypair(&reg, "register");
		nhi_pubkey_encode(iss.pk, pk1, sizeof(pk1));
		nhi_pubkey_encode(reg.pk, pk2, sizeof(pk2));
		(void)snprintf(text, sizeof(text),
		    "host_name = %s\ngovern_users = %s, svc-*\n"
		    "state_dir = %s/state-%zu\nlog_dir = %s/log-%zu\n"
		    "register_url = file://%s/register.json\n"
		    "passwd_file = /dev/null\ngroup_file = /dev/null\n"
		    "register_key = %s\n[issuer ops]\nkey = %s\n"
		    "accounts = *\nservices = *\nmax_window = 8h\n",
		    HOST, ACCOUNT, dir, n, dir, n, dir, pk2, pk1);
		(void)snprintf(path, sizeof(path), "%s/state-%zu", dir, n);
		if (mkdir(path, 0700) != 0)
			die(path, "cannot create");
		/* The decision log, as on a host: not the machine's. */
		(void)snprintf(path, sizeof(path), "%s/log-%zu", dir, n);
		if (mkdir(path, 0700) != 0)
			die(path, "cannot create");
		write_file(conf_path, text);
		if (nhi_conf_load(conf_path, true, &c, &e) != 0)
			die("config", e.msg);

		(void)snprintf(path, sizeof(path), "%s/register.json", dir);
		if ((sv = calloc(n, sizeof(*sv))) == NULL)
			die("out of memory", NULL);
		for (i = 0; i < n; i++)
			sv[i] = sign_binding(&iss, i, now);
		if ((out = fopen(path, "we")) == NULL)
			die(path, "cannot create");
		if (nhi_register_publish(&reg, 1, now, now + 3600, NULL, 0, sv,
		    n, out, &e) != 0)
			die("publish", e.msg);
		if (fclose(out) != 0)
			die(path, "cannot write");
		if (nhi_sync_file(c, path, path, now, NULL, NULL, &res,
		    &e) != 0)
			die("sync", e.msg);
		if (res.n_bindings != n)
			die("sync", "not every binding was installed");
		(void)unlink(path);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		exit(1);
	return (now_us() - t0) / 1e6;
}

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	*resp = NULL;
	return PAM_SUCCESS;
}

/*
 * One transaction as sshd makes it for a key login. Returns its time in
 * microseconds; with check set, also that the login was let in under the
 * benchmark's binding.
 */
static double
transaction(const char *confdir, bool check)
{
	struct pam_conv pc = { conv_fn, NULL };
	pam_handle_t *h = NULL;
	const char *owner;
	double t0 = now_us(), t;
	int rc;

	if (pam_start_confdir("sshd", ACCOUNT, &pc, confdir, &h) !=
	    PAM_SUCCESS)
		die("pam_start_confdir", confdir);
	(void)pam_set_item(h, PAM_RHOST, "127.0.0.1");
	(void)pam_set_item(h, PAM_TTY, "ssh");
	(void)pam_putenv(h, "SSH_AUTH_INFO_0=publickey " KEY "\n");
	if ((rc = pam_acct_mgmt(h, 0)) != PAM_SUCCESS)
		die("pam_acct_mgmt", pam_strerror(h, rc));
	if ((rc = pam_open_session(h, 0)) != PAM_SUCCESS)
		die("pam_open_session", pam_strerror(h, rc));
	if (check && ((owner = pam_getenv(h, "NHI_OWNER")) == NULL ||
	    strcmp(owner, "alice") != 0))
		die("pam_open_session", "NHI_OWNER is not alice");
	if ((rc = pam_close_session(h, 0)) != PAM_SUCCESS)
		die("pam_close_session", pam_strerror(h, rc));
	pam_end(h, rc);
	t = now_us() - t0;
	return t;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stats
stats_of(double *v, size_t n)
{
	struct stats s;

	qsort(v, n, sizeof(*v), cmp_double);
	s.median = v[n / 2];
	s.p99 = v[(n * 99) / 100];
	return s;
}

static void
write_stack(const char *dir, const char *module)
{
	char path[512], text[2048];

	(void)snprintf(path, sizeof(path), "%s", dir);
	if (mkdir(path, 0755) != 0)
		die(path, "cannot create");
	(void)snprintf(path, sizeof(path), "%s/sshd", dir);
	(void)snprintf(text, sizeof(text),
	    "account required %s\nsession required %s\n", module, module);
	write_file(path, text);
}

int
main(int argc, char **argv)
{
	static const size_t def_sizes[] = { 10, 10000, 1000000 };
	size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t nsizes = argc > 2 ? (size_t)(argc - 2) : 3;
	char dir[] = "/tmp/nhi-bench-pam.XXXXXX", conf[512], nhidir[512];
	char permitdir[512], module[1024], cmd[600];
	double *tn, *tp, base = 0;
	struct stats sn, sp;
	size_t s, i;

	if (iters < 100 || sodium_init() < 0 || mkdtemp(dir) == NULL)
		die("setup", NULL);
	(void)snprintf(conf, sizeof(conf), "%s/nhi.conf", dir);
	(void)snprintf(nhidir, sizeof(nhidir), "%s/nhi", dir);
	(void)snprintf(permitdir, sizeof(permitdir), "%s/permit", dir);
	(void)snprintf(module, sizeof(module), "%s config=%s", PAM_NHI_SO,
	    conf);
	write_stack(nhidir, module);
	write_stack(permitdir, "pam_permit.so");
	if ((tn = calloc(iters, sizeof(*tn))) == NULL ||
	    (tp = calloc(iters, sizeof(*tp))) == NULL)
		die("out of memory", NULL);

	printf("pam_start_confdir + acct_mgmt + open_session + "
	    "close_session + pam_end,\n%zu transactions per stack and size; "
	    "pam_nhi decides %d times per transaction.\n"
	    "Overhead = pam_nhi stack - pam_permit stack, per decision; "
	    "target <= %.0f us, flat.\n\n", iters, DECISIONS, TARGET_US);
	printf("%9s %7s | %9s %9s %9s | %9s %9s %9s | %8s %s\n", "bindings",
	    "setup", "permit", "pam_nhi", "overhead", "permit", "pam_nhi",
	    "overhead", "vs 10", "target");
	printf("%9s %7s | %29s | %29s |\n", "", "(s)",
	    "median (us)      per decision", "p99 (us)         per decision");
	for (s = 0; s < nsizes; s++) {
		size_t n = argc > 2 ? strtoul(argv[2 + s], NULL, 10) :
		    def_sizes[s];
		double setup, over, over99;

		if (n < PER_ACCOUNT)
			die("a size is below", "10 bindings");
		setup = make_register(dir, conf, n);
		(void)transaction(nhidir, true);
		for (i = 0; i < iters / 10; i++) {
			(void)transaction(nhidir, false);
			(void)transaction(permitdir, false);
		}
		for (i = 0; i < iters; i++) {
			tn[i] = transaction(nhidir, false);
			tp[i] = transaction(permitdir, false);
		}
		sn = stats_of(tn, iters);
		sp = stats_of(tp, iters);
		over = (sn.median - sp.median) / DECISIONS;
		over99 = (sn.p99 - sp.p99) / DECISIONS;
		if (s == 0)
			base = over;
		printf("%9zu %7.1f | %9.1f %9.1f %9.1f | %9.1f %9.1f %9.1f | "
		    "%+7.1f  %s\n", n, setup, sp.median, sn.median, over,
		    sp.p99, sn.p99, over99, over - base,
		    over <= TARGET_US ? "met" : "MISSED");
		fflush(stdout);
	}

	free(tn);
	free(tp);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_pam: could not remove %s\n", dir);
	return 0;
}
