/*
 * cmd_authkeys.c: nhictl authorized-keys USER, for sshd's
 * AuthorizedKeysCommand.
 *
 * Prints, in authorized_keys format, only the keys that hold a binding
 * the decision would allow right now for this host, the service (sshd
 * unless --service says otherwise) and the account; each with
 * expiry-time= (the binding's end) and from= (its sources), so sshd itself
 * refuses an unbound key, and stops accepting a bound one when the
 * binding ends, before any PAM stage runs (common/authkeys.c formats
 * the line). Prints nothing for an account that is not governed, or when
 * the register is missing or stale: sshd then finds no key here.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "authkeys.h"
#include "cli.h"
#include "decide.h"
#include "nhictl.h"
#include "pamidx.h"
#include "util.h"

static const char authkeys_help[] =
    "usage: nhictl authorized-keys [--config FILE] [--service NAME] USER\n"
    "\n"
    "Prints the SSH keys bound to USER now, for sshd_config:\n"
    "  AuthorizedKeysCommand /usr/sbin/nhictl authorized-keys %u\n"
    "  AuthorizedKeysCommandUser root\n"
    "Each line carries expiry-time= and from= options from its binding.\n";

enum { O_CONFIG = 1, O_SERVICE, O_HELP };

static const struct option authkeys_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "service", required_argument, NULL, O_SERVICE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/*
 * The address part of a CIDR, which the CIDR itself matches: the binding
 * is asked about a source it accepts, and from= does the real check.
 */
static void
cidr_address(const char *cidr, char *out, size_t len)
{
	size_t n = strcspn(cidr, "/");

	if (n >= len)
		n = len - 1;
	memcpy(out, cidr, n);
	out[n] = '\0';
}

/* True when the decision would let this binding's key in now. */
static bool
key_allowed(const struct nhi_conf *c, const struct nhi_request *base,
    const struct nhi_view *v, const struct nhi_binding *b)
{
	struct nhi_request r = *base;
	struct nhi_decision d;
	char addr[128];

	r.cred = NHI_SEEN_SSH_KEY;
	r.key_fp = b->cred_fp;
	r.rhost = NULL;
	if (b->source.n > 0) {
		cidr_address(b->source.v[0], addr, sizeof(addr));
		r.rhost = addr;
	}
	if (nhi_binding_check(c, &r, b) != NHI_R_OK)
		return false;
	nhi_decide(c, &r, v, false, &d);
	return d.result == NHI_ALLOW;
}

/*
 * Prints b's line, or says on stderr why it has none: a binding the line
 * could not state exactly is left out, and sshd then refuses its key.
 */
static void
print_key(const struct nhi_binding *b)
{
	struct nhi_err e = { "" };
	char *line = NULL, esc[96];

	if (nhi_authkeys_line(b, &line, &e) != 0) {
		nhi_escape(b->id, 64, esc, sizeof(esc));
		nhictl_err("authorized-keys: binding %s left out: %s", esc,
		    e.msg);
		return;
	}
	(void)fputs(line, stdout);
	free(line);
}

int
cmd_authorized_keys(int argc, char **argv)
{
	const char *cpath = NULL;
	struct nhi_request req;
	struct nhi_pamidx *x = NULL;
	struct nhi_conf *c = NULL;
	struct nhi_view v;
	struct nhi_err e = { "" };
	struct nhi_local_account acct;
	size_t i;
	int ch, r = CLI_FAIL;

	memset(&req, 0, sizeof(req));
	memset(&v, 0, sizeof(v));
	memset(&acct, 0, sizeof(acct));
	req.service = "sshd";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", authkeys_opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_SERVICE: req.service = optarg; break;
		case O_HELP: return cli_usage(authkeys_help, true);
		default: return cli_usage(authkeys_help, false);
		}
	}
	if (optind + 1 != argc || !nhi_valid_name(argv[optind]) ||
	    !nhi_valid_service(req.service))
		return cli_usage(authkeys_help, false);
	req.account = argv[optind];
	req.now = cli_now();

	if ((c = cli_conf(cpath)) == NULL)
		goto out;
	/* The same account pam_nhi decides for: an alias is its uid's name. */
	if (nhi_local_account(req.account, &acct) != 0 ||
	    nhi_local_account_groups(&acct, &c->govern_groups) != 0)
		goto out;
	nhi_local_account_request(&acct, &req);
	if (nhi_pamidx_open(c->pam_index, &x, &e) != 0) {
		nhictl_err("authorized-keys: %s", e.msg);
		goto out;
	}
	if (nhi_pamidx_view(x, req.account, &v, &e) != 0) {
		nhictl_err("authorized-keys: %s", e.msg);
		goto out;
	}
	for (i = 0; i < v.n_bindings; i++) {
		const struct nhi_binding *b = v.bindings[i];

		if (b->cred_kind == NHI_CRED_SSH_KEY && key_allowed(c, &req,
		    &v, b))
			print_key(b);
	}
	r = CLI_OK;
out:
	nhi_local_account_clear(&acct);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	nhi_conf_free(c);
	return fflush(stdout) == 0 ? r : CLI_FAIL;
}
