/*
 * fuzz_account.c: account payloads (nhi_account_parse).
 *
 * The input is a JSON payload. An account the parser accepts must
 * serialise (nhi_account_json) to a payload that parses to the same
 * account, and every field that ends up in a passwd or group line must be
 * free of ':' and control characters, with a uid and gid that are
 * neither root nor (uid_t)-1.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "statement.h"
#include "util.h"

static bool
same_opt(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
passwd_safe(const char *s)
{
	const unsigned char *p;

	if (s == NULL)
		return;
	FUZZ_ASSERT(strchr(s, ':') == NULL);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_account *a = NULL, *again = NULL;
	struct nhi_err e = { "" };
	char *json = fuzz_copy(data, size), *out = NULL;
	size_t i;

	if (nhi_account_parse(json, size, &a, &e) != 0) {
		FUZZ_ASSERT(e.msg[0] != '\0');
		goto out;
	}
	FUZZ_ASSERT(nhi_valid_name(a->name));
	FUZZ_ASSERT(a->uid != 0 && a->uid != UINT32_MAX);
	FUZZ_ASSERT(a->gid != 0 && a->gid != UINT32_MAX);
	passwd_safe(a->owner);
	passwd_safe(a->description);
	passwd_safe(a->home);
	passwd_safe(a->shell);
	for (i = 0; i < a->groups.n; i++)
		FUZZ_ASSERT(nhi_valid_name(a->groups.v[i]));

	out = nhi_account_json(a);
	FUZZ_ASSERT(out != NULL);
	if (nhi_account_parse(out, strlen(out), &again, &e) != 0) {
		(void)fprintf(stderr, "re-parse: %s\n%s\n", e.msg, out);
		abort();
	}
	FUZZ_ASSERT(strcmp(a->name, again->name) == 0);
	FUZZ_ASSERT(a->uid == again->uid && a->gid == again->gid);
	FUZZ_ASSERT(strcmp(a->owner, again->owner) == 0);
	FUZZ_ASSERT(same_opt(a->description, again->description));
	FUZZ_ASSERT(same_opt(a->home, again->home));
	FUZZ_ASSERT(same_opt(a->shell, again->shell));
	FUZZ_ASSERT(a->groups.n == again->groups.n);
	for (i = 0; i < a->groups.n; i++)
		FUZZ_ASSERT(strcmp(a->groups.v[i], again->groups.v[i]) == 0);
	FUZZ_ASSERT(a->recertify_by == again->recertify_by);
	FUZZ_ASSERT(a->issued_at == again->issued_at);
	FUZZ_ASSERT(strcmp(a->issuer, again->issuer) == 0);
out:
	nhi_account_free(again);
	nhi_account_free(a);
	free(out);
	free(json);
	return 0;
}
