/*
 * longlived.c: one long-lived process, as sshd or a busy daemon is. Makes
 * N_PAM full PAM transactions (start, authenticate, account, open and
 * close session, end) for an allowed login, and N_NSS lookups through
 * libnss_nhi.so.2 (dlopen, then its _nss_nhi_* entry points: hits by
 * name and id, misses, groups), interleaved, and checks that open
 * descriptors, heap in use and resident memory do not grow between the
 * end of a warm-up (a tenth of the work) and the end.
 *
 * usage: longlived CONFDIR SERVICE "TYPE BASE64" NSS_SO USER GROUP N_PAM N_NSS
 * The NSS index comes from NHI_NSS_INDEX. Exits 1 on a wrong answer or
 * growth, printing the figures either way.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

/* What may grow after the warm-up: allocator and page-cache noise. */
#define MAX_HEAP_GROWTH (64 * 1024)
#define MAX_RSS_GROWTH (1024 * 1024)

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *,
    size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t,
    int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *,
    size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *,
    long int *, gid_t **, long int, int *);

struct nss {
	pwnam_fn pwnam;
	pwuid_fn pwuid;
	grnam_fn grnam;
	initgroups_fn initgroups;
	const char *user, *group;
	uid_t uid;
};

struct usage {
	long fds;
	size_t heap;
	long rss_kb;
};

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	*resp = NULL;
	return PAM_SUCCESS;
}

static long
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = -1;	/* opendir's own descriptor */

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	(void)closedir(d);
	return n - 2;	/* "." and ".." */
}

static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	char line[256], *p, *end;
	long res = -1;

	if (f == NULL)
		return -1;
	/* "size resident shared ...", in pages. */
	if (fgets(line, sizeof(line), f) != NULL) {
		errno = 0;
		(void)strtol(line, &p, 10);
		res = strtol(p, &end, 10);
		if (errno != 0 || p == line || end == p || res < 0)
			res = -1;
	}
	(void)fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
measure(struct usage *u)
{
	struct mallinfo2 mi = mallinfo2();

	u->fds = count_fds();
	u->heap = mi.uordblks;
	u->rss_kb = rss_kb();
}

/* One full transaction; returns the first result that is not success. */
static int
transaction(const char *confdir, const char *service, const char *env)
{
	struct pam_conv pc = { conv_fn, NULL };
	pam_handle_t *h = NULL;
	int rc;

	if ((rc = pam_start_confdir(service, "deploy", &pc, confdir,
	    &h)) != PAM_SUCCESS)
		return rc;
	if ((rc = pam_set_item(h, PAM_RHOST, "127.0.0.1")) == PAM_SUCCESS &&
	    (rc = pam_putenv(h, env)) == PAM_SUCCESS &&
	    (rc = pam_authenticate(h, 0)) == PAM_SUCCESS &&
	    (rc = pam_acct_mgmt(h, 0)) == PAM_SUCCESS &&
	    (rc = pam_open_session(h, 0)) == PAM_SUCCESS &&
	    pam_getenv(h, "NHI_BINDING") == NULL)
		rc = PAM_SYSTEM_ERR;
	if (rc == PAM_SUCCESS)
		rc = pam_close_session(h, 0);
	(void)pam_end(h, rc);
	return rc;
}

/* Five lookups; returns how many gave a wrong answer. */
static int
lookups(const struct nss *s)
{
	struct passwd pw;
	struct group gr;
	char buf[1024];
	gid_t *groups;
	long int start = 0, size = 4;
	int err, bad = 0;

	if (s->pwnam(s->user, &pw, buf, sizeof(buf), &err) !=
	    NSS_STATUS_SUCCESS || strcmp(pw.pw_name, s->user) != 0)
		bad++;
	if (s->pwuid(s->uid, &pw, buf, sizeof(buf), &err) !=
	    NSS_STATUS_SUCCESS || strcmp(pw.pw_name, s->user) != 0)
		bad++;
	if (s->grnam(s->group, &gr, buf, sizeof(buf), &err) !=
	    NSS_STATUS_SUCCESS)
		bad++;
	if (s->pwnam("nhi-absent", &pw, buf, sizeof(buf), &err) !=
	    NSS_STATUS_NOTFOUND)
		bad++;
	if ((groups = malloc((size_t)size * sizeof(*groups))) == NULL)
		return bad + 1;
	if (s->initgroups(s->user, 0, &start, &size, &groups, 0, &err) ==
	    NSS_STATUS_UNAVAIL)
		bad++;
	free(groups);
	return bad;
}

static int
nss_open(const char *so, struct nss *s)
{
	struct passwd pw;
	char buf[1024];
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	int err;

	if (h == NULL) {
		(void)fprintf(stderr, "%s\n", dlerror());
		return -1;
	}
	/* dlsym returns object pointers; POSIX makes them callable. */
	*(void **)&s->pwnam = dlsym(h, "_nss_nhi_getpwnam_r");
	*(void **)&s->pwuid = dlsym(h, "_nss_nhi_getpwuid_r");
	*(void **)&s->grnam = dlsym(h, "_nss_nhi_getgrnam_r");
	*(void **)&s->initgroups = dlsym(h, "_nss_nhi_initgroups_dyn");
	if (s->pwnam == NULL || s->pwuid == NULL || s->grnam == NULL ||
	    s->initgroups == NULL)
		return -1;
	if (s->pwnam(s->user, &pw, buf, sizeof(buf), &err) !=
	    NSS_STATUS_SUCCESS) {
		(void)fprintf(stderr, "%s: not found through %s\n",
		    s->user, so);
		return -1;
	}
	s->uid = pw.pw_uid;
	return 0;
}

int
main(int argc, char **argv)
{
	struct usage warm, end;
	struct nss s;
	long npam, nnss, per, i, j, wrong_pam = 0, wrong_nss = 0;
	char *env;
	int rc, ok;

	if (argc != 9 || (npam = strtol(argv[7], NULL, 10)) < 10 ||
	    (nnss = strtol(argv[8], NULL, 10)) < npam) {
		(void)fprintf(stderr, "usage: longlived CONFDIR SERVICE KEY "
		    "NSS_SO USER GROUP N_PAM N_NSS\n");
		return 2;
	}
	memset(&s, 0, sizeof(s));
	s.user = argv[5];
	s.group = argv[6];
	if (nss_open(argv[4], &s) != 0)
		return 1;
	if (asprintf(&env, "SSH_AUTH_INFO_0=publickey %s\n", argv[3]) < 0)
		return 1;
	/* Five lookups per round. */
	per = nnss / npam / 5;
	if (per < 1)
		per = 1;
	memset(&warm, 0, sizeof(warm));
	for (i = 0; i < npam; i++) {
		if (i == npam / 10)
			measure(&warm);
		if ((rc = transaction(argv[1], argv[2], env)) != PAM_SUCCESS) {
			if (wrong_pam++ < 5)
				(void)fprintf(stderr, "transaction %ld: %s\n",
				    i, pam_strerror(NULL, rc));
		}
		for (j = 0; j < per; j++)
			wrong_nss += lookups(&s);
	}
	measure(&end);
	free(env);
	(void)printf("%ld PAM transactions (%ld wrong), %ld NSS lookups "
	    "(%ld wrong)\n", npam, wrong_pam, npam * per * 5, wrong_nss);
	(void)printf("after warm-up: %ld fds, %zu heap bytes, %ld kB RSS\n",
	    warm.fds, warm.heap, warm.rss_kb);
	(void)printf("at the end:    %ld fds, %zu heap bytes, %ld kB RSS\n",
	    end.fds, end.heap, end.rss_kb);
	ok = wrong_pam == 0 && wrong_nss == 0 && end.fds <= warm.fds &&
	    end.heap <= warm.heap + MAX_HEAP_GROWTH;
#ifdef __SANITIZE_ADDRESS__
	/* ASan holds freed memory in quarantine; LeakSanitizer checks. */
	(void)printf("resident memory not compared under ASan\n");
#else
	ok = ok && end.rss_kb <= warm.rss_kb + MAX_RSS_GROWTH / 1024;
#endif
	return ok ? 0 : 1;
}
