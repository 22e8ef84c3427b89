/*
 * fuzz_binding.c: binding payloads (nhi_binding_parse).
 *
 * The input is a JSON payload, as a verified envelope hands it over. A
 * binding the parser accepts must serialise (nhi_binding_json) to a
 * payload that parses to the same binding, and must be safe to print as
 * an authorized_keys line (nhictl authorized-keys writes its key, id,
 * owner and sources into one): no field may end the line, close a quoted
 * option or start another.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "keys.h"
#include "statement.h"
#include "util.h"

static void
same_strv(const struct nhi_strv *a, const struct nhi_strv *b)
{
	size_t i;

	FUZZ_ASSERT(a->n == b->n);
	for (i = 0; i < a->n; i++)
		FUZZ_ASSERT(strcmp(a->v[i], b->v[i]) == 0);
}

static bool
same_opt(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What nhictl authorized-keys relies on to print one safe line. */
static void
authkeys_safe(const struct nhi_binding *b)
{
	struct nhi_err e;
	char fp[64];
	size_t i;

	FUZZ_ASSERT(nhi_valid_text(b->id) && nhi_valid_text(b->owner));
	FUZZ_ASSERT(strpbrk(b->id, " \t\"\r\n") == NULL);
	FUZZ_ASSERT(strpbrk(b->owner, " \t\"\r\n") == NULL);
	for (i = 0; i < b->source.n; i++)
		FUZZ_ASSERT(strspn(b->source.v[i],
		    "0123456789abcdefABCDEF.:/") == strlen(b->source.v[i]));
	if (b->cred_kind != NHI_CRED_SSH_KEY)
		return;
	FUZZ_ASSERT(b->cred_key != NULL && strpbrk(b->cred_key, "\r\n") ==
	    NULL);
	FUZZ_ASSERT(nhi_ssh_key_parse(b->cred_key, fp, sizeof(fp), NULL,
	    &e) == 0);
	FUZZ_ASSERT(strcmp(fp, b->cred_fp) == 0);
}

static void
same_binding(const struct nhi_binding *a, const struct nhi_binding *b)
{
	FUZZ_ASSERT(strcmp(a->id, b->id) == 0);
	FUZZ_ASSERT(strcmp(a->account, b->account) == 0);
	FUZZ_ASSERT(a->cred_kind == b->cred_kind);
	FUZZ_ASSERT(same_opt(a->cred_key, b->cred_key));
	FUZZ_ASSERT(strcmp(a->cred_fp, b->cred_fp) == 0);
	FUZZ_ASSERT(same_opt(a->cred_user, b->cred_user));
	same_strv(&a->hosts, &b->hosts);
	same_strv(&a->services, &b->services);
	same_strv(&a->source, &b->source);
	FUZZ_ASSERT(a->not_before == b->not_before);
	FUZZ_ASSERT(a->not_after == b->not_after);
	FUZZ_ASSERT(a->issued_at == b->issued_at);
	FUZZ_ASSERT(a->max_session == b->max_session);
	FUZZ_ASSERT(strcmp(a->owner, b->owner) == 0);
	FUZZ_ASSERT(strcmp(a->approver, b->approver) == 0);
	FUZZ_ASSERT(strcmp(a->ticket, b->ticket) == 0);
	FUZZ_ASSERT(strcmp(a->issuer, b->issuer) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_binding *b = NULL, *again = NULL;
	struct nhi_err e = { "" };
	char *json = fuzz_copy(data, size), *out = NULL;

	if (nhi_binding_parse(json, size, &b, &e) != 0) {
		FUZZ_ASSERT(e.msg[0] != '\0');
		goto out;
	}
	FUZZ_ASSERT(b->not_before < b->not_after);
	FUZZ_ASSERT(strcmp(b->owner, b->approver) != 0);
	authkeys_safe(b);
	out = nhi_binding_json(b);
	FUZZ_ASSERT(out != NULL);
	if (nhi_binding_parse(out, strlen(out), &again, &e) != 0) {
		(void)fprintf(stderr, "re-parse: %s\n%s\n", e.msg, out);
		abort();
	}
	same_binding(b, again);
out:
	nhi_binding_free(again);
	nhi_binding_free(b);
	free(out);
	free(json);
	return 0;
}
