/*
 * authinfo.h: the key an sshd login used, from SSH_AUTH_INFO_0.
 *
 * sshd sets SSH_AUTH_INFO_0 in the PAM environment: one line per completed
 * authentication method, "publickey TYPE BASE64" for a key (the full
 * certificate blob for a certificate), "keyboard-interactive/pam", and so
 * on. It is empty during the account stage of a plain publickey login.
 */
#ifndef NHI_AUTHINFO_H
#define NHI_AUTHINFO_H

#include "nhi.h"

/*
 * Finds the publickey line and writes its SHA256 fingerprint (of the key
 * inside, for a certificate) into ret_fp. Returns 1 when a key was found,
 * 0 when there is none (NULL, empty, or only other methods), -1 when a
 * publickey line could not be understood.
 */
int nhi_authinfo_key(const char *info, char *ret_fp, size_t fplen,
    struct nhi_err *e);

#endif
