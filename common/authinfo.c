/*
 * authinfo.c: the key an sshd login used, read from SSH_AUTH_INFO_0.
 *
 * The variable comes from sshd, but the lines inside it name methods this
 * code may not know (a newer sshd, "keyboard-interactive/pam", "password"),
 * so lines other than "publickey" are skipped: a line we do not understand
 * must not fail a login that the decision would allow.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authinfo.h"
#include "keys.h"

/* Larger than any key or certificate sshd reports (RSA-16384 certs fit). */
#define AUTHINFO_MAX (64 * 1024)

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Copies one line without its line ending and trailing white space.
 * Returns NULL on allocation failure.
 */
static char *
line_dup(const char *p, size_t n)
{
	char *s;

	while (n > 0 && is_space(p[n - 1]))
		n--;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Returns the text after "publickey" and white space, or NULL when the
 * line reports another method.
 */
static const char *
publickey_arg(const char *line)
{
	static const char method[] = "publickey";
	const char *p;

	while (is_space(*line))
		line++;
	if (strncmp(line, method, sizeof(method) - 1) != 0)
		return NULL;
	p = line + sizeof(method) - 1;
	/* The analyzer does not see that strncmp matched the 9 bytes. */
	/* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
	if (!is_space(*p))
		return NULL;
	while (is_space(*p))
		p++;
	return p;
}

int
nhi_authinfo_key(const char *info, char *ret_fp, size_t fplen,
    struct nhi_err *e)
{
	char fp[128], *line = NULL, *type = NULL;
	const char *p, *nl, *arg;
	size_t total;
	int nkeys = 0, r = -1;

	if (info == NULL || *info == '\0')
		return 0;
	if ((total = strnlen(info, AUTHINFO_MAX + 1)) > AUTHINFO_MAX)
		return nhi_err_set(e, "SSH_AUTH_INFO_0: longer than %d bytes",
		    AUTHINFO_MAX);

	/*
	 * With "AuthenticationMethods publickey,publickey" two keys are
	 * reported; the first one that parses is the one sshd accepted
	 * first, and the decision needs only one credential.
	 */
	for (p = info; p < info + total; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(info + total - p))) == NULL)
			nl = info + total;
		free(line);
		if ((line = line_dup(p, (size_t)(nl - p))) == NULL) {
			nhi_err_set(e, "SSH_AUTH_INFO_0: out of memory");
			goto out;
		}
		if ((arg = publickey_arg(line)) == NULL)
			continue;
		nkeys++;
		free(type);
		type = NULL;
		if (nhi_ssh_key_parse(arg, fp, sizeof(fp), &type, e) != 0)
			continue;
		if (strlen(fp) + 1 > fplen) {
			nhi_err_set(e, "SSH_AUTH_INFO_0: fingerprint buffer "
			    "too small");
			goto out;
		}
		memcpy(ret_fp, fp, strlen(fp) + 1);
		r = 1;
		goto out;
	}
	if (nkeys == 0)
		r = 0;
	else
		nhi_err_prefix(e, "SSH_AUTH_INFO_0");
out:
	free(line);
	free(type);
	return r;
}
