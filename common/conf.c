/* conf.c: /etc/nhi/nhi.conf, parsed strictly (see conf.h). */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "keys.h"
#include "register.h"

#define CONF_MAX (1024 * 1024)
#define SKEW_MAX 3600
#define DEFAULT_SKEW 60
#define DEFAULT_ACCOUNT_LO 70000
#define DEFAULT_ACCOUNT_HI 79999
#define DEFAULT_REGISTER_SIZE (INT64_C(1) << 30)
/*
 * Services that start jobs an account set up itself (its crontab, its at
 * jobs, its systemd user manager), never a person logging in. Debian's
 * stacks for them include common-account, where pam_nhi decides.
 */
#define DEFAULT_IGNORE_SERVICES "cron, atd, systemd-user"
#define REGISTER_SIZE_MAX (INT64_C(1) << 40)
#define ID_MAX UINT32_C(4294967294)	/* (uid_t)-1 is never an id */
#define HOST_NAME_LEN 253

enum kind {
	K_MODE,
	K_URL,			/* repeatable, appended to a strv */
	K_REGISTER_KEY,		/* repeatable */
	K_HOST_NAME,
	K_NAMES,		/* list of names */
	K_GLOBS,		/* list of globs */
	K_SERVICES,		/* list of service names or "*" */
	K_SERVICE_NAMES,	/* list of service names */
	K_BREAK_GLASS,		/* list of user@service */
	K_DURATION,		/* max in keydef */
	K_RANGES,
	K_RANGE,
	K_PATH,
	K_BOOL,
	K_SPEC,			/* printable, no spaces */
	K_SIZE,
	K_PUBKEY,		/* an issuer's key */
};

struct keydef {
	const char *name;
	enum kind kind;
	size_t off;		/* into struct nhi_conf or struct nhi_issuer */
	int64_t max;		/* K_DURATION */
};

#define C(f) offsetof(struct nhi_conf, f)
#define I(f) offsetof(struct nhi_issuer, f)

static const struct keydef top_keys[] = {
	{ "mode", K_MODE, C(mode), 0 },
	{ "register_url", K_URL, C(register_urls), 0 },
	{ "register_key", K_REGISTER_KEY, 0, 0 },
	{ "host_name", K_HOST_NAME, C(host_name), 0 },
	{ "host_groups", K_NAMES, C(host_groups), 0 },
	{ "clock_skew", K_DURATION, C(clock_skew), SKEW_MAX },
	{ "max_register_age", K_DURATION, C(max_register_age), INT32_MAX },
	{ "govern_users", K_GLOBS, C(govern_users), 0 },
	{ "govern_groups", K_NAMES, C(govern_groups), 0 },
	{ "govern_uids", K_RANGES, 0, 0 },
	{ "ignore_services", K_SERVICE_NAMES, C(ignore_services), 0 },
	{ "account_uids", K_RANGE, C(account_uids), 0 },
	{ "account_gids", K_RANGE, C(account_gids), 0 },
	{ "account_groups", K_NAMES, C(account_groups), 0 },
	{ "state_dir", K_PATH, C(state_dir), 0 },
	{ "pam_index", K_PATH, C(pam_index), 0 },
	{ "nss_index", K_PATH, C(nss_index), 0 },
	{ "log_dir", K_PATH, C(log_dir), 0 },
	{ "break_glass", K_BREAK_GLASS, C(break_glass), 0 },
	{ "enumerate", K_BOOL, C(enumerate), 0 },
	{ "require_audit", K_BOOL, C(require_audit), 0 },
	{ "ca_file", K_PATH, C(ca_file), 0 },
	{ "ca_dir", K_PATH, C(ca_dir), 0 },
	{ "pinned_pubkey", K_SPEC, C(pinned_pubkey), 0 },
	{ "max_register_size", K_SIZE, C(max_register_size), 0 },
	{ "fetch_connect_timeout", K_DURATION, C(fetch_connect_timeout),
	    3600 },
	{ "fetch_timeout", K_DURATION, C(fetch_timeout), 86400 },
	{ "fetch_low_speed_time", K_DURATION, C(fetch_low_speed_time), 3600 },
	{ "fetch_low_speed_limit", K_SIZE, C(fetch_low_speed_limit), 0 },
	{ "passwd_file", K_PATH, C(passwd_file), 0 },
	{ "group_file", K_PATH, C(group_file), 0 },
};

static const struct keydef issuer_keys[] = {
	{ "key", K_PUBKEY, I(key), 0 },
	{ "accounts", K_GLOBS, I(accounts), 0 },
	{ "services", K_SERVICES, I(services), 0 },
	{ "max_window", K_DURATION, I(max_window), INT32_MAX },
	/* Optional from here on. */
	{ "groups", K_NAMES, I(groups), 0 },
};
#define N_ISSUER_REQUIRED 4

#define N_TOP (sizeof(top_keys) / sizeof(top_keys[0]))
#define N_ISSUER (sizeof(issuer_keys) / sizeof(issuer_keys[0]))

struct parser {
	const char *path;
	size_t line;
	struct nhi_conf *c;
	struct nhi_issuer *cur;	/* the open [issuer] section, or NULL */
	size_t cur_line;
	bool seen_top[N_TOP];
	bool seen_issuer[N_ISSUER];
	struct nhi_err *e;
};

static bool
valid_host_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > HOST_NAME_LEN || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

/* "user@service": who may log in through which service when stale. */
static bool
valid_break_glass(const char *s)
{
	const char *at = strchr(s, '@');
	char user[NHI_MAX_NAME + 1];
	size_t n;

	if (at == NULL || (n = (size_t)(at - s)) > NHI_MAX_NAME)
		return false;
	memcpy(user, s, n);
	user[n] = '\0';
	return nhi_valid_name(user) && nhi_valid_service(at + 1);
}

/* Visible ASCII only: URLs and curl pin specs hold no spaces. */
static bool
valid_token(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return *s != '\0' && strlen(s) <= 4096;
}

/* The register is fetched with libcurl from these schemes only. */
static bool
valid_url(const char *s)
{
	if (strncmp(s, "file:///", 8) != 0 &&
	    !(strncmp(s, "https://", 8) == 0 && s[8] != '\0' && s[8] != '/'))
		return false;
	return valid_token(s);
}

/* Formats "PATH:LINE: KEY: reason" into the parser's error. */
static int
fail(struct parser *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parser *p, const char *key, const char *fmt, ...)
{
	char reason[NHI_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (key != NULL)
		return nhi_err_set(p->e, "%s:%zu: %s: %s", p->path, p->line,
		    key, reason);
	return nhi_err_set(p->e, "%s:%zu: %s", p->path, p->line, reason);
}

static int
parse_range(const char *s, struct nhi_range *ret)
{
	char lo[16];
	const char *dash = strchr(s, '-');
	int64_t a, b;
	size_t n;

	if (dash == NULL || (n = (size_t)(dash - s)) >= sizeof(lo))
		return -1;
	memcpy(lo, s, n);
	lo[n] = '\0';
	if (lo[0] == '-' || dash[1] == '-' ||
	    nhi_parse_int(lo, 0, ID_MAX, &a) != 0 ||
	    nhi_parse_int(dash + 1, 0, ID_MAX, &b) != 0 || a > b)
		return -1;
	ret->lo = (uint32_t)a;
	ret->hi = (uint32_t)b;
	return 0;
}

static int
parse_ranges(struct parser *p, const char *key, const char *v)
{
	struct nhi_strv sv = { NULL, 0 };
	struct nhi_range *r;
	struct nhi_err why;
	size_t i;
	int rc = -1;

	if (nhi_strv_split(v, NULL, &sv, &why) != 0)
		return fail(p, key, "%s", why.msg);
	if ((r = calloc(sv.n, sizeof(*r))) == NULL) {
		fail(p, key, "out of memory");
		goto out;
	}
	for (i = 0; i < sv.n; i++) {
		if (parse_range(sv.v[i], &r[i]) != 0) {
			fail(p, key, "\"%s\" is not LO-HI", sv.v[i]);
			free(r);
			goto out;
		}
	}
	p->c->govern_uids = r;
	p->c->n_govern_uids = sv.n;
	rc = 0;
out:
	nhi_strv_free(&sv);
	return rc;
}

/* Accepts BYTES with an optional binary K, M or G suffix. */
static int
parse_size(const char *v, int64_t *ret)
{
	char num[32];
	size_t n = strlen(v);
	int64_t mult = 1, x;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n + 1);
	switch (num[n - 1]) {
	case 'K':
		mult = INT64_C(1) << 10;
		break;
	case 'M':
		mult = INT64_C(1) << 20;
		break;
	case 'G':
		mult = INT64_C(1) << 30;
		break;
	default:
		break;
	}
	if (mult != 1)
		num[n - 1] = '\0';
	if (nhi_parse_int(num, 1, REGISTER_SIZE_MAX, &x) != 0 ||
	    x > REGISTER_SIZE_MAX / mult)
		return -1;
	*ret = x * mult;
	return 0;
}

static int
parse_register_key(struct parser *p, const char *key, const char *v)
{
	struct nhi_pubkey k;
	struct nhi_strv words = { NULL, 0 };
	struct nhi_pubkey *nk;
	size_t i;
	int rc = -1;
	char *copy, *tok, *save = NULL;

	memset(&k, 0, sizeof(k));
	if ((copy = strdup(v)) == NULL)
		return fail(p, key, "out of memory");
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save))
		if (nhi_strv_add(&words, tok) != 0) {
			fail(p, key, "out of memory");
			goto out;
		}
	if (words.n == 0 || nhi_pubkey_decode(words.v[0], k.pk) != 0) {
		fail(p, key, "expected a base64 Ed25519 public key");
		goto out;
	}
	for (i = 1; i < words.n; i++) {
		int64_t *dst;
		const char *val;

		if (strncmp(words.v[i], "not_before=", 11) == 0) {
			dst = &k.not_before;
			val = words.v[i] + 11;
		} else if (strncmp(words.v[i], "not_after=", 10) == 0) {
			dst = &k.not_after;
			val = words.v[i] + 10;
		} else {
			fail(p, key, "unknown option \"%s\"", words.v[i]);
			goto out;
		}
		if (*dst != 0) {
			fail(p, key, "option repeated");
			goto out;
		}
		if (nhi_parse_time(val, 0, dst) != 0 || *dst == 0 ||
		    *dst > NHI_TIME_MAX) {
			fail(p, key, "bad time \"%s\"", val);
			goto out;
		}
	}
	if (k.not_before != 0 && k.not_after != 0 &&
	    k.not_before >= k.not_after) {
		fail(p, key, "not_after must be later than not_before");
		goto out;
	}
	nhi_keyid(k.pk, k.keyid);
	for (i = 0; i < p->c->n_register_keys; i++)
		if (strcmp(p->c->register_keys[i].keyid, k.keyid) == 0) {
			fail(p, key, "key %s listed twice", k.keyid);
			goto out;
		}
	nk = realloc(p->c->register_keys,
	    (p->c->n_register_keys + 1) * sizeof(*nk));
	if (nk == NULL) {
		fail(p, key, "out of memory");
		goto out;
	}
	nk[p->c->n_register_keys++] = k;
	p->c->register_keys = nk;
	rc = 0;
out:
	free(copy);
	nhi_strv_free(&words);
	return rc;
}

static int
set_list(struct parser *p, const char *key, const char *v,
    bool (*valid)(const char *), struct nhi_strv *dst)
{
	struct nhi_err why;

	if (nhi_strv_split(v, valid, dst, &why) != 0)
		return fail(p, key, "%s", why.msg);
	return 0;
}

/*
 * ignore_services: names as Linux-PAM passes them (it lower-cases the
 * service name, so "CRON" would never match), and none of the services
 * that log a person in, or one line would switch governance off for them.
 * The list of those is not complete; nhi.conf(5) says what belongs here.
 */
static int
set_services(struct parser *p, const char *key, const char *v,
    struct nhi_strv *dst)
{
	static const char *const logins[] = { "sshd", "su", "su-l", "sudo",
		"sudo-i", "login", "runuser", "runuser-l", "remote", "other",
		"doas", "polkit-1", "systemd-run0", "cockpit", "gdm-password",
		"gdm-autologin", "lightdm", "sddm", "xrdp-sesman", "vsftpd",
		NULL };
	size_t i, j;

	if (set_list(p, key, v, nhi_valid_service, dst) != 0)
		return -1;
	for (i = 0; i < dst->n; i++) {
		if (strpbrk(dst->v[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
			return fail(p, key, "%s: PAM passes service names in "
			    "lower case", dst->v[i]);
		for (j = 0; logins[j] != NULL; j++)
			if (strcmp(dst->v[i], logins[j]) == 0)
				return fail(p, key, "%s logs a person in and "
				    "cannot be ignored", logins[j]);
	}
	return 0;
}

static int
set_path(struct parser *p, const char *key, const char *v, char **dst)
{
	if (!nhi_valid_path(v))
		return fail(p, key, "expected an absolute path");
	if ((*dst = strdup(v)) == NULL)
		return fail(p, key, "out of memory");
	return 0;
}

/* Stores one value of kind d->kind at base + d->off. */
static int
apply(struct parser *p, const struct keydef *d, char *base, const char *v)
{
	void *dst = base + d->off;

	switch (d->kind) {
	case K_MODE:
		if (strcmp(v, "enforce") == 0)
			*(enum nhi_mode *)dst = NHI_MODE_ENFORCE;
		else if (strcmp(v, "audit") == 0)
			*(enum nhi_mode *)dst = NHI_MODE_AUDIT;
		else
			return fail(p, d->name, "expected enforce or audit");
		return 0;
	case K_URL:
		if (!valid_url(v))
			return fail(p, d->name,
			    "expected a file:/// or https:// URL");
		if (nhi_strv_add(dst, v) != 0)
			return fail(p, d->name, "out of memory");
		return 0;
	case K_REGISTER_KEY:
		return parse_register_key(p, d->name, v);
	case K_HOST_NAME:
		if (!valid_host_name(v))
			return fail(p, d->name, "invalid host name");
		if ((*(char **)dst = strdup(v)) == NULL)
			return fail(p, d->name, "out of memory");
		return 0;
	case K_NAMES:
		return set_list(p, d->name, v, nhi_valid_name, dst);
	case K_GLOBS:
		return set_list(p, d->name, v, nhi_valid_glob, dst);
	case K_SERVICES:
		return set_list(p, d->name, v, nhi_valid_service_or_all, dst);
	case K_SERVICE_NAMES:
		return set_services(p, d->name, v, dst);
	case K_BREAK_GLASS:
		return set_list(p, d->name, v, valid_break_glass, dst);
	case K_DURATION:
		if (nhi_parse_duration(v, dst) != 0)
			return fail(p, d->name, "expected a duration "
			    "such as 90s, 15m, 2h or 1h30m");
		if (*(int64_t *)dst > d->max)
			return fail(p, d->name, "at most %lld seconds",
			    (long long)d->max);
		return 0;
	case K_RANGES:
		return parse_ranges(p, d->name, v);
	case K_RANGE:
		if (parse_range(v, dst) != 0 ||
		    ((struct nhi_range *)dst)->lo == 0)
			return fail(p, d->name,
			    "expected LO-HI with 1 <= LO <= HI");
		return 0;
	case K_PATH:
		return set_path(p, d->name, v, dst);
	case K_BOOL:
		if (strcmp(v, "yes") == 0)
			*(bool *)dst = true;
		else if (strcmp(v, "no") == 0)
			*(bool *)dst = false;
		else
			return fail(p, d->name, "expected yes or no");
		return 0;
	case K_SPEC:
		if (!valid_token(v))
			return fail(p, d->name, "invalid value");
		if ((*(char **)dst = strdup(v)) == NULL)
			return fail(p, d->name, "out of memory");
		return 0;
	case K_SIZE:
		if (parse_size(v, dst) != 0)
			return fail(p, d->name,
			    "expected a size in bytes (K, M, G allowed)");
		return 0;
	case K_PUBKEY: {
		struct nhi_pubkey *k = dst;

		if (nhi_pubkey_decode(v, k->pk) != 0)
			return fail(p, d->name,
			    "expected a base64 Ed25519 public key");
		nhi_keyid(k->pk, k->keyid);
		return 0;
	}
	}
	return fail(p, d->name, "internal error");
}

/* Checks that the section just closed has every required key. */
static int
close_issuer(struct parser *p)
{
	size_t i, j, line = p->line;
	int r = 0;

	if (p->cur == NULL)
		return 0;
	p->line = p->cur_line;
	for (i = 0; i < N_ISSUER_REQUIRED; i++) {
		if (!p->seen_issuer[i]) {
			r = fail(p, issuer_keys[i].name,
			    "missing in [issuer %s]", p->cur->name);
			break;
		}
	}
	if (r == 0 && p->cur->max_window <= 0)
		r = fail(p, "max_window", "must be positive");
	for (j = 0; r == 0 && j + 1 < p->c->n_issuers; j++)
		if (strcmp(p->c->issuers[j].key.keyid,
		    p->cur->key.keyid) == 0)
			r = fail(p, "key", "the same key as [issuer %s]",
			    p->c->issuers[j].name);
	p->line = line;
	p->cur = NULL;
	return r;
}

static int
open_issuer(struct parser *p, char *s)
{
	struct nhi_issuer *ni;
	size_t n = strlen(s), i;
	char *name;

	if (close_issuer(p) != 0)
		return -1;
	if (n < 2 || s[n - 1] != ']' || strncmp(s, "[issuer ", 8) != 0)
		return fail(p, NULL, "expected a section \"[issuer NAME]\"");
	s[n - 1] = '\0';
	name = s + 8;
	if (!nhi_valid_text(name))
		return fail(p, NULL, "invalid issuer name");
	for (i = 0; i < p->c->n_issuers; i++)
		if (strcmp(p->c->issuers[i].name, name) == 0)
			return fail(p, NULL, "[issuer %s] repeated", name);
	ni = realloc(p->c->issuers, (p->c->n_issuers + 1) * sizeof(*ni));
	if (ni == NULL)
		return fail(p, NULL, "out of memory");
	p->c->issuers = ni;
	p->cur = &ni[p->c->n_issuers];
	memset(p->cur, 0, sizeof(*p->cur));
	if ((p->cur->name = strdup(name)) == NULL)
		return fail(p, NULL, "out of memory");
	p->c->n_issuers++;
	p->cur_line = p->line;
	memset(p->seen_issuer, 0, sizeof(p->seen_issuer));
	return 0;
}

static void
trim(char **s)
{
	char *end;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	end = *s + strlen(*s);
	while (end > *s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
}

static int
parse_line(struct parser *p, char *s)
{
	const struct keydef *defs;
	bool *seen;
	size_t i, n;
	char *eq, *key, *val;

	trim(&s);
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return open_issuer(p, s);
	if ((eq = strchr(s, '=')) == NULL)
		return fail(p, NULL, "expected \"key = value\"");
	*eq = '\0';
	key = s;
	val = eq + 1;
	trim(&key);
	trim(&val);

	defs = p->cur != NULL ? issuer_keys : top_keys;
	n = p->cur != NULL ? N_ISSUER : N_TOP;
	seen = p->cur != NULL ? p->seen_issuer : p->seen_top;
	for (i = 0; i < n; i++)
		if (strcmp(key, defs[i].name) == 0)
			break;
	if (i == n) {
		char esc[80];

		nhi_escape(key, 48, esc, sizeof(esc));
		return fail(p, esc, p->cur != NULL ?
		    "unknown key in an [issuer] section" : "unknown key");
	}
	if (*val == '\0')
		return fail(p, key, "empty value");
	if (seen[i] && defs[i].kind != K_URL &&
	    defs[i].kind != K_REGISTER_KEY)
		return fail(p, key, "given more than once");
	seen[i] = true;
	return apply(p, &defs[i], p->cur != NULL ? (char *)p->cur :
	    (char *)p->c, val);
}

static int
set_default(char **dst, const char *dir, const char *file)
{
	if (*dst != NULL)
		return 0;
	if (file == NULL)
		*dst = strdup(dir);
	else if (asprintf(dst, "%s/%s", dir, file) < 0)
		*dst = NULL;
	return *dst != NULL ? 0 : -1;
}

static int
fill_defaults(struct parser *p)
{
	char host[HOST_NAME_LEN + 2];

	if (set_default(&p->c->state_dir, "/var/lib/nhi", NULL) != 0 ||
	    set_default(&p->c->pam_index, p->c->state_dir, "pam.cdb") != 0 ||
	    set_default(&p->c->nss_index, p->c->state_dir, "nss.cdb") != 0 ||
	    set_default(&p->c->log_dir, "/var/log/nhi", NULL) != 0 ||
	    set_default(&p->c->passwd_file, "/etc/passwd", NULL) != 0 ||
	    set_default(&p->c->group_file, "/etc/group", NULL) != 0 ||
	    (p->c->ignore_services.n == 0 &&
	    nhi_strv_split(DEFAULT_IGNORE_SERVICES, NULL,
	    &p->c->ignore_services, p->e) != 0))
		return nhi_err_set(p->e, "%s: out of memory", p->path);
	if (p->c->host_name != NULL)
		return 0;
	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) != 0 ||
	    !valid_host_name(host))
		return nhi_err_set(p->e, "%s: host_name: not set, and the "
		    "system host name is unusable", p->path);
	if ((p->c->host_name = strdup(host)) == NULL)
		return nhi_err_set(p->e, "%s: out of memory", p->path);
	return 0;
}

static struct nhi_conf *
conf_new(const char *path)
{
	struct nhi_conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->path = strdup(path)) == NULL) {
		free(c);
		return NULL;
	}
	c->mode = NHI_MODE_ENFORCE;
	c->clock_skew = DEFAULT_SKEW;
	c->account_uids.lo = c->account_gids.lo = DEFAULT_ACCOUNT_LO;
	c->account_uids.hi = c->account_gids.hi = DEFAULT_ACCOUNT_HI;
	c->max_register_size = DEFAULT_REGISTER_SIZE;
	return c;
}

int
nhi_conf_parse(const char *path, const char *text, struct nhi_conf **ret,
    struct nhi_err *e)
{
	struct parser p;
	char *copy = NULL, *line, *next;
	const unsigned char *u;
	int r = -1;

	memset(&p, 0, sizeof(p));
	p.path = path != NULL ? path : NHI_DEFAULT_CONFIG;
	p.e = e;
	if ((p.c = conf_new(p.path)) == NULL || (copy = strdup(text)) ==
	    NULL) {
		nhi_err_set(e, "%s: out of memory", p.path);
		goto out;
	}
	for (line = copy; line != NULL; line = next) {
		p.line++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (u = (const unsigned char *)line; *u != '\0'; u++)
			if ((*u < 0x20 && *u != '\t') || *u == 0x7f)
				break;
		if (*u != '\0') {
			fail(&p, NULL, "control character in line");
			goto out;
		}
		if (parse_line(&p, line) != 0)
			goto out;
	}
	if (close_issuer(&p) != 0 || fill_defaults(&p) != 0)
		goto out;
	*ret = p.c;
	p.c = NULL;
	r = 0;
out:
	free(copy);
	nhi_conf_free(p.c);
	return r;
}

int
nhi_conf_load(const char *path, bool check_owner, struct nhi_conf **ret,
    struct nhi_err *e)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, r = -1;

	if (path == NULL)
		path = NHI_DEFAULT_CONFIG;
	if ((fd = nhi_open_regular(path, &st, e)) < 0)
		return -1;
	if (check_owner && st.st_uid != 0) {
		nhi_err_set(e, "%s: not owned by root", path);
		goto out;
	}
	if (check_owner && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		nhi_err_set(e, "%s: writable by group or others (mode %04o)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (nhi_read_fd(fd, CONF_MAX, &text, &len) != 0) {
		nhi_err_set(e, "%s: %s", path, errno == EFBIG ?
		    "larger than 1 MiB" : strerror(errno));
		goto out;
	}
	if (strlen(text) != len) {
		nhi_err_set(e, "%s: NUL byte in file", path);
		goto out;
	}
	if ((r = nhi_conf_parse(path, text, ret, e)) == 0)
		nhi_fileid_of(&st, &(*ret)->id);
out:
	free(text);
	(void)close(fd);
	return r;
}

static void
issuer_clear(struct nhi_issuer *is)
{
	free(is->name);
	nhi_strv_free(&is->accounts);
	nhi_strv_free(&is->services);
	nhi_strv_free(&is->groups);
}

void
nhi_conf_free(struct nhi_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	nhi_strv_free(&c->register_urls);
	free(c->register_keys);
	free(c->host_name);
	nhi_strv_free(&c->host_groups);
	nhi_strv_free(&c->govern_users);
	nhi_strv_free(&c->ignore_services);
	nhi_strv_free(&c->govern_groups);
	free(c->govern_uids);
	nhi_strv_free(&c->account_groups);
	free(c->state_dir);
	free(c->pam_index);
	free(c->nss_index);
	free(c->log_dir);
	nhi_strv_free(&c->break_glass);
	free(c->ca_file);
	free(c->ca_dir);
	free(c->pinned_pubkey);
	free(c->passwd_file);
	free(c->group_file);
	for (i = 0; i < c->n_issuers; i++)
		issuer_clear(&c->issuers[i]);
	free(c->issuers);
	free(c);
}

const struct nhi_issuer *
nhi_conf_issuer(const struct nhi_conf *c, const char *keyid)
{
	size_t i;

	if (c == NULL || keyid == NULL)
		return NULL;
	for (i = 0; i < c->n_issuers; i++)
		if (strcmp(c->issuers[i].key.keyid, keyid) == 0)
			return &c->issuers[i];
	return NULL;
}

bool
nhi_range_has(const struct nhi_range *r, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; r != NULL && i < n; i++)
		if (id >= r[i].lo && id <= r[i].hi)
			return true;
	return false;
}
