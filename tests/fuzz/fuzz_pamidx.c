/*
 * fuzz_pamidx.c: the PAM index reader (nhi_pamidx_open, _view,
 * _account_by_uid, _denied) over a whole index file.
 *
 * The input is written to a memfd (mode 0600, as the index is installed)
 * and opened through /proc/self/fd. Every key of the file that names an
 * account, a uid or a deny entry is then looked up the way pam_nhi and
 * nhictl do, plus a few fixed names. A view that succeeds holds valid
 * bindings for the account asked about only.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "fuzz.h"
#include "pamidx.h"
#include "util.h"

/* Bounds the work one input can ask for. */
#define MAX_LOOKUPS 64

static int memfd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("fuzz_pamidx", MFD_CLOEXEC);
	FUZZ_ASSERT(memfd >= 0);
	FUZZ_ASSERT(fchmod(memfd, 0600) == 0);
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void
view(struct nhi_pamidx *x, const char *account)
{
	struct nhi_view v;
	struct nhi_err e = { "" };
	size_t i;

	memset(&v, 0, sizeof(v));
	if (nhi_pamidx_view(x, account, &v, &e) == 0) {
		FUZZ_ASSERT(v.have_register);
		for (i = 0; i < v.n_bindings; i++) {
			const struct nhi_binding *b = v.bindings[i];

			FUZZ_ASSERT(b != NULL);
			FUZZ_ASSERT(strcmp(b->account, account) == 0);
			FUZZ_ASSERT(b->not_before < b->not_after);
			FUZZ_ASSERT(b->cred_kind == NHI_CRED_SSH_KEY ||
			    b->cred_kind == NHI_CRED_USER ||
			    b->cred_kind == NHI_CRED_CHECKOUT);
		}
		if (v.account != NULL)
			FUZZ_ASSERT(strcmp(v.account->name, account) == 0);
	} else {
		FUZZ_ASSERT(e.msg[0] != '\0');
	}
	nhi_view_clear(&v);
}

/* Looks up what the key names, when it is a key this index uses. */
static void
lookup_key(struct nhi_pamidx *x, const char *key, unsigned klen)
{
	struct nhi_account *a = NULL;
	struct nhi_err e;
	char value[300];
	int64_t uid;

	if (klen < 2 || klen - 1 >= sizeof(value) ||
	    memchr(key, '\0', klen) != NULL)
		return;
	memcpy(value, key + 1, klen - 1);
	value[klen - 1] = '\0';
	switch (key[0]) {
	case 'a':
	case 'b':
		view(x, value);
		break;
	case 'u':
		if (nhi_parse_int(value, 0, UINT32_MAX, &uid) == 0 &&
		    nhi_pamidx_account_by_uid(x, (uint32_t)uid, &a, &e) == 0 &&
		    a != NULL)
			FUZZ_ASSERT(a->uid == (uint32_t)uid);
		nhi_account_free(a);
		break;
	case 'd':
		/*
		 * Only asked, not asserted: a corrupt file may hold a
		 * record its hash table does not reach, which a lookup then
		 * rightly does not find.
		 */
		if (value[0] >= '1' && value[0] <= '3')
			(void)nhi_pamidx_denied(x,
			    (enum nhi_deny_kind)(value[0] - '0'), value + 1);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_pamidx *x = NULL;
	struct nhi_err e = { "" };
	struct cdb c;
	unsigned pos, n = 0;
	size_t nb, na, nd;
	char key[2 + NHI_MAX_FIELD];

	FUZZ_ASSERT(ftruncate(memfd, 0) == 0);
	FUZZ_ASSERT(pwrite(memfd, data, size, 0) == (ssize_t)size);
	if (nhi_pamidx_open(path, &x, &e) != 0) {
		FUZZ_ASSERT(x == NULL && e.msg[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(nhi_pamidx_meta(x) != NULL);
	nhi_pamidx_counts(x, &nb, &na, &nd);
	view(x, "deploy");
	view(x, "root");
	(void)nhi_pamidx_denied(x, NHI_DENY_OWNER, "alice");

	/* The open succeeded: the file is a cdb the harness can walk. */
	FUZZ_ASSERT(cdb_init(&c, memfd) == 0);
	cdb_seqinit(&pos, &c);
	while (n++ < MAX_LOOKUPS && cdb_seqnext(&pos, &c) > 0) {
		/* A corrupt file may claim any key length: no key is longer. */
		if (cdb_keylen(&c) <= sizeof(key) &&
		    cdb_readkey(&c, key) == 0)
			lookup_key(x, key, cdb_keylen(&c));
	}
	cdb_free(&c);
	nhi_pamidx_close(x);
	return 0;
}
