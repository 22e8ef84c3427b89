/*
 * check_logline.c: the decision line: field order, absent values, escaping
 * of hostile strings, length caps and a buffer that is too short.
 */
#include "config.h"

#include <string.h>

#include "logline.h"
#include "testutil.h"

static char b_id[] = "b-42", b_owner[] = "alice@example.org",
    b_ticket[] = "CHG-1001";
static struct nhi_binding binding = {
	.id = b_id,
	.owner = b_owner,
	.ticket = b_ticket,
	.not_after = 1767225600,	/* 2026-01-01T00:00:00Z */
};

static void
request(struct nhi_request *r, const char *account, const char *rhost)
{
	memset(r, 0, sizeof(*r));
	r->service = "sshd";
	r->account = account;
	r->rhost = rhost;
	r->cred = NHI_SEEN_SSH_KEY;
	r->key_fp = "SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA";
}

static void
view(struct nhi_view *v, int64_t version)
{
	memset(v, 0, sizeof(*v));
	v->have_register = version > 0;
	v->meta.version = version;
}

START_TEST(allow_line_has_every_field_in_order)
{
	struct nhi_decision d = { NHI_ALLOW, NHI_R_OK, &binding, false };
	struct nhi_request r;
	struct nhi_view v;
	char out[1024];

	request(&r, "deploy", "127.0.0.1");
	view(&v, 7);
	ck_assert_int_eq(nhi_logline(&r, &d, &v, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "result=allow service=sshd account=deploy "
	    "invoker=- rhost=127.0.0.1 "
	    "key=SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA "
	    "binding=b-42 owner=alice@example.org ticket=CHG-1001 "
	    "not_after=2026-01-01T00:00:00Z register=7 reason=ok");
}
END_TEST

/* An allow overturned because it cannot be recorded is logged as deny. */
START_TEST(refused_allow_is_logged_as_deny_with_the_refusal)
{
	struct nhi_decision d = { NHI_ALLOW, NHI_R_OK, &binding, false };
	struct nhi_request r;
	struct nhi_view v;
	char out[1024];

	request(&r, "deploy", "127.0.0.1");
	view(&v, 7);
	ck_assert_int_eq(nhi_logline(&r, &d, &v, "audit-unavailable", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "result=deny service=sshd account=deploy "
	    "invoker=- rhost=127.0.0.1 "
	    "key=SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA "
	    "binding=b-42 owner=alice@example.org ticket=CHG-1001 "
	    "not_after=2026-01-01T00:00:00Z register=7 "
	    "reason=audit-unavailable");
}
END_TEST

START_TEST(deny_without_binding_or_register_writes_dashes)
{
	struct nhi_decision d = { NHI_DENY, NHI_R_STALE_REGISTER, NULL,
	    false };
	struct nhi_request r;
	struct nhi_view v;
	char out[1024];

	request(&r, "deploy", "");
	r.service = "su";
	r.invoker = "bob";
	r.cred = NHI_SEEN_NONE;
	view(&v, 0);
	ck_assert_int_eq(nhi_logline(&r, &d, &v, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "result=deny service=su account=deploy "
	    "invoker=bob rhost=- key=- binding=- owner=- ticket=- "
	    "not_after=- register=- reason=stale-register");
}
END_TEST

START_TEST(pending_key_and_would_deny_are_named)
{
	struct nhi_decision d = { NHI_ALLOW, NHI_R_NO_BINDING, NULL, true };
	struct nhi_request r;
	char out[1024];

	request(&r, "deploy", NULL);
	r.cred = NHI_SEEN_PENDING;
	ck_assert_int_eq(nhi_logline(&r, &d, NULL, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "result=would-deny "));
	ck_assert_ptr_nonnull(strstr(out, " key=pending "));
	ck_assert_ptr_nonnull(strstr(out, " reason=no-binding"));
}
END_TEST

START_TEST(hostile_account_is_escaped_and_quoted)
{
	struct nhi_decision d = { NHI_DENY, NHI_R_NO_BINDING, NULL, false };
	struct nhi_request r;
	char out[1024];

	request(&r, "de ploy\nresult=allow \"x\"", "::1");
	ck_assert_int_eq(nhi_logline(&r, &d, NULL, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_null(strchr(out, '\n'));
	ck_assert_ptr_nonnull(strstr(out,
	    " account=\"de ploy\\x0aresult=allow \\x22x\\x22\" "));
	ck_assert_int_eq(strncmp(out, "result=deny ", 12), 0);
}
END_TEST

START_TEST(long_values_are_capped)
{
	struct nhi_decision d = { NHI_DENY, NHI_R_NO_BINDING, NULL, false };
	struct nhi_request r;
	char rhost[4096], out[2048];
	const char *p, *end;

	memset(rhost, 'a', sizeof(rhost) - 1);
	rhost[sizeof(rhost) - 1] = '\0';
	request(&r, "deploy", rhost);
	ck_assert_int_eq(nhi_logline(&r, &d, NULL, NULL, out, sizeof(out)), 0);
	p = strstr(out, " rhost=");
	ck_assert_ptr_nonnull(p);
	end = strchr(p + 1, ' ');
	ck_assert_ptr_nonnull(end);
	ck_assert_uint_le((size_t)(end - p), 120);
	ck_assert_ptr_nonnull(strstr(out, "...")); /* the cut is marked */
	ck_assert_ptr_nonnull(strstr(out, " reason=no-binding"));
}
END_TEST

START_TEST(short_buffer_fails_but_terminates)
{
	struct nhi_decision d = { NHI_ALLOW, NHI_R_OK, &binding, false };
	struct nhi_request r;
	char out[40];

	request(&r, "deploy", "127.0.0.1");
	memset(out, 'z', sizeof(out));
	ck_assert_int_eq(nhi_logline(&r, &d, NULL, NULL, out, sizeof(out)), -1);
	ck_assert_ptr_nonnull(memchr(out, '\0', sizeof(out)));
	ck_assert_int_eq(strncmp(out, "result=allow", 12), 0);
	/* 40 bytes hold two fields whole; the third is left out. */
	ck_assert_str_eq(out, "result=allow service=sshd");
}
END_TEST

/* Every untrusted value at its worst still fits NHI_LOGLINE_MAX. */
START_TEST(hostile_values_fit_the_longest_line)
{
	static char id[256], owner[256], ticket[256];
	struct nhi_binding b = { .id = id, .owner = owner, .ticket = ticket,
	    .not_after = 1767225600 };
	struct nhi_decision d = { NHI_ALLOW, NHI_R_OK, &b, true };
	struct nhi_request r;
	struct nhi_view v;
	char hostile[512], out[NHI_LOGLINE_MAX];

	memset(hostile, '\x01', sizeof(hostile) - 1);
	hostile[sizeof(hostile) - 1] = '\0';
	memcpy(id, hostile, sizeof(id) - 1);
	memcpy(owner, hostile, sizeof(owner) - 1);
	memcpy(ticket, hostile, sizeof(ticket) - 1);
	request(&r, hostile, hostile);
	r.service = r.invoker = hostile;
	r.key_fp = hostile;
	view(&v, INT64_MAX);
	ck_assert_int_eq(nhi_logline(&r, &d, &v, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, " reason=ok"));
}
END_TEST

static Suite *
logline_suite(void)
{
	Suite *s = suite_create("logline");
	TCase *tc = tcase_create("logline");

	tcase_add_test(tc, allow_line_has_every_field_in_order);
	tcase_add_test(tc, refused_allow_is_logged_as_deny_with_the_refusal);
	tcase_add_test(tc, deny_without_binding_or_register_writes_dashes);
	tcase_add_test(tc, pending_key_and_would_deny_are_named);
	tcase_add_test(tc, hostile_account_is_escaped_and_quoted);
	tcase_add_test(tc, long_values_are_capped);
	tcase_add_test(tc, short_buffer_fails_but_terminates);
	tcase_add_test(tc, hostile_values_fit_the_longest_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(logline_suite());
}
