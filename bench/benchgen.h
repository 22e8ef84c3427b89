/*
 * benchgen.h: the synthetic statements the benchmarks sign. Statement i
 * binds person(i % 5000) to account svc-(i / 10) (about ten bindings per
 * account, as a busy shared account has) for sudo and su on web-* and
 * @prod; account i is nhi-<hex i> with uid and gid 70000 + i.
 * Each returns an envelope to free, or NULL when out of memory.
 */
#ifndef NHI_BENCHGEN_H
#define NHI_BENCHGEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsse.h"
#include "keys.h"
#include "statement.h"

static inline char *
bench_binding(const struct nhi_seckey *k, size_t i, int64_t not_before,
    int64_t not_after, int64_t issued_at)
{
	char id[32], account[32], owner[64], *json, *env = NULL;
	char approver[] = "approver", ticket[] = "OPS-1";
	struct nhi_binding b;
	struct nhi_err e;

	memset(&b, 0, sizeof(b));
	snprintf(id, sizeof(id), "b-%08zx", i);
	snprintf(account, sizeof(account), "svc-%zu", i / 10);
	snprintf(owner, sizeof(owner), "person%zu", i % 5000);
	b.id = id;
	b.account = account;
	b.cred_kind = NHI_CRED_USER;
	b.cred_user = owner;
	b.owner = owner;
	b.approver = approver;
	b.ticket = ticket;
	b.not_before = not_before;
	b.not_after = not_after;
	b.issued_at = issued_at;
	memcpy(b.issuer, k->keyid, sizeof(b.issuer));
	if (nhi_strv_split("web-*,@prod", NULL, &b.hosts, &e) == 0 &&
	    nhi_strv_split("sudo,su", NULL, &b.services, &e) == 0 &&
	    (json = nhi_binding_json(&b)) != NULL) {
		env = nhi_dsse_sign(k, NHI_PT_BINDING, json, strlen(json));
		free(json);
	}
	nhi_strv_free(&b.hosts);
	nhi_strv_free(&b.services);
	return env;
}

static inline char *
bench_account(const struct nhi_seckey *k, size_t i, int64_t issued_at)
{
	char name[32], owner[64], *json, *env;
	struct nhi_account a;

	memset(&a, 0, sizeof(a));
	snprintf(name, sizeof(name), "nhi-%06zx", i);
	snprintf(owner, sizeof(owner), "person%zu", i);
	a.name = name;
	a.uid = a.gid = (uint32_t)(70000 + i);
	a.owner = owner;
	a.issued_at = issued_at;
	memcpy(a.issuer, k->keyid, sizeof(a.issuer));
	if ((json = nhi_account_json(&a)) == NULL)
		return NULL;
	env = nhi_dsse_sign(k, NHI_PT_ACCOUNT, json, strlen(json));
	free(json);
	return env;
}

#endif
