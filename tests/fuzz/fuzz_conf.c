/*
 * fuzz_conf.c: the configuration parser (nhi_conf_parse).
 *
 * The input is the text of nhi.conf (cut at a NUL byte, as a C string).
 * A configuration that parses must hold what the rest of the code
 * assumes: ranges with lo <= hi, keys with their ids, issuers with a
 * name, accounts and services, and a clock skew of at most an hour.
 */
#include "config.h"

#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "keys.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_conf *c = NULL;
	struct nhi_err e = { "" };
	char *text = fuzz_cstr(data, size), id[NHI_KEYID_LEN + 1];
	size_t i;

	if (nhi_conf_parse("/fuzz/nhi.conf", text, &c, &e) != 0) {
		FUZZ_ASSERT(c == NULL);
		FUZZ_ASSERT(strncmp(e.msg, "/fuzz/nhi.conf", 14) == 0);
		goto out;
	}
	FUZZ_ASSERT(c->mode == NHI_MODE_ENFORCE || c->mode == NHI_MODE_AUDIT);
	FUZZ_ASSERT(c->clock_skew >= 0 && c->clock_skew <= 3600);
	FUZZ_ASSERT(c->account_uids.lo <= c->account_uids.hi);
	FUZZ_ASSERT(c->account_gids.lo <= c->account_gids.hi);
	FUZZ_ASSERT(c->host_name != NULL && c->state_dir != NULL);
	FUZZ_ASSERT(c->pam_index != NULL && c->nss_index != NULL);
	for (i = 0; i < c->n_govern_uids; i++)
		FUZZ_ASSERT(c->govern_uids[i].lo <= c->govern_uids[i].hi);
	for (i = 0; i < c->n_register_keys; i++) {
		nhi_keyid(c->register_keys[i].pk, id);
		FUZZ_ASSERT(strcmp(id, c->register_keys[i].keyid) == 0);
	}
	for (i = 0; i < c->n_issuers; i++) {
		const struct nhi_issuer *is = &c->issuers[i];

		FUZZ_ASSERT(is->name != NULL && is->max_window > 0);
		FUZZ_ASSERT(is->accounts.n > 0 && is->services.n > 0);
		nhi_keyid(is->key.pk, id);
		FUZZ_ASSERT(strcmp(id, is->key.keyid) == 0);
		FUZZ_ASSERT(nhi_conf_issuer(c, id) != NULL);
	}
out:
	nhi_conf_free(c);
	free(text);
	return 0;
}
