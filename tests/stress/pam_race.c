/*
 * pam_race.c: one worker of the race test (race.sh). Makes N full PAM
 * transactions (pam_start_confdir, pam_open_session of an sshd login of
 * "deploy" with the key in SSH_AUTH_INFO_0, pam_end) while another
 * process installs register after register.
 *
 * Register version V binds the worker's key when V is even and another
 * key when V is odd; a binding's id is "b-vV". Each decision is checked
 * against the versions installed just before and just after it (read
 * from the index's meta record; an install is a rename, so versions only
 * grow): an allowed login must name an even version in that interval, a
 * refused one needs an odd version in it. Anything else, or any other PAM
 * result, is a wrong decision.
 *
 * usage: pam_race CONFDIR SERVICE PAM_INDEX N "TYPE BASE64"
 * Prints "N decisions, A allowed, D denied, W wrong"; exits 1 when W > 0.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "pamidx.h"

static int
conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	*resp = NULL;
	return PAM_SUCCESS;
}

/* The installed version; 0 when the index cannot be opened. */
static int64_t
installed(const char *index)
{
	struct nhi_pamidx *x;
	struct nhi_err e;
	int64_t v;

	if (nhi_pamidx_open(index, &x, &e) != 0)
		return 0;
	v = nhi_pamidx_meta(x)->version;
	nhi_pamidx_close(x);
	return v;
}

/* Returns the PAM result; ret_version is the binding's version or -1. */
static int
decide(const char *confdir, const char *service, const char *env,
    long *ret_version)
{
	struct pam_conv pc = { conv_fn, NULL };
	pam_handle_t *h = NULL;
	const char *b;
	int rc;

	*ret_version = -1;
	if ((rc = pam_start_confdir(service, "deploy", &pc, confdir,
	    &h)) != PAM_SUCCESS)
		return rc;
	if ((rc = pam_set_item(h, PAM_RHOST, "127.0.0.1")) != PAM_SUCCESS ||
	    (rc = pam_putenv(h, env)) != PAM_SUCCESS)
		goto out;
	rc = pam_open_session(h, 0);
	if (rc == PAM_SUCCESS && (b = pam_getenv(h, "NHI_BINDING")) != NULL &&
	    strncmp(b, "b-v", 3) == 0)
		*ret_version = strtol(b + 3, NULL, 10);
out:
	(void)pam_end(h, rc);
	return rc;
}

int
main(int argc, char **argv)
{
	long n, i, allowed = 0, denied = 0, wrong = 0, v;
	int64_t lo, hi;
	char *env;
	int rc;

	if (argc != 6 || (n = strtol(argv[4], NULL, 10)) <= 0) {
		(void)fprintf(stderr, "usage: pam_race CONFDIR SERVICE "
		    "PAM_INDEX N KEY\n");
		return 2;
	}
	if (asprintf(&env, "SSH_AUTH_INFO_0=publickey %s\n", argv[5]) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		lo = installed(argv[3]);
		rc = decide(argv[1], argv[2], env, &v);
		hi = installed(argv[3]);
		if (rc == PAM_SUCCESS && v >= lo && v <= hi && v % 2 == 0) {
			allowed++;
		} else if (rc == PAM_PERM_DENIED && (lo % 2 == 1 || hi > lo)) {
			denied++;
		} else {
			wrong++;
			(void)fprintf(stderr, "decision %ld: %s (binding "
			    "version %ld) with versions %lld..%lld installed\n",
			    i, pam_strerror(NULL, rc), v, (long long)lo,
			    (long long)hi);
		}
	}
	free(env);
	(void)printf("%ld decisions, %ld allowed, %ld denied, %ld wrong\n", n,
	    allowed, denied, wrong);
	return wrong > 0 ? 1 : 0;
}
