/*
 * bench_pam: what pam_nhi.so adds to a login, at 10, 10 000 and 1 000 000
 * bindings.
 *
 * For each size a register is signed and synced into a scratch directory
 * with the library, as a host's nhictl sync would, and three PAM stacks
 * are timed by bench_pam_run, a process that links libpam and libc only
 * (as sshd, su and sudo link neither json-c, nor libsodium, nor tinycdb,
 * so loading them is counted). Each transaction is pam_start_confdir +
 * pam_acct_mgmt + pam_open_session + pam_close_session + pam_end for an
 * sshd key login:
 *   permit: pam_permit.so alone in the account and session stacks;
 *   ignore: pam_nhi.so (optional) before pam_permit.so, for root, which
 *           is not governed: what every other login on the host pays;
 *   decide: pam_nhi.so alone, for a governed account with ten bindings
 *           among all the others and a bound key: allowed, recorded in
 *           the audit trail and the decision log.
 * pam_nhi runs twice per transaction (account and session stage, both
 * seeing the key), so the overhead per decision is half the difference to
 * the permit stack.
 *
 *   bench_pam [TRANSACTIONS [SIZE...]]
 */
#include "config.h"

#include <sodium.h>
#include <stdbool.h>
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

/* What bench_pam_run reports for one stack. */
struct stats {
	double median, p99, faults;
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

/* One line of exactly n numbers from bench_pam_run. */
static int
read_figures(FILE *p, double *v, size_t n)
{
	char line[256], *at = line, *end;
	size_t i;

	if (fgets(line, sizeof(line), p) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		v[i] = strtod(at, &end);
		if (end == at)
			return -1;
		at = end;
	}
	return *at == '\n' ? 0 : -1;
}

/*
 * Times the stacks of this size in bench_pam_run; out[i] for the i-th
 * of the "CONFDIR:USER[:OWNER]" arguments in stacks, and the machine's
 * cost of a system call and of a page fault.
 */
static void
run_stacks(size_t iters, const char *stacks, struct stats *out, size_t n,
    double *ret_syscall, double *ret_fault)
{
	char cmd[4096];
	size_t i;
	FILE *p;

	(void)snprintf(cmd, sizeof(cmd), "%s %zu %s", BENCH_PAM_RUN, iters,
	    stacks);
	if ((p = popen(cmd, "re")) == NULL)
		die("popen", BENCH_PAM_RUN);
	for (i = 0; i < n; i++) {
		double v[3];

		if (read_figures(p, v, 3) != 0)
			break;
		out[i].median = v[0];
		out[i].p99 = v[1];
		out[i].faults = v[2];
	}
	if (i == n) {
		double v[2];

		if (read_figures(p, v, 2) != 0) {
			i = 0;
		} else {
			*ret_syscall = v[0];
			*ret_fault = v[1];
		}
	}
	if (pclose(p) != 0 || i != n)
		die(BENCH_PAM_RUN, "failed");
}

/* dir/sshd: the module alone, or optional before pam_permit.so. */
static void
write_stack(const char *dir, const char *module, bool before_permit)
{
	char path[512], text[2048];

	(void)snprintf(path, sizeof(path), "%s", dir);
	if (mkdir(path, 0755) != 0)
		die(path, "cannot create");
	(void)snprintf(path, sizeof(path), "%s/sshd", dir);
	if (before_permit)
		(void)snprintf(text, sizeof(text),
		    "account optional %s\naccount required pam_permit.so\n"
		    "session optional %s\nsession required pam_permit.so\n",
		    module, module);
	else
		(void)snprintf(text, sizeof(text),
		    "account required %s\nsession required %s\n", module,
		    module);
	write_file(path, text);
}

int
main(int argc, char **argv)
{
	static const size_t def_sizes[] = { 10, 10000, 1000000 };
	enum { PERMIT, IGNORE, DECIDE, NSTACKS };
	size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t nsizes = argc > 2 ? (size_t)(argc - 2) : 3;
	char dir[] = "/tmp/nhi-bench-pam.XXXXXX", conf[512], module[1024];
	char stacks[2048], cmd[600];
	struct stats r[NSTACKS];
	double base = 0, sc = 0, pf = 0;
	size_t s;

	if (iters < 100 || sodium_init() < 0 || mkdtemp(dir) == NULL)
		die("setup", NULL);
	(void)snprintf(conf, sizeof(conf), "%s/nhi.conf", dir);
	(void)snprintf(module, sizeof(module), "%s config=%s", PAM_NHI_SO,
	    conf);
	(void)snprintf(stacks, sizeof(stacks), "%s/permit", dir);
	write_stack(stacks, "pam_permit.so", false);
	(void)snprintf(stacks, sizeof(stacks), "%s/ignore", dir);
	write_stack(stacks, module, true);
	(void)snprintf(stacks, sizeof(stacks), "%s/decide", dir);
	write_stack(stacks, module, false);
	(void)snprintf(stacks, sizeof(stacks),
	    "%s/permit:" ACCOUNT " %s/ignore:root %s/decide:" ACCOUNT ":alice",
	    dir, dir, dir);

	printf("pam_start_confdir + acct_mgmt + open_session + "
	    "close_session + pam_end,\n%zu transactions per stack and size, "
	    "timed in a process linking libpam and libc only.\n"
	    "permit: pam_permit.so; ignore: pam_nhi.so + pam_permit.so, "
	    "account not governed;\ndecide: pam_nhi.so, governed account, "
	    "bound key, allowed and recorded. pam_nhi runs %d times\n"
	    "per transaction; overhead per decision = (stack - permit) / %d; "
	    "target <= %.0f us, flat.\n\n", iters, DECISIONS, DECISIONS,
	    TARGET_US);
	printf("%9s %6s | %8s %8s %8s | %8s %8s %8s | %6s %6s %6s | %7s %s\n",
	    "bindings", "setup", "permit", "ignore", "decide", "ignore",
	    "decide", "decide", "permit", "ignore", "decide", "vs 10",
	    "target");
	printf("%9s %6s | %26s | %26s | %20s |\n", "", "(s)",
	    "median per transaction us", "overhead per decision us",
	    "minor faults per tr.");
	printf("%9s %6s | %26s | %8s %8s %8s | %20s |\n", "", "", "",
	    "median", "median", "p99", "");
	for (s = 0; s < nsizes; s++) {
		size_t n = argc > 2 ? strtoul(argv[2 + s], NULL, 10) :
		    def_sizes[s];
		double setup, ign, dec, dec99;

		if (n < PER_ACCOUNT)
			die("a size is below", "10 bindings");
		setup = make_register(dir, conf, n);
		run_stacks(iters, stacks, r, NSTACKS, &sc, &pf);
		ign = (r[IGNORE].median - r[PERMIT].median) / DECISIONS;
		dec = (r[DECIDE].median - r[PERMIT].median) / DECISIONS;
		dec99 = (r[DECIDE].p99 - r[PERMIT].p99) / DECISIONS;
		if (s == 0)
			base = dec;
		printf("%9zu %6.1f | %8.1f %8.1f %8.1f | %8.1f %8.1f %8.1f | "
		    "%6.1f %6.1f %6.1f | %+7.1f %s\n", n, setup,
		    r[PERMIT].median, r[IGNORE].median, r[DECIDE].median, ign,
		    dec, dec99, r[PERMIT].faults, r[IGNORE].faults,
		    r[DECIDE].faults, dec - base,
		    dec <= TARGET_US ? "met" : "MISSED");
		fflush(stdout);
	}
	printf("\nOn this machine a system call costs %.2f us and a page fault "
	    "%.2f us:\nthe figures above are mostly made of both (see the "
	    "fault columns).\n", sc, pf);

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_pam: could not remove %s\n", dir);
	return 0;
}
