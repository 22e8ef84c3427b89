/*
 * check_audit.c: the text of the audit records: every nhi_ field present
 * and in order, absent values as "?", untrusted values encoded the way
 * libaudit decodes them, and a buffer too small refused.
 */
#include "config.h"

#include <libaudit.h>

#include "audit.h"
#include "testutil.h"

static char b_id[] = "b-42", b_owner[] = "alice@example.org",
    b_approver[] = "bob", b_ticket[] = "CHG-1001";
static struct nhi_binding binding = {
	.id = b_id, .owner = b_owner, .approver = b_approver,
	.ticket = b_ticket, .not_after = 1767225600,
};

static void
login(struct nhi_audit_login *l, struct nhi_request *r,
    struct nhi_decision *d, struct nhi_view *v)
{
	memset(r, 0, sizeof(*r));
	r->service = "sshd";
	r->account = "deploy";
	r->rhost = "192.0.2.7";
	r->cred = NHI_SEEN_SSH_KEY;
	r->key_fp = "SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA";
	d->result = NHI_ALLOW;
	d->reason = NHI_R_OK;
	d->binding = &binding;
	d->would_deny = false;
	memset(v, 0, sizeof(*v));
	v->have_register = true;
	v->meta.version = 12;
	memset(l, 0, sizeof(*l));
	l->req = r;
	l->dec = d;
	l->view = v;
	l->stage = "session";
}

START_TEST(allow_record_names_binding_owner_ticket_in_order)
{
	struct nhi_audit_login l;
	struct nhi_request r;
	struct nhi_decision d;
	struct nhi_view v;
	char out[NHI_AUDIT_MAX];

	login(&l, &r, &d, &v);
	ck_assert_int_eq(nhi_audit_format_login(&l, "nhi-authz", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "nhi-authz nhi_stage=\"session\" "
	    "nhi_service=\"sshd\" nhi_result=\"allow\" nhi_reason=\"ok\" "
	    "nhi_invoker=? "
	    "nhi_key=\"SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA\" "
	    "nhi_binding=\"b-42\" nhi_owner=\"alice@example.org\" "
	    "nhi_approver=\"bob\" nhi_ticket=\"CHG-1001\" "
	    "nhi_not_after=\"2026-01-01T00:00:00Z\" nhi_register=12");
}
END_TEST

START_TEST(refusal_override_and_missing_register_are_written)
{
	struct nhi_audit_login l;
	struct nhi_request r;
	struct nhi_decision d;
	struct nhi_view v;
	char out[NHI_AUDIT_MAX];

	login(&l, &r, &d, &v);
	d.binding = NULL;
	v.have_register = false;
	l.deny = true;
	l.reason = "audit-unavailable";
	ck_assert_int_eq(nhi_audit_format_login(&l, "nhi-authz", out,
	    sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, " nhi_result=\"deny\" "
	    "nhi_reason=\"audit-unavailable\" "));
	ck_assert_ptr_nonnull(strstr(out, " nhi_binding=? nhi_owner=? "));
	ck_assert_ptr_nonnull(strstr(out, " nhi_register=?"));
}
END_TEST

START_TEST(hostile_values_are_hex_encoded)
{
	struct nhi_audit_login l;
	struct nhi_request r;
	struct nhi_decision d;
	struct nhi_view v;
	char out[NHI_AUDIT_MAX], hex[64], *p;

	login(&l, &r, &d, &v);
	r.service = "x\" nhi_owner=\"eve";
	r.invoker = "a b";
	ck_assert_int_eq(nhi_audit_format_login(&l, "nhi-authz", out,
	    sizeof(out)), 0);
	/* Exactly one owner field: the forged one is inside hex. */
	ck_assert_ptr_null(strstr(out, "eve"));
	ck_assert_ptr_nonnull(strstr(out, " nhi_invoker=612062 "));
	audit_encode_value(hex, r.service, (unsigned int)strlen(r.service));
	ck_assert_ptr_nonnull(strstr(out, hex));
	/* The encoded service runs up to the next field, unbroken. */
	p = strchr(strstr(out, "nhi_service="), ' ');
	ck_assert_int_eq(strncmp(p, " nhi_result=", 12), 0);
}
END_TEST

START_TEST(would_deny_and_pending_key_are_named)
{
	struct nhi_audit_login l;
	struct nhi_request r;
	struct nhi_decision d;
	struct nhi_view v;
	char out[NHI_AUDIT_MAX];

	login(&l, &r, &d, &v);
	d.would_deny = true;
	r.cred = NHI_SEEN_PENDING;
	ck_assert_int_eq(nhi_audit_format_login(&l, "nhi-session", out,
	    sizeof(out)), 0);
	ck_assert_int_eq(strncmp(out, "nhi-session ", 12), 0);
	ck_assert_ptr_nonnull(strstr(out, "nhi_result=\"would-deny\""));
	ck_assert_ptr_nonnull(strstr(out, "nhi_key=\"pending\""));
}
END_TEST

START_TEST(short_buffer_is_refused)
{
	struct nhi_audit_login l;
	struct nhi_request r;
	struct nhi_decision d;
	struct nhi_view v;
	char out[64];

	login(&l, &r, &d, &v);
	ck_assert_int_eq(nhi_audit_format_login(&l, "nhi-authz", out,
	    sizeof(out)), -1);
	ck_assert_ptr_nonnull(memchr(out, '\0', sizeof(out)));
}
END_TEST

START_TEST(config_record_has_version_hash_source_reason)
{
	char out[NHI_AUDIT_MAX];

	ck_assert_int_eq(nhi_audit_format_config(7, "ab12", "file:///r.json",
	    NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "op=nhi-register nhi_register=7 "
	    "nhi_sha256=\"ab12\" nhi_source=\"file:///r.json\" nhi_reason=?");
	ck_assert_int_eq(nhi_audit_format_config(0, NULL, "x",
	    "version 3 is below 7", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "nhi_register=? nhi_sha256=? "));
	/* The reason holds spaces: encoded. */
	ck_assert_ptr_nonnull(strstr(out, "nhi_reason=76657273696F6E"));
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_test(tc, allow_record_names_binding_owner_ticket_in_order);
	tcase_add_test(tc, refusal_override_and_missing_register_are_written);
	tcase_add_test(tc, hostile_values_are_hex_encoded);
	tcase_add_test(tc, would_deny_and_pending_key_are_named);
	tcase_add_test(tc, short_buffer_is_refused);
	tcase_add_test(tc, config_record_has_version_hash_source_reason);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(audit_suite());
}
