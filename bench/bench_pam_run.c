/*
 * bench_pam_run: the timing half of bench_pam, in a process of its own.
 *
 * It links libpam and libc only, like the programs pam_nhi.so is loaded
 * into (sshd, su, sudo link neither json-c, nor libsodium, nor tinycdb),
 * so that loading the module and what it depends on is counted the way a
 * host pays for it. bench_pam builds the registers and runs this.
 *
 *   bench_pam_run TRANSACTIONS CONFDIR:USER[:OWNER]...
 *
 * Each CONFDIR holds an "sshd" stack. The stacks are timed transaction by
 * transaction, interleaved so that drift hits all alike, each transaction
 * being pam_start_confdir + pam_acct_mgmt + pam_open_session +
 * pam_close_session + pam_end for an sshd key login of USER. Every stage
 * must succeed; with OWNER, the first transaction must also have been let
 * in under a binding of OWNER. One line per stack on standard output,
 * then one line with what a system call and a page fault cost on this
 * machine (most of a module's cost is made of both, and they differ
 * several times between machines and hypervisors):
 *
 *   MEDIAN_US P99_US MINOR_FAULTS_PER_TRANSACTION
 *   SYSCALL_US FAULT_US
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDhn78vZx6HtlvEjYowHQQ2j" \
    "+p6dB5W+tA2h/zYGgsFi"
#define MAX_STACKS 8

struct stack {
	char *confdir, *user, *owner;
	double *t;
	long faults;
};

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_pam_run: %s%s%s\n", what, why != NULL ? ": " :
	    "", why != NULL ? why : "");
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long
minor_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage", NULL);
	return ru.ru_minflt;
}

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	*resp = NULL;
	return PAM_SUCCESS;
}

/*
 * One transaction as sshd makes it for a key login; its time in
 * microseconds. With check, the login must have run under s->owner.
 */
static double
transaction(const struct stack *s, bool check)
{
	struct pam_conv pc = { conv_fn, NULL };
	pam_handle_t *h = NULL;
	const char *owner;
	double t0 = now_us();
	int rc;

	if (pam_start_confdir("sshd", s->user, &pc, s->confdir, &h) !=
	    PAM_SUCCESS)
		die("pam_start_confdir", s->confdir);
	(void)pam_set_item(h, PAM_RHOST, "127.0.0.1");
	(void)pam_set_item(h, PAM_TTY, "ssh");
	(void)pam_putenv(h, "SSH_AUTH_INFO_0=publickey " KEY "\n");
	if ((rc = pam_acct_mgmt(h, 0)) != PAM_SUCCESS)
		die("pam_acct_mgmt", pam_strerror(h, rc));
	if ((rc = pam_open_session(h, 0)) != PAM_SUCCESS)
		die("pam_open_session", pam_strerror(h, rc));
	if (check && s->owner != NULL &&
	    ((owner = pam_getenv(h, "NHI_OWNER")) == NULL ||
	    strcmp(owner, s->owner) != 0))
		die(s->confdir, "the login did not run under the binding");
	if ((rc = pam_close_session(h, 0)) != PAM_SUCCESS)
		die("pam_close_session", pam_strerror(h, rc));
	pam_end(h, rc);
	return now_us() - t0;
}

/* The cost of a system call that does nothing, in microseconds. */
static double
syscall_us(void)
{
	const int n = 100000;
	double t0 = now_us();
	int i;

	for (i = 0; i < n; i++)
		(void)syscall(SYS_getppid);
	return (now_us() - t0) / n;
}

/* The cost of a first write to an anonymous page, in microseconds. */
static double
fault_us(void)
{
	const size_t n = 8192, page = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;
	double t0;
	void *m;
	size_t i;

	m = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap", NULL);
	p = m;
	t0 = now_us();
	for (i = 0; i < n; i++)
		p[i * page] = 1;
	t0 = (now_us() - t0) / (double)n;
	(void)munmap(m, n * page);
	return t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct stack st[MAX_STACKS];
	size_t iters, n, i, j;
	long f0;
	char *p;

	if (argc < 3 || argc - 2 > MAX_STACKS ||
	    (iters = strtoul(argv[1], NULL, 10)) < 100)
		die("usage", "bench_pam_run TRANSACTIONS CONFDIR:USER[:OWNER]"
		    "...");
	n = (size_t)argc - 2;
	memset(st, 0, sizeof(st));
	for (i = 0; i < n; i++) {
		st[i].confdir = argv[2 + i];
		if ((p = strchr(st[i].confdir, ':')) == NULL)
			die(argv[2 + i], "no :USER");
		*p++ = '\0';
		st[i].user = p;
		if ((p = strchr(p, ':')) != NULL) {
			*p++ = '\0';
			st[i].owner = p;
		}
		if ((st[i].t = calloc(iters, sizeof(double))) == NULL)
			die("out of memory", NULL);
		(void)transaction(&st[i], true);
	}
	for (j = 0; j < iters / 10; j++)
		for (i = 0; i < n; i++)
			(void)transaction(&st[i], false);
	for (j = 0; j < iters; j++) {
		for (i = 0; i < n; i++) {
			f0 = minor_faults();
			st[i].t[j] = transaction(&st[i], false);
			st[i].faults += minor_faults() - f0;
		}
	}
	for (i = 0; i < n; i++) {
		qsort(st[i].t, iters, sizeof(double), cmp_double);
		printf("%.1f %.1f %.1f\n", st[i].t[iters / 2],
		    st[i].t[(iters * 99) / 100],
		    (double)st[i].faults / (double)iters);
		free(st[i].t);
	}
	printf("%.2f %.2f\n", syscall_us(), fault_us());
	return 0;
}
