/*
 * bench_nss: libnss_nhi.so.2 against its peers, through glibc, in one run.
 *
 * For each size (default 10, 100000 and 1000000 entries) the same users
 * and groups are written as an NSS index (tests/nss/mkidx -n), as passwd
 * and group files for glibc's nss_files, as Berkeley DB files for
 * Debian's libnss-db (makedb, in the format of /var/lib/misc/Makefile) and
 * as passwd.cache and group.cache with their sorted indexes for
 * libnss-cache. Each call (getpwnam_r, getpwuid_r, getgrnam_r,
 * getgrgid_r, getgrouplist; hits and misses) is timed one by one through
 * glibc with __nss_configure_lookup selecting the service, and the median,
 * the 99th percentile and the ratio of each peer's median to nhi's are
 * printed. Keys are drawn at random over the whole range.
 *
 *   bench_nss [-s SIZE,...] [-S SERVICE,...] [-n CALLS] [-t SECONDS]
 *
 * -S limits the run to some of nhi, files, db and cache (default all).
 * -n caps the timed calls per case (default 20000), -t the time spent per
 * case (default 2 s, at least 5 calls): nss_files reads its whole file per
 * call and the peers without initgroups_dyn enumerate every group per
 * getgrouplist, so they get fewer samples at large sizes.
 *
 * Run it from the build directory, as root: the peers' files sit at fixed
 * paths (/etc/passwd, /etc/group, /etc/passwd.cache, the .db files in
 * /var/lib/misc),
 * so it moves into a private mount namespace of its own, bind-mounts the
 * generated files there and lays a tmpfs-backed overlay on /etc; nothing
 * of the machine's is written. It finds mkidx at tests/nss/mkidx (or
 * $NHI_MKIDX) and the module in nss_nhi/.libs (it re-executes itself with
 * LD_LIBRARY_PATH set). Without root only nhi is measured. The peers come
 * from Debian's archive and are not needed by any test:
 *
 *   apt-get install libnss-db libnss-cache
 *
 * A peer that is not installed is left out of the table.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* As tests/nss/mkidx.c generates them. */
#define GEN_UID_BASE 200000u
#define GEN_BUCKET 1000u

#define PW_BUF (64 * 1024)
#define GR_BUF (2 * 1024 * 1024)	/* libnss-cache wants 1 MiB at least */
#define N_GROUPS_MAX 64

enum op { OP_PWNAM, OP_PWUID, OP_GRNAM, OP_GRGID, OP_GROUPLIST, N_OPS };

static const char *const op_names[N_OPS] = {
	"getpwnam", "getpwuid", "getgrnam", "getgrgid", "getgrouplist",
};

struct service {
	const char *name;	/* as in nsswitch.conf */
	const char *lib;	/* NULL: always there */
	bool usable;
};

static struct service services[] = {
	{ "nhi", NULL, true },
	{ "files", NULL, true },
	{ "db", "libnss_db.so.2", false },
	{ "cache", "libnss_cache.so.2", false },
};
#define N_SERVICES (sizeof(services) / sizeof(services[0]))

struct result {
	double median, p99;	/* microseconds */
	size_t calls;
	bool done;
};

static long max_calls = 20000;
static double max_seconds = 2.0;
static char *pwbuf, *grbuf;
static char workdir[] = "/tmp/nhi-bench-nss.XXXXXX";

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "bench_nss: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One call of op for entry i of n (a miss when miss is set). */
static bool
call(enum op op, uint32_t n, uint32_t i, bool miss)
{
	char name[32];
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	gid_t groups[N_GROUPS_MAX];
	int ng = N_GROUPS_MAX;
	uint32_t id = miss ? GEN_UID_BASE + 2 * n + GEN_BUCKET + i :
	    GEN_UID_BASE + i;

	switch (op) {
	case OP_PWNAM:
	case OP_GROUPLIST:
		(void)snprintf(name, sizeof(name), "nhi-%c%07u",
		    miss ? 'x' : 'u', i);
		break;
	case OP_GRNAM:
		(void)snprintf(name, sizeof(name), "nhi-%c%07u",
		    miss ? 'y' : 'g', i);
		break;
	default:
		break;
	}
	switch (op) {
	case OP_PWNAM:
		(void)getpwnam_r(name, &pw, pwbuf, PW_BUF, &pwr);
		return pwr != NULL;
	case OP_PWUID:
		(void)getpwuid_r(id, &pw, pwbuf, PW_BUF, &pwr);
		return pwr != NULL;
	case OP_GRNAM:
		(void)getgrnam_r(name, &gr, grbuf, GR_BUF, &grr);
		return grr != NULL;
	case OP_GRGID:
		(void)getgrgid_r(id, &gr, grbuf, GR_BUF, &grr);
		return grr != NULL;
	default:
		/* A hit lists the primary and the shared group. */
		(void)getgrouplist(name, id, groups, &ng);
		return ng == 2;
	}
}

static void
configure(const char *service)
{
	if (__nss_configure_lookup("passwd", service) != 0 ||
	    __nss_configure_lookup("group", service) != 0 ||
	    __nss_configure_lookup("initgroups", service) != 0)
		die("__nss_configure_lookup");
}

/*
 * Times op on one service: a few untimed calls first (module loading,
 * first mapping), then up to max_calls within max_seconds.
 */
static void
measure(enum op op, uint32_t n, bool miss, struct result *r)
{
	uint64_t *t, start, t0;
	unsigned seed = 12345;
	size_t i, mid, high, warm = 3;
	bool ok = true;

	if ((t = calloc((size_t)max_calls, sizeof(*t))) == NULL)
		die("calloc");
	for (i = 0; i < warm; i++)
		ok = call(op, n, (uint32_t)rand_r(&seed) % n, miss) == !miss &&
		    ok;
	start = now_ns();
	for (i = 0; i < (size_t)max_calls; i++) {
		uint32_t k = (uint32_t)rand_r(&seed) % n;

		t0 = now_ns();
		ok = call(op, n, k, miss) == !miss && ok;
		t[i] = now_ns() - t0;
		if (i >= 4 && (double)(now_ns() - start) / 1e9 > max_seconds) {
			i++;
			break;
		}
	}
	qsort(t, i, sizeof(*t), cmp_u64);
	r->calls = i;
	mid = i / 2;
	high = (i * 99) / 100;
	r->median = (double)t[mid] / 1000.0;
	r->p99 = (double)t[high] / 1000.0;
	r->done = ok;
	free(t);
}

/*
 * Runs a program with the arguments given, ended by (char *)NULL (a bare
 * NULL may be an int in a variadic call); exits on failure.
 */
static void
run(const char *prog, ...)
{
	char *argv[16];
	const char *a;
	va_list ap;
	size_t n = 0;
	pid_t pid;
	int status;

	if ((argv[n++] = strdup(prog)) == NULL)
		die("strdup");
	va_start(ap, prog);
	while (n < 15 && (a = va_arg(ap, const char *)) != NULL)
		if ((argv[n++] = strdup(a)) == NULL)
			die("strdup");
	va_end(ap);
	argv[n] = NULL;
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_nss: %s failed\n", prog);
		exit(1);
	}
	while (n > 0)
		free(argv[--n]);
}

static FILE *
xfopen(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);

	if (f == NULL)
		die(path);
	return f;
}

static void
xfclose(FILE *f, const char *what)
{
	if (fclose(f) != 0)
		die(what);
}

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		die("asprintf");
	return p;
}

/* Field i (0-based) of a ':' separated line: start and length. */
static const char *
field(const char *line, int i, int *ret_len)
{
	const char *e;

	for (; i > 0 && line != NULL; i--)
		if ((line = strchr(line, ':')) != NULL)
			line++;
	if (line == NULL || (e = strchr(line, ':')) == NULL)
		return NULL;
	*ret_len = (int)(e - line);
	return line;
}

/*
 * libnss-db's input: each line of src under "0<count>", ".<name>" and
 * "=<id>", as /var/lib/misc/Makefile feeds makedb.
 */
static void
make_db(const char *src, const char *dst)
{
	char *cmd, *line = NULL;
	size_t cap = 0;
	unsigned long cnt = 0;
	const char *name, *id;
	int nlen, ilen;
	FILE *in = xfopen(src, "re"), *out;

	if (asprintf(&cmd, "umask 022 && makedb -o '%s' -", dst) < 0)
		die("asprintf");
	if ((out = popen(cmd, "we")) == NULL)
		die("makedb");
	while (getline(&line, &cap, in) > 0) {
		if ((name = field(line, 0, &nlen)) == NULL ||
		    (id = field(line, 2, &ilen)) == NULL)
			continue;
		fprintf(out, "0%lu %s", cnt++, line);
		fprintf(out, ".%.*s %s", nlen, name, line);
		fprintf(out, "=%.*s %s", ilen, id, line);
	}
	free(line);
	fclose(in);
	if (pclose(out) != 0) {
		fprintf(stderr, "bench_nss: makedb failed for %s\n", dst);
		exit(1);
	}
	free(cmd);
}

struct ixent {
	char *key;
	long off;
};

static int
cmp_ix(const void *a, const void *b)
{
	return strcmp(((const struct ixent *)a)->key,
	    ((const struct ixent *)b)->key);
}

/*
 * libnss-cache's sorted index of a cache file: fixed-width lines of the
 * key (field col, 0-based), a NUL and the entry's byte offset, sorted by
 * strcmp, as nsscache writes them.
 */
static void
make_cache_index(const char *src, const char *dst, int col)
{
	struct ixent *v = NULL, *nv;
	size_t n = 0, cap = 0, i, width = 0;
	char *line = NULL;
	size_t lcap = 0;
	long off = 0;
	ssize_t len;
	FILE *in = xfopen(src, "re"), *out;

	while ((len = getline(&line, &lcap, in)) > 0) {
		const char *k;
		int klen;

		if ((k = field(line, col, &klen)) == NULL)
			die("cache index: bad line");
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				die("reallocarray");
			v = nv;
		}
		if ((v[n].key = strndup(k, (size_t)klen)) == NULL)
			die("strndup");
		v[n].off = off;
		if (strlen(v[n].key) + 12 > width)
			width = strlen(v[n].key) + 12;
		n++;
		off += len;
	}
	free(line);
	fclose(in);
	/* An empty file leaves v NULL, which qsort may not be given. */
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_ix);
	out = xfopen(dst, "we");
	for (i = 0; i < n; i++) {
		size_t kl = strlen(v[i].key);

		fwrite(v[i].key, 1, kl + 1, out);
		fprintf(out, "%*ld\n", (int)(width - kl - 1), v[i].off);
		free(v[i].key);
	}
	free(v);
	xfclose(out, dst);
}

static void
copy_file(const char *src, const char *dst)
{
	run("/bin/cp", src, dst, (char *)NULL);
}

static void
bind_file(const char *src, const char *dst)
{
	(void)umount2(dst, MNT_DETACH);
	if (mount(src, dst, NULL, MS_BIND, NULL) == -1)
		die(dst);
}

/* The namespace: a private /var/lib/misc and a writable overlay on /etc. */
static void
enter_namespace(void)
{
	char *ovl = path_in(workdir, "ovl"), *opts;

	if (unshare(CLONE_NEWNS) == -1)
		die("unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		die("mount --make-rprivate /");
	if (mkdir(ovl, 0755) == -1 ||
	    mount("tmpfs", ovl, "tmpfs", 0, "mode=755") == -1)
		die(ovl);
	if (asprintf(&opts, "lowerdir=/etc,upperdir=%s/up,workdir=%s/work",
	    ovl, ovl) < 0)
		die("asprintf");
	{
		char *up = path_in(ovl, "up"), *wk = path_in(ovl, "work");

		if (mkdir(up, 0755) == -1 || mkdir(wk, 0755) == -1)
			die(up);
		free(up);
		free(wk);
	}
	if (mount("overlay", "/etc", "overlay", 0, opts) == -1)
		die("overlay on /etc");
	if (mount("tmpfs", "/var/lib/misc", "tmpfs", 0, "mode=755") == -1)
		die("/var/lib/misc");
	free(opts);
	free(ovl);
}

/* Writes every peer's files for n entries and points nhi at its index. */
static void
prepare(uint32_t n, bool peers)
{
	const char *mkidx = getenv("NHI_MKIDX");
	char nbuf[16], *dir, *idx, *pw, *gr;

	(void)snprintf(nbuf, sizeof(nbuf), "%u", n);
	if (asprintf(&dir, "%s/%u", workdir, n) < 0)
		die("asprintf");
	if (mkdir(dir, 0755) == -1)
		die(dir);
	idx = path_in(dir, "nss.cdb");
	pw = path_in(dir, "passwd");
	gr = path_in(dir, "group");
	run(mkidx != NULL ? mkidx : "tests/nss/mkidx", "-n", nbuf, "-p", pw,
	    "-g", gr, idx, (char *)NULL);
	if (setenv("NHI_NSS_INDEX", idx, 1) == -1)
		die("setenv");
	if (peers) {
		(void)chmod(pw, 0644);
		(void)chmod(gr, 0644);
		bind_file(pw, "/etc/passwd");
		bind_file(gr, "/etc/group");
		if (services[2].usable) {
			make_db(pw, "/var/lib/misc/passwd.db");
			make_db(gr, "/var/lib/misc/group.db");
		}
		if (services[3].usable) {
			copy_file(pw, "/etc/passwd.cache");
			copy_file(gr, "/etc/group.cache");
			make_cache_index("/etc/passwd.cache",
			    "/etc/passwd.cache.ixname", 0);
			make_cache_index("/etc/passwd.cache",
			    "/etc/passwd.cache.ixuid", 2);
			make_cache_index("/etc/group.cache",
			    "/etc/group.cache.ixname", 0);
			make_cache_index("/etc/group.cache",
			    "/etc/group.cache.ixgid", 2);
		}
	}
	free(idx);
	free(pw);
	free(gr);
	free(dir);
}

static void
print_size(uint32_t n, struct result r[N_OPS][2][N_SERVICES])
{
	size_t s;
	int op, miss;

	printf("\n%u entries (median / p99 in microseconds; ratio = peer "
	    "median / nhi median)\n", n);
	printf("%-18s", "call");
	for (s = 0; s < N_SERVICES; s++)
		if (services[s].usable)
			printf(" %24s", services[s].name);
	for (s = 1; s < N_SERVICES; s++)
		if (services[s].usable)
			printf(" %11s", services[s].name);
	printf("\n");
	for (op = 0; op < N_OPS; op++) {
		for (miss = 0; miss < 2; miss++) {
			char label[32];

			(void)snprintf(label, sizeof(label), "%s %s",
			    op_names[op], miss ? "miss" : "hit");
			printf("%-18s", label);
			for (s = 0; s < N_SERVICES; s++) {
				const struct result *x = &r[op][miss][s];
				char cell[32];

				if (!services[s].usable)
					continue;
				(void)snprintf(cell, sizeof(cell),
				    "%.2f / %.2f%s", x->median, x->p99,
				    x->done ? "" : "!");
				printf(" %24s", cell);
			}
			for (s = 1; s < N_SERVICES; s++) {
				if (!services[s].usable)
					continue;
				printf(" %10.1fx", r[op][miss][s].median /
				    r[op][miss][0].median);
			}
			printf("\n");
		}
	}
	fflush(stdout);
}

/* True when name is one of the comma-separated list. */
static bool
listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static void
reexec_with_module(char **argv)
{
	const char *lp = getenv("LD_LIBRARY_PATH");
	char *want, cwd[4096];

	if (getenv("NHI_BENCH_REEXEC") != NULL)
		return;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		die("getcwd");
	if (asprintf(&want, "%s/nss_nhi/.libs%s%s", cwd, lp ? ":" : "",
	    lp ? lp : "") < 0)
		die("asprintf");
	setenv("LD_LIBRARY_PATH", want, 1);
	setenv("NHI_BENCH_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	die("re-exec");
}

int
main(int argc, char **argv)
{
	static struct result r[N_OPS][2][N_SERVICES];
	char *sizes = strdup("10,100000,1000000"), *tok, *save = NULL;
	bool root = geteuid() == 0;
	const char *only = NULL;
	char *ovl, *end;
	size_t s;
	int c, op, miss;

	reexec_with_module(argv);
	while ((c = getopt(argc, argv, "n:s:S:t:")) != -1) {
		switch (c) {
		case 'S':
			only = optarg;
			break;
		case 'n':
			max_calls = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0')
				goto usage;
			break;
		case 's':
			free(sizes);
			sizes = strdup(optarg);
			break;
		case 't':
			max_seconds = strtod(optarg, &end);
			if (end == optarg || *end != '\0')
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (max_calls < 5)
		max_calls = 5;
	if ((pwbuf = malloc(PW_BUF)) == NULL ||
	    (grbuf = malloc(GR_BUF)) == NULL)
		die("malloc");
	if (mkdtemp(workdir) == NULL)
		die("mkdtemp");
	(void)chmod(workdir, 0755);
	for (s = 1; s < N_SERVICES; s++) {
		void *h;

		if (!root) {
			services[s].usable = false;
			continue;
		}
		if (services[s].lib == NULL) {
			services[s].usable = true;
			continue;
		}
		if ((h = dlopen(services[s].lib, RTLD_LAZY)) != NULL) {
			services[s].usable = true;
			dlclose(h);
		}
	}
	for (s = 0; s < N_SERVICES && only != NULL; s++)
		if (!listed(only, services[s].name))
			services[s].usable = s == 0;
	if (root)
		enter_namespace();
	else
		fprintf(stderr, "bench_nss: not root: nhi only\n");

	for (tok = strtok_r(sizes, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		uint32_t n = (uint32_t)strtoul(tok, NULL, 10);

		if (n == 0)
			continue;
		prepare(n, root);
		memset(r, 0, sizeof(r));
		for (s = 0; s < N_SERVICES; s++) {
			if (!services[s].usable)
				continue;
			configure(services[s].name);
			for (op = 0; op < N_OPS; op++)
				for (miss = 0; miss < 2; miss++)
					measure((enum op)op, n, miss,
					    &r[op][miss][s]);
		}
		print_size(n, r);
	}
	printf("\n'!' marks a case where a call answered wrongly.\n");
	if (root) {
		(void)umount2("/etc", MNT_DETACH);
		(void)umount2("/var/lib/misc", MNT_DETACH);
		ovl = path_in(workdir, "ovl");
		(void)umount2(ovl, MNT_DETACH);
		free(ovl);
	}
	run("/bin/rm", "-rf", "--one-file-system", workdir, (char *)NULL);
	free(sizes);
	free(pwbuf);
	free(grbuf);
	return 0;
usage:
	fprintf(stderr, "usage: bench_nss [-s SIZE,...] [-S SERVICE,...] "
	    "[-n CALLS] [-t SECONDS]\n");
	free(sizes);
	return 2;
}
