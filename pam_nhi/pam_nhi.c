/*
 * pam_nhi.c: the PAM module. It gathers what the decision needs from the
 * PAM handle and the process, loads the config and the PAM index, calls
 * nhi_decide, logs one line, tells the user why when it refuses, and at
 * session open exports the binding it allowed into the PAM environment.
 * Each decision on a governed account also goes to the Linux audit system
 * and to the hash-chained decision log (DESIGN.md §6); when neither can
 * take it the decision stands, unless require_audit is set.
 *
 * Which stage decides depends on the program (DESIGN.md §4):
 * - sshd: the account stage of a plain publickey login cannot see the key
 *   yet (SSH_AUTH_INFO_0 is empty), so it only refuses when no binding
 *   could apply; the session stage sees the key and decides for real.
 *   When a keyboard-interactive step follows the key, the auth and account
 *   stages see it too.
 * - su (and any other program run by a person): PAM_USER is the target in
 *   every stage and the invoker is the real uid; the account stage decides.
 * - sudo: PAM_USER is the invoker until session open, so only the session
 *   stage can decide.
 *
 * Nothing is kept between calls except through pam_set_data on the one
 * handle, and nothing global of the host process is touched. What one
 * stage loaded (config, index, the account's passwd entry) is kept there
 * for the next stage of the same login, which uses it again only while
 * the config and index files are still the versions it read.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "account.h"
#include "audit.h"
#include "authinfo.h"
#include "conf.h"
#include "decide.h"
#include "dlog.h"
#include "logline.h"
#include "pamidx.h"
#include "util.h"

/* Matches the state_dir default of nhi.conf(5), used without a config. */
#define DEFAULT_PAM_INDEX "/var/lib/nhi/pam.cdb"
/* Defaults of state_dir and log_dir, for a decision made without config. */
#define DEFAULT_STATE_DIR "/var/lib/nhi"
#define DEFAULT_LOG_DIR "/var/log/nhi"
#define SESSION_DATA "pam_nhi_session"
#define CACHE_DATA "pam_nhi_cache"

enum stage { STAGE_AUTH, STAGE_ACCOUNT, STAGE_SESSION };
enum program { PROG_SSHD, PROG_SUDO, PROG_OTHER };

struct args {
	bool debug;
	const char *config;
	int mode;		/* -1: as the config says */
};

/* What was gathered about one call; owns every string it points to. */
struct inputs {
	enum program prog;
	struct nhi_local_account acct;
	char *invoker;
	char key_fp[128];
	struct nhi_request req;
};

/*
 * What the stages of one handle share: the config and index as loaded
 * (each with the path it came from) and the passwd entry of one user.
 */
struct cache {
	char *config;
	struct nhi_conf *c;
	char *index;
	struct nhi_pamidx *x;
	char *user;
	struct nhi_local_account acct;
};

static const char *const stage_names[] = { "auth", "account", "session" };

static void
cache_drop_conf(struct cache *k)
{
	nhi_conf_free(k->c);
	free(k->config);
	k->c = NULL;
	k->config = NULL;
}

static void
cache_drop_index(struct cache *k)
{
	nhi_pamidx_close(k->x);
	free(k->index);
	k->x = NULL;
	k->index = NULL;
}

static void
cache_free(struct cache *k)
{
	if (k == NULL)
		return;
	cache_drop_conf(k);
	cache_drop_index(k);
	nhi_local_account_clear(&k->acct);
	free(k->user);
	free(k);
}

static void
free_cache_data(pam_handle_t *pamh, void *data, int error_status)
{
	cache_free(data);
}

/*
 * The handle's cache, made on first use. NULL when memory runs out or
 * the handle will not keep it; *owned then tells run() to free what it
 * gets (a private cache for this call only).
 */
static struct cache *
cache_get(pam_handle_t *pamh, bool *owned)
{
	const void *p = NULL;
	struct cache *k;

	*owned = false;
	/* PAM hands the data back as const; it is ours to change. */
	if (pam_get_data(pamh, CACHE_DATA, &p) == PAM_SUCCESS && p != NULL) {
		memcpy(&k, &p, sizeof(k));
		return k;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (pam_set_data(pamh, CACHE_DATA, k, free_cache_data) !=
	    PAM_SUCCESS)
		*owned = true;
	return k;
}

/* Room for a name escaped by esc(). */
#define ESC_LEN (ESC_CAP * 4 + 8)
#define ESC_CAP 64

/*
 * s escaped for a log line and cut at ESC_CAP bytes: user and host names
 * come from the caller or the client and may hold a newline that would
 * forge a line of their own (nhi_escape).
 */
static const char *
esc(const char *s, char buf[ESC_LEN])
{
	nhi_escape(s != NULL ? s : "", ESC_CAP, buf, ESC_LEN);
	return buf;
}

static void
parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	int i;

	a->debug = false;
	a->config = NULL;
	a->mode = -1;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "debug") == 0)
			a->debug = true;
		else if (strncmp(argv[i], "config=", 7) == 0)
			a->config = argv[i] + 7;
		else if (strcmp(argv[i], "mode=enforce") == 0)
			a->mode = NHI_MODE_ENFORCE;
		else if (strcmp(argv[i], "mode=audit") == 0)
			a->mode = NHI_MODE_AUDIT;
		else
			pam_syslog(pamh, LOG_ERR,
			    "unknown argument \"%.100s\", ignoring", argv[i]);
	}
}

static const char *
get_str_item(pam_handle_t *pamh, int type)
{
	const void *p = NULL;

	if (pam_get_item(pamh, type, &p) != PAM_SUCCESS)
		return NULL;
	return nhi_nonempty(p);
}

/*
 * sshd is known by its service name, or by SSH_AUTH_INFO_0 when it runs
 * under another name. The variable alone is not enough: another module
 * could put it into su's environment, and a key "still to come" must
 * never be assumed for a setuid program a person runs. sshd runs its
 * PAM stages as root; su and sudo run with the invoker's real uid.
 */
static enum program
program_of(pam_handle_t *pamh, const char *service)
{
	if (pam_getenv(pamh, "SSH_AUTH_INFO_0") != NULL && getuid() == 0)
		return PROG_SSHD;
	if (service == NULL)
		return PROG_OTHER;
	if (strcmp(service, "sshd") == 0)
		return PROG_SSHD;
	if (strcmp(service, "sudo") == 0 || strcmp(service, "sudo-i") == 0)
		return PROG_SUDO;
	return PROG_OTHER;
}

/*
 * The person who ran su or sudo: the real uid of the setuid program.
 * PAM_RUSER is set by the caller and is only compared, never trusted.
 */
static int
gather_invoker(pam_handle_t *pamh, struct inputs *in)
{
	const char *ruser = get_str_item(pamh, PAM_RUSER);
	char e1[ESC_LEN], e2[ESC_LEN];

	if (nhi_uid_name(getuid(), &in->invoker) != 0)
		return -1;
	if (in->invoker == NULL)
		pam_syslog(pamh, LOG_NOTICE,
		    "real uid %lu has no name; deciding without an invoker",
		    (unsigned long)getuid());
	else if (ruser != NULL && strcmp(ruser, in->invoker) != 0)
		pam_syslog(pamh, LOG_NOTICE,
		    "PAM_RUSER \"%s\" is not the real uid's name \"%s\"; "
		    "using the real uid", esc(ruser, e1), esc(in->invoker, e2));
	return 0;
}

/* The key sshd reports; none (and a note) when it cannot be read. */
static void
gather_key(pam_handle_t *pamh, const struct args *a, struct inputs *in,
    enum stage st)
{
	const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	struct nhi_err e = { "" };
	int r;

	r = nhi_authinfo_key(info, in->key_fp, sizeof(in->key_fp), &e);
	if (r == 1) {
		in->req.cred = NHI_SEEN_SSH_KEY;
		in->req.key_fp = in->key_fp;
		return;
	}
	if (r < 0)
		pam_syslog(pamh, LOG_NOTICE, "%s, deciding without a key",
		    e.msg);
	else if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "no key in SSH_AUTH_INFO_0");
	/*
	 * An empty SSH_AUTH_INFO_0 at the account stage is sshd's plain
	 * publickey login: the key comes at the session stage.
	 */
	if (st == STAGE_ACCOUNT && r == 0)
		in->req.cred = NHI_SEEN_PENDING;
	else
		in->req.cred = NHI_SEEN_NONE;
}

static void
inputs_free(struct inputs *in)
{
	nhi_local_account_clear(&in->acct);
	free(in->invoker);
}

/*
 * Fills in for this call. Returns a PAM code: PAM_SUCCESS to go on to the
 * decision, PAM_IGNORE when this stage does not decide for this program,
 * or an error.
 */
/*
 * The passwd entry of user, looked up once per handle: the stages of one
 * login ask for the same user. in->acct gets its own copy, without the
 * groups (which depend on the config).
 */
static int
account_of(struct cache *k, const char *user, struct nhi_local_account *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (k->user == NULL || strcmp(k->user, user) != 0) {
		nhi_local_account_clear(&k->acct);
		free(k->user);
		k->user = NULL;
		if (nhi_local_account(user, &k->acct) != 0 ||
		    (k->user = strdup(user)) == NULL)
			return -1;
	}
	ret->known = k->acct.known;
	ret->alias = k->acct.alias;
	ret->uid = k->acct.uid;
	ret->gid = k->acct.gid;
	return (ret->name = strdup(k->acct.name)) != NULL ? 0 : -1;
}

static int
gather(pam_handle_t *pamh, const struct args *a, enum stage st,
    struct cache *k, struct inputs *in)
{
	char e1[ESC_LEN], e2[ESC_LEN];
	const char *user;

	in->req.service = get_str_item(pamh, PAM_SERVICE);
	in->prog = program_of(pamh, in->req.service);
	if (in->prog == PROG_SUDO && st != STAGE_SESSION)
		return PAM_IGNORE;
	if (in->prog == PROG_OTHER && st == STAGE_AUTH)
		return PAM_IGNORE;

	if ((user = get_str_item(pamh, PAM_USER)) == NULL) {
		pam_syslog(pamh, LOG_ERR, "no user name to decide for");
		return PAM_USER_UNKNOWN;
	}
	if (account_of(k, user, &in->acct) != 0)
		return PAM_BUF_ERR;
	if (in->acct.alias)
		pam_syslog(pamh, LOG_NOTICE, "\"%s\" is uid %lu, whose name "
		    "is \"%s\": deciding for it", esc(user, e1),
		    (unsigned long)in->acct.uid, esc(in->acct.name, e2));
	nhi_local_account_request(&in->acct, &in->req);
	in->req.rhost = get_str_item(pamh, PAM_RHOST);
	in->req.tty = get_str_item(pamh, PAM_TTY);
	in->req.now = (int64_t)time(NULL);

	if (in->prog == PROG_SSHD)
		gather_key(pamh, a, in, st);
	else if (gather_invoker(pamh, in) != 0)
		return PAM_BUF_ERR;
	in->req.invoker = in->invoker;
	return PAM_SUCCESS;
}

/*
 * Loads the config and the account's view of the index into the cache,
 * reading each file again only when it is not the version already read.
 * Failures are not errors here: the decision turns a missing config or
 * register into a deny for governed accounts; the reason is kept in e for
 * the log.
 */
static void
load(const struct args *a, struct cache *k, const char *account,
    struct nhi_view *v, struct nhi_err *e)
{
	const char *path = a->config != NULL ? a->config : NHI_DEFAULT_CONFIG;
	const char *index;

	memset(v, 0, sizeof(*v));
	if (k->c == NULL || strcmp(k->config, path) != 0 ||
	    !nhi_fileid_same(path, &k->c->id)) {
		cache_drop_conf(k);
		if (nhi_conf_load(path, true, &k->c, e) != 0) {
			k->c = NULL;
			nhi_err_prefix(e, "config");
		} else if ((k->config = strdup(path)) == NULL) {
			cache_drop_conf(k);
			nhi_err_set(e, "config: out of memory");
		}
	}
	index = k->c != NULL && k->c->pam_index != NULL ? k->c->pam_index :
	    DEFAULT_PAM_INDEX;
	if (k->x == NULL || strcmp(k->index, index) != 0 ||
	    !nhi_fileid_same(index, nhi_pamidx_fileid(k->x))) {
		cache_drop_index(k);
		if (nhi_pamidx_open(index, &k->x, k->c != NULL ? e : NULL) !=
		    0) {
			k->x = NULL;
			return;
		}
		if ((k->index = strdup(index)) == NULL) {
			cache_drop_index(k);
			if (k->c != NULL)
				nhi_err_set(e, "%s: out of memory", index);
			return;
		}
	}
	if (nhi_pamidx_view(k->x, account, v, e) != 0) {
		nhi_view_clear(v);
		memset(v, 0, sizeof(*v));
	}
}

static bool
has_conversation(pam_handle_t *pamh)
{
	const void *p = NULL;
	const struct pam_conv *conv;

	if (pam_get_item(pamh, PAM_CONV, &p) != PAM_SUCCESS || p == NULL)
		return false;
	conv = p;
	return conv->conv != NULL;
}

static void
tell_user(pam_handle_t *pamh, int flags, const struct nhi_request *r,
    const struct nhi_decision *d)
{
	char account[NHI_MAX_NAME * 4 + 8], service[NHI_MAX_NAME * 4 + 8];

	if ((flags & PAM_SILENT) || !has_conversation(pamh))
		return;
	nhi_escape(r->account, NHI_MAX_NAME, account, sizeof(account));
	nhi_escape(r->service != NULL ? r->service : "-", NHI_MAX_NAME,
	    service, sizeof(service));
	(void)pam_error(pamh, "nhi: access to account %s refused (%s). "
	    "An administrator can see why with: nhictl check --service %s "
	    "--user %s", account, nhi_reason_name(d->reason), service,
	    account);
}

static void
free_session_data(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

/* Records the binding the session runs under, in the PAM environment. */
static int
export_binding(pam_handle_t *pamh, const struct nhi_binding *b)
{
	char t[32], *s = NULL;
	size_t i;
	const char *vars[][2] = {
		{ "NHI_OWNER", b->owner },
		{ "NHI_BINDING", b->id },
		{ "NHI_TICKET", b->ticket },
		{ "NHI_NOT_AFTER", t },
	};
	int r = PAM_BUF_ERR;

	nhi_format_time(b->not_after, t, sizeof(t));
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (asprintf(&s, "%s=%s", vars[i][0], vars[i][1]) < 0) {
			s = NULL;
			goto out;
		}
		if ((r = pam_putenv(pamh, s)) != PAM_SUCCESS)
			goto out;
		free(s);
		s = NULL;
	}
	r = PAM_BUF_ERR;
	if (asprintf(&s, "binding=%s owner=%s", b->id, b->owner) < 0) {
		s = NULL;
		goto out;
	}
	if ((r = pam_set_data(pamh, SESSION_DATA, s, free_session_data)) !=
	    PAM_SUCCESS)
		goto out;
	s = NULL;
out:
	free(s);
	return r;
}

/* The client's numeric address from sshd's SSH_CONNECTION, if any. */
static const char *
peer_addr(pam_handle_t *pamh, char *buf, size_t len)
{
	const char *sc = pam_getenv(pamh, "SSH_CONNECTION");
	size_t n;

	if (sc == NULL || (n = strcspn(sc, " ")) == 0 || n >= len)
		return NULL;
	memcpy(buf, sc, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Sends the audit records and appends the decision log record. Returns
 * NULL, or the reason the login must be refused after all: with
 * require_audit, a governed login that cannot be recorded is refused.
 */
static const char *
record(pam_handle_t *pamh, const struct args *a, enum stage st,
    const struct inputs *in, const struct nhi_decision *d,
    const struct nhi_view *v, const struct nhi_conf *c)
{
	bool require = c != NULL && c->require_audit;
	struct nhi_audit_login l = { &in->req, d, v, stage_names[st], NULL,
		NULL, false };
	struct nhi_dlog o = { c != NULL ? c->log_dir : DEFAULT_LOG_DIR,
		c != NULL ? c->state_dir : DEFAULT_STATE_DIR,
		c != NULL ? c->host_name : NULL, 0, 0, 0, geteuid() == 0 };
	struct nhi_audit *au = NULL;
	struct nhi_err e = { "" };
	uint32_t ses = nhi_audit_session();
	char addr[64], e1[ESC_LEN];
	int running;

	l.addr = peer_addr(pamh, addr, sizeof(addr));
	if (nhi_audit_open(&au, &e) != 0) {
		au = NULL;
	} else if (require && (running = nhi_audit_daemon_running(au,
	    &e)) >= 0 && running == 0) {
		nhi_audit_close(au);
		au = NULL;
	}
	if (au != NULL && nhi_audit_login(au, &l, st == STAGE_SESSION,
	    &e) != 0) {
		nhi_audit_close(au);
		au = NULL;
	}
	if (au == NULL) {
		if (require) {
			l.deny = true;
			l.reason = "audit-unavailable";
			pam_syslog(pamh, LOG_ERR, "%s; require_audit is set: "
			    "refusing %s", e.msg, esc(in->acct.name, e1));
		} else if (a->debug) {
			pam_syslog(pamh, LOG_DEBUG, "%s", e.msg);
		}
	} else if (st == STAGE_SESSION && ses == UINT32_MAX &&
	    d->result == NHI_ALLOW && d->binding != NULL) {
		pam_syslog(pamh, LOG_NOTICE, "the session has no audit session "
		    "id: put pam_loginuid.so before pam_nhi.so in the session "
		    "stack");
	}

	if (nhi_dlog_decision(&o, &l, ses, &e) != 0) {
		pam_syslog(pamh, require ? LOG_ERR : LOG_NOTICE, "%s", e.msg);
		if (require && !l.deny) {
			l.deny = true;
			l.reason = "log-unavailable";
			/* The audit trail must show the refusal too. */
			if (au != NULL)
				(void)nhi_audit_login(au, &l, false, &e);
		}
	}
	nhi_audit_close(au);
	return l.deny ? l.reason : NULL;
}

/* Logs the decision, tells the user, and maps it to a PAM code. */
static int
report(pam_handle_t *pamh, int flags, const struct args *a, enum stage st,
    const struct inputs *in, const struct nhi_decision *d,
    const struct nhi_view *v, const struct nhi_conf *c,
    const struct nhi_err *e)
{
	const char *refusal;
	char line[NHI_LOGLINE_MAX], e1[ESC_LEN], e2[ESC_LEN];
	int prio;

	if (d->result == NHI_IGNORE) {
		if (a->debug && d->reason == NHI_R_IGNORED_SERVICE)
			pam_syslog(pamh, LOG_DEBUG, "%s: %s is in "
			    "ignore_services", esc(in->acct.name, e1),
			    esc(in->req.service, e2));
		else if (a->debug)
			pam_syslog(pamh, LOG_DEBUG, "%s is not governed",
			    esc(in->acct.name, e1));
		return PAM_IGNORE;
	}
	/*
	 * Recorded first: a governed login that cannot be recorded under
	 * require_audit is refused, and the decision line must say so rather
	 * than show the allow that was overturned (a deny keeps its reason).
	 */
	refusal = record(pamh, a, st, in, d, v, c);
	if (nhi_logline(&in->req, d, v, d->result == NHI_DENY ? NULL :
	    refusal, line, sizeof(line)) != 0)
		pam_syslog(pamh, LOG_NOTICE, "the next line is cut short");
	if (d->result == NHI_DENY || refusal != NULL)
		prio = LOG_WARNING;
	else if (d->would_deny || d->reason == NHI_R_BREAK_GLASS)
		prio = LOG_NOTICE;
	else
		prio = LOG_INFO;
	if ((d->reason == NHI_R_NO_CONFIG ||
	    d->reason == NHI_R_STALE_REGISTER) && e->msg[0] != '\0')
		pam_syslog(pamh, LOG_ERR, "%s", e->msg);
	pam_syslog(pamh, prio, "%s", line);

	if (refusal != NULL) {
		if (!(flags & PAM_SILENT) && has_conversation(pamh))
			(void)pam_error(pamh, "nhi: access refused: this login "
			    "cannot be recorded (%s)", refusal);
		return PAM_PERM_DENIED;
	}
	if (d->result == NHI_DENY) {
		tell_user(pamh, flags, &in->req, d);
		return PAM_PERM_DENIED;
	}
	if (st == STAGE_SESSION && d->binding != NULL)
		return export_binding(pamh, d->binding);
	return PAM_SUCCESS;
}

static int
run(pam_handle_t *pamh, int flags, int argc, const char **argv,
    enum stage st)
{
	struct nhi_err e = { "" };
	struct cache *k;
	struct nhi_view v;
	struct nhi_decision d;
	struct inputs in;
	struct args a;
	bool audit, owned = false;
	int rc;

	memset(&v, 0, sizeof(v));
	memset(&in, 0, sizeof(in));
	parse_args(pamh, argc, argv, &a);
	if ((k = cache_get(pamh, &owned)) == NULL) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	if ((rc = gather(pamh, &a, st, k, &in)) != PAM_SUCCESS) {
		if (rc == PAM_IGNORE && a.debug)
			pam_syslog(pamh, LOG_DEBUG,
			    "the %s stage does not decide for this service",
			    stage_names[st]);
		goto out;
	}

	load(&a, k, in.acct.name, &v, &e);
	/* A revoked key loses every binding, a checkout's included. */
	in.req.key_denied = nhi_pamidx_key_denied(k->x, in.req.key_fp);
	/* Groups matter only to govern_groups; most hosts have none. */
	if (k->c != NULL && k->c->govern_groups.n > 0 &&
	    nhi_local_account_groups(&in.acct, &k->c->govern_groups) != 0) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	if (a.mode >= 0)
		audit = a.mode == NHI_MODE_AUDIT;
	else
		audit = k->c != NULL && k->c->mode == NHI_MODE_AUDIT;
	nhi_decide(k->c, &in.req, &v, audit, &d);
	rc = report(pamh, flags, &a, st, &in, &d, &v, k->c, &e);
out:
	nhi_view_clear(&v);
	if (owned)
		cache_free(k);
	inputs_free(&in);
	return rc;
}

int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	return run(pamh, flags, argc, argv, STAGE_AUTH);
}

/* Credentials belong to other modules; nothing to establish or delete. */
int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_SUCCESS;
}

int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, STAGE_ACCOUNT);
}

int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	return run(pamh, flags, argc, argv, STAGE_SESSION);
}

/* Closes what open_session recorded; sessions it ignored stay ignored. */
int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	const void *data = NULL;
	struct args a;

	parse_args(pamh, argc, argv, &a);
	if (pam_get_data(pamh, SESSION_DATA, &data) != PAM_SUCCESS ||
	    data == NULL)
		return PAM_IGNORE;
	pam_syslog(pamh, LOG_INFO, "session closed %s", (const char *)data);
	return PAM_SUCCESS;
}
