/*
 * cmd_host.c: the commands run on a host: sync, status, whois, check.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#include "account.h"
#include "cli.h"
#include "decide.h"
#include "dlog.h"
#include "keys.h"
#include "logline.h"
#include "nhictl.h"
#include "pamidx.h"
#include "register.h"
#include "sync.h"
#include "util.h"

enum {
	O_CONFIG = 256, O_FILE, O_SERVICE, O_USER, O_SSH_KEY, O_KEY_FP,
	O_INVOKER, O_HOST, O_AT, O_RHOST, O_HELP, O_QUIET,
};

static const char sync_help[] =
    "usage: nhictl sync [--config F] [--file REGISTER]\n"
    "Fetches the register from the configured register_url (or reads\n"
    "REGISTER), verifies it, and installs the PAM and NSS indexes.\n"
    "Each run logs one line to syslog (authpriv) and prints it.\n"
    "Exit status: 0 installed or unchanged; 1 refused or failed (the\n"
    "installed register stays), or a mirror served a rollback or the same\n"
    "version with a different hash, even when another mirror's register\n"
    "was then installed; 2 usage.\n";

static const struct option sync_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "file", required_argument, NULL, O_FILE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
print_reject(void *ctx, size_t line, const char *reason)
{
	(void)ctx;
	fprintf(stderr, "nhictl: sync: statement on line %zu dropped: %s\n",
	    line, reason);
}

int
cmd_sync(int argc, char **argv)
{
	const char *cpath = NULL, *file = NULL;
	char *abs = NULL;
	struct nhi_sync_result res;
	struct nhi_conf *c = NULL;
	struct nhi_err e, e2;
	char line[2048];
	int ch, r = CLI_FAIL, sr, prio;
	bool ok;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", sync_opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_FILE: file = optarg; break;
		case O_HELP: return cli_usage(sync_help, true);
		default: return cli_usage(sync_help, false);
		}
	}
	if (optind != argc)
		return cli_usage(sync_help, false);
	if ((c = cli_conf(cpath)) == NULL || nhi_crypto_init() != 0)
		goto out;
	if (nhi_sync_global_init() != 0) {
		nhictl_err("sync: libcurl cannot start");
		goto out;
	}
	memset(&res, 0, sizeof(res));
	/* The source status shows later must not depend on this cwd. */
	if (file != NULL && (abs = realpath(file, NULL)) != NULL)
		file = abs;
	if (file != NULL)
		sr = nhi_sync_file(c, file, file, cli_now(), print_reject,
		    NULL, &res, &e);
	else
		sr = nhi_sync(c, cli_now(), print_reject, NULL, &res, &e);
	(void)nhi_sync_logline(&res, sr != 0 ? &e : NULL, line, sizeof(line));
	prio = sr == 0 ? LOG_INFO : LOG_ERR;
	if (sr != 0 && strcmp(res.reason, "same-version-different-hash") == 0)
		prio = LOG_ALERT;
	openlog("nhictl", LOG_PID, LOG_AUTHPRIV);
	syslog(prio, "%s", line);
	/* The audit trail (dlog.h); failing to record does not fail a sync. */
	/*
	 * An alarm beside an install records both: the install and why. A
	 * refusal names no version: res.version is then the one kept, not
	 * the one refused.
	 */
	ok = sr == 0 || res.installed;
	if (nhi_dlog_record_sync(c, res.installed ? "installed" : sr != 0 ?
	    "refused" : res.reason, ok, ok ? res.version : 0, res.source,
	    sr != 0 ? res.reason : NULL, sr != 0 ? e.msg : NULL, &e2) != 0)
		syslog(LOG_WARNING, "%s", e2.msg);
	closelog();
	printf("%s\n", line);
	if (res.outcome != NHI_SYNC_FAILED)
		printf("%s: version %" PRId64 " from %s: %zu bindings, "
		    "%zu accounts, %zu deny entries, %zu statements dropped\n",
		    !res.installed ? "unchanged" : res.unchanged ? "repaired" :
		    "installed", res.version,
		    res.source, res.n_bindings, res.n_accounts, res.n_deny,
		    res.n_rejected);
	if (sr != 0) {
		nhictl_err("sync: %s%s", res.alarm ? "ALARM: " : "", e.msg);
		goto out;
	}
	r = CLI_OK;
out:
	free(abs);
	nhi_conf_free(c);
	return r;
}

static const char status_help[] =
    "usage: nhictl status [--config F]\n"
    "Shows the installed register: source, version, times, counts and the\n"
    "last sync error. Exit status: 0 fresh; 1 stale (expired, or the last\n"
    "sync failed); 2 missing; 3 usage or unreadable config.\n";

static const struct option status_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

int
cmd_status(int argc, char **argv)
{
	const char *cpath = NULL;
	struct nhi_pamidx *x = NULL;
	struct nhi_conf *c = NULL;
	struct nhi_state st;
	struct nhi_err e;
	int64_t now = cli_now();
	int ch, r = 3;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", status_opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_HELP: return cli_usage(status_help, true) ? 3 : 0;
		default: return cli_usage(status_help, false) ? 3 : 0;
		}
	}
	if (optind != argc || (c = cli_conf(cpath)) == NULL)
		goto out;
	/*
	 * The state holds the version ratchet: no sync runs on a damaged
	 * one until an admin looks at it (removing it would also forget
	 * what rollback it guards against). Monitoring sees a broken host.
	 */
	if (nhi_state_load(c->state_dir, &st, &e) != 0) {
		printf("state:       BROKEN: %s: every sync fails until an "
		    "admin repairs or removes it\n", e.msg);
		r = 2;
		goto out;
	}
	printf("source:      %s\n", st.source[0] != '\0' ? st.source :
	    (c->register_urls.n > 0 ? c->register_urls.v[0] : "(none)"));
	if (st.version == 0) {
		printf("register:    none installed\n");
		if (st.last_error[0] != '\0')
			printf("last error:  %s\n", st.last_error);
		r = 2;
		goto out;
	}
	/*
	 * A register was accepted: an index that cannot be read is damage
	 * to name (governed logins are refused until a sync repairs it).
	 */
	if (nhi_pamidx_open(c->pam_index, &x, &e) != 0) {
		printf("register:    PAM index %s: %s (version %" PRId64
		    " accepted)\n", access(c->pam_index, F_OK) == 0 ?
		    "corrupt" : "missing", e.msg, st.version);
		printf("state:       BROKEN: governed logins are refused; "
		    "nhictl sync repairs it\n");
		r = 2;
		goto out;
	}
	printf("version:     %" PRId64 "\n", nhi_pamidx_meta(x)->version);
	printf("sha256:      %s\n", nhi_pamidx_meta(x)->sha256);
	cli_print_time(stdout, "issued:", nhi_pamidx_meta(x)->issued_at, now);
	cli_print_time(stdout, "expires:", nhi_pamidx_meta(x)->expires_at,
	    now);
	cli_print_time(stdout, "installed:", nhi_pamidx_meta(x)->installed_at,
	    now);
	if (st.last_success != 0)
		cli_print_time(stdout, "last sync:", st.last_success, now);
	printf("counts:      %zu bindings, %zu accounts, %zu deny entries, "
	    "%zu statements dropped\n", st.n_bindings, st.n_accounts,
	    st.n_deny, st.n_rejected);
	if (st.last_reason[0] != '\0')
		printf("last result: %s\n", st.last_reason);
	r = 0;
	if (st.last_error[0] == '\0' && st.last_failure != 0) {
		cli_print_time(stdout, "last failure:", st.last_failure, now);
		printf("failure was: %s\n", st.last_failure_error);
	}
	if (st.last_error[0] != '\0') {
		if (st.last_attempt != 0)
			cli_print_time(stdout, "last failure:", st.last_attempt,
			    now);
		printf("last error:  %s\n", st.last_error);
		r = 1;
	}
	if (now - c->clock_skew >= nhi_pamidx_meta(x)->expires_at) {
		printf("state:       STALE: the register has expired; governed "
		    "logins are refused\n");
		r = 1;
	} else {
		printf("state:       %s\n", r == 0 ? "fresh" :
		    "fresh, but the last sync failed");
	}
	if (nhi_sync_nss_index_check(c, &e) != 0) {
		printf("nss index:   corrupt: %s; nhictl sync repairs it\n",
		    e.msg);
		r = 1;
	}
out:
	nhi_pamidx_close(x);
	nhi_conf_free(c);
	return r;
}

static const char whois_help[] =
    "usage: nhictl whois [--config F] [--at TIME] NAME|UID\n"
    "Shows the owner of a pseudonymous account, its recertification date\n"
    "and the bindings for it in the installed register, with their state\n"
    "now or at TIME (YYYY-MM-DD[THH:MM:SSZ], @SECONDS or now).\n";

static const struct option whois_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "at", required_argument, NULL, O_AT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *
cred_text(const struct nhi_binding *b, char *buf, size_t len)
{
	switch (b->cred_kind) {
	case NHI_CRED_SSH_KEY:
		snprintf(buf, len, "ssh-key %s", b->cred_fp);
		break;
	case NHI_CRED_USER:
		snprintf(buf, len, "user %s", b->cred_user);
		break;
	default:
		snprintf(buf, len, "checkout");
		break;
	}
	return buf;
}

static void
print_binding(const struct nhi_binding *b, int64_t now, const char *status)
{
	char t1[32], t2[32], cred[128];
	char *hosts = nhi_strv_join(&b->hosts, ",");
	char *svcs = nhi_strv_join(&b->services, ",");

	printf("  binding %s [%s]\n", b->id, status);
	printf("    credential  %s\n", cred_text(b, cred, sizeof(cred)));
	printf("    owner       %s\n    approver    %s\n    ticket      %s\n",
	    b->owner, b->approver, b->ticket);
	printf("    window      %s .. %s\n",
	    nhi_format_time(b->not_before, t1, sizeof(t1)),
	    nhi_format_time(b->not_after, t2, sizeof(t2)));
	printf("    hosts       %s\n    services    %s\n",
	    hosts != NULL ? hosts : "?", svcs != NULL ? svcs : "?");
	if (b->source.n > 0) {
		char *src = nhi_strv_join(&b->source, ",");

		printf("    source      %s\n", src != NULL ? src : "?");
		free(src);
	}
	printf("    issuer      %s\n", b->issuer);
	(void)now;
	free(hosts);
	free(svcs);
}

static const char *
window_status(const struct nhi_binding *b, int64_t now)
{
	if (b->revoked)
		return "revoked";
	if (now < b->not_before)
		return "not yet valid";
	if (now >= b->not_after)
		return "expired";
	return "active";
}

int
cmd_whois(int argc, char **argv)
{
	const char *cpath = NULL, *at = NULL, *who;
	struct nhi_account *acc = NULL;
	struct nhi_pamidx *x = NULL;
	struct nhi_conf *c = NULL;
	struct nhi_view v;
	struct nhi_err e;
	int64_t now = cli_now(), uid;
	char t[32];
	size_t i;
	int ch, r = CLI_FAIL;

	memset(&v, 0, sizeof(v));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", whois_opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_AT: at = optarg; break;
		case O_HELP: return cli_usage(whois_help, true);
		default: return cli_usage(whois_help, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage(whois_help, false);
	who = argv[optind];
	if (at != NULL && nhi_parse_time(at, now, &now) != 0) {
		nhictl_err("whois: --at: bad time '%s'", at);
		return CLI_USAGE;
	}
	if ((c = cli_conf(cpath)) == NULL)
		goto out;
	if (nhi_pamidx_open(c->pam_index, &x, &e) != 0) {
		nhictl_err("whois: %s", e.msg);
		goto out;
	}
	if (nhi_parse_int(who, 0, UINT32_MAX, &uid) == 0) {
		if (nhi_pamidx_account_by_uid(x, (uint32_t)uid, &acc,
		    &e) != 0) {
			nhictl_err("whois: %s", e.msg);
			goto out;
		}
		if (acc == NULL) {
			nhictl_err("whois: no pseudonymous account has uid %s",
			    who);
			goto out;
		}
		who = acc->name;
	}
	if (nhi_pamidx_view(x, who, &v, &e) != 0) {
		nhictl_err("whois: %s", e.msg);
		goto out;
	}
	if (v.account == NULL && v.n_bindings == 0) {
		nhictl_err("whois: '%s' is not in the installed register", who);
		goto out;
	}
	printf("account     %s\n", who);
	if (v.account != NULL) {
		printf("uid/gid     %u/%u\n", v.account->uid, v.account->gid);
		printf("owner       %s\n", v.account->owner);
		if (v.account->description != NULL)
			printf("description %s\n", v.account->description);
		if (v.account->recertify_by != 0)
			printf("recertify   %s%s\n",
			    nhi_format_time(v.account->recertify_by, t,
				sizeof(t)),
			    now >= v.account->recertify_by ?
				" (OVERDUE: treated as unowned)" : "");
		printf("issuer      %s\n", v.account->issuer);
	} else {
		printf("owner       (not a pseudonymous account)\n");
	}
	printf("bindings    %zu\n", v.n_bindings);
	for (i = 0; i < v.n_bindings; i++)
		print_binding(v.bindings[i], now,
		    window_status(v.bindings[i], now));
	r = CLI_OK;
out:
	nhi_account_free(acc);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	nhi_conf_free(c);
	return r;
}

static const char check_help[] =
    "usage: nhictl check --service S --user ACCOUNT\n"
    "         [--ssh-key F.pub | --key-fp SHA256:... | --invoker NAME]\n"
    "         [--host H] [--rhost ADDR] [--at TIME] [--config F]\n"
    "Runs the decision pam_nhi would make on the installed register and\n"
    "explains it: allow, deny or ignore, the reason, the binding that\n"
    "matched, and why each other binding does not apply. Without a key,\n"
    "an sshd check answers as the account stage does (any key binding).\n"
    "Exit status: 0 allow or ignore; 1 deny; 2 usage or error.\n";

static const struct option check_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "service", required_argument, NULL, O_SERVICE },
	{ "user", required_argument, NULL, O_USER },
	{ "ssh-key", required_argument, NULL, O_SSH_KEY },
	{ "key-fp", required_argument, NULL, O_KEY_FP },
	{ "invoker", required_argument, NULL, O_INVOKER },
	{ "host", required_argument, NULL, O_HOST },
	{ "rhost", required_argument, NULL, O_RHOST },
	{ "at", required_argument, NULL, O_AT },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static int
check_key(const char *path, char *fp, size_t len)
{
	struct nhi_err e;
	char *buf = NULL, *type = NULL;
	size_t n;
	int r = -1;

	if (nhi_read_file(path, 65536, &buf, &n) != 0) {
		nhictl_err("check: %s: %s", path, strerror(errno));
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (nhi_ssh_key_parse(buf, fp, len, &type, &e) != 0)
		nhictl_err("check: %s: %s", path, e.msg);
	else
		r = 0;
	free(type);
	free(buf);
	return r;
}

int
cmd_check(int argc, char **argv)
{
	const char *cpath = NULL, *keyfile = NULL, *at = NULL, *host = NULL;
	struct nhi_request req;
	struct nhi_decision d;
	struct nhi_pamidx *x = NULL;
	struct nhi_conf *c = NULL;
	struct nhi_local_account acct;
	struct nhi_view v;
	struct nhi_err e;
	char fp[128] = "", line[NHI_LOGLINE_MAX];
	size_t i;
	int ch, r = CLI_USAGE;

	memset(&req, 0, sizeof(req));
	memset(&v, 0, sizeof(v));
	memset(&acct, 0, sizeof(acct));
	req.now = cli_now();
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", check_opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_SERVICE: req.service = optarg; break;
		case O_USER: req.account = optarg; break;
		case O_SSH_KEY: keyfile = optarg; break;
		case O_KEY_FP:
			snprintf(fp, sizeof(fp), "%s", optarg);
			break;
		case O_INVOKER: req.invoker = optarg; break;
		case O_HOST: host = optarg; break;
		case O_RHOST: req.rhost = optarg; break;
		case O_AT: at = optarg; break;
		case O_HELP: return cli_usage(check_help, true);
		default: return cli_usage(check_help, false);
		}
	}
	if (optind != argc || req.service == NULL || req.account == NULL) {
		nhictl_err("check: --service and --user are required");
		return CLI_USAGE;
	}
	if (at != NULL && nhi_parse_time(at, req.now, &req.now) != 0) {
		nhictl_err("check: --at: bad time '%s'", at);
		return CLI_USAGE;
	}
	r = 2;
	if (keyfile != NULL && check_key(keyfile, fp, sizeof(fp)) != 0)
		goto out;
	if (fp[0] != '\0') {
		req.cred = NHI_SEEN_SSH_KEY;
		req.key_fp = fp;
	} else if (strcmp(req.service, "sshd") == 0 && req.invoker == NULL) {
		req.cred = NHI_SEEN_PENDING;
	}
	if ((c = cli_conf(cpath)) == NULL)
		goto out;
	if (host != NULL) {
		free(c->host_name);
		if ((c->host_name = strdup(host)) == NULL)
			goto out;
	}
	if (nhi_local_account(req.account, &acct) != 0 ||
	    nhi_local_account_groups(&acct, &c->govern_groups) != 0)
		goto out;
	if (acct.alias)
		printf("note: %s is uid %lu, whose name is %s: deciding for "
		    "%s\n", req.account, (unsigned long)acct.uid, acct.name,
		    acct.name);
	nhi_local_account_request(&acct, &req);
	if (nhi_pamidx_open(c->pam_index, &x, &e) == 0) {
		if (nhi_pamidx_view(x, req.account, &v, &e) != 0) {
			nhictl_err("check: %s", e.msg);
			goto out;
		}
	} else {
		printf("register: not usable: %s\n", e.msg);
	}
	req.key_denied = req.cred == NHI_SEEN_SSH_KEY &&
	    nhi_pamidx_key_denied(x, req.key_fp);
	nhi_decide(c, &req, &v, c->mode == NHI_MODE_AUDIT, &d);
	nhi_logline(&req, &d, &v, NULL, line, sizeof(line));
	printf("%s\n", line);
	printf("decision: %s%s (%s)\n", nhi_result_name(d.result),
	    d.would_deny ? " (audit mode: would deny)" : "",
	    nhi_reason_name(d.reason));
	if (d.reason == NHI_R_IGNORED_SERVICE)
		printf("note: %s is governed, but %s is in ignore_services: "
		    "pam_nhi leaves it alone\n", req.account, req.service);
	if (d.binding != NULL) {
		printf("matched:\n");
		print_binding(d.binding, req.now, "applies");
	}
	for (i = 0; d.result != NHI_IGNORE && i < v.n_bindings; i++) {
		enum nhi_reason why;

		if (v.bindings[i] == d.binding)
			continue;
		why = nhi_binding_check(c, &req, v.bindings[i]);
		printf("binding %s (owner %s): %s\n", v.bindings[i]->id,
		    v.bindings[i]->owner,
		    why == NHI_R_OK ? "applies" : nhi_reason_name(why));
	}
	r = d.result == NHI_DENY ? 1 : 0;
out:
	nhi_local_account_clear(&acct);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
	nhi_conf_free(c);
	return r;
}
