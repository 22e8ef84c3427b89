/*
 * cmd_sign.c: the approver's and publisher's commands: keygen, issue,
 * publish, verify. They run on an admin's machine, not on the hosts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dsse.h"
#include "jsonx.h"
#include "keys.h"
#include "nhictl.h"
#include "register.h"
#include "statement.h"
#include "util.h"

static const char keygen_help[] =
    "usage: nhictl keygen NAME\n"
    "Writes NAME.key (secret, mode 0600) and NAME.pub. Give NAME.pub's key\n"
    "to hosts as an issuer key or register_key in nhi.conf.\n";

int
cmd_keygen(int argc, char **argv)
{
	struct nhi_err e;
	char *copy, *name;
	int r;

	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return cli_usage(keygen_help, true);
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(keygen_help, false);
	if ((copy = strdup(argv[1])) == NULL)
		return CLI_FAIL;
	name = basename(copy);
	r = nhi_keygen(argv[1], name, &e);
	if (r != 0)
		nhictl_err("%s", e.msg);
	else
		printf("wrote %s.key and %s.pub\n", argv[1], argv[1]);
	free(copy);
	return r == 0 ? CLI_OK : CLI_FAIL;
}

static const char issue_help[] =
    "usage: nhictl issue binding --key ISSUER.key --account A --owner O\n"
    "         --approver P --ticket T\n"
    "         (--ssh-key FILE.pub | --user NAME | --checkout)\n"
    "         --hosts H,... --services S,...\n"
    "         (--valid-for DURATION | --not-before TIME --not-after TIME)\n"
    "         [--source CIDR,...] [--max-session DURATION] [--id ID]\n"
    "       nhictl issue account --key ISSUER.key --name N --uid U --gid G\n"
    "         --owner O [--description D] [--home H] [--shell S]\n"
    "         [--groups G,...] [--recertify-by TIME]\n"
    "Writes one signed statement (a line of JSON) to standard output.\n"
    "TIME is 2026-12-03T10:00:00Z, 2026-12-03, @SECONDS or now;\n"
    "DURATION is 90s, 15m, 2h, 7d or a sum such as 1h30m.\n";

enum {
	O_KEY = 256, O_ACCOUNT, O_OWNER, O_APPROVER, O_TICKET, O_SSH_KEY,
	O_USER, O_CHECKOUT, O_HOSTS, O_SERVICES, O_VALID_FOR, O_NOT_BEFORE,
	O_NOT_AFTER, O_SOURCE, O_MAX_SESSION, O_ID, O_NAME, O_UID, O_GID,
	O_DESCRIPTION, O_HOME, O_SHELL, O_GROUPS, O_RECERTIFY, O_HELP,
	O_VERSION, O_EXPIRES_IN, O_DENY, O_PREVIOUS, O_PUB, O_CONFIG,
};

static const struct option issue_opts[] = {
	{ "key", required_argument, NULL, O_KEY },
	{ "account", required_argument, NULL, O_ACCOUNT },
	{ "owner", required_argument, NULL, O_OWNER },
	{ "approver", required_argument, NULL, O_APPROVER },
	{ "ticket", required_argument, NULL, O_TICKET },
	{ "ssh-key", required_argument, NULL, O_SSH_KEY },
	{ "user", required_argument, NULL, O_USER },
	{ "checkout", no_argument, NULL, O_CHECKOUT },
	{ "hosts", required_argument, NULL, O_HOSTS },
	{ "services", required_argument, NULL, O_SERVICES },
	{ "valid-for", required_argument, NULL, O_VALID_FOR },
	{ "not-before", required_argument, NULL, O_NOT_BEFORE },
	{ "not-after", required_argument, NULL, O_NOT_AFTER },
	{ "source", required_argument, NULL, O_SOURCE },
	{ "max-session", required_argument, NULL, O_MAX_SESSION },
	{ "id", required_argument, NULL, O_ID },
	{ "name", required_argument, NULL, O_NAME },
	{ "uid", required_argument, NULL, O_UID },
	{ "gid", required_argument, NULL, O_GID },
	{ "description", required_argument, NULL, O_DESCRIPTION },
	{ "home", required_argument, NULL, O_HOME },
	{ "shell", required_argument, NULL, O_SHELL },
	{ "groups", required_argument, NULL, O_GROUPS },
	{ "recertify-by", required_argument, NULL, O_RECERTIFY },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Every option of issue, as given; validated by the statement parser. */
struct issue_args {
	char *key, *account, *owner, *approver, *ticket, *ssh_key;
	char *user, *hosts, *services, *valid_for, *not_before;
	char *not_after, *source, *max_session, *id, *name, *uid;
	char *gid, *description, *home, *shell, *groups, *recertify;
	bool checkout;
};

static int
issue_parse(int argc, char **argv, struct issue_args *a)
{
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", issue_opts, NULL)) != -1) {
		char **slot = NULL;

		switch (ch) {
		case O_KEY: slot = &a->key; break;
		case O_ACCOUNT: slot = &a->account; break;
		case O_OWNER: slot = &a->owner; break;
		case O_APPROVER: slot = &a->approver; break;
		case O_TICKET: slot = &a->ticket; break;
		case O_SSH_KEY: slot = &a->ssh_key; break;
		case O_USER: slot = &a->user; break;
		case O_HOSTS: slot = &a->hosts; break;
		case O_SERVICES: slot = &a->services; break;
		case O_VALID_FOR: slot = &a->valid_for; break;
		case O_NOT_BEFORE: slot = &a->not_before; break;
		case O_NOT_AFTER: slot = &a->not_after; break;
		case O_SOURCE: slot = &a->source; break;
		case O_MAX_SESSION: slot = &a->max_session; break;
		case O_ID: slot = &a->id; break;
		case O_NAME: slot = &a->name; break;
		case O_UID: slot = &a->uid; break;
		case O_GID: slot = &a->gid; break;
		case O_DESCRIPTION: slot = &a->description; break;
		case O_HOME: slot = &a->home; break;
		case O_SHELL: slot = &a->shell; break;
		case O_GROUPS: slot = &a->groups; break;
		case O_RECERTIFY: slot = &a->recertify; break;
		case O_CHECKOUT:
			a->checkout = true;
			continue;
		case O_HELP:
			return 1;
		default:
			return -1;
		}
		if (*slot != NULL) {
			nhictl_err("issue: --%s given twice",
			    issue_opts[ch - O_KEY].name);
			return -1;
		}
		*slot = optarg;
	}
	return 0;
}

/* A required option, or an error naming it. */
static bool
need(const char *v, const char *opt)
{
	if (v == NULL)
		nhictl_err("issue: --%s is required", opt);
	return v != NULL;
}

static char *
random_id(void)
{
	unsigned char r[8];
	char hex[17], *id;

	randombytes_buf(r, sizeof(r));
	nhi_hex(r, sizeof(r), hex);
	if (asprintf(&id, "b-%s", hex) < 0)
		return NULL;
	return id;
}

/* The first line of an OpenSSH .pub file, "TYPE BASE64" without comment. */
static char *
read_ssh_pub(const char *path)
{
	char *buf = NULL, *sp, *out = NULL;
	size_t len;

	if (nhi_read_file(path, 16384, &buf, &len) != 0) {
		nhictl_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	/* Keep the type and the blob; a comment is the holder's business. */
	if ((sp = strchr(buf, ' ')) != NULL &&
	    (sp = strchr(sp + 1, ' ')) != NULL)
		*sp = '\0';
	out = strdup(buf);
	free(buf);
	return out;
}

static int
times_from(const struct issue_args *a, int64_t now, struct nhi_binding *b)
{
	struct nhi_err e;
	int64_t d;

	if (a->valid_for != NULL &&
	    (a->not_before != NULL || a->not_after != NULL)) {
		nhictl_err("issue: --valid-for excludes --not-before and "
		    "--not-after");
		return -1;
	}
	if (a->valid_for != NULL) {
		if (nhi_parse_duration(a->valid_for, &d) != 0) {
			nhictl_err("issue: --valid-for: bad duration '%s'",
			    a->valid_for);
			return -1;
		}
		b->not_before = now;
		b->not_after = now + d;
		return 0;
	}
	if (!need(a->not_before, "not-before") ||
	    !need(a->not_after, "not-after"))
		return -1;
	if (nhi_parse_time(a->not_before, now, &b->not_before) != 0 ||
	    nhi_parse_time(a->not_after, now, &b->not_after) != 0) {
		nhictl_err("issue: bad time in --not-before/--not-after");
		return -1;
	}
	(void)e;
	return 0;
}

static int
split_opt(const char *v, const char *opt, bool (*valid)(const char *),
    struct nhi_strv *sv)
{
	struct nhi_err e;

	if (nhi_strv_split(v, valid, sv, &e) != 0) {
		nhictl_err("issue: --%s: %s", opt, e.msg);
		return -1;
	}
	return 0;
}

/*
 * Builds the payload of a binding from the options. The payload is then
 * parsed back with the hosts' own strict parser, so nhictl never signs
 * what a host would refuse.
 */
static char *
binding_payload(const struct issue_args *a, const struct nhi_seckey *k)
{
	struct nhi_binding b;
	char *json = NULL, *id = NULL;
	int kinds;

	memset(&b, 0, sizeof(b));
	kinds = (a->ssh_key != NULL) + (a->user != NULL) + a->checkout;
	if (kinds != 1) {
		nhictl_err("issue: give exactly one of --ssh-key, --user, "
		    "--checkout");
		goto out;
	}
	if (!need(a->account, "account") || !need(a->owner, "owner") ||
	    !need(a->approver, "approver") || !need(a->ticket, "ticket") ||
	    !need(a->hosts, "hosts") || !need(a->services, "services"))
		goto out;
	if (a->id == NULL && (id = random_id()) == NULL)
		goto out;
	b.id = a->id != NULL ? a->id : id;
	b.account = a->account;
	b.owner = a->owner;
	b.approver = a->approver;
	b.ticket = a->ticket;
	if (a->ssh_key != NULL) {
		b.cred_kind = NHI_CRED_SSH_KEY;
		if ((b.cred_key = read_ssh_pub(a->ssh_key)) == NULL)
			goto out;
	} else if (a->user != NULL) {
		b.cred_kind = NHI_CRED_USER;
		b.cred_user = a->user;
	} else {
		b.cred_kind = NHI_CRED_CHECKOUT;
	}
	if (split_opt(a->hosts, "hosts", NULL, &b.hosts) != 0 ||
	    split_opt(a->services, "services", NULL, &b.services) != 0 ||
	    (a->source != NULL &&
		split_opt(a->source, "source", NULL, &b.source) != 0))
		goto out;
	b.issued_at = cli_now();
	if (times_from(a, b.issued_at, &b) != 0)
		goto out;
	if (a->max_session != NULL &&
	    nhi_parse_duration(a->max_session, &b.max_session) != 0) {
		nhictl_err("issue: --max-session: bad duration '%s'",
		    a->max_session);
		goto out;
	}
	memcpy(b.issuer, k->keyid, sizeof(b.issuer));
	json = nhi_binding_json(&b);
out:
	free(b.cred_key);
	nhi_strv_free(&b.hosts);
	nhi_strv_free(&b.services);
	nhi_strv_free(&b.source);
	free(id);
	return json;
}

static char *
account_payload(const struct issue_args *a, const struct nhi_seckey *k)
{
	struct nhi_account acc;
	int64_t v;
	char *json = NULL;

	memset(&acc, 0, sizeof(acc));
	if (!need(a->name, "name") || !need(a->uid, "uid") ||
	    !need(a->gid, "gid") || !need(a->owner, "owner"))
		goto out;
	acc.name = a->name;
	acc.owner = a->owner;
	if (nhi_parse_int(a->uid, 1, UINT32_MAX - 1, &v) != 0) {
		nhictl_err("issue: --uid: not a uid: '%s'", a->uid);
		goto out;
	}
	acc.uid = (uint32_t)v;
	if (nhi_parse_int(a->gid, 1, UINT32_MAX - 1, &v) != 0) {
		nhictl_err("issue: --gid: not a gid: '%s'", a->gid);
		goto out;
	}
	acc.gid = (uint32_t)v;
	acc.description = a->description;
	acc.home = a->home;
	acc.shell = a->shell;
	if (a->groups != NULL &&
	    split_opt(a->groups, "groups", NULL, &acc.groups) != 0)
		goto out;
	acc.issued_at = cli_now();
	if (a->recertify != NULL &&
	    nhi_parse_time(a->recertify, acc.issued_at, &acc.recertify_by) !=
		0) {
		nhictl_err("issue: --recertify-by: bad time '%s'",
		    a->recertify);
		goto out;
	}
	memcpy(acc.issuer, k->keyid, sizeof(acc.issuer));
	json = nhi_account_json(&acc);
out:
	nhi_strv_free(&acc.groups);
	return json;
}

int
cmd_issue(int argc, char **argv)
{
	struct issue_args a;
	struct nhi_seckey *k = NULL;
	struct nhi_binding *b = NULL;
	struct nhi_account *acc = NULL;
	struct nhi_err e;
	const char *kind, *type;
	char *json = NULL, *env = NULL;
	int r = CLI_USAGE, pr;

	if (argc < 2)
		return cli_usage(issue_help, false);
	kind = argv[1];
	if (strcmp(kind, "--help") == 0)
		return cli_usage(issue_help, true);
	if ((pr = issue_parse(argc - 1, argv + 1, &a)) != 0)
		return cli_usage(issue_help, pr > 0);
	if (optind != argc - 1) {
		nhictl_err("issue: unexpected argument '%s'", argv[optind + 1]);
		return CLI_USAGE;
	}
	if (strcmp(kind, "binding") != 0 && strcmp(kind, "account") != 0) {
		nhictl_err("issue: unknown kind '%s' (binding or account)",
		    kind);
		return CLI_USAGE;
	}
	if (!need(a.key, "key"))
		return CLI_USAGE;
	r = CLI_FAIL;
	if ((k = cli_seckey(a.key)) == NULL)
		goto out;
	if (strcmp(kind, "binding") == 0) {
		type = NHI_PT_BINDING;
		if ((json = binding_payload(&a, k)) == NULL)
			goto out;
		pr = nhi_binding_parse(json, strlen(json), &b, &e);
	} else {
		type = NHI_PT_ACCOUNT;
		if ((json = account_payload(&a, k)) == NULL)
			goto out;
		pr = nhi_account_parse(json, strlen(json), &acc, &e);
	}
	if (pr != 0) {
		nhictl_err("issue: %s", e.msg);
		goto out;
	}
	if ((env = nhi_dsse_sign(k, type, json, strlen(json))) == NULL) {
		nhictl_err("issue: signing failed");
		goto out;
	}
	printf("%s\n", env);
	r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	nhi_binding_free(b);
	nhi_account_free(acc);
	nhi_seckey_free(k);
	free(json);
	free(env);
	return r;
}

static const char publish_help[] =
    "usage: nhictl publish --key REGISTER.key [--version N]\n"
    "         --expires-in DURATION [--deny ID|owner:O|key:FP ...]\n"
    "         [--previous register.json] STATEMENT-FILE... > register.json\n"
    "Each STATEMENT-FILE holds signed statements, one per line ('-' reads\n"
    "standard input). The version defaults to the previous register's + 1\n"
    "(1 without --previous). The statements pass through a temporary file\n"
    "(in TMPDIR, else /tmp), so memory stays bounded by one line.\n";

static const struct option publish_opts[] = {
	{ "key", required_argument, NULL, O_KEY },
	{ "version", required_argument, NULL, O_VERSION },
	{ "expires-in", required_argument, NULL, O_EXPIRES_IN },
	{ "deny", required_argument, NULL, O_DENY },
	{ "previous", required_argument, NULL, O_PREVIOUS },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/*
 * The version of a register we published before. Its signature is not
 * checked here: the publisher's own file only suggests the next number,
 * and every host enforces that versions only go up.
 */
static int
previous_version(const char *path, int64_t *ret)
{
	struct nhi_envelope *env = NULL;
	json_object *o = NULL;
	struct nhi_err e;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = -1;

	if ((f = fopen(path, "re")) == NULL) {
		nhictl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if ((len = getline(&line, &cap, f)) <= 0) {
		nhictl_err("%s: empty file", path);
		goto out;
	}
	if (nhi_dsse_decode(line, (size_t)len, NHI_MAX_HEADER, &env, &e) != 0 ||
	    strcmp(env->payload_type, NHI_PT_REGISTER) != 0 ||
	    nhi_json_parse((const char *)env->payload, env->payload_len,
		NHI_MAX_HEADER, &o, &e) != 0 ||
	    nhi_json_int(o, "version", 1, INT64_MAX - 1, ret, &e) != 0) {
		nhictl_err("%s: not a register: %s", path, e.msg);
		goto out;
	}
	r = 0;
out:
	json_object_put(o);
	nhi_envelope_free(env);
	free(line);
	fclose(f);
	return r;
}

/*
 * A temporary file, unlinked at once, for the statements of every input:
 * the streaming writer reads it twice, which a pipe could not be.
 */
static FILE *
spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	FILE *f;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (asprintf(&path, "%s/nhictl-publish.XXXXXX", dir) < 0)
		return NULL;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0) {
		nhictl_err("publish: %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	(void)unlink(path);
	free(path);
	if ((f = fdopen(fd, "w+")) == NULL) {
		nhictl_err("publish: %s", strerror(errno));
		(void)close(fd);
	}
	return f;
}

int
cmd_publish(int argc, char **argv)
{
	const char *key = NULL, *ver = NULL, *exp = NULL, *prev = NULL;
	struct nhi_deny *deny = NULL, *nd;
	struct nhi_seckey *k = NULL;
	struct nhi_err e;
	FILE *spool = NULL;
	size_t n = 0, n_deny = 0, i;
	int64_t version = 1, expires, now = cli_now();
	int ch, r = CLI_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", publish_opts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: key = optarg; break;
		case O_VERSION: ver = optarg; break;
		case O_EXPIRES_IN: exp = optarg; break;
		case O_PREVIOUS: prev = optarg; break;
		case O_DENY:
			nd = realloc(deny, (n_deny + 1) * sizeof(*deny));
			if (nd == NULL)
				goto out;
			deny = nd;
			if (nhi_deny_parse(optarg, &deny[n_deny], &e) != 0) {
				nhictl_err("publish: --deny: %s", e.msg);
				goto out;
			}
			n_deny++;
			break;
		case O_HELP:
			r = cli_usage(publish_help, true);
			goto out;
		default:
			r = cli_usage(publish_help, false);
			goto out;
		}
	}
	if (key == NULL || exp == NULL) {
		nhictl_err("publish: --key and --expires-in are required");
		goto out;
	}
	if (nhi_parse_duration(exp, &expires) != 0 || expires <= 0) {
		nhictl_err("publish: --expires-in: bad duration '%s'", exp);
		goto out;
	}
	r = CLI_FAIL;
	if (ver != NULL) {
		if (nhi_parse_int(ver, 1, INT64_MAX - 1, &version) != 0) {
			nhictl_err("publish: --version: bad number '%s'", ver);
			goto out;
		}
	} else if (prev != NULL) {
		if (previous_version(prev, &version) != 0)
			goto out;
		version++;
	}
	if ((spool = spool_open()) == NULL)
		goto out;
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (cli_spool_statements(argv[i], spool, &n) != 0)
			goto out;
	if (fflush(spool) != 0 || ferror(spool)) {
		nhictl_err("publish: cannot spool the statements: %s",
		    strerror(errno));
		goto out;
	}
	rewind(spool);
	if ((k = cli_seckey(key)) == NULL)
		goto out;
	if (nhi_register_publish_stream(k, version, now, now + expires, deny,
	    n_deny, spool, stdout, &e) != 0) {
		nhictl_err("publish: %s", e.msg);
		goto out;
	}
	if (fflush(stdout) != 0) {
		nhictl_err("publish: writing the register: %s",
		    strerror(errno));
		goto out;
	}
	fprintf(stderr, "published version %" PRId64 ": %zu statements, "
	    "%zu deny entries\n", version, n, n_deny);
	r = CLI_OK;
out:
	if (spool != NULL)
		(void)fclose(spool);
	for (i = 0; i < n_deny; i++)
		free(deny[i].value);
	free(deny);
	nhi_seckey_free(k);
	return r;
}

static const char verify_help[] =
    "usage: nhictl verify [--config F | --pub KEY.pub] FILE\n"
    "Verifies a signed statement, or a register, and prints what it says.\n"
    "A register is read whole: its header's signature, and that its\n"
    "statement lines are as many as the header declares and match its\n"
    "statements_sha256. Keys come from the issuers and register keys of\n"
    "nhi.conf, or from --pub.\n";

static const struct option verify_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "pub", required_argument, NULL, O_PUB },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* The key for keyid, from --pub or the config. */
static const unsigned char *
verify_key(const struct nhi_conf *c, const unsigned char *pub,
    const char *keyid, bool reg)
{
	char id[NHI_KEYID_LEN + 1];
	const struct nhi_issuer *is;
	size_t i;

	if (pub != NULL) {
		nhi_keyid(pub, id);
		return strcmp(id, keyid) == 0 ? pub : NULL;
	}
	if (reg) {
		for (i = 0; i < c->n_register_keys; i++)
			if (strcmp(c->register_keys[i].keyid, keyid) == 0)
				return c->register_keys[i].pk;
		return NULL;
	}
	is = nhi_conf_issuer(c, keyid);
	return is != NULL ? is->key.pk : NULL;
}

/*
 * Reads a register whole after its header: the header's signature again,
 * then that the statement lines are as many as it declares and hash to
 * its statements_sha256, so a truncated or altered file fails here rather
 * than on every host. With pub, that key is the register key.
 */
static int
verify_register_body(FILE *f, const struct nhi_conf *c,
    const unsigned char *pub, const char *path, size_t *ret_n)
{
	struct nhi_register_header h;
	struct nhi_conf own;
	struct nhi_pubkey k;
	struct nhi_err e;

	if (pub != NULL) {
		memset(&own, 0, sizeof(own));
		memset(&k, 0, sizeof(k));
		memcpy(k.pk, pub, sizeof(k.pk));
		nhi_keyid(pub, k.keyid);
		own.register_keys = &k;
		own.n_register_keys = 1;
		c = &own;
	}
	memset(&h, 0, sizeof(h));
	if (fseeko(f, 0, SEEK_SET) != 0) {
		nhictl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (nhi_register_read(f, c, cli_now(), NULL, NULL, &h, NULL,
	    &e) != 0) {
		nhictl_err("%s: %s", path, e.msg);
		return -1;
	}
	*ret_n = h.n_statements;
	nhi_register_header_clear(&h);
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	const char *cpath = NULL, *pubpath = NULL;
	struct nhi_envelope *env = NULL;
	struct nhi_conf *c = NULL;
	const unsigned char *pk;
	unsigned char pub[NHI_PK_LEN];
	json_object *o = NULL;
	struct nhi_err e;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = NULL;
	struct stat st;
	size_t n = 0;
	bool reg;
	int ch, fd, r = CLI_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", verify_opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_PUB: pubpath = optarg; break;
		case O_HELP: return cli_usage(verify_help, true);
		default: return cli_usage(verify_help, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage(verify_help, false);
	r = CLI_FAIL;
	if (nhi_crypto_init() != 0)
		goto out;
	if (pubpath != NULL) {
		if (nhi_pubkey_load(pubpath, pub, &e) != 0) {
			nhictl_err("%s", e.msg);
			goto out;
		}
	} else if ((c = cli_conf(cpath)) == NULL) {
		goto out;
	}
	/*
	 * A regular file: a FIFO would wait for a writer, a device could
	 * feed getline forever, and a register is read twice.
	 */
	if ((fd = nhi_open_regular(argv[optind], &st, &e)) < 0) {
		nhictl_err("%s", e.msg);
		goto out;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		nhictl_err("%s: %s", argv[optind], strerror(errno));
		(void)close(fd);
		goto out;
	}
	/* A register's first line is its header; a statement is one line. */
	if ((len = getline(&line, &cap, f)) <= 0) {
		nhictl_err("%s: empty file", argv[optind]);
		goto out;
	}
	if (nhi_dsse_decode(line, (size_t)len, NHI_MAX_HEADER, &env, &e) != 0) {
		nhictl_err("%s: %s", argv[optind], e.msg);
		goto out;
	}
	reg = strcmp(env->payload_type, NHI_PT_REGISTER) == 0;
	pk = verify_key(c, pubpath != NULL ? pub : NULL, env->keyid, reg);
	if (pk == NULL) {
		nhictl_err("%s: signed by key %s, which is not trusted here",
		    argv[optind], env->keyid);
		goto out;
	}
	if (nhi_dsse_verify(env, pk, NULL, &e) != 0) {
		nhictl_err("%s: %s", argv[optind], e.msg);
		goto out;
	}
	if (nhi_json_parse((const char *)env->payload, env->payload_len,
		NHI_MAX_HEADER, &o, &e) != 0) {
		nhictl_err("%s: payload: %s", argv[optind], e.msg);
		goto out;
	}
	if (reg && verify_register_body(f, c, pubpath != NULL ? pub : NULL,
	    argv[optind], &n) != 0)
		goto out;
	printf("signature: good (key %s)\ntype: %s\n%s\n", env->keyid,
	    env->payload_type,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		JSON_C_TO_STRING_NOSLASHESCAPE));
	if (reg)
		printf("statements: %zu, matching statements_sha256 (nhictl "
		    "sync verifies each against its issuer)\n", n);
	r = CLI_OK;
out:
	json_object_put(o);
	nhi_envelope_free(env);
	nhi_conf_free(c);
	free(line);
	if (f != NULL)
		fclose(f);
	return r;
}
