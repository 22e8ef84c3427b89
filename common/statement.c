/* statement.c: bindings and accounts: strict parsing, JSON, opening. */
#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "jsonx.h"
#include "statement.h"

/* Times a statement may carry: the epoch to the end of year 9999. */
#define TIME_MIN 0
#define TIME_MAX INT64_C(253402300799)
/* Ids that are never valid: 0 is root, 2^32-1 is (uid_t)-1. */
#define ID_MIN 1
#define ID_MAX INT64_C(4294967294)
#define SSH_KEY_MAX 16384

/* A host pattern: a glob, or "@GROUP" naming a configured host group. */
static bool
valid_host(const char *s)
{
	if (s[0] == '@')
		return nhi_valid_name(s + 1);
	return nhi_valid_glob(s) && strchr(s, '@') == NULL;
}

/* A passwd field may not hold ':' (the separator) either. */
static bool
valid_passwd_path(const char *s)
{
	return nhi_valid_path(s) && strchr(s, ':') == NULL;
}

static bool
valid_ssh_key_text(const char *s)
{
	return strlen(s) <= SSH_KEY_MAX && nhi_valid_plain(s);
}

static int
read_keyid(json_object *o, char out[NHI_KEYID_LEN + 1], struct nhi_err *e)
{
	char *s = NULL;

	if (nhi_json_str(o, "issuer", nhi_valid_keyid, &s, e) != 0)
		return -1;
	memcpy(out, s, NHI_KEYID_LEN + 1);
	free(s);
	return 0;
}

static int
parse_credential(json_object *o, struct nhi_binding *b, struct nhi_err *e)
{
	static const char *const ssh_keys[] = { "kind", "key", NULL };
	static const char *const user_keys[] = { "kind", "user", NULL };
	static const char *const checkout_keys[] = { "kind", NULL };
	json_object *c;
	char *kind = NULL;
	int r = -1;

	if (!json_object_object_get_ex(o, "credential", &c)) {
		nhi_err_set(e, "credential: missing");
		goto out;
	}
	if (!json_object_is_type(c, json_type_object)) {
		nhi_err_set(e, "credential: expected object");
		goto out;
	}
	if (nhi_json_str(c, "kind", NULL, &kind, e) != 0)
		goto fail;
	if (strcmp(kind, "ssh-key") == 0) {
		b->cred_kind = NHI_CRED_SSH_KEY;
		if (nhi_json_only(c, ssh_keys, e) != 0 ||
		    nhi_json_str(c, "key", valid_ssh_key_text, &b->cred_key,
		    e) != 0 ||
		    nhi_ssh_key_parse(b->cred_key, b->cred_fp,
		    sizeof(b->cred_fp), NULL, e) != 0)
			goto fail;
	} else if (strcmp(kind, "user") == 0) {
		b->cred_kind = NHI_CRED_USER;
		if (nhi_json_only(c, user_keys, e) != 0 ||
		    nhi_json_str(c, "user", nhi_valid_name, &b->cred_user,
		    e) != 0)
			goto fail;
	} else if (strcmp(kind, "checkout") == 0) {
		b->cred_kind = NHI_CRED_CHECKOUT;
		if (nhi_json_only(c, checkout_keys, e) != 0)
			goto fail;
	} else {
		nhi_err_set(e, "kind: expected ssh-key, user or checkout");
		goto fail;
	}
	r = 0;
	goto out;
fail:
	nhi_err_prefix(e, "credential");
out:
	free(kind);
	return r;
}

static int
parse_binding_fields(json_object *o, struct nhi_binding *b,
    struct nhi_err *e)
{
	static const char *const allowed[] = { "id", "account", "credential",
		"hosts", "services", "not_before", "not_after", "owner",
		"approver", "ticket", "issued_at", "issuer", "source",
		"max_session", NULL };

	if (nhi_json_only(o, allowed, e) != 0 ||
	    nhi_json_str(o, "id", nhi_valid_text, &b->id, e) != 0 ||
	    nhi_json_str(o, "account", nhi_valid_name, &b->account, e) != 0 ||
	    parse_credential(o, b, e) != 0 ||
	    nhi_json_strv(o, "hosts", valid_host, &b->hosts, e) != 0 ||
	    nhi_json_strv(o, "services", nhi_valid_service_or_all, &b->services,
	    e) != 0 ||
	    nhi_json_int(o, "not_before", TIME_MIN, TIME_MAX, &b->not_before,
	    e) != 0 ||
	    nhi_json_int(o, "not_after", TIME_MIN, TIME_MAX, &b->not_after,
	    e) != 0 ||
	    nhi_json_str(o, "owner", nhi_valid_text, &b->owner, e) != 0 ||
	    nhi_json_str(o, "approver", nhi_valid_text, &b->approver,
	    e) != 0 ||
	    nhi_json_str(o, "ticket", nhi_valid_text, &b->ticket, e) != 0 ||
	    nhi_json_int(o, "issued_at", TIME_MIN, TIME_MAX, &b->issued_at,
	    e) != 0 ||
	    read_keyid(o, b->issuer, e) != 0 ||
	    nhi_json_opt_strv(o, "source", nhi_valid_cidr, &b->source,
	    e) != 0 ||
	    nhi_json_opt_int(o, "max_session", 1, INT32_MAX, &b->max_session,
	    e) != 0)
		return -1;

	if (b->not_before >= b->not_after)
		return nhi_err_set(e, "not_after: must be later than "
		    "not_before");
	if (strcmp(b->owner, b->approver) == 0)
		return nhi_err_set(e, "approver: must not be the owner");
	return 0;
}

int
nhi_binding_parse(const char *json, size_t len, struct nhi_binding **ret,
    struct nhi_err *e)
{
	struct nhi_binding *b = NULL;
	json_object *o = NULL;
	int r = -1;

	if (nhi_json_parse(json, len, NHI_MAX_STATEMENT, &o, e) != 0)
		goto out;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	if (parse_binding_fields(o, b, e) != 0)
		goto out;
	*ret = b;
	b = NULL;
	r = 0;
out:
	nhi_binding_free(b);
	json_object_put(o);
	return r;
}

static int
parse_account_fields(json_object *o, struct nhi_account *a,
    struct nhi_err *e)
{
	static const char *const allowed[] = { "name", "uid", "gid", "owner",
		"issued_at", "issuer", "description", "home", "shell",
		"groups", "recertify_by", NULL };
	int64_t uid, gid;

	if (nhi_json_only(o, allowed, e) != 0 ||
	    nhi_json_str(o, "name", nhi_valid_name, &a->name, e) != 0 ||
	    nhi_json_int(o, "uid", ID_MIN, ID_MAX, &uid, e) != 0 ||
	    nhi_json_int(o, "gid", ID_MIN, ID_MAX, &gid, e) != 0 ||
	    nhi_json_str(o, "owner", nhi_valid_text, &a->owner, e) != 0 ||
	    nhi_json_int(o, "issued_at", TIME_MIN, TIME_MAX, &a->issued_at,
	    e) != 0 ||
	    read_keyid(o, a->issuer, e) != 0 ||
	    nhi_json_opt_str(o, "description", nhi_valid_description,
	    &a->description, e) != 0 ||
	    nhi_json_opt_str(o, "home", valid_passwd_path, &a->home, e) != 0 ||
	    nhi_json_opt_str(o, "shell", valid_passwd_path, &a->shell,
	    e) != 0 ||
	    nhi_json_opt_strv(o, "groups", nhi_valid_name, &a->groups,
	    e) != 0 ||
	    nhi_json_opt_int(o, "recertify_by", 1, TIME_MAX, &a->recertify_by,
	    e) != 0)
		return -1;
	a->uid = (uint32_t)uid;
	a->gid = (uint32_t)gid;
	return 0;
}

int
nhi_account_parse(const char *json, size_t len, struct nhi_account **ret,
    struct nhi_err *e)
{
	struct nhi_account *a = NULL;
	json_object *o = NULL;
	int r = -1;

	if (nhi_json_parse(json, len, NHI_MAX_STATEMENT, &o, e) != 0)
		goto out;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	if (parse_account_fields(o, a, e) != 0)
		goto out;
	*ret = a;
	a = NULL;
	r = 0;
out:
	nhi_account_free(a);
	json_object_put(o);
	return r;
}

/* json-c keeps insertion order: the calls below fix the payload's. */
static int
put_str(json_object *o, const char *key, const char *s)
{
	if (s == NULL)
		return -1;
	return nhi_json_put(o, key, json_object_new_string(s));
}

static int
put_int(json_object *o, const char *key, int64_t v)
{
	return nhi_json_put(o, key, json_object_new_int64(v));
}

static int
put_strv(json_object *o, const char *key, const struct nhi_strv *sv)
{
	json_object *a = json_object_new_array(), *v;
	size_t i;

	if (a == NULL)
		return -1;
	for (i = 0; i < sv->n; i++) {
		v = json_object_new_string(sv->v[i]);
		if (v == NULL || json_object_array_add(a, v) != 0) {
			json_object_put(v);
			json_object_put(a);
			return -1;
		}
	}
	return nhi_json_put(o, key, a);
}

static json_object *
credential_json(const struct nhi_binding *b)
{
	json_object *c = json_object_new_object();
	int r = -1;

	if (c == NULL)
		return NULL;
	switch (b->cred_kind) {
	case NHI_CRED_SSH_KEY:
		r = put_str(c, "kind", "ssh-key") |
		    put_str(c, "key", b->cred_key);
		break;
	case NHI_CRED_USER:
		r = put_str(c, "kind", "user") |
		    put_str(c, "user", b->cred_user);
		break;
	case NHI_CRED_CHECKOUT:
		r = put_str(c, "kind", "checkout");
		break;
	}
	if (r != 0) {
		json_object_put(c);
		return NULL;
	}
	return c;
}

char *
nhi_binding_json(const struct nhi_binding *b)
{
	json_object *o = json_object_new_object();
	char *out = NULL;

	if (o == NULL)
		return NULL;
	if (put_str(o, "id", b->id) != 0 ||
	    put_str(o, "account", b->account) != 0 ||
	    nhi_json_put(o, "credential", credential_json(b)) != 0 ||
	    put_strv(o, "hosts", &b->hosts) != 0 ||
	    put_strv(o, "services", &b->services) != 0 ||
	    put_int(o, "not_before", b->not_before) != 0 ||
	    put_int(o, "not_after", b->not_after) != 0 ||
	    put_str(o, "owner", b->owner) != 0 ||
	    put_str(o, "approver", b->approver) != 0 ||
	    put_str(o, "ticket", b->ticket) != 0 ||
	    put_int(o, "issued_at", b->issued_at) != 0 ||
	    put_str(o, "issuer", b->issuer) != 0)
		goto out;
	if (b->source.n > 0 && put_strv(o, "source", &b->source) != 0)
		goto out;
	if (b->max_session > 0 &&
	    put_int(o, "max_session", b->max_session) != 0)
		goto out;
	out = nhi_json_text(o);
out:
	json_object_put(o);
	return out;
}

char *
nhi_account_json(const struct nhi_account *a)
{
	json_object *o = json_object_new_object();
	char *out = NULL;

	if (o == NULL)
		return NULL;
	if (put_str(o, "name", a->name) != 0 ||
	    put_int(o, "uid", a->uid) != 0 ||
	    put_int(o, "gid", a->gid) != 0 ||
	    put_str(o, "owner", a->owner) != 0 ||
	    put_int(o, "issued_at", a->issued_at) != 0 ||
	    put_str(o, "issuer", a->issuer) != 0)
		goto out;
	if ((a->description != NULL &&
	    put_str(o, "description", a->description) != 0) ||
	    (a->home != NULL && put_str(o, "home", a->home) != 0) ||
	    (a->shell != NULL && put_str(o, "shell", a->shell) != 0) ||
	    (a->groups.n > 0 && put_strv(o, "groups", &a->groups) != 0) ||
	    (a->recertify_by > 0 &&
	    put_int(o, "recertify_by", a->recertify_by) != 0))
		goto out;
	out = nhi_json_text(o);
out:
	json_object_put(o);
	return out;
}

void
nhi_binding_free(struct nhi_binding *b)
{
	if (b == NULL)
		return;
	free(b->id);
	free(b->account);
	free(b->cred_key);
	free(b->cred_user);
	nhi_strv_free(&b->hosts);
	nhi_strv_free(&b->services);
	nhi_strv_free(&b->source);
	free(b->owner);
	free(b->approver);
	free(b->ticket);
	free(b);
}

void
nhi_account_free(struct nhi_account *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->owner);
	free(a->description);
	free(a->home);
	free(a->shell);
	nhi_strv_free(&a->groups);
	free(a);
}

int
nhi_statement_open(const char *text, size_t len, nhi_find_key_fn find,
    void *ctx, struct nhi_statement *ret, struct nhi_err *e)
{
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_envelope *env = NULL;
	const unsigned char *pk;
	const char *expected, *issuer;
	bool binding;
	char esc[96];
	int r = -1;

	if (nhi_dsse_decode(text, len, NHI_MAX_STATEMENT, &env, e) != 0)
		goto out;
	binding = strcmp(env->payload_type, NHI_PT_BINDING) == 0;
	if (binding)
		expected = NHI_PT_BINDING;
	else if (strcmp(env->payload_type, NHI_PT_ACCOUNT) == 0)
		expected = NHI_PT_ACCOUNT;
	else {
		nhi_escape(env->payload_type, 64, esc, sizeof(esc));
		nhi_err_set(e, "payload type \"%s\" is not a statement", esc);
		goto out;
	}
	if ((pk = find(ctx, env->keyid)) == NULL) {
		nhi_err_set(e, "keyid %s: not a trusted issuer", env->keyid);
		goto out;
	}

	/* Only a verified payload is parsed. */
	if (nhi_dsse_verify(env, pk, expected, e) != 0)
		goto out;
	if (binding) {
		if (nhi_binding_parse((const char *)env->payload,
		    env->payload_len, &st.binding, e) != 0)
			goto out;
		issuer = st.binding->issuer;
	} else {
		if (nhi_account_parse((const char *)env->payload,
		    env->payload_len, &st.account, e) != 0)
			goto out;
		issuer = st.account->issuer;
	}
	if (strcmp(issuer, env->keyid) != 0) {
		nhi_err_set(e, "issuer: %s is not the signing key %s", issuer,
		    env->keyid);
		goto out;
	}
	crypto_hash_sha256(st.hash, (const unsigned char *)text, len);
	*ret = st;
	st.binding = NULL;
	st.account = NULL;
	r = 0;
out:
	nhi_statement_clear(&st);
	nhi_envelope_free(env);
	return r;
}

void
nhi_statement_clear(struct nhi_statement *st)
{
	if (st == NULL)
		return;
	nhi_binding_free(st->binding);
	nhi_account_free(st->account);
	st->binding = NULL;
	st->account = NULL;
}

/* An address of either family, as 16 bytes; IPv4 is v4-mapped. */
struct addr {
	unsigned char b[16];
	bool v4;
};

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

static bool
parse_addr(const char *s, struct addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, s, ret->b + 12) == 1) {
		memcpy(ret->b, v4_mapped, sizeof(v4_mapped));
		ret->v4 = true;
		return true;
	}
	if (inet_pton(AF_INET6, s, ret->b) == 1) {
		/* sshd may report an IPv4 peer in its v4-mapped form. */
		ret->v4 = memcmp(ret->b, v4_mapped, sizeof(v4_mapped)) == 0;
		return true;
	}
	return false;
}

/*
 * Parses a CIDR into its address and a prefix counted over all 128 bits.
 * A bare address is a single host. Host bits must be zero, so the text
 * says exactly the network it covers.
 */
static bool
parse_cidr(const char *s, struct addr *ret, unsigned *ret_bits)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	int64_t bits;
	unsigned max, i, total;
	bool v6text;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	slash = strchr(s, '/');
	if (slash != NULL)
		buf[slash - s] = '\0';
	v6text = strchr(buf, ':') != NULL;
	if (!parse_addr(buf, ret))
		return false;
	max = v6text ? 128 : 32;
	bits = max;
	if (slash != NULL) {
		if (slash[1] == '0' && slash[2] != '\0')
			return false;
		if (nhi_parse_int(slash + 1, 0, max, &bits) != 0 ||
		    slash[1] == '-')
			return false;
	}
	total = (unsigned)bits + (v6text ? 0 : 96);
	for (i = total; i < 128; i++)
		if (ret->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	*ret_bits = total;
	return true;
}

bool
nhi_valid_cidr(const char *s)
{
	struct addr a;
	unsigned bits;

	return parse_cidr(s, &a, &bits);
}

bool
nhi_cidr_match(const char *cidr, const char *addr)
{
	struct addr net, a;
	unsigned bits, i;

	if (!parse_cidr(cidr, &net, &bits) || addr == NULL ||
	    !parse_addr(addr, &a))
		return false;
	for (i = 0; i < bits; i++)
		if ((net.b[i / 8] ^ a.b[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}
