/*
 * fuzz_register.c: the register reader (nhi_register_read) over a FILE*
 * (fmemopen), with a fixed configuration pinning one register key.
 *
 * The first byte of the input picks what the rest is:
 *   even: a whole register file, read as it is (its header signature
 *         cannot verify: this covers line splitting and envelope
 *         decoding);
 *   odd:  "HEADER\nBODY": HEADER is a header payload that the target
 *         signs with the pinned key, with every "@SHA@" in it replaced by
 *         the SHA-256 of BODY, so that the statements are streamed and
 *         the count and hash checks are reached; in BODY, "@B PAYLOAD"
 *         and "@A PAYLOAD" lines become statements the trusted issuer
 *         signs (see body_build).
 * Each statement line is opened (nhi_statement_open) as a sync would.
 * A register that reads must hold exactly the statements it declares,
 * its expiry after its issue time, and its file hash must be SHA-256 of
 * the file.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "conf.h"
#include "dsse.h"
#include "fuzz.h"
#include "keys.h"
#include "register.h"
#include "statement.h"
#include "util.h"

/* Inside the fixed key's window, and a time the seeds use. */
#define NOW 1750000000

static struct nhi_seckey regkey, issuer;
static struct nhi_conf *conf;

struct count {
	size_t lines, opened;
};

static const unsigned char *
find_key(void *ctx, const char *keyid)
{
	(void)ctx;
	return strcmp(keyid, issuer.keyid) == 0 ? issuer.pk : NULL;
}

static int
each(void *ctx, const char *line, size_t len, struct nhi_err *e)
{
	struct count *n = ctx;
	struct nhi_statement st = { NULL, NULL, { 0 } };
	struct nhi_err se;

	n->lines++;
	/* A statement that does not open is skipped, as the sync does. */
	if (nhi_statement_open(line, len, find_key, NULL, &st, &se) == 0)
		n->opened++;
	nhi_statement_clear(&st);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[1024], rk[64], ik[64];
	struct nhi_err e;

	fuzz_seckey(5, &regkey);
	fuzz_seckey(6, &issuer);
	nhi_pubkey_encode(regkey.pk, rk, sizeof(rk));
	nhi_pubkey_encode(issuer.pk, ik, sizeof(ik));
	(void)snprintf(text, sizeof(text),
	    "register_key = %s\n"
	    "host_name = fuzz\n"
	    "[issuer fuzz]\n"
	    "key = %s\n"
	    "accounts = *\n"
	    "services = *\n"
	    "max_window = 30d\n", rk, ik);
	if (nhi_conf_parse("/fuzz/nhi.conf", text, &conf, &e) != 0) {
		(void)fprintf(stderr, "fuzz_register: %s\n", e.msg);
		abort();
	}
	return 0;
}

/*
 * The body of a signed register: a line "@B PAYLOAD" or "@A PAYLOAD"
 * becomes an envelope of a binding or account the issuer signs (with
 * "@ISSUER@" replaced by its key id); other lines stay as they are.
 */
static void
body_build(const uint8_t *p, size_t n, struct nhi_buf *out)
{
	const uint8_t *end = p + n, *nl;
	size_t llen, plen;
	char *payload, *env;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		llen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (llen >= 3 && p[0] == '@' && (p[1] == 'B' || p[1] == 'A') &&
		    p[2] == ' ') {
			payload = fuzz_subst(p + 3, llen - 3, "@ISSUER@",
			    issuer.keyid, &plen);
			env = nhi_dsse_sign(&issuer, p[1] == 'B' ?
			    NHI_PT_BINDING : NHI_PT_ACCOUNT, payload, plen);
			FUZZ_ASSERT(env != NULL);
			FUZZ_ASSERT(nhi_buf_adds(out, env) == 0);
			free(env);
			free(payload);
		} else {
			FUZZ_ASSERT(nhi_buf_add(out, p, llen) == 0);
		}
		if (nl != NULL)
			FUZZ_ASSERT(nhi_buf_add(out, "\n", 1) == 0);
		p += llen + (nl != NULL ? 1 : 0);
	}
}

/* Builds the signed file for an odd first byte; NULL without a header. */
static char *
signed_file(const uint8_t *data, size_t size, size_t *ret_len)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct nhi_buf body = { NULL, 0, 0 };
	unsigned char hash[32];
	char hex[65], *hdr, *env, *out;
	size_t hlen, envlen;

	if (nl == NULL)
		return NULL;
	body_build(nl + 1, size - (size_t)(nl - data) - 1, &body);
	crypto_hash_sha256(hash, (const unsigned char *)(body.s != NULL ?
	    body.s : ""), body.len);
	nhi_hex(hash, sizeof(hash), hex);
	hdr = fuzz_subst(data, (size_t)(nl - data), "@SHA@", hex, &hlen);
	env = nhi_dsse_sign(&regkey, NHI_PT_REGISTER, hdr, hlen);
	FUZZ_ASSERT(env != NULL);
	envlen = strlen(env);
	out = malloc(envlen + 1 + body.len + 1);
	FUZZ_ASSERT(out != NULL);
	memcpy(out, env, envlen);
	out[envlen] = '\n';
	if (body.s != NULL)
		memcpy(out + envlen + 1, body.s, body.len);
	*ret_len = envlen + 1 + body.len;
	nhi_buf_free(&body);
	free(env);
	free(hdr);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char empty[1];
	struct nhi_register_header h;
	struct nhi_err e = { "" };
	struct count n = { 0, 0 };
	unsigned char fsha[32], want[32];
	char *file;
	size_t len;
	FILE *in;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		len = size - 1;
		file = fuzz_copy(data + 1, len);
	} else if ((file = signed_file(data + 1, size - 1, &len)) == NULL) {
		return 0;
	}
	/* fmemopen refuses a zero-sized buffer: an empty file is one read. */
	in = fmemopen(len > 0 ? file : empty, len > 0 ? len : 1, "r");
	FUZZ_ASSERT(in != NULL);
	if (len == 0)
		(void)fgetc(in);
	memset(&h, 0, sizeof(h));
	if (nhi_register_read(in, conf, NOW, each, &n, &h, fsha, &e) != 0) {
		FUZZ_ASSERT(e.msg[0] != '\0');
	} else {
		FUZZ_ASSERT(n.lines == h.n_statements);
		FUZZ_ASSERT(h.expires_at > h.issued_at);
		FUZZ_ASSERT(strcmp(h.keyid, regkey.keyid) == 0);
		crypto_hash_sha256(want, (const unsigned char *)file, len);
		FUZZ_ASSERT(memcmp(want, fsha, sizeof(want)) == 0);
		nhi_register_header_clear(&h);
	}
	(void)fclose(in);
	free(file);
	return 0;
}
