/*
 * keys.h: Ed25519 keys (libsodium).
 *
 * A public key file NAME.pub holds one line "nhi-ed25519 BASE64 NAME".
 * A secret key file NAME.key (mode 0600) holds one line
 * "nhi-ed25519-secret BASE64SEED NAME", the 32-byte seed. The key id is the
 * first 8 bytes of SHA-256 of the raw public key, in lowercase hex.
 * Base64 is standard with padding (sodium_base64_VARIANT_ORIGINAL).
 */
#ifndef NHI_KEYS_H
#define NHI_KEYS_H

#include "nhi.h"

#define NHI_PK_LEN 32
#define NHI_SIG_LEN 64
#define NHI_KEYID_LEN 16

struct nhi_seckey {
	unsigned char sk[64];	/* libsodium's seed || public key */
	unsigned char pk[NHI_PK_LEN];
	char keyid[NHI_KEYID_LEN + 1];
	char *name;
};

/* Calls sodium_init() once; safe to call repeatedly. */
int nhi_crypto_init(void);

void nhi_keyid(const unsigned char pk[NHI_PK_LEN],
    char out[NHI_KEYID_LEN + 1]);
/* True when s has the form of a key id: NHI_KEYID_LEN lowercase hex. */
bool nhi_valid_keyid(const char *s);

/*
 * Writes BASE.key (0600) and BASE.pub (0644), refusing to overwrite either;
 * name is the label recorded in both (nhictl passes basename(BASE); NULL
 * means the same). nhi_seckey_load refuses a key file that group or others
 * may read.
 */
int nhi_keygen(const char *base, const char *name, struct nhi_err *e);
/* A new random key held only in memory (tests, benchmarks, ephemera). */
struct nhi_seckey *nhi_seckey_generate(const char *name);
int nhi_seckey_load(const char *path, struct nhi_seckey **ret,
    struct nhi_err *e);
void nhi_seckey_free(struct nhi_seckey *k);	/* wipes */

/*
 * Reads NAME.pub, or a file holding only a bare base64 key (32 raw bytes);
 * when no file of that name exists, path itself may be the base64 key.
 */
int nhi_pubkey_load(const char *path, unsigned char ret_pk[NHI_PK_LEN],
    struct nhi_err *e);
int nhi_pubkey_decode(const char *b64, unsigned char ret_pk[NHI_PK_LEN]);
/* Base64 of pk into out (at least 45 bytes). */
void nhi_pubkey_encode(const unsigned char pk[NHI_PK_LEN], char *out,
    size_t len);

int nhi_sign(const struct nhi_seckey *k, const void *msg, size_t len,
    unsigned char ret_sig[NHI_SIG_LEN]);
bool nhi_verify(const unsigned char pk[NHI_PK_LEN], const void *msg,
    size_t len, const unsigned char sig[NHI_SIG_LEN]);

/* Base64 helpers (standard alphabet, padding). Decoding is strict. */
char *nhi_b64_encode(const void *p, size_t n);
int nhi_b64_decode(const char *s, size_t slen, unsigned char **ret,
    size_t *ret_len);

/*
 * The SHA256 fingerprint of an OpenSSH public key blob, as ssh-keygen -l
 * prints it: "SHA256:" followed by unpadded base64 (at least 51 bytes).
 */
void nhi_ssh_fingerprint(const unsigned char *blob, size_t n, char *out,
    size_t len);
/* True when s is an SSH key fingerprint "SHA256:" + 43 base64 chars. */
bool nhi_valid_fingerprint(const char *s);

/*
 * Parses an OpenSSH public key line "TYPE BASE64 [comment]" (as in a .pub
 * file or SSH_AUTH_INFO_0 after the method). For a certificate type
 * (*-cert-v01@openssh.com) it returns the fingerprint of the key inside
 * the certificate. ret_type receives a copy of the plain key type.
 */
int nhi_ssh_key_parse(const char *line, char *ret_fp, size_t fplen,
    char **ret_type, struct nhi_err *e);

#endif
