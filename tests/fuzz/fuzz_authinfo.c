/*
 * fuzz_authinfo.c: SSH_AUTH_INFO_0 as sshd hands it to PAM
 * (nhi_authinfo_key). The input is the variable's value (cut at a NUL
 * byte: it reaches the module as a C string). A key found has an
 * OpenSSH SHA256 fingerprint; a failure says why.
 */
#include "config.h"

#include <string.h>

#include "authinfo.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_err e = { "" };
	char *info = fuzz_cstr(data, size), fp[64], small[51];
	int r;

	memset(fp, 'x', sizeof(fp));
	r = nhi_authinfo_key(info, fp, sizeof(fp), &e);
	FUZZ_ASSERT(r >= -1 && r <= 1);
	if (r == 1) {
		/* "SHA256:" and 43 characters of unpadded base64. */
		FUZZ_ASSERT(strlen(fp) == 50 && strncmp(fp, "SHA256:", 7) == 0);
		FUZZ_ASSERT(strspn(fp + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/") == 43);
		/* The smallest buffer that holds it gives the same answer. */
		FUZZ_ASSERT(nhi_authinfo_key(info, small, sizeof(small),
		    &e) == 1 && strcmp(small, fp) == 0);
	} else if (r == -1) {
		FUZZ_ASSERT(e.msg[0] != '\0');
	}
	free(info);
	return 0;
}
