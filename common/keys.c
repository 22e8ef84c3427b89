/* keys.c: Ed25519 keys, key files, base64 and OpenSSH public keys. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "util.h"

#define PUB_TAG "nhi-ed25519"
#define SEC_TAG "nhi-ed25519-secret"
#define KEYFILE_MAX 4096
#define SSH_LINE_MAX (64 * 1024)

int
nhi_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void
nhi_keyid(const unsigned char pk[NHI_PK_LEN], char out[NHI_KEYID_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, NHI_PK_LEN);
	nhi_hex(h, NHI_KEYID_LEN / 2, out);
}

bool
nhi_valid_keyid(const char *s)
{
	return s != NULL && strlen(s) == NHI_KEYID_LEN &&
	    strspn(s, "0123456789abcdef") == NHI_KEYID_LEN;
}

char *
nhi_b64_encode(const void *p, size_t n)
{
	size_t len;
	char *s;

	if (n > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((s = malloc(len)) == NULL)
		return NULL;
	(void)sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/*
 * True when each of the n bytes of s is a character of the standard
 * alphabet or '='. libsodium (1.0.18) reads any byte above 0x7f as '/':
 * a key text that sshd refuses, or a second encoding of a signed
 * envelope, would decode to a real key or payload.
 */
static bool
b64_alphabet(const char *s, size_t n)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c < 'A' || c > 'Z') && (c < 'a' || c > 'z') &&
		    (c < '0' || c > '9') && c != '+' && c != '/' && c != '=')
			return false;
	}
	return true;
}

/*
 * Decoding is strict: every byte of s must be consumed, so whitespace, a
 * NUL or garbage after the padding are errors. libsodium itself rejects
 * missing padding and non-zero unused bits, so each value has exactly one
 * accepted encoding.
 */
int
nhi_b64_decode(const char *s, size_t slen, unsigned char **ret,
    size_t *ret_len)
{
	unsigned char *bin;
	const char *end = NULL;
	size_t binlen = 0, cap;

	if (s == NULL || slen > SIZE_MAX - 3 || !b64_alphabet(s, slen))
		return -1;
	cap = slen / 4 * 3 + 3;
	if ((bin = malloc(cap)) == NULL)
		return -1;
	if (sodium_base642bin(bin, cap, s, slen, NULL, &binlen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + slen) {
		free(bin);
		return -1;
	}
	*ret = bin;
	*ret_len = binlen;
	return 0;
}

int
nhi_pubkey_decode(const char *b64, unsigned char ret_pk[NHI_PK_LEN])
{
	unsigned char *bin;
	size_t n;

	if (b64 == NULL || nhi_b64_decode(b64, strlen(b64), &bin, &n) != 0)
		return -1;
	if (n != NHI_PK_LEN) {
		free(bin);
		return -1;
	}
	memcpy(ret_pk, bin, NHI_PK_LEN);
	free(bin);
	return 0;
}

void
nhi_pubkey_encode(const unsigned char pk[NHI_PK_LEN], char *out, size_t len)
{
	if (len < sodium_base64_ENCODED_LEN(NHI_PK_LEN,
	    sodium_base64_VARIANT_ORIGINAL)) {
		if (len > 0)
			out[0] = '\0';
		return;
	}
	(void)sodium_bin2base64(out, len, pk, NHI_PK_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

int
nhi_sign(const struct nhi_seckey *k, const void *msg, size_t len,
    unsigned char ret_sig[NHI_SIG_LEN])
{
	if (nhi_crypto_init() != 0)
		return -1;
	return crypto_sign_detached(ret_sig, NULL, msg, len, k->sk) == 0 ?
	    0 : -1;
}

bool
nhi_verify(const unsigned char pk[NHI_PK_LEN], const void *msg, size_t len,
    const unsigned char sig[NHI_SIG_LEN])
{
	if (nhi_crypto_init() != 0)
		return false;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

/*
 * Splits a key file's single line "TAG BASE64 NAME" in place. The name
 * may be absent; anything after it, or a second line, is an error.
 */
static int
split_keyline(char *buf, size_t len, char **ret_tag, char **ret_b64,
    char **ret_name)
{
	char *p, *tag, *b64, *name = NULL;

	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strlen(buf) != len || strchr(buf, '\n') != NULL)
		return -1;
	tag = buf;
	if ((p = strchr(tag, ' ')) == NULL)
		return -1;
	*p++ = '\0';
	b64 = p;
	if ((p = strchr(b64, ' ')) != NULL) {
		*p++ = '\0';
		name = p;
		if (!nhi_valid_text(name))
			return -1;
	}
	*ret_tag = tag;
	*ret_b64 = b64;
	*ret_name = name;
	return 0;
}

static char *
default_name(const char *base)
{
	const char *slash = strrchr(base, '/');

	return strdup(slash != NULL ? slash + 1 : base);
}

static int
write_excl(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data);
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(path);
	errno = saved;
	return -1;
}

struct nhi_seckey *
nhi_seckey_generate(const char *name)
{
	struct nhi_seckey *k;

	if (nhi_crypto_init() != 0 || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	crypto_sign_keypair(k->pk, k->sk);
	nhi_keyid(k->pk, k->keyid);
	if ((k->name = strdup(name)) == NULL) {
		nhi_seckey_free(k);
		return NULL;
	}
	return k;
}

int
nhi_keygen(const char *base, const char *name, struct nhi_err *e)
{
	unsigned char pk[NHI_PK_LEN], sk[crypto_sign_SECRETKEYBYTES];
	char *keypath = NULL, *pubpath = NULL, *sec = NULL, *pub = NULL;
	char *label = NULL, seed64[64], pk64[64];
	int r = -1;

	if (nhi_crypto_init() != 0)
		return nhi_err_set(e, "libsodium failed to initialise");
	label = name != NULL ? strdup(name) : default_name(base);
	if (label == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	if (!nhi_valid_text(label)) {
		nhi_err_set(e, "%s: key name must use [A-Za-z0-9._@+=/-]",
		    base);
		goto out;
	}
	if (asprintf(&keypath, "%s.key", base) < 0 ||
	    asprintf(&pubpath, "%s.pub", base) < 0) {
		keypath = pubpath = NULL;
		nhi_err_set(e, "out of memory");
		goto out;
	}

	crypto_sign_keypair(pk, sk);
	(void)sodium_bin2base64(seed64, sizeof(seed64), sk,
	    crypto_sign_SEEDBYTES, sodium_base64_VARIANT_ORIGINAL);
	nhi_pubkey_encode(pk, pk64, sizeof(pk64));
	if (asprintf(&sec, "%s %s %s\n", SEC_TAG, seed64, label) < 0 ||
	    asprintf(&pub, "%s %s %s\n", PUB_TAG, pk64, label) < 0) {
		sec = pub = NULL;
		nhi_err_set(e, "out of memory");
		goto out;
	}

	if (write_excl(keypath, sec, 0600) != 0) {
		nhi_err_set(e, "%s: %s", keypath, strerror(errno));
		goto out;
	}
	if (write_excl(pubpath, pub, 0644) != 0) {
		nhi_err_set(e, "%s: %s", pubpath, strerror(errno));
		(void)unlink(keypath);
		goto out;
	}
	r = 0;
out:
	nhi_wipe(sk, sizeof(sk));
	nhi_wipe(seed64, sizeof(seed64));
	if (sec != NULL)
		nhi_wipe(sec, strlen(sec));
	free(sec);
	free(pub);
	free(keypath);
	free(pubpath);
	free(label);
	return r;
}

int
nhi_seckey_load(const char *path, struct nhi_seckey **ret,
    struct nhi_err *e)
{
	struct nhi_seckey *k = NULL;
	struct stat st;
	unsigned char *seed = NULL;
	char *buf = NULL, *tag, *b64, *name;
	size_t len = 0, seedlen = 0;
	int fd, r = -1;

	if (nhi_crypto_init() != 0)
		return nhi_err_set(e, "libsodium failed to initialise");
	if ((fd = nhi_open_regular(path, &st, e)) < 0)
		return -1;
	/* Like ssh, refuse a secret others could have read. */
	if ((st.st_mode & 077) != 0) {
		nhi_err_set(e, "%s: permissions %04o are too open (want 0600)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (nhi_read_fd(fd, KEYFILE_MAX, &buf, &len) != 0) {
		nhi_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (split_keyline(buf, len, &tag, &b64, &name) != 0 ||
	    strcmp(tag, SEC_TAG) != 0 ||
	    nhi_b64_decode(b64, strlen(b64), &seed, &seedlen) != 0 ||
	    seedlen != crypto_sign_SEEDBYTES) {
		nhi_err_set(e, "%s: not an nhi secret key file", path);
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->name = strdup(name != NULL ? name : "")) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0) {
		nhi_err_set(e, "%s: cannot derive the key", path);
		goto out;
	}
	nhi_keyid(k->pk, k->keyid);
	*ret = k;
	k = NULL;
	r = 0;
out:
	if (seed != NULL)
		nhi_wipe(seed, seedlen);
	free(seed);
	if (buf != NULL)
		nhi_wipe(buf, len);
	free(buf);
	(void)close(fd);
	nhi_seckey_free(k);
	return r;
}

void
nhi_seckey_free(struct nhi_seckey *k)
{
	if (k == NULL)
		return;
	free(k->name);
	nhi_wipe(k, sizeof(*k));
	free(k);
}

int
nhi_pubkey_load(const char *path, unsigned char ret_pk[NHI_PK_LEN],
    struct nhi_err *e)
{
	unsigned char pk[NHI_PK_LEN];
	char *buf = NULL, *tag, *b64, *name;
	size_t len = 0;
	int r = -1;

	if (nhi_read_file(path, KEYFILE_MAX, &buf, &len) != 0) {
		int saved = errno;

		/* Not a file: a key given inline as base64. */
		if (saved == ENOENT && nhi_pubkey_decode(path, pk) == 0) {
			memcpy(ret_pk, pk, NHI_PK_LEN);
			return 0;
		}
		return nhi_err_set(e, "%s: %s", path, strerror(saved));
	}
	if (split_keyline(buf, len, &tag, &b64, &name) == 0) {
		if (strcmp(tag, PUB_TAG) != 0 || nhi_pubkey_decode(b64,
		    pk) != 0) {
			nhi_err_set(e, "%s: not an nhi public key file", path);
			goto out;
		}
	} else if (nhi_pubkey_decode(buf, pk) != 0) {
		nhi_err_set(e, "%s: not an nhi public key file", path);
		goto out;
	}
	memcpy(ret_pk, pk, NHI_PK_LEN);
	r = 0;
out:
	free(buf);
	return r;
}

/* "SHA256:" and 43 characters of unpadded base64, as ssh-keygen -l. */
bool
nhi_valid_fingerprint(const char *s)
{
	static const char prefix[] = "SHA256:";
	size_t i;

	if (s == NULL || strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return false;
	s += sizeof(prefix) - 1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/'))
			return false;
	}
	return i == 43;
}

void
nhi_ssh_fingerprint(const unsigned char *blob, size_t n, char *out,
    size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

	crypto_hash_sha256(h, blob, n);
	(void)sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	(void)snprintf(out, len, "SHA256:%s", b64);
}

/* A reader over an SSH wire-format buffer (RFC 4251 §5). */
struct wire {
	const unsigned char *p;
	size_t left;
};

static int
wire_u32(struct wire *w, uint32_t *ret)
{
	if (w->left < 4)
		return -1;
	*ret = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 |
	    (uint32_t)w->p[2] << 8 | w->p[3];
	w->p += 4;
	w->left -= 4;
	return 0;
}

static int
wire_skip(struct wire *w, size_t n)
{
	if (w->left < n)
		return -1;
	w->p += n;
	w->left -= n;
	return 0;
}

/* A string (or mpint): its bytes are returned in place. */
static int
wire_string(struct wire *w, const unsigned char **ret, size_t *ret_len)
{
	uint32_t n;

	if (wire_u32(w, &n) != 0 || n > w->left)
		return -1;
	*ret = w->p;
	*ret_len = n;
	return wire_skip(w, n);
}

static int
wire_string_eq(struct wire *w, const char *want)
{
	const unsigned char *s;
	size_t n;

	if (wire_string(w, &s, &n) != 0)
		return -1;
	return n == strlen(want) && memcmp(s, want, n) == 0 ? 0 : -1;
}

/* A positive mpint of at most maxbits bits, minimally encoded. */
static int
wire_mpint(struct wire *w, size_t maxbits)
{
	const unsigned char *s;
	size_t n;

	if (wire_string(w, &s, &n) != 0 || n == 0 || n > maxbits / 8 + 1)
		return -1;
	if ((s[0] & 0x80) != 0)
		return -1;
	if (s[0] == 0 && (n == 1 || (s[1] & 0x80) == 0))
		return -1;
	return 0;
}

enum key_fields {
	KF_ED25519,		/* string pk */
	KF_SK_ED25519,		/* string pk, string application */
	KF_RSA,			/* mpint e, mpint n */
	KF_ECDSA,		/* string curve, string Q */
	KF_SK_ECDSA,		/* string curve, string Q, string application */
};

struct key_type {
	const char *name;	/* plain type */
	const char *cert;	/* certificate type */
	enum key_fields fields;
	const char *curve;
	size_t qlen;		/* uncompressed point length */
};

static const struct key_type key_types[] = {
	{ "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", KF_ED25519,
	    NULL, 0 },
	{ "sk-ssh-ed25519@openssh.com",
	    "sk-ssh-ed25519-cert-v01@openssh.com", KF_SK_ED25519, NULL, 0 },
	{ "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", KF_RSA, NULL, 0 },
	{ "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
	    KF_ECDSA, "nistp256", 65 },
	{ "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
	    KF_ECDSA, "nistp384", 97 },
	{ "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
	    KF_ECDSA, "nistp521", 133 },
	{ "sk-ecdsa-sha2-nistp256@openssh.com",
	    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", KF_SK_ECDSA,
	    "nistp256", 65 },
};

static const struct key_type *
key_type_find(const char *name, bool *ret_cert)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcmp(name, key_types[i].name) == 0) {
			*ret_cert = false;
			return &key_types[i];
		}
		if (strcmp(name, key_types[i].cert) == 0) {
			*ret_cert = true;
			return &key_types[i];
		}
	}
	return NULL;
}

/* Reads the public key fields of type kt and checks their shape. */
static int
wire_key_fields(struct wire *w, const struct key_type *kt)
{
	const unsigned char *s;
	size_t n;

	switch (kt->fields) {
	case KF_ED25519:
	case KF_SK_ED25519:
		if (wire_string(w, &s, &n) != 0 ||
		    n != crypto_sign_PUBLICKEYBYTES)
			return -1;
		break;
	case KF_RSA:
		if (wire_mpint(w, 64) != 0 || wire_mpint(w, 16384) != 0)
			return -1;
		break;
	case KF_ECDSA:
	case KF_SK_ECDSA:
		if (wire_string_eq(w, kt->curve) != 0 ||
		    wire_string(w, &s, &n) != 0 || n != kt->qlen ||
		    s[0] != 0x04)
			return -1;
		break;
	}
	if (kt->fields == KF_SK_ED25519 || kt->fields == KF_SK_ECDSA)
		if (wire_string(w, &s, &n) != 0 || n == 0)
			return -1;
	return 0;
}

/* The certificate fields after the key, checked only for their shape. */
static int
wire_cert_rest(struct wire *w)
{
	const unsigned char *s;
	uint32_t u;
	size_t n;
	int i;

	if (wire_skip(w, 8) != 0 || wire_u32(w, &u) != 0 ||
	    (u != 1 && u != 2))
		return -1;
	/* Two strings in a row: each call reads (skips) one. */
	/* NOLINTNEXTLINE(misc-redundant-expression) */
	if (wire_string(w, &s, &n) != 0 || wire_string(w, &s, &n) != 0 ||
	    wire_skip(w, 16) != 0)
		return -1;
	for (i = 0; i < 5; i++)
		if (wire_string(w, &s, &n) != 0)
			return -1;
	return w->left == 0 ? 0 : -1;
}

/*
 * Computes the fingerprint of the key a blob holds. A certificate is
 * fingerprinted by the key inside it, rebuilt as the plain-key blob,
 * because that key is what a binding names and what ssh-keygen -l shows.
 */
static int
ssh_blob_fingerprint(const unsigned char *blob, size_t n, const char *type,
    char *ret_fp, size_t fplen, const struct key_type **ret_kt)
{
	const struct key_type *kt;
	const unsigned char *fields;
	unsigned char *plain;
	struct wire w = { blob, n };
	size_t nlen, flen;
	bool cert;

	if ((kt = key_type_find(type, &cert)) == NULL ||
	    wire_string_eq(&w, type) != 0)
		return -1;
	if (cert && wire_string(&w, &fields, &flen) != 0)
		return -1;	/* the nonce */
	fields = w.p;
	if (wire_key_fields(&w, kt) != 0)
		return -1;
	flen = (size_t)(w.p - fields);
	if (!cert) {
		if (w.left != 0)
			return -1;
		nhi_ssh_fingerprint(blob, n, ret_fp, fplen);
		*ret_kt = kt;
		return 0;
	}
	if (wire_cert_rest(&w) != 0)
		return -1;
	nlen = strlen(kt->name);
	if ((plain = malloc(4 + nlen + flen)) == NULL)
		return -1;
	plain[0] = (unsigned char)(nlen >> 24);
	plain[1] = (unsigned char)(nlen >> 16);
	plain[2] = (unsigned char)(nlen >> 8);
	plain[3] = (unsigned char)nlen;
	memcpy(plain + 4, kt->name, nlen);
	memcpy(plain + 4 + nlen, fields, flen);
	nhi_ssh_fingerprint(plain, 4 + nlen + flen, ret_fp, fplen);
	free(plain);
	*ret_kt = kt;
	return 0;
}

int
nhi_ssh_key_parse(const char *line, char *ret_fp, size_t fplen,
    char **ret_type, struct nhi_err *e)
{
	const struct key_type *kt = NULL;
	unsigned char *blob = NULL;
	const char *p, *b64, *end;
	char type[64], fp[64], *tcopy = NULL, esc[80];
	size_t tlen, blen;
	int r = -1;

	if (line == NULL || strlen(line) > SSH_LINE_MAX)
		return nhi_err_set(e, "ssh key: missing or too long");
	if (fplen < 51)
		return nhi_err_set(e, "ssh key: fingerprint buffer too small");
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	tlen = strcspn(p, " \t");
	if (tlen == 0 || tlen >= sizeof(type) || p[tlen] == '\0')
		return nhi_err_set(e, "ssh key: expected \"TYPE BASE64\"");
	memcpy(type, p, tlen);
	type[tlen] = '\0';
	for (b64 = p + tlen; *b64 == ' ' || *b64 == '\t'; b64++)
		;
	end = b64 + strcspn(b64, " \t\r\n");

	if (!key_type_find(type, &(bool){ false })) {
		nhi_escape(type, 40, esc, sizeof(esc));
		return nhi_err_set(e, "ssh key: unsupported type \"%s\"", esc);
	}
	if (nhi_b64_decode(b64, (size_t)(end - b64), &blob, &blen) != 0) {
		nhi_err_set(e, "ssh key: invalid base64");
		goto out;
	}
	if (ssh_blob_fingerprint(blob, blen, type, fp, sizeof(fp), &kt) != 0) {
		nhi_err_set(e, "ssh key: malformed %s key", type);
		goto out;
	}
	if (ret_type != NULL && (tcopy = strdup(kt->name)) == NULL) {
		nhi_err_set(e, "out of memory");
		goto out;
	}
	(void)snprintf(ret_fp, fplen, "%s", fp);
	if (ret_type != NULL)
		*ret_type = tcopy;
	r = 0;
out:
	free(blob);
	return r;
}
