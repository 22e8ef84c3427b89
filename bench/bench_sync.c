/*
 * bench_sync: the register sync at fleet scale, served by nginx over TLS.
 *
 * Generates a register of BINDINGS bindings (default 1 000 000) and
 * ACCOUNTS pseudonymous accounts (default 100 000), serves it with nginx
 * on 127.0.0.1 (test CA from tests/https/lib.sh), and times in a child
 * process each: a full sync into an empty state (wall time and peak
 * resident memory), the same sync again (a conditional GET answered 304),
 * and a sync after 1% of the bindings were re-issued. The figures are
 * printed side by side with the targets of the sync issue.
 *
 * Then, for reading them: where the processors went during each run
 * (the sync, nginx serving it, everything else on the machine, and time
 * stolen by the hypervisor, from /proc), and what one Ed25519
 * verification costs here, the part of a full sync no design avoids.
 *
 *   bench_sync [BINDINGS [ACCOUNTS]]
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchgen.h"
#include "conf.h"
#include "dsse.h"
#include "keys.h"
#include "register.h"
#include "statement.h"
#include "sync.h"

struct gen {
	const struct nhi_seckey *k;
	size_t lo, hi, nb;
	int64_t now;
	int64_t gen;		/* 0: first register; 1: every 100th changed */
	const char *path;
	int ok;
};

/* Processor time on the whole machine, from the first line of /proc/stat. */
struct cpuclock {
	double busy;		/* user, nice, system, irq, softirq */
	double steal;
	double nginx;		/* nginx's processes */
};

struct run {
	double secs;
	double cpu;		/* user + system seconds of the child */
	double maxrss_mib;
	struct nhi_sync_result res;
	struct cpuclock load;	/* over the run */
	int ok;
};

static char dir[] = "/tmp/nhi-bench-sync.XXXXXX";

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
	fprintf(stderr, "bench_sync: %s%s%s\n", what, e != NULL ? ": " : "",
	    e != NULL ? e->msg : "");
	exit(1);
}

/*
 * Reads up to n space-separated decimal numbers from s into v (a field
 * that is not a number, such as a state letter, reads as 0). Returns how
 * many were read.
 */
static size_t
numbers(const char *s, unsigned long long *v, size_t n)
{
	size_t i;
	char *end;

	for (i = 0; i < n; i++) {
		while (*s == ' ')
			s++;
		if (*s == '\0' || *s == '\n')
			break;
		v[i] = strtoull(s, &end, 10);
		if (end == s)
			end += strcspn(s, " \n");
		s = end;
	}
	return i;
}

/* Seconds of processor time nginx's processes (master pid) have used. */
static double
nginx_cpu(pid_t master)
{
	unsigned long long v[13];
	char path[64], line[1024], *p;
	struct dirent *de;
	double sum = 0;
	pid_t pid;
	DIR *d;
	FILE *f;

	if (master <= 0 || (d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if ((pid = (pid_t)strtol(de->d_name, &p, 10)) <= 0 || *p != '\0')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		/* After "pid (comm) ": state ppid ... utime stime. */
		if (fgets(line, sizeof(line), f) != NULL &&
		    (p = strrchr(line, ')')) != NULL &&
		    numbers(p + 1, v, 13) == 13 &&
		    (pid == master || v[1] == (unsigned long long)master))
			sum += (double)(v[11] + v[12]) /
			    (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	closedir(d);
	return sum;
}

static pid_t
nginx_master(void)
{
	unsigned long long v = 0;
	char path[600], line[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ng/nginx.pid", dir);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL ||
		    numbers(line, &v, 1) != 1)
			v = 0;
		fclose(f);
	}
	return (pid_t)v;
}

static struct cpuclock
cpuclock_now(void)
{
	unsigned long long v[8] = { 0 };
	struct cpuclock c;
	double hz = (double)sysconf(_SC_CLK_TCK);
	char line[512];
	FILE *f;

	/* "cpu  user nice system idle iowait irq softirq steal ..." */
	memset(&c, 0, sizeof(c));
	if ((f = fopen("/proc/stat", "re")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL ||
		    strncmp(line, "cpu ", 4) != 0 ||
		    numbers(line + 4, v, 8) != 8)
			memset(v, 0, sizeof(v));
		fclose(f);
	}
	c.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
	c.steal = (double)v[7] / hz;
	c.nginx = nginx_cpu(nginx_master());
	return c;
}

/* What one Ed25519 verification costs here, in microseconds. */
static double
verify_us(void)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES], msg[512];
	struct timespec a, b;
	int i, n = 4000;

	randombytes_buf(msg, sizeof(msg));
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (i = 0; i < n; i++)
		if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
			die("verify", NULL);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	sodium_memzero(sk, sizeof(sk));
	return ((double)(b.tv_sec - a.tv_sec) * 1e6 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e3) / n;
}

static char *
sign_binding(const struct gen *g, size_t i)
{
	/* A re-issued binding differs in its window. */
	int64_t extra = g->gen != 0 && i % 100 == 0 ? 60 : 0;

	return bench_binding(g->k, i, g->now - 60, g->now + 7200 + extra,
	    g->now - 60);
}

static char *
sign_account(const struct gen *g, size_t i)
{
	return bench_account(g->k, i, g->now - 60);
}

/* Signs statements [lo, hi) into g->path, one per line. */
static void *
gen_part(void *arg)
{
	struct gen *g = arg;
	FILE *f;
	char *env;
	size_t i;

	if ((f = fopen(g->path, "we")) == NULL)
		return NULL;
	for (i = g->lo; i < g->hi; i++) {
		env = i < g->nb ? sign_binding(g, i) : sign_account(g, i -
		    g->nb);
		if (env == NULL || fputs(env, f) == EOF || fputc('\n', f) ==
		    EOF) {
			free(env);
			fclose(f);
			return NULL;
		}
		free(env);
	}
	g->ok = fclose(f) == 0;
	return NULL;
}

/* Signs every statement on two threads, then joins the halves. */
static void
generate(const struct nhi_seckey *k, size_t nb, size_t na, int64_t now,
    int64_t gen, const char *out)
{
	struct gen g[2];
	pthread_t th;
	char p0[600], p1[600], cmd[2048];
	size_t n = nb + na;

	snprintf(p0, sizeof(p0), "%s/part0", dir);
	snprintf(p1, sizeof(p1), "%s/part1", dir);
	g[0] = (struct gen){ k, 0, n / 2, nb, now, gen, p0, 0 };
	g[1] = (struct gen){ k, n / 2, n, nb, now, gen, p1, 0 };
	if (pthread_create(&th, NULL, gen_part, &g[1]) != 0)
		die("thread", NULL);
	gen_part(&g[0]);
	pthread_join(th, NULL);
	if (!g[0].ok || !g[1].ok)
		die("cannot write the statements", NULL);
	snprintf(cmd, sizeof(cmd), "cat '%s' '%s' >'%s' && rm -f '%s' '%s'",
	    p0, p1, out, p0, p1);
	if (system(cmd) != 0)
		die("cannot join the statements", NULL);
}

/* Publishes STATEMENTS as version v and installs it as www/register.json. */
static void
publish(const struct nhi_seckey *reg, const char *statements, int64_t v,
    int64_t now)
{
	char tmp[600], path[600];
	struct nhi_err e;
	FILE *in, *out;

	snprintf(tmp, sizeof(tmp), "%s/www/.register.json", dir);
	snprintf(path, sizeof(path), "%s/www/register.json", dir);
	if ((in = fopen(statements, "re")) == NULL ||
	    (out = fopen(tmp, "we")) == NULL)
		die("open", NULL);
	if (nhi_register_publish_stream(reg, v, now, now + 3600, NULL, 0, in,
	    out, &e) != 0)
		die("publish", &e);
	fclose(in);
	if (fclose(out) != 0 || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0)
		die("cannot install the register", NULL);
}

/* One nhi_sync in a child, so that its peak memory is its own. */
static struct run
sync_child(const struct nhi_conf *c, int64_t now)
{
	struct cpuclock after;
	struct run run;
	struct rusage ru;
	int fds[2], status;
	double t0;
	pid_t pid;

	memset(&run, 0, sizeof(run));
	if (pipe(fds) != 0)
		die("pipe", NULL);
	run.load = cpuclock_now();
	t0 = now_s();
	if ((pid = fork()) == 0) {
		struct nhi_sync_result res;
		struct nhi_err e;
		int r;

		close(fds[0]);
		r = nhi_sync(c, now, NULL, NULL, &res, &e);
		if (r != 0)
			fprintf(stderr, "bench_sync: sync: %s\n", e.msg);
		if (write(fds[1], &res, sizeof(res)) != sizeof(res))
			r = -1;
		_exit(r == 0 ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &run.res, sizeof(run.res)) !=
	    sizeof(run.res) || wait4(pid, &status, 0, &ru) != pid)
		die("sync child", NULL);
	run.secs = now_s() - t0;
	after = cpuclock_now();
	run.load.busy = after.busy - run.load.busy;
	run.load.steal = after.steal - run.load.steal;
	run.load.nginx = after.nginx - run.load.nginx;
	close(fds[0]);
	run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	run.maxrss_mib = (double)ru.ru_maxrss / 1024.0;
	run.cpu = (double)ru.ru_utime.tv_sec +
	    (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	    (double)ru.ru_stime.tv_usec / 1e6;
	return run;
}

/* Where the processors went during a run, in seconds. */
static void
detail(const char *what, const struct run *r)
{
	double others = r->load.busy - r->cpu - r->load.nginx;

	printf("%-24s %7.3f %9.3f %9.3f %9.3f %9.3f %7.2f\n", what, r->secs,
	    r->cpu, r->load.nginx, others > 0 ? others : 0, r->load.steal,
	    r->secs > 0 ? r->cpu / r->secs : 0);
}

static void
row(const char *what, double v, const char *unit, double target,
    const char *tunit, const char *note)
{
	printf("%-30s %10.3f %-4s  %8.3f %-4s  %-4s %s\n", what, v, unit,
	    target, tunit, v <= target ? "ok" : "MISS", note);
}

int
main(int argc, char **argv)
{
	size_t nb = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t na = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	int64_t now = (int64_t)time(NULL);
	struct nhi_seckey *iss, *reg;
	struct nhi_conf *conf;
	struct nhi_err e;
	struct run full, nm, delta;
	char text[4096], cmd[4096], st1[600], st2[600], port[16], note[128];
	double t0, t_gen, us;
	FILE *p;

	if (nhi_crypto_init() != 0 || nhi_sync_global_init() != 0 ||
	    mkdtemp(dir) == NULL || chmod(dir, 0755) != 0)
		die("setup", NULL);
	if ((iss = calloc(1, sizeof(*iss))) == NULL ||
	    (reg = calloc(1, sizeof(*reg))) == NULL)
		die("out of memory", NULL);
	crypto_sign_keypair(iss->pk, iss->sk);
	nhi_keyid(iss->pk, iss->keyid);
	crypto_sign_keypair(reg->pk, reg->sk);
	nhi_keyid(reg->pk, reg->keyid);

	/* The origin: nginx over TLS with a test CA. */
	snprintf(cmd, sizeof(cmd), ". '%s/tests/https/lib.sh' && "
	    "https_free_port", TOP_SRCDIR);
	if ((p = popen(cmd, "r")) == NULL || fgets(port, sizeof(port), p) ==
	    NULL || pclose(p) != 0)
		die("no free port", NULL);
	port[strcspn(port, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/www' && "
	    "printf 'server { listen 127.0.0.1:%s ssl; server_name localhost;"
	    " ssl_certificate %s/pki/good.pem; ssl_certificate_key "
	    "%s/pki/good.key; root %s/www; }\\n' >'%s/http.conf' && "
	    ". '%s/tests/https/lib.sh' && https_pki '%s/pki' && "
	    "https_nginx_start '%s/ng' '%s/http.conf'", dir, port, dir, dir,
	    dir, dir, TOP_SRCDIR, dir, dir, dir);
	if (system(cmd) != 0)
		die("cannot start nginx", NULL);

	snprintf(st1, sizeof(st1), "%s/statements.1", dir);
	snprintf(st2, sizeof(st2), "%s/statements.2", dir);
	t0 = now_s();
	generate(iss, nb, na, now, 0, st1);
	t_gen = now_s() - t0;
	publish(reg, st1, 1, now);

	{
		char pk1[64], pk2[64];

		nhi_pubkey_encode(iss->pk, pk1, sizeof(pk1));
		nhi_pubkey_encode(reg->pk, pk2, sizeof(pk2));
		snprintf(text, sizeof(text),
		    "host_name = web-01\nhost_groups = prod\n"
		    "govern_users = svc-*\naccount_uids = 70000-999999\n"
		    "account_gids = 70000-999999\nstate_dir = %s/state\n"
		    "register_url = https://localhost:%s/register.json\n"
		    "ca_file = %s/pki/ca.pem\nmax_register_size = 4G\n"
		    "passwd_file = /dev/null\ngroup_file = /dev/null\n"
		    "register_key = %s\n[issuer ops]\nkey = %s\n"
		    "accounts = svc-*, nhi-*\nservices = *\n"
		    "max_window = 8h\n", dir, port, dir, pk2, pk1);
	}
	if (nhi_conf_parse("bench.conf", text, &conf, &e) != 0)
		die("config", &e);

	full = sync_child(conf, now);
	nm = sync_child(conf, now);
	generate(iss, nb, na, now, 1, st2);
	publish(reg, st2, 2, now);
	delta = sync_child(conf, now);
	if (!full.ok || !nm.ok || !delta.ok)
		die("a sync failed", NULL);

	printf("register: %zu bindings + %zu accounts, %ld processors; "
	    "statements signed in %.1f s\n\n", nb, na,
	    sysconf(_SC_NPROCESSORS_ONLN), t_gen);
	printf("%-30s %15s  %13s  %s\n", "", "measured", "target", "");
	snprintf(note, sizeof(note), "(%zu verified, %s, cpu %.1f s)",
	    full.res.n_verified, nhi_sync_outcome_name(full.res.outcome),
	    full.cpu);
	row("full sync", full.secs, "s", 40, "s", note);
	row("full sync: peak memory", full.maxrss_mib, "MiB", 512, "MiB", "");
	snprintf(note, sizeof(note), "(%s, cpu %.1f ms)",
	    nhi_sync_outcome_name(nm.res.outcome), nm.cpu * 1000);
	row("unchanged (304)", nm.secs * 1000, "ms", 50, "ms", note);
	snprintf(note, sizeof(note), "(%zu verified, %zu cached, cpu %.1f s)",
	    delta.res.n_verified, delta.res.n_cached, delta.cpu);
	row("1% of bindings changed", delta.secs, "s", 3, "s", note);
	row("1% changed: peak memory", delta.maxrss_mib, "MiB", 512, "MiB",
	    "");

	printf("\n%-24s %7s %9s %9s %9s %9s %7s\n", "seconds", "wall",
	    "sync cpu", "nginx", "others", "steal", "cores");
	detail("full sync", &full);
	detail("unchanged (304)", &nm);
	detail("1% of bindings changed", &delta);
	us = verify_us();
	printf("\nEd25519 verification here: %.1f us per signature on one "
	    "core,\n%.1f s for the %zu statements of a full sync on %ld "
	    "processors.\n", us, us * (double)(nb + na) / 1e6 /
	    (double)sysconf(_SC_NPROCESSORS_ONLN), nb + na,
	    sysconf(_SC_NPROCESSORS_ONLN));

	snprintf(cmd, sizeof(cmd), ". '%s/tests/https/lib.sh' && "
	    "https_stop '%s/ng/nginx.pid'; rm -rf '%s'", TOP_SRCDIR, dir,
	    dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_sync: could not clean %s\n", dir);
	nhi_conf_free(conf);
	nhi_seckey_free(iss);
	nhi_seckey_free(reg);
	return 0;
}
