/*
 * mkstatements: signs N binding statements with an issuer key and prints
 * them one per line, for tests that need a register of some size.
 *
 *   mkstatements ISSUER.key N PREFIX
 *
 * Binding i is "PREFIX-i" for account "svc-(i/10)", credential user
 * "personI", valid for an hour from now.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsse.h"
#include "keys.h"
#include "statement.h"

static int
one(const struct nhi_seckey *k, const char *prefix, size_t i, int64_t now)
{
	char id[96], account[32], user[32], *json, *env;
	struct nhi_binding b;
	struct nhi_err e;
	int r = -1;

	memset(&b, 0, sizeof(b));
	(void)snprintf(id, sizeof(id), "%s-%zu", prefix, i);
	(void)snprintf(account, sizeof(account), "svc-%zu", i / 10);
	(void)snprintf(user, sizeof(user), "person%zu", i);
	b.id = id;
	b.account = account;
	b.cred_kind = NHI_CRED_USER;
	b.cred_user = user;
	b.owner = user;
	b.approver = (char *)(uintptr_t)"approver";
	b.ticket = (char *)(uintptr_t)"OPS-1";
	if (nhi_strv_split("web-*", NULL, &b.hosts, &e) != 0 ||
	    nhi_strv_split("sudo", NULL, &b.services, &e) != 0)
		goto out;
	b.not_before = now - 60;
	b.not_after = now + 3600;
	b.issued_at = now - 60;
	memcpy(b.issuer, k->keyid, sizeof(b.issuer));
	if ((json = nhi_binding_json(&b)) == NULL)
		goto out;
	env = nhi_dsse_sign(k, NHI_PT_BINDING, json, strlen(json));
	free(json);
	if (env == NULL)
		goto out;
	r = printf("%s\n", env) < 0 ? -1 : 0;
	free(env);
out:
	nhi_strv_free(&b.hosts);
	nhi_strv_free(&b.services);
	return r;
}

int
main(int argc, char **argv)
{
	struct nhi_seckey *k = NULL;
	struct nhi_err e;
	int64_t now = (int64_t)time(NULL);
	size_t i, n;

	if (argc != 4) {
		fprintf(stderr, "usage: mkstatements ISSUER.key N PREFIX\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	if (nhi_crypto_init() != 0 || nhi_seckey_load(argv[1], &k, &e) != 0) {
		fprintf(stderr, "mkstatements: %s\n", e.msg);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (one(k, argv[3], i, now) != 0) {
			fprintf(stderr, "mkstatements: cannot sign\n");
			nhi_seckey_free(k);
			return 1;
		}
	}
	nhi_seckey_free(k);
	return fflush(stdout) == 0 ? 0 : 1;
}
