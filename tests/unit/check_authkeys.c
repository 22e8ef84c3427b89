/* check_authkeys.c: authorized_keys lines made from bindings. */
#include "config.h"

#include "authkeys.h"
#include "statement.h"
#include "testutil.h"
#include "util.h"

#define SSH_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIIfHUi7AAuEwM34B649XKxeLpriO5hY1WJNb" \
    "Awmn7Hl0"
#define SSH_FP "SHA256:CzIexMaMag1kDLr2p07cnrS2/q65eIL9Z/yuwjirq6M"
/* A certificate (ssh-keygen -s) and the fingerprint of the key inside. */
#define CERT_KEY "ssh-ed25519-cert-v01@openssh.com " \
    "AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIJKvRBd+WrhZ9GIN" \
    "mA/Av5bjtllgQBpCRlmSQ7m58/bqAAAAIARKutoe+tFpwkrFFqKhbHLqfDiZ24b+6YW9" \
    "kh770BU8AAAAAAAAAAcAAAABAAAABWFsaWNlAAAACgAAAAZkZXBsb3kAAAAAXgvhAAAA" \
    "AAD0hQWAAAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJt" \
    "aXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAA" \
    "AAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMA" \
    "AAALc3NoLWVkMjU1MTkAAAAgKQ38FVajEKXdmIeBcmHfx+kE46x5Rb+nXvma5fXxNvoA" \
    "AABTAAAAC3NzaC1lZDI1NTE5AAAAQO7e4yAOpF1go1XljnuTMA91WBQCP9+NmRa9nWTP" \
    "z+Oo1ij+k9ELA7mQptAcq5CiVHdQqeFtxNAGxv6V2A0zbww="
#define CERT_FP "SHA256:pp9hPGHs35a9S3KVSeKf9B8U9mI1hUe4nCLsIgLFX7g"

/*
 * A binding as the statement parser hands it over, valid until
 * 2023-11-14T23:13:20Z, its key text with blanks and a comment of its own.
 */
static struct nhi_binding *
binding(const char *source)
{
	struct nhi_binding *b = NULL;
	struct nhi_err e;
	char *json;

	ck_assert_int_ge(asprintf(&json,
	    "{\"id\":\"b-1\",\"account\":\"deploy\","
	    "\"credential\":{\"kind\":\"ssh-key\","
	    "\"key\":\"  ssh-ed25519  " SSH_B64 "  alice@laptop \\\"x\\\"\"},"
	    "\"hosts\":[\"*\"],\"services\":[\"sshd\"],"
	    "\"not_before\":1700000000,\"not_after\":1700003600,"
	    "\"owner\":\"alice@example.org\",\"approver\":\"bob\","
	    "\"ticket\":\"CHG-1\",\"issued_at\":1700000000,"
	    "\"issuer\":\"0123456789abcdef\"%s}", source), 0);
	ck_assert_msg(nhi_binding_parse(json, strlen(json), &b, &e) == 0,
	    "%s", e.msg);
	free(json);
	return b;
}

static void
assert_line(const struct nhi_binding *b, const char *want)
{
	struct nhi_err e = { "" };
	char *line = NULL;

	ck_assert_msg(nhi_authkeys_line(b, &line, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(line, want);
	free(line);
}

START_TEST(line_names_last_second_sources_key_and_owner)
{
	struct nhi_binding *b = binding(
	    ",\"source\":[\"10.0.0.0/8\",\"2001:db8::/32\",\"192.0.2.7\"]");

	assert_line(b, "expiry-time=\"20231114231319Z\","
	    "from=\"10.0.0.0/8,2001:db8::/32,192.0.2.7\" "
	    "ssh-ed25519 " SSH_B64 " nhi:b-1:alice@example.org\n");
	nhi_binding_free(b);
}
END_TEST

START_TEST(line_without_sources_has_no_from)
{
	struct nhi_binding *b = binding("");

	assert_line(b, "expiry-time=\"20231114231319Z\" "
	    "ssh-ed25519 " SSH_B64 " nhi:b-1:alice@example.org\n");
	nhi_binding_free(b);
}
END_TEST

/* sshd accepts a key in the second its expiry-time names. */
START_TEST(line_ending_on_a_minute_names_the_second_before)
{
	struct nhi_binding *b = binding("");

	b->not_after = 1700006400;
	assert_line(b, "expiry-time=\"20231114235959Z\" "
	    "ssh-ed25519 " SSH_B64 " nhi:b-1:alice@example.org\n");
	b->not_after = INT64_C(253402300800);
	assert_line(b, "expiry-time=\"99991231235959Z\" "
	    "ssh-ed25519 " SSH_B64 " nhi:b-1:alice@example.org\n");
	nhi_binding_free(b);
}
END_TEST

enum field { F_ID, F_OWNER, F_SOURCE, F_KEY, F_FP, F_NOT_AFTER, F_KIND };

struct refusal {
	enum field field;
	const char *s;		/* the new text of the field */
	int64_t t;		/* F_NOT_AFTER */
	const char *why;	/* a part of the reason given */
};

static const struct refusal refusals[] = {
	{ F_ID, "b 1", 0, "id or owner" },
	{ F_ID, "b-1\nssh-rsa", 0, "id or owner" },
	{ F_OWNER, "alice:root", 0, "id or owner" },
	{ F_OWNER, "alice\"", 0, "id or owner" },
	{ F_SOURCE, "10.0.0.0/8\",command=\"sh", 0, "source 1" },
	{ F_SOURCE, "10.0.0.0/8,*", 0, "source 1" },
	{ F_SOURCE, "!10.0.0.0/8", 0, "source 1" },
	{ F_SOURCE, "10.0.0.1/8", 0, "source 1" },
	{ F_SOURCE, "", 0, "source 1" },
	{ F_KEY, "ssh-ed25519 " SSH_B64 "\nssh-ed25519 AAAA", 0, "TYPE" },
	{ F_KEY, "ssh-ed25519 " SSH_B64 "\",x", 0, "TYPE" },
	{ F_KEY, "ssh-ed25519\r " SSH_B64, 0, "TYPE" },
	{ F_KEY, "ssh-ed25519", 0, "TYPE" },
	{ F_KEY, "ssh-dss " SSH_B64, 0, "unsupported" },
	{ F_KEY, "ssh-rsa " SSH_B64, 0, "malformed" },
	{ F_KEY, CERT_KEY, 0, "certificate" },
	{ F_FP, CERT_FP, 0, "fingerprint" },
	{ F_NOT_AFTER, NULL, 1, "not_after" },
	{ F_NOT_AFTER, NULL, -60, "not_after" },
	{ F_NOT_AFTER, NULL, INT64_C(253402300801), "not_after" },
	{ F_KIND, NULL, 0, "not an ssh key" },
};

static void
replace(char **p, const char *s)
{
	free(*p);
	ck_assert_ptr_nonnull(*p = strdup(s));
}

START_TEST(line_refused_for_a_doubtful_field)
{
	const struct refusal *c = &refusals[_i];
	struct nhi_binding *b = binding(",\"source\":[\"10.0.0.0/8\"]");
	struct nhi_err e = { "" };
	char *line = NULL;

	switch (c->field) {
	case F_ID: replace(&b->id, c->s); break;
	case F_OWNER: replace(&b->owner, c->s); break;
	case F_SOURCE: replace(&b->source.v[0], c->s); break;
	case F_KEY: replace(&b->cred_key, c->s); break;
	case F_FP:
		(void)snprintf(b->cred_fp, sizeof(b->cred_fp), "%s", c->s);
		break;
	case F_NOT_AFTER: b->not_after = c->t; break;
	case F_KIND: b->cred_kind = NHI_CRED_CHECKOUT; break;
	}
	/* The certificate is of another key: name that key. */
	if (c->field == F_KEY && strcmp(c->s, CERT_KEY) == 0)
		(void)snprintf(b->cred_fp, sizeof(b->cred_fp), "%s", CERT_FP);
	ck_assert_int_eq(nhi_authkeys_line(b, &line, &e), -1);
	ck_assert_ptr_null(line);
	ck_assert_msg(strstr(e.msg, c->why) != NULL, "case %d: \"%s\"", _i,
	    e.msg);
	nhi_binding_free(b);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
authkeys_suite(void)
{
	Suite *s = suite_create("authkeys");
	TCase *tc = tcase_create("line");

	tcase_add_test(tc, line_names_last_second_sources_key_and_owner);
	tcase_add_test(tc, line_without_sources_has_no_from);
	tcase_add_test(tc, line_ending_on_a_minute_names_the_second_before);
	tcase_add_loop_test(tc, line_refused_for_a_doubtful_field, 0,
	    N(refusals));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(authkeys_suite());
}
