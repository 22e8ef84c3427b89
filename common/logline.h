/*
 * logline.h: the one line written per decision (syslog, nhictl check).
 *
 * Fixed field order, key=value, untrusted values escaped and capped:
 * result service account invoker rhost key binding owner ticket not_after
 * register reason.
 */
#ifndef NHI_LOGLINE_H
#define NHI_LOGLINE_H

#include "decide.h"
#include "nhi.h"

/*
 * A buffer this long always holds the whole line: twelve fields, each a
 * key, '=' and a value escaped from at most 100 bytes, quoted and marked
 * as cut. A shorter one may lose the last fields, the reason first.
 */
#define NHI_LOGLINE_MAX 5120

/*
 * Writes the line into out. refusal, when not NULL, is why a decision to
 * allow was overturned after it was made (a login that cannot be
 * recorded under require_audit): the line then says result=deny with
 * that reason, so syslog never shows an allow for a refused login.
 * Returns 0, or -1 when it did not fit: out then holds the fields that
 * fitted whole, never part of one.
 */
int nhi_logline(const struct nhi_request *r, const struct nhi_decision *d,
    const struct nhi_view *v, const char *refusal, char *out, size_t len);

#endif
