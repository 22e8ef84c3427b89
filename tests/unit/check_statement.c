/* check_statement.c: strict JSON, bindings, accounts, opening, CIDRs. */
#include "config.h"

#include <sodium.h>

#include "dsse.h"
#include "jsonx.h"
#include "keys.h"
#include "statement.h"
#include "testutil.h"
#include "util.h"

#define SSH_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIIfHUi7AAuEwM34B649XKxeLpriO5hY1WJNb" \
    "Awmn7Hl0"
#define SSH_KEY "ssh-ed25519 " SSH_B64
#define SSH_FP "SHA256:CzIexMaMag1kDLr2p07cnrS2/q65eIL9Z/yuwjirq6M"
#define KEYID "0123456789abcdef"

static const char good_binding[] =
    "{\"id\":\"b-1\",\"account\":\"deploy\","
    "\"credential\":{\"kind\":\"ssh-key\",\"key\":\"" SSH_KEY " x\"},"
    "\"hosts\":[\"web-*\",\"@prod\"],\"services\":[\"sshd\",\"*\"],"
    "\"not_before\":1700000000,\"not_after\":1700003600,"
    "\"owner\":\"alice@example.org\",\"approver\":\"bob@example.org\","
    "\"ticket\":\"CHG-1\",\"issued_at\":1699999999,"
    "\"issuer\":\"" KEYID "\",\"source\":[\"10.0.0.0/8\",\"2001:db8::/32\"],"
    "\"max_session\":3600}";

static const char good_account[] =
    "{\"name\":\"nhi-7f3a2c\",\"uid\":70001,\"gid\":70001,"
    "\"owner\":\"alice@example.org\",\"issued_at\":1700000000,"
    "\"issuer\":\"" KEYID "\",\"description\":\"CI robot \xc3\xa9\","
    "\"home\":\"/var/lib/robot\",\"shell\":\"/bin/sh\","
    "\"groups\":[\"docker\",\"ci\"],\"recertify_by\":1800000000}";

/* Returns base with field replaced by raw JSON (NULL: removed). */
static char *
mutate(const char *base, const char *field, const char *raw)
{
	json_object *o = json_tokener_parse(base);
	char *s;

	ck_assert_ptr_nonnull(o);
	if (raw == NULL)
		json_object_object_del(o, field);
	else
		json_object_object_add(o, field, json_tokener_parse(raw));
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* Strict JSON: what json-c would accept and nhi_json_parse must not. */
struct raw_case {
	const char *text;
	const char *why;
};

static const struct raw_case bad_json[] = {
	{ "{\"a\":1,\"a\":2}", "duplicate key" },
	{ "{\"a\":{\"b\":1,\"b\":1}}", "duplicate key" },
	{ "{\"a\":[{\"x\":1},{\"y\":2,\"y\":3}]}", "duplicate key" },
	{ "{\"a\":\"x\\u0000y\"}", "NUL" },
	{ "{\"a\\u0000b\":1}", "NUL" },
	{ "{\"a\":99999999999999999999}", "64-bit range" },
	{ "{\"a\":9223372036854775808}", "64-bit range" },
	{ "{\"a\":-9223372036854775809}", "64-bit range" },
	{ "{\"a\":NaN}", "invalid JSON" },
	{ "{\"a\":Infinity}", "invalid JSON" },
	{ "{'a':1}", "invalid JSON" },
	{ "{\"a\":1} x", "invalid JSON" },
	{ "{\"a\":1,}", "invalid JSON" },
	{ "{\"a\":01}", "invalid JSON" },
	{ "{\"a\":1", "truncated" },
	{ "", "truncated" },
	{ "[]", "expected a JSON object" },
	{ "\"x\"", "expected a JSON object" },
	{ "{\"a\":[[[[[[[[1]]]]]]]]}", "nested deeper" },
	{ "{\"a\":\"\xff\"}", "invalid JSON" },
};

START_TEST(json_parse_rejects)
{
	const struct raw_case *c = &bad_json[_i];
	json_object *o = NULL;
	struct nhi_err e;

	ck_assert_int_eq(nhi_json_parse(c->text, strlen(c->text), 4096, &o,
	    &e), -1);
	ck_assert_ptr_null(o);
	ck_assert_msg(strstr(e.msg, c->why) != NULL, "case %d: %s", _i, e.msg);
}
END_TEST

START_TEST(json_parse_accepts_what_is_strict)
{
	static const char *const ok[] = {
		"{}", " {\"a\":1} \n", "{\"a\":\"x:y\",\"b\":\"\\\":\"}",
		"{\"a\":[[[[[[1]]]]]]}", "{\"a\":\"\\\\u0000\"}",
		"{\"a\":-9223372036854775808,\"b\":1.5e3,\"c\":null}",
		"{\"a\":true,\"b\":false}",
	};
	json_object *o;
	struct nhi_err e;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(nhi_json_parse(ok[i], strlen(ok[i]), 4096, &o,
		    &e) == 0, "%s: %s", ok[i], e.msg);
		json_object_put(o);
	}
}
END_TEST

START_TEST(json_parse_limits_size_and_raw_nul)
{
	json_object *o = NULL;
	struct nhi_err e;

	ck_assert_int_eq(nhi_json_parse("{\"a\":1}", 7, 6, &o, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "too large"));
	ck_assert_int_eq(nhi_json_parse("{\"a\":1}\0", 8, 100, &o, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(json_field_readers)
{
	const char *t = "{\"s\":\"x\",\"i\":5,\"n\":null,\"l\":[\"a\",\"b\"],"
	    "\"d\":1.0,\"c\":\"a\\nb\",\"el\":[],\"bl\":[\"a\",1]}";
	struct nhi_strv sv = { NULL, 0 };
	json_object *o;
	struct nhi_err e;
	int64_t v = 77;
	char *s = NULL;

	ck_assert_int_eq(nhi_json_parse(t, strlen(t), 4096, &o, &e), 0);
	ck_assert_int_eq(nhi_json_str(o, "s", NULL, &s, &e), 0);
	ck_assert_str_eq(s, "x");
	free(s);
	s = NULL;
	ck_assert_int_eq(nhi_json_str(o, "i", NULL, &s, &e), -1);
	ck_assert_str_eq(e.msg, "i: expected string");
	ck_assert_int_eq(nhi_json_str(o, "zz", NULL, &s, &e), -1);
	ck_assert_str_eq(e.msg, "zz: missing");
	ck_assert_int_eq(nhi_json_opt_str(o, "zz", NULL, &s, &e), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(nhi_json_opt_str(o, "n", NULL, &s, &e), -1);
	ck_assert_str_eq(e.msg, "n: null is not allowed");
	ck_assert_int_eq(nhi_json_str(o, "c", NULL, &s, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "c: invalid value"));
	ck_assert_int_eq(nhi_json_str(o, "s", nhi_valid_path, &s, &e), -1);

	ck_assert_int_eq(nhi_json_int(o, "i", 0, 10, &v, &e), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(nhi_json_int(o, "i", 6, 10, &v, &e), -1);
	ck_assert_str_eq(e.msg, "i: 5 out of range [6, 10]");
	ck_assert_int_eq(nhi_json_int(o, "s", 0, 10, &v, &e), -1);
	ck_assert_str_eq(e.msg, "s: expected integer");
	ck_assert_int_eq(nhi_json_int(o, "d", 0, 10, &v, &e), -1);
	ck_assert_str_eq(e.msg, "d: expected integer");
	v = 77;
	ck_assert_int_eq(nhi_json_opt_int(o, "zz", 0, 10, &v, &e), 0);
	ck_assert_int_eq(v, 77);
	ck_assert_int_eq(nhi_json_opt_int(o, "n", 0, 10, &v, &e), -1);

	ck_assert_int_eq(nhi_json_strv(o, "l", nhi_valid_name, &sv, &e), 0);
	ck_assert_uint_eq(sv.n, 2);
	nhi_strv_free(&sv);
	ck_assert_int_eq(nhi_json_strv(o, "el", NULL, &sv, &e), -1);
	ck_assert_str_eq(e.msg, "el: empty list");
	ck_assert_int_eq(nhi_json_strv(o, "bl", NULL, &sv, &e), -1);
	ck_assert_str_eq(e.msg, "bl[1]: expected string");
	ck_assert_int_eq(nhi_json_strv(o, "s", NULL, &sv, &e), -1);
	ck_assert_str_eq(e.msg, "s: expected array");
	ck_assert_int_eq(nhi_json_opt_strv(o, "zz", NULL, &sv, &e), 0);
	ck_assert_ptr_null(sv.v);

	{
		static const char *const only[] = { "s", "i", NULL };

		ck_assert_int_eq(nhi_json_only(o, only, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "unknown field"));
	}
	json_object_put(o);
}
END_TEST

START_TEST(binding_parses_every_field)
{
	struct nhi_binding *b = NULL;
	struct nhi_err e;

	ck_assert_msg(nhi_binding_parse(good_binding, strlen(good_binding),
	    &b, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(b->id, "b-1");
	ck_assert_str_eq(b->account, "deploy");
	ck_assert_int_eq(b->cred_kind, NHI_CRED_SSH_KEY);
	ck_assert_str_eq(b->cred_key, SSH_KEY " x");
	ck_assert_str_eq(b->cred_fp, SSH_FP);
	ck_assert_ptr_null(b->cred_user);
	ck_assert_uint_eq(b->hosts.n, 2);
	ck_assert_str_eq(b->hosts.v[1], "@prod");
	ck_assert_uint_eq(b->services.n, 2);
	ck_assert_int_eq(b->not_before, 1700000000);
	ck_assert_int_eq(b->not_after, 1700003600);
	ck_assert_int_eq(b->issued_at, 1699999999);
	ck_assert_str_eq(b->owner, "alice@example.org");
	ck_assert_str_eq(b->approver, "bob@example.org");
	ck_assert_str_eq(b->ticket, "CHG-1");
	ck_assert_str_eq(b->issuer, KEYID);
	ck_assert_uint_eq(b->source.n, 2);
	ck_assert_int_eq(b->max_session, 3600);
	ck_assert(!b->revoked);
	nhi_binding_free(b);
	nhi_binding_free(NULL);
}
END_TEST

START_TEST(binding_optional_fields_and_other_credentials)
{
	struct nhi_binding *b = NULL;
	struct nhi_err e;
	char *t, *u;

	t = mutate(good_binding, "source", NULL);
	u = mutate(t, "max_session", NULL);
	free(t);
	t = mutate(u, "credential", "{\"kind\":\"user\",\"user\":\"carol\"}");
	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), 0);
	ck_assert_int_eq(b->cred_kind, NHI_CRED_USER);
	ck_assert_str_eq(b->cred_user, "carol");
	ck_assert_str_eq(b->cred_fp, "");
	ck_assert_uint_eq(b->source.n, 0);
	ck_assert_int_eq(b->max_session, 0);
	nhi_binding_free(b);
	free(t);
	t = mutate(u, "credential", "{\"kind\":\"checkout\"}");
	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), 0);
	ck_assert_int_eq(b->cred_kind, NHI_CRED_CHECKOUT);
	nhi_binding_free(b);
	free(t);
	free(u);
}
END_TEST

struct field_case {
	const char *field;
	const char *raw;	/* NULL: removed */
	const char *why;
};

static const struct field_case bad_bindings[] = {
	{ "id", NULL, "id: missing" },
	{ "id", "7", "id: expected string" },
	{ "id", "\"has space\"", "id: invalid value" },
	{ "id", "\"-lead\"", "id: invalid value" },
	{ "account", "\"root:x\"", "account: invalid value" },
	{ "account", "\"-root\"", "account: invalid value" },
	{ "account", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	    "account: invalid value" },
	{ "account", "null", "account: null" },
	{ "account", "[\"deploy\"]", "account: expected string" },
	{ "credential", NULL, "credential: missing" },
	{ "credential", "\"ssh-key\"", "credential: expected object" },
	{ "credential", "{\"kind\":\"token\"}", "credential: kind:" },
	{ "credential", "{\"key\":\"x\"}", "credential: kind: missing" },
	{ "credential", "{\"kind\":\"ssh-key\"}", "credential: key: missing" },
	{ "credential", "{\"kind\":\"ssh-key\",\"key\":\"ssh-ed25519 AAAA\"}",
	    "credential: ssh key" },
	{ "credential", "{\"kind\":\"ssh-key\",\"key\":\"ssh-rsa " SSH_B64
	    "\"}", "credential: ssh key: malformed" },
	{ "credential", "{\"kind\":\"user\"}", "credential: user: missing" },
	{ "credential", "{\"kind\":\"user\",\"user\":\"a b\"}",
	    "credential: user: invalid" },
	{ "credential", "{\"kind\":\"checkout\",\"user\":\"x\"}",
	    "credential: user: unknown field" },
	{ "hosts", "[]", "hosts: empty list" },
	{ "hosts", "\"web\"", "hosts: expected array" },
	{ "hosts", "[\"web 1\"]", "hosts[0]: invalid value" },
	{ "hosts", "[\"a@b\"]", "hosts[0]: invalid value" },
	{ "hosts", "[\"@bad group\"]", "hosts[0]: invalid value" },
	{ "hosts", "[\"ok\",3]", "hosts[1]: expected string" },
	{ "services", "[\"ss hd\"]", "services[0]: invalid value" },
	{ "services", NULL, "services: missing" },
	{ "not_before", "\"1700000000\"", "not_before: expected integer" },
	{ "not_before", "1.5", "not_before: expected integer" },
	{ "not_before", "-1", "not_before: -1 out of range" },
	{ "not_after", "253402300800", "not_after: 253402300800 out of range" },
	{ "not_after", "1700000000", "must be later than not_before" },
	{ "not_after", "1699999999", "must be later than not_before" },
	{ "owner", "\"bob@example.org\"", "approver: must not be the owner" },
	{ "owner", "\"a:b\"", "owner: invalid value" },
	{ "approver", "\"\"", "approver: invalid value" },
	{ "ticket", "\"CHG 1\"", "ticket: invalid value" },
	{ "ticket", NULL, "ticket: missing" },
	{ "issued_at", "true", "issued_at: expected integer" },
	{ "issuer", "\"0123456789ABCDEF\"", "issuer: invalid value" },
	{ "issuer", "\"0123\"", "issuer: invalid value" },
	{ "source", "[\"10.0.0.0/33\"]", "source[0]: invalid value" },
	{ "source", "[\"10.0.0.1/8\"]", "source[0]: invalid value" },
	{ "source", "[\"example.org\"]", "source[0]: invalid value" },
	{ "source", "[]", "source: empty list" },
	{ "source", "null", "source: null" },
	{ "max_session", "0", "max_session: 0 out of range" },
	{ "max_session", "\"1h\"", "max_session: expected integer" },
	{ "extra", "1", "extra: unknown field" },
};

START_TEST(binding_rejects_bad_field)
{
	const struct field_case *c = &bad_bindings[_i];
	struct nhi_binding *b = NULL;
	struct nhi_err e;
	char *t = mutate(good_binding, c->field, c->raw);

	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), -1);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(e.msg, c->why) != NULL, "case %d: \"%s\"", _i,
	    e.msg);
	free(t);
}
END_TEST

START_TEST(binding_rejects_raw_malformations)
{
	struct nhi_binding *b = NULL;
	struct nhi_err e;
	struct nhi_buf big = { NULL, 0, 0 };
	char *t;

	/* A repeated key: json-c would silently keep the second owner. */
	ck_assert_int_ge(asprintf(&t, "{\"owner\":\"mallory\",%s",
	    good_binding + 1), 0);
	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "duplicate key"));
	free(t);

	/* An owner cut short by NUL would name someone else in C. */
	t = mutate(good_binding, "owner", "\"alice\\u0000@evil\"");
	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
	free(t);

	t = mutate(good_binding, "max_session", "18446744073709551616");
	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "64-bit range"));
	free(t);

	t = mutate(good_binding, "extra", "[[[[[[[[[1]]]]]]]]]");
	ck_assert_int_eq(nhi_binding_parse(t, strlen(t), &b, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "nested deeper"));
	free(t);

	ck_assert_int_eq(nhi_buf_adds(&big, "{\"id\":\""), 0);
	while (big.len < NHI_MAX_STATEMENT)
		ck_assert_int_eq(nhi_buf_adds(&big, "aaaaaaaaaaaaaaaa"), 0);
	ck_assert_int_eq(nhi_buf_adds(&big, "\"}"), 0);
	ck_assert_int_eq(nhi_binding_parse(big.s, big.len, &b, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "too large"));
	nhi_buf_free(&big);

	ck_assert_int_eq(nhi_binding_parse(good_binding,
	    strlen(good_binding) - 1, &b, &e), -1);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(account_parses_every_field)
{
	struct nhi_account *a = NULL;
	struct nhi_err e;
	char *t;

	ck_assert_msg(nhi_account_parse(good_account, strlen(good_account),
	    &a, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(a->name, "nhi-7f3a2c");
	ck_assert_uint_eq(a->uid, 70001);
	ck_assert_uint_eq(a->gid, 70001);
	ck_assert_str_eq(a->owner, "alice@example.org");
	ck_assert_str_eq(a->description, "CI robot \xc3\xa9");
	ck_assert_str_eq(a->home, "/var/lib/robot");
	ck_assert_str_eq(a->shell, "/bin/sh");
	ck_assert_uint_eq(a->groups.n, 2);
	ck_assert_int_eq(a->recertify_by, 1800000000);
	ck_assert_str_eq(a->issuer, KEYID);
	nhi_account_free(a);
	nhi_account_free(NULL);

	t = mutate(good_account, "description", NULL);
	free(t);
	t = strdup("{\"name\":\"x\",\"uid\":4294967294,\"gid\":1,"
	    "\"owner\":\"o\",\"issued_at\":0,\"issuer\":\"" KEYID "\"}");
	ck_assert_int_eq(nhi_account_parse(t, strlen(t), &a, &e), 0);
	ck_assert_uint_eq(a->uid, 4294967294U);
	ck_assert_ptr_null(a->description);
	ck_assert_ptr_null(a->home);
	ck_assert_uint_eq(a->groups.n, 0);
	ck_assert_int_eq(a->recertify_by, 0);
	nhi_account_free(a);
	free(t);
}
END_TEST

static const struct field_case bad_accounts[] = {
	{ "name", NULL, "name: missing" },
	{ "name", "\"Nhi 1\"", "name: invalid value" },
	{ "uid", "0", "uid: 0 out of range" },
	{ "uid", "4294967295", "uid: 4294967295 out of range" },
	{ "uid", "-70001", "out of range" },
	{ "uid", "\"70001\"", "uid: expected integer" },
	{ "gid", NULL, "gid: missing" },
	{ "owner", "\"\"", "owner: invalid value" },
	{ "description", "\"a:b\"", "description: invalid value" },
	{ "description", "\"bell\\u0007\"", "description: invalid value" },
	{ "description", "7", "description: expected string" },
	{ "home", "\"relative\"", "home: invalid value" },
	{ "home", "\"/a:b\"", "home: invalid value" },
	{ "shell", "\"/bin/sh\\n\"", "shell: invalid value" },
	{ "groups", "[\"ok\",\"not ok\"]", "groups[1]: invalid value" },
	{ "groups", "{}", "groups: expected array" },
	{ "recertify_by", "0", "recertify_by: 0 out of range" },
	{ "issuer", NULL, "issuer: missing" },
	{ "password", "\"x\"", "password: unknown field" },
};

START_TEST(account_rejects_bad_field)
{
	const struct field_case *c = &bad_accounts[_i];
	struct nhi_account *a = NULL;
	struct nhi_err e;
	char *t = mutate(good_account, c->field, c->raw);

	ck_assert_int_eq(nhi_account_parse(t, strlen(t), &a, &e), -1);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(e.msg, c->why) != NULL, "case %d: \"%s\"", _i,
	    e.msg);
	free(t);
}
END_TEST

START_TEST(account_rejects_too_many_groups)
{
	struct nhi_buf g = { NULL, 0, 0 };
	struct nhi_account *a = NULL;
	struct nhi_err e;
	char *t;
	int i;

	ck_assert_int_eq(nhi_buf_adds(&g, "["), 0);
	for (i = 0; i <= NHI_MAX_LIST; i++)
		ck_assert_int_eq(nhi_buf_addf(&g, "%s\"g%d\"", i ? "," : "", i),
		    0);
	ck_assert_int_eq(nhi_buf_adds(&g, "]"), 0);
	t = mutate(good_account, "groups", g.s);
	ck_assert_int_eq(nhi_account_parse(t, strlen(t), &a, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "groups: more than"));
	free(t);
	nhi_buf_free(&g);
}
END_TEST

START_TEST(json_round_trip_is_stable)
{
	struct nhi_binding *b = NULL, *b2 = NULL;
	struct nhi_account *a = NULL, *a2 = NULL;
	struct nhi_err e;
	char *t1, *t2;

	ck_assert_int_eq(nhi_binding_parse(good_binding, strlen(good_binding),
	    &b, &e), 0);
	t1 = nhi_binding_json(b);
	ck_assert_ptr_nonnull(t1);
	/* The order is the documented one, not a hash order. */
	ck_assert_int_eq(strncmp(t1, "{\"id\":\"b-1\",\"account\":\"deploy\","
	    "\"credential\":{\"kind\":\"ssh-key\",\"key\":", 64), 0);
	ck_assert_ptr_nonnull(strstr(t1, "\"max_session\":3600}"));
	ck_assert_int_eq(nhi_binding_parse(t1, strlen(t1), &b2, &e), 0);
	t2 = nhi_binding_json(b2);
	ck_assert_str_eq(t1, t2);
	ck_assert_str_eq(b2->cred_fp, SSH_FP);
	free(t1);
	free(t2);
	nhi_binding_free(b);
	nhi_binding_free(b2);

	ck_assert_int_eq(nhi_account_parse(good_account, strlen(good_account),
	    &a, &e), 0);
	t1 = nhi_account_json(a);
	ck_assert_int_eq(nhi_account_parse(t1, strlen(t1), &a2, &e), 0);
	t2 = nhi_account_json(a2);
	ck_assert_str_eq(t1, t2);
	ck_assert_int_eq(strncmp(t1, "{\"name\":\"nhi-7f3a2c\",\"uid\":70001,",
	    33), 0);
	free(t1);
	free(t2);
	nhi_account_free(a);
	nhi_account_free(a2);
}
END_TEST

/* Statement opening: a real issuer key and a key lookup callback. */
struct keyring {
	struct nhi_seckey *k;
	bool known;
};

static const unsigned char *
find_key(void *ctx, const char *keyid)
{
	struct keyring *kr = ctx;

	if (!kr->known || strcmp(keyid, kr->k->keyid) != 0)
		return NULL;
	return kr->k->pk;
}

static char *tmp;
static struct keyring ring;
static struct nhi_seckey *other;

static struct nhi_seckey *
load_key(const char *name)
{
	struct nhi_seckey *k;
	struct nhi_err e;
	char *base, *key;

	ck_assert_int_ge(asprintf(&base, "%s/%s", tmp, name), 0);
	ck_assert_int_ge(asprintf(&key, "%s.key", base), 0);
	ck_assert_int_eq(nhi_keygen(base, NULL, &e), 0);
	ck_assert_int_eq(nhi_seckey_load(key, &k, &e), 0);
	free(base);
	free(key);
	return k;
}

static void
keys_setup(void)
{
	ck_assert_int_eq(nhi_crypto_init(), 0);
	tmp = tu_tmpdir();
	ring.k = load_key("issuer");
	ring.known = true;
	other = load_key("other");
}

static void
keys_teardown(void)
{
	nhi_seckey_free(ring.k);
	nhi_seckey_free(other);
	tu_rmtree(tmp);
}

/* good_binding (or good_account) issued by k, signed by signer. */
static char *
signed_statement(const char *base, const char *type,
    const struct nhi_seckey *issuer, const struct nhi_seckey *signer)
{
	char *raw, *payload, *env;

	ck_assert_int_ge(asprintf(&raw, "\"%s\"", issuer->keyid), 0);
	payload = mutate(base, "issuer", raw);
	env = nhi_dsse_sign(signer, type, payload, strlen(payload));
	ck_assert_ptr_nonnull(env);
	free(raw);
	free(payload);
	return env;
}

START_TEST(open_binding_and_account)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	unsigned char h[32];
	struct nhi_err e;
	char *env;

	env = signed_statement(good_binding, NHI_PT_BINDING, ring.k, ring.k);
	ck_assert_msg(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e) == 0, "%s", e.msg);
	ck_assert_ptr_nonnull(st.binding);
	ck_assert_ptr_null(st.account);
	ck_assert_str_eq(st.binding->issuer, ring.k->keyid);
	crypto_hash_sha256(h, (unsigned char *)env, strlen(env));
	ck_assert_int_eq(memcmp(h, st.hash, 32), 0);
	nhi_statement_clear(&st);
	ck_assert_ptr_null(st.binding);
	free(env);

	env = signed_statement(good_account, NHI_PT_ACCOUNT, ring.k, ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), 0);
	ck_assert_ptr_null(st.binding);
	ck_assert_ptr_nonnull(st.account);
	ck_assert_str_eq(st.account->name, "nhi-7f3a2c");
	nhi_statement_clear(&st);
	nhi_statement_clear(NULL);
	free(env);
}
END_TEST

START_TEST(open_rejects_unknown_key_and_wrong_keyid)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_err e;
	char *env;

	/* Signed by a key the host does not trust. */
	env = signed_statement(good_binding, NHI_PT_BINDING, other, other);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a trusted issuer"));
	free(env);

	/* The payload names the trusted issuer, but another key signed. */
	env = signed_statement(good_binding, NHI_PT_BINDING, ring.k, other);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	free(env);

	/* Signed by the trusted key, but claiming another issuer. */
	env = signed_statement(good_binding, NHI_PT_BINDING, other, ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "is not the signing key"));
	ck_assert_ptr_null(st.binding);
	free(env);

	ring.known = false;
	env = signed_statement(good_binding, NHI_PT_BINDING, ring.k, ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ring.known = true;
	free(env);
}
END_TEST

/* Replaces the keyid in an envelope with another one. */
static char *
swap_keyid(const char *env, const char *from, const char *to)
{
	char *t = strdup(env), *p = strstr(t, from);

	ck_assert_ptr_nonnull(p);
	memcpy(p, to, strlen(to));
	return t;
}

START_TEST(open_rejects_forged_keyid)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_err e;
	char *env, *forged;

	/* other signs, then relabels its signature as the issuer's. */
	env = signed_statement(good_binding, NHI_PT_BINDING, ring.k, other);
	forged = swap_keyid(env, other->keyid, ring.k->keyid);
	ck_assert_int_eq(nhi_statement_open(forged, strlen(forged), find_key,
	    &ring, &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad signature"));
	free(forged);
	free(env);
}
END_TEST

START_TEST(open_rejects_wrong_payload_type)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_err e;
	char *env;

	/* A binding labelled as an account: verified, then fails to parse. */
	env = signed_statement(good_binding, NHI_PT_ACCOUNT, ring.k, ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "unknown field"));
	free(env);

	env = signed_statement(good_binding, NHI_PT_REGISTER, ring.k, ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "is not a statement"));
	free(env);

	env = signed_statement(good_binding, "application/json", ring.k,
	    ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "is not a statement"));
	free(env);
}
END_TEST

START_TEST(open_rejects_tampered_payload)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_envelope *dec = NULL;
	struct nhi_err e;
	char *env, *b64, *evil, *t;

	env = signed_statement(good_binding, NHI_PT_BINDING, ring.k, ring.k);
	ck_assert_int_eq(nhi_dsse_decode(env, strlen(env), 0, &dec, &e), 0);

	/* The same envelope with the owner changed in the payload. */
	t = mutate((char *)dec->payload, "owner", "\"mallory\"");
	b64 = nhi_b64_encode(t, strlen(t));
	evil = nhi_b64_encode(dec->payload, dec->payload_len);
	{
		char *p = strstr(env, evil), *forged;

		ck_assert_ptr_nonnull(p);
		ck_assert_int_ge(asprintf(&forged, "%.*s%s%s", (int)(p - env),
		    env, b64, p + strlen(evil)), 0);
		ck_assert_int_eq(nhi_statement_open(forged, strlen(forged),
		    find_key, &ring, &st, &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "bad signature"));
		ck_assert_ptr_null(st.binding);
		free(forged);
	}
	free(t);
	free(b64);
	free(evil);
	nhi_envelope_free(dec);

	/* One byte of the encoded envelope changed. */
	t = strdup(env);
	t[strlen(t) - 10] = t[strlen(t) - 10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(nhi_statement_open(t, strlen(t), find_key, &ring,
	    &st, &e), -1);
	free(t);
	free(env);
}
END_TEST

START_TEST(open_rejects_signed_but_invalid_statement)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_err e;
	char *bad, *env;

	/* A valid signature does not make approver == owner acceptable. */
	bad = mutate(good_binding, "approver", "\"alice@example.org\"");
	env = signed_statement(bad, NHI_PT_BINDING, ring.k, ring.k);
	ck_assert_int_eq(nhi_statement_open(env, strlen(env), find_key, &ring,
	    &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "must not be the owner"));
	free(env);
	free(bad);
}
END_TEST

struct cidr_case {
	const char *cidr;
	bool valid;
};

static const struct cidr_case cidr_cases[] = {
	{ "10.0.0.0/8", true }, { "192.168.1.7/32", true },
	{ "192.168.1.7", true }, { "0.0.0.0/0", true },
	{ "2001:db8::/32", true }, { "::1", true }, { "::/0", true },
	{ "::ffff:10.0.0.0/104", true },
	{ "10.0.0.1/8", false }, { "10.0.0.0/33", false },
	{ "10.0.0.0/", false }, { "10.0.0.0/-1", false },
	{ "10.0.0.0/08", false }, { "10.0.0.0/+8", false },
	{ "10.0.0/8", false }, { "2001:db8::/129", false },
	{ "2001:db8::1/32", false }, { "fe80::1%eth0", false },
	{ "", false }, { "host.example", false }, { "10.0.0.0/8 ", false },
};

START_TEST(cidr_validation)
{
	const struct cidr_case *c = &cidr_cases[_i];

	ck_assert_msg(nhi_valid_cidr(c->cidr) == c->valid, "\"%s\"", c->cidr);
}
END_TEST

START_TEST(cidr_matching)
{
	ck_assert(nhi_cidr_match("10.0.0.0/8", "10.200.3.4"));
	ck_assert(!nhi_cidr_match("10.0.0.0/8", "11.0.0.1"));
	ck_assert(nhi_cidr_match("192.168.1.7", "192.168.1.7"));
	ck_assert(!nhi_cidr_match("192.168.1.7", "192.168.1.8"));
	ck_assert(nhi_cidr_match("192.168.0.0/23", "192.168.1.255"));
	ck_assert(!nhi_cidr_match("192.168.0.0/23", "192.168.2.0"));
	ck_assert(nhi_cidr_match("0.0.0.0/0", "8.8.8.8"));
	ck_assert(!nhi_cidr_match("0.0.0.0/0", "2001:db8::1"));
	ck_assert(nhi_cidr_match("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!nhi_cidr_match("2001:db8::/32", "2001:db9::1"));
	/* sshd may show an IPv4 client in v4-mapped form. */
	ck_assert(nhi_cidr_match("10.0.0.0/8", "::ffff:10.1.2.3"));
	ck_assert(!nhi_cidr_match("10.0.0.0/8", "::ffff:11.1.2.3"));
	ck_assert(!nhi_cidr_match("10.0.0.0/8", "host.example"));
	ck_assert(!nhi_cidr_match("10.0.0.0/8", NULL));
	ck_assert(!nhi_cidr_match("10.0.0.1/8", "10.0.0.1"));
	ck_assert(!nhi_cidr_match("10.0.0.0/8", ""));
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
statement_suite(void)
{
	Suite *s = suite_create("statement");
	TCase *tc;

	tc = tcase_create("json");
	tcase_add_loop_test(tc, json_parse_rejects, 0, N(bad_json));
	tcase_add_test(tc, json_parse_accepts_what_is_strict);
	tcase_add_test(tc, json_parse_limits_size_and_raw_nul);
	tcase_add_test(tc, json_field_readers);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, binding_parses_every_field);
	tcase_add_test(tc, binding_optional_fields_and_other_credentials);
	tcase_add_loop_test(tc, binding_rejects_bad_field, 0,
	    N(bad_bindings));
	tcase_add_test(tc, binding_rejects_raw_malformations);
	tcase_add_test(tc, account_parses_every_field);
	tcase_add_loop_test(tc, account_rejects_bad_field, 0,
	    N(bad_accounts));
	tcase_add_test(tc, account_rejects_too_many_groups);
	tcase_add_test(tc, json_round_trip_is_stable);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_test(tc, open_binding_and_account);
	tcase_add_test(tc, open_rejects_unknown_key_and_wrong_keyid);
	tcase_add_test(tc, open_rejects_forged_keyid);
	tcase_add_test(tc, open_rejects_wrong_payload_type);
	tcase_add_test(tc, open_rejects_tampered_payload);
	tcase_add_test(tc, open_rejects_signed_but_invalid_statement);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_loop_test(tc, cidr_validation, 0, N(cidr_cases));
	tcase_add_test(tc, cidr_matching);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(statement_suite());
}
