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

int nhi_logline(const struct nhi_request *r, const struct nhi_decision *d,
    const struct nhi_view *v, char *out, size_t len);

#endif
