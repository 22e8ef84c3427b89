/*
 * nhi.h: conventions shared by every part of the internal library.
 *
 * Error convention, the same for every function declared in common/:
 * a function returns 0 on success and -1 on failure; on failure, when it
 * takes a struct nhi_err, it has written one line into it that names the
 * file, line or field at fault. Output parameters named ret_* are written
 * only on success. Destructors accept NULL.
 *
 * Nothing in common/ logs, exits or touches process-global state (signal
 * dispositions, syslog identity, umask, locale): the PAM module and the NSS
 * module run inside other people's processes.
 */
#ifndef NHI_NHI_H
#define NHI_NHI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NHI_ERRLEN 512

struct nhi_err {
	char msg[NHI_ERRLEN];
};

/* Formats one line into e (if e is not NULL). Returns e. */
struct nhi_err *nhi_err_format(struct nhi_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns -1, the failure nhi_err_set stands for. */
static inline int
nhi_err_fail(const struct nhi_err *e)
{
	(void)e;
	return -1;
}

/*
 * Formats one line into e (if e is not NULL) and returns -1. A macro
 * around an inline function, so that the -1 is in sight of every caller:
 * clang's analyzer (make lint) does not follow a call into a variadic
 * function, and would otherwise walk paths on which a
 * "return nhi_err_set(...)" succeeded with its out-parameters unset.
 */
#define nhi_err_set(e, ...) nhi_err_fail(nhi_err_format((e), __VA_ARGS__))

/* Prefixes e's message with "prefix: " (for context added by a caller). */
void nhi_err_prefix(struct nhi_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Payload types of the three statement kinds (DESIGN.md §3). */
#define NHI_PT_BINDING "application/vnd.nhi.binding+json; version=1"
#define NHI_PT_ACCOUNT "application/vnd.nhi.account+json; version=1"
#define NHI_PT_REGISTER "application/vnd.nhi.register+json; version=1"

/* Bounds on everything untrusted input can make us hold. */
#define NHI_MAX_NAME 32		/* POSIX login name */
#define NHI_MAX_FIELD 256	/* owner, approver, ticket, id, globs */
#define NHI_MAX_LIST 64		/* hosts, services, sources, groups */
#define NHI_MAX_STATEMENT (64 * 1024)	/* one envelope, encoded */
#define NHI_MAX_HEADER (64 * 1024 * 1024) /* register header envelope */
#define NHI_MAX_DEPTH 8		/* JSON nesting */

#endif
