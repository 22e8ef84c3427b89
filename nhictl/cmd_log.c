/*
 * cmd_log.c: nhictl log verify | show, over the decision log (dlog.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dlog.h"
#include "jsonx.h"
#include "keys.h"
#include "nhictl.h"
#include "util.h"

enum {
	O_CONFIG = 256, O_KEY, O_HEAD, O_NO_HEAD, O_ACCOUNT, O_OWNER,
	O_BINDING, O_SINCE, O_UNTIL, O_KIND, O_JSON, O_HELP,
};

static const char log_help[] =
    "usage: nhictl log verify [--config F] [--key PUB] [--head F | --no-head]\n"
    "                         [FILE]\n"
    "       nhictl log show [--config F] [--account A] [--owner O]\n"
    "                       [--binding B] [--since T] [--until T]\n"
    "                       [--kind K] [--json] [FILE...]\n"
    "verify checks the hash chain of the decision log and the signatures\n"
    "of its checkpoints, and reports the first record edited, dropped,\n"
    "reordered or inserted, and a tail cut after a checkpoint. Without\n"
    "FILE it checks every file in log_dir, oldest first, and the links\n"
    "between them. show prints the records readably, filtered.\n"
    "Exit status: 0 intact (or records shown); 1 tampering found;\n"
    "2 usage or unreadable files.\n";

/* The log files of dir, oldest first: rotated ones, then the live one. */
struct files {
	char **v;
	size_t n;
};

static void
files_free(struct files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* Appends p, taking it in either case. */
static int
files_push(struct files *f, char *p)
{
	char **nv;

	if (p == NULL ||
	    (nv = realloc(f->v, (f->n + 1) * sizeof(*nv))) == NULL) {
		free(p);
		return -1;
	}
	f->v = nv;
	f->v[f->n++] = p;
	return 0;
}

static int
files_add(struct files *f, const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return -1;
	return files_push(f, p);
}

static bool
is_rotated(const char *name)
{
	size_t n = sizeof(NHI_DLOG_FILE);	/* the name and its '.' */

	return strncmp(name, NHI_DLOG_FILE ".", n) == 0 &&
	    strlen(name + n) == 12 && strspn(name + n, "0123456789") == 12;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
log_files(const char *dir, struct files *f)
{
	struct dirent *d;
	struct stat st;
	DIR *dp;
	char *live;

	memset(f, 0, sizeof(*f));
	if ((dp = opendir(dir)) == NULL) {
		nhictl_err("log: %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((d = readdir(dp)) != NULL)
		if (is_rotated(d->d_name) && files_add(f, dir, d->d_name) != 0)
			break;
	(void)closedir(dp);
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), cmp_str);
	if (asprintf(&live, "%s/%s", dir, NHI_DLOG_FILE) < 0)
		return -1;
	if (stat(live, &st) == 0 && files_add(f, dir, NHI_DLOG_FILE) != 0) {
		free(live);
		return -1;
	}
	free(live);
	if (f->n == 0) {
		nhictl_err("log: no decision log in %s", dir);
		return -1;
	}
	return 0;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

static void
print_report(const char *path, const struct nhi_dlog_report *r)
{
	if (r->fault != NHI_DLOG_OK) {
		printf("%s: %s at line %zu", path,
		    nhi_dlog_fault_name(r->fault), r->line);
		if (r->seq >= 0)
			printf(" (seq %" PRId64 ")", r->seq);
		printf(": %s\n", r->detail);
		return;
	}
	printf("%s: intact: %zu records, seq %" PRId64 "..%" PRId64 ", "
	    "begins with a %s record\n", path, r->n_records, r->first_seq,
	    r->last_seq, r->first_kind);
	if (r->n_checkpoints == 0)
		printf("  no checkpoint%s\n", r->signatures_checked ? "" :
		    " checked (no key)");
	else
		printf("  %zu checkpoints%s, the last at seq %" PRId64 "\n",
		    r->n_checkpoints, r->signatures_checked ? " verified" :
		    " (signatures not checked: no key)", r->last_checkpoint);
	if (r->after_checkpoint > 0)
		printf("  %zu records after the last checkpoint: a cut among "
		    "them could not be told\n", r->after_checkpoint);
	if (r->head_seq >= 0)
		printf("  the host's newest checkpoint (seq %" PRId64 ") is "
		    "%s\n", r->head_seq, r->head_seq < r->first_seq ?
		    "in an earlier file" : "present: the tail is whole");
}

/* The rotated file's link must hold the hash of the file before it. */
static bool
link_ok(const char *prev_path, const struct nhi_dlog_report *prev,
    const char *path, const struct nhi_dlog_report *r)
{
	if (strcmp(r->first_kind, "link") == 0 &&
	    strcmp(r->prev_file, base_name(prev_path)) == 0 &&
	    strcmp(r->first_prev, prev->last_hash) == 0 &&
	    r->first_seq == prev->last_seq + 1)
		return true;
	printf("%s: does not follow %s: its first record is a %s record "
	    "for '%s' with another hash or seq (the files were edited, "
	    "dropped or replaced)\n", path, prev_path, r->first_kind,
	    r->prev_file);
	return false;
}

/*
 * A FILE can be checked away from its host, without any config; the
 * host's own config (and so its key and head) is used when there is one.
 */
static bool
has_default_conf(void)
{
	const char *p = getenv("NHI_CONFIG");
	struct stat st;

	return stat(p != NULL && *p != '\0' ? p : NHI_DEFAULT_CONFIG,
	    &st) == 0;
}

static int
cmd_verify_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "key", required_argument, NULL, O_KEY },
		{ "head", required_argument, NULL, O_HEAD },
		{ "no-head", no_argument, NULL, O_NO_HEAD },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cpath = NULL, *keypath = NULL, *head = NULL, *file = NULL;
	struct nhi_dlog_report r, prev;
	unsigned char pk[NHI_PK_LEN];
	struct nhi_conf *c = NULL;
	struct files f = { NULL, 0 };
	char *defkey = NULL, *defhead = NULL;
	bool no_head = false, have_pk = false, bad = false;
	struct nhi_err e;
	size_t i;
	int ch, ret = CLI_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_KEY: keypath = optarg; break;
		case O_HEAD: head = optarg; break;
		case O_NO_HEAD: no_head = true; break;
		case O_HELP: return cli_usage(log_help, true);
		default: return cli_usage(log_help, false);
		}
	}
	if (argc - optind > 1)
		return cli_usage(log_help, false);
	if (optind < argc)
		file = argv[optind];

	ret = 2;
	if ((file == NULL || cpath != NULL || has_default_conf()) &&
	    (c = cli_conf(cpath)) == NULL)
		goto out;
	if (c != NULL && (asprintf(&defkey, "%s/%s.pub", c->state_dir,
	    NHI_DLOG_KEY) < 0 || asprintf(&defhead, "%s/%s", c->state_dir,
	    NHI_DLOG_HEAD) < 0)) {
		defkey = defhead = NULL;
		goto out;
	}
	if (keypath == NULL)
		keypath = defkey;
	if (keypath != NULL) {
		if (nhi_pubkey_load(keypath, pk, &e) == 0)
			have_pk = true;
		else
			fprintf(stderr, "nhictl: log: %s; checkpoint "
			    "signatures are not checked\n", e.msg);
	}
	/* The host's head describes the live file, not a rotated one. */
	if (head == NULL && !no_head && (file == NULL ||
	    strcmp(base_name(file), NHI_DLOG_FILE) == 0))
		head = defhead;
	if (no_head)
		head = NULL;

	if (file != NULL) {
		if (files_push(&f, strdup(file)) != 0)
			goto out;
	} else if (log_files(c->log_dir, &f) != 0) {
		goto out;
	}
	for (i = 0; i < f.n; i++) {
		if (nhi_dlog_verify_file(f.v[i], have_pk ? pk : NULL,
		    i + 1 == f.n ? head : NULL, &r, &e) != 0) {
			nhictl_err("log verify: %s", e.msg);
			goto out;
		}
		print_report(f.v[i], &r);
		if (r.head_bad)
			printf("%s: the host's copy of its newest checkpoint "
			    "(%s) is damaged: whether the tail was cut cannot "
			    "be told\n", f.v[i], head);
		if (r.fault != NHI_DLOG_OK || r.head_bad)
			bad = true;
		else if (i > 0 && prev.fault == NHI_DLOG_OK &&
		    !link_ok(f.v[i - 1], &prev, f.v[i], &r))
			bad = true;
		prev = r;
	}
	ret = bad ? CLI_FAIL : CLI_OK;
out:
	files_free(&f);
	free(defkey);
	free(defhead);
	nhi_conf_free(c);
	return ret;
}

struct filter {
	const char *account, *owner, *binding, *kind;
	int64_t since, until;	/* 0: no bound */
	bool json;
};

/* A string member, or NULL when absent or not a string. */
static const char *
member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
same(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static bool
wanted(const struct filter *fl, json_object *o)
{
	const char *t = member(o, "time");
	int64_t when;

	if (!same(fl->account, member(o, "account")) ||
	    !same(fl->owner, member(o, "owner")) ||
	    !same(fl->binding, member(o, "binding")) ||
	    !same(fl->kind, member(o, "kind")))
		return false;
	if (fl->since == 0 && fl->until == 0)
		return true;
	if (t == NULL || nhi_parse_time(t, 0, &when) != 0)
		return false;
	return (fl->since == 0 || when >= fl->since) &&
	    (fl->until == 0 || when < fl->until);
}

/* " key=value" for each member present, escaped for the terminal. */
static void
print_fields(json_object *o, const char *const *keys)
{
	char esc[NHI_MAX_FIELD * 4 + 8];
	json_object *v;
	size_t i;

	for (i = 0; keys[i] != NULL; i++) {
		if (!json_object_object_get_ex(o, keys[i], &v) ||
		    json_object_is_type(v, json_type_null))
			continue;
		nhi_escape(json_object_get_string(v), NHI_MAX_FIELD, esc,
		    sizeof(esc));
		printf(" %s=%s", keys[i], esc);
	}
}

static void
print_record(json_object *o)
{
	static const char *const decision[] = { "account", "invoker", "owner",
		"binding", "approver", "ticket", "not_after", "key", "rhost",
		"tty", "register", "ses", "pid", NULL };
	static const char *const sync[] = { "register", "sha256", "source",
		"reason", "detail", NULL };
	static const char *const other[] = { "prev_file", "key", "head_seq",
		"log_seq", NULL };
	const char *kind = member(o, "kind"), *v;
	char esc[NHI_MAX_FIELD * 4 + 8];
	json_object *seq;

	(void)json_object_object_get_ex(o, "seq", &seq);
	nhi_escape(member(o, "time") != NULL ? member(o, "time") : "?", 32,
	    esc, sizeof(esc));
	printf("%s #%s %s", esc, seq != NULL ? json_object_get_string(seq) :
	    "?", kind != NULL ? kind : "?");
	if (kind != NULL && strcmp(kind, "decision") == 0) {
		nhi_escape((v = member(o, "result")) != NULL ? v : "?", 16,
		    esc, sizeof(esc));
		printf(" %s", esc);
		nhi_escape((v = member(o, "service")) != NULL ? v : "?",
		    NHI_MAX_NAME, esc, sizeof(esc));
		printf(" %s", esc);
		nhi_escape((v = member(o, "stage")) != NULL ? v : "?", 16,
		    esc, sizeof(esc));
		printf("/%s", esc);
		print_fields(o, decision);
		nhi_escape((v = member(o, "reason")) != NULL ? v : "?", 64,
		    esc, sizeof(esc));
		printf(" (%s)\n", esc);
	} else if (kind != NULL && strcmp(kind, "sync") == 0) {
		nhi_escape((v = member(o, "result")) != NULL ? v : "?", 16,
		    esc, sizeof(esc));
		printf(" %s", esc);
		print_fields(o, sync);
		printf("\n");
	} else {
		print_fields(o, other);
		printf("\n");
	}
}

static int
show_file(const char *path, const struct filter *fl)
{
	char *buf = NULL, *p, *nl;
	json_object *o;
	size_t len = 0, n = 0;

	if (nhi_read_file(path, (size_t)1 << 30, &buf, &len) != 0) {
		nhictl_err("log show: %s: %s", path, strerror(errno));
		return -1;
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		n++;
		o = NULL;
		if (nhi_json_parse(p, (size_t)(nl - p), NHI_DLOG_MAX_LINE, &o,
		    NULL) != 0) {
			printf("%s:%zu: not a record\n", path, n);
			continue;
		}
		if (wanted(fl, o)) {
			if (fl->json)
				printf("%.*s\n", (int)(nl - p), p);
			else
				print_record(o);
		}
		json_object_put(o);
	}
	free(buf);
	return 0;
}

/* The record kinds the decision log holds, for --kind. */
static bool
known_kind(const char *k)
{
	static const char *const kinds[] = { "decision", "sync",
		"checkpoint", "start", "link", "cut", NULL };
	size_t i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(k, kinds[i]) == 0)
			return true;
	return false;
}

static int
cmd_show_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "account", required_argument, NULL, O_ACCOUNT },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "binding", required_argument, NULL, O_BINDING },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "kind", required_argument, NULL, O_KIND },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct filter fl = { NULL, NULL, NULL, NULL, 0, 0, false };
	const char *cpath = NULL, *since = NULL, *until = NULL;
	struct files f = { NULL, 0 };
	struct nhi_conf *c = NULL;
	int64_t now = cli_now();
	size_t i;
	int ch, ret = CLI_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: cpath = optarg; break;
		case O_ACCOUNT: fl.account = optarg; break;
		case O_OWNER: fl.owner = optarg; break;
		case O_BINDING: fl.binding = optarg; break;
		case O_KIND: fl.kind = optarg; break;
		case O_SINCE: since = optarg; break;
		case O_UNTIL: until = optarg; break;
		case O_JSON: fl.json = true; break;
		case O_HELP: return cli_usage(log_help, true);
		default: return cli_usage(log_help, false);
		}
	}
	if (fl.kind != NULL && !known_kind(fl.kind)) {
		nhictl_err("log show: unknown --kind '%s' (decision, sync, "
		    "checkpoint, start, link or cut)", fl.kind);
		return CLI_USAGE;
	}
	if ((since != NULL && nhi_parse_time(since, now, &fl.since) != 0) ||
	    (until != NULL && nhi_parse_time(until, now, &fl.until) != 0)) {
		nhictl_err("log show: bad time (want YYYY-MM-DD[THH:MM:SSZ], "
		    "@SECONDS or now)");
		return CLI_USAGE;
	}
	ret = 2;
	if (optind == argc) {
		if ((c = cli_conf(cpath)) == NULL ||
		    log_files(c->log_dir, &f) != 0)
			goto out;
	} else {
		for (i = (size_t)optind; i < (size_t)argc; i++)
			if (files_push(&f, strdup(argv[i])) != 0)
				goto out;
	}
	for (i = 0; i < f.n; i++)
		if (show_file(f.v[i], &fl) != 0)
			goto out;
	ret = CLI_OK;
out:
	files_free(&f);
	nhi_conf_free(c);
	return ret;
}

int
cmd_log(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cmd_verify_log(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_show_log(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return cli_usage(log_help, true);
	return cli_usage(log_help, false);
}
