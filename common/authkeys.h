/*
 * authkeys.h: an ssh-key binding as one line of sshd's authorized_keys
 * format, for nhictl authorized-keys (sshd's AuthorizedKeysCommand).
 */
#ifndef NHI_AUTHKEYS_H
#define NHI_AUTHKEYS_H

#include "nhi.h"
#include "statement.h"

/*
 * Formats the line that lets sshd accept b's key while b holds:
 *
 *   expiry-time="YYYYMMDDHHMMSSZ"[,from="CIDR,..."] TYPE BASE64 nhi:ID:OWNER
 *
 * ending in a newline. expiry-time is the last second of the binding
 * (not_after - 1, UTC), because sshd still accepts a key in the second
 * its expiry-time names. from= lists b's sources in their order and is
 * left out when there are none. TYPE BASE64 is b's key without the
 * comment it may carry: the line's comment names the binding and owner.
 *
 * Each field is checked here again, whatever validated it before, so
 * that the line is refused rather than printed when a field could end
 * the line, close a quoted option or add one, or when the line would say
 * something other than the binding: a key whose fingerprint is not
 * cred_fp, a certificate (which no authorized_keys line without
 * cert-authority matches), a time sshd cannot take.
 *
 * Returns 0 and sets *ret_line (to be freed), or -1 with e set.
 */
int nhi_authkeys_line(const struct nhi_binding *b, char **ret_line,
    struct nhi_err *e);

#endif
