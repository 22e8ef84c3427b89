/* err.c: the one-line error carried back to the caller. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nhi.h"

struct nhi_err *
nhi_err_format(struct nhi_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return NULL;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return e;
}

void
nhi_err_prefix(struct nhi_err *e, const char *fmt, ...)
{
	char prefix[NHI_ERRLEN], old[NHI_ERRLEN];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	(void)snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
}
