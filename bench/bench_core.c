/*
 * bench_core: the core's costs at fleet scale.
 *
 * Generates a register of N bindings (default 100 000) and M accounts
 * (default 10 000), then times: signing the statements, publishing,
 * a full sync (verify + compile + install) in a child process whose peak
 * resident memory is read back, and the decision per call for an account
 * with a handful of bindings among all the others.
 *
 *   bench_core [BINDINGS [ACCOUNTS]]
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchgen.h"
#include "conf.h"
#include "decide.h"
#include "dsse.h"
#include "keys.h"
#include "pamidx.h"
#include "register.h"
#include "statement.h"
#include "sync.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct nhi_err *e)
{
	fprintf(stderr, "bench_core: %s: %s\n", what, e != NULL ? e->msg : "");
	exit(1);
}

static struct nhi_seckey *
make_key(const char *name)
{
	struct nhi_seckey *k = nhi_seckey_generate(name);

	if (k == NULL)
		die("out of memory", NULL);
	return k;
}

int
main(int argc, char **argv)
{
	size_t nb = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t na = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	int64_t now = (int64_t)time(NULL);
	struct nhi_seckey *iss, *reg;
	struct nhi_conf *conf;
	struct nhi_err e;
	char dir[] = "/tmp/nhi-bench.XXXXXX", path[512], text[2048];
	char pk1[64], pk2[64], **st;
	double t0, t_sign, t_pub, t_sync, t_dec;
	size_t i, n = nb + na, calls = 200000;
	FILE *f;
	int status;
	pid_t pid;
	struct rusage ru;

	if (nhi_crypto_init() != 0 || mkdtemp(dir) == NULL)
		die("setup", NULL);
	iss = make_key("ops");
	reg = make_key("register");
	nhi_pubkey_encode(iss->pk, pk1, sizeof(pk1));
	nhi_pubkey_encode(reg->pk, pk2, sizeof(pk2));
	snprintf(text, sizeof(text),
	    "host_name = web-01\nhost_groups = prod\n"
	    "govern_users = svc-*\naccount_uids = 70000-199999\n"
	    "account_gids = 70000-199999\n"
	    "state_dir = %s\nregister_url = file://%s/register.json\n"
	    "passwd_file = /dev/null\ngroup_file = /dev/null\n"
	    "register_key = %s\n[issuer ops]\nkey = %s\n"
	    "accounts = svc-*, nhi-*\nservices = *\nmax_window = 8h\n",
	    dir, dir, pk2, pk1);
	if (nhi_conf_parse("bench.conf", text, &conf, &e) != 0)
		die("config", &e);

	if ((st = calloc(n, sizeof(*st))) == NULL)
		die("out of memory", NULL);
	t0 = now_s();
	for (i = 0; i < nb; i++)
		st[i] = bench_binding(iss, i, now - 60, now + 3600, now - 60);
	for (i = 0; i < na; i++)
		st[nb + i] = bench_account(iss, i, now - 60);
	t_sign = now_s() - t0;

	snprintf(path, sizeof(path), "%s/register.json", dir);
	t0 = now_s();
	if ((f = fopen(path, "we")) == NULL)
		die(path, NULL);
	if (nhi_register_publish(reg, 1, now, now + 3600, NULL, 0, st, n, f,
		&e) != 0)
		die("publish", &e);
	fclose(f);
	t_pub = now_s() - t0;
	for (i = 0; i < n; i++)
		free(st[i]);
	free(st);

	/* The sync in a child, so its peak memory is its own. */
	t0 = now_s();
	if ((pid = fork()) == 0) {
		struct nhi_sync_result res;

		_exit(nhi_sync_file(conf, path, path, now, NULL, NULL, &res,
		    &e) == 0 ? 0 : (fprintf(stderr, "sync: %s\n", e.msg), 1));
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("sync failed", NULL);
	t_sync = now_s() - t0;

	{
		struct nhi_pamidx *x;
		struct nhi_request r;
		struct nhi_decision d;
		size_t allowed = 0;

		if (nhi_pamidx_open(conf->pam_index, &x, &e) != 0)
			die("open index", &e);
		memset(&r, 0, sizeof(r));
		r.service = "sudo";
		r.account = "svc-42";
		r.account_known = true;
		r.account_uid = 5000;
		r.invoker = "person421";
		r.now = now;
		t0 = now_s();
		for (i = 0; i < calls; i++) {
			struct nhi_view v;

			memset(&v, 0, sizeof(v));
			if (nhi_pamidx_view(x, r.account, &v, &e) != 0)
				die("view", &e);
			nhi_decide(conf, &r, &v, false, &d);
			allowed += d.result == NHI_ALLOW;
			nhi_view_clear(&v);
		}
		t_dec = now_s() - t0;
		nhi_pamidx_close(x);
		if (allowed != calls)
			die("the benchmark's own decision was not allow", NULL);
	}

	printf("register: %zu bindings + %zu accounts\n", nb, na);
	printf("%-34s %10.2f s  (%.1f us per statement)\n",
	    "issue (sign every statement)", t_sign, t_sign * 1e6 / (double)n);
	printf("%-34s %10.2f s\n", "publish", t_pub);
	printf("%-34s %10.2f s  (%.1f us per statement)\n",
	    "sync: verify + compile + install", t_sync,
	    t_sync * 1e6 / (double)n);
	printf("%-34s %10.1f MiB\n", "sync: peak resident memory",
	    (double)ru.ru_maxrss / 1024.0);
	printf("%-34s %10.2f us  (index view + decision)\n",
	    "decision per call", t_dec * 1e6 / (double)calls);

	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	if (system(text) != 0)
		fprintf(stderr, "bench_core: could not remove %s\n", dir);
	nhi_conf_free(conf);
	nhi_seckey_free(iss);
	nhi_seckey_free(reg);
	return 0;
}
