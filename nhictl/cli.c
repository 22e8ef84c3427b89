/* cli.c: helpers shared by nhictl's subcommands. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dsse.h"
#include "keys.h"
#include "nhictl.h"
#include "util.h"

struct nhi_conf *
cli_conf(const char *path)
{
	struct nhi_conf *c = NULL;
	struct nhi_err e;
	struct stat st;
	bool check_owner = true;

	if (path == NULL)
		path = getenv("NHI_CONFIG");
	if (path == NULL || *path == '\0')
		path = NHI_DEFAULT_CONFIG;
	if (getuid() != 0 && stat(path, &st) == 0 && st.st_uid == getuid())
		check_owner = false;
	if (nhi_conf_load(path, check_owner, &c, &e) != 0) {
		nhictl_err("%s", e.msg);
		return NULL;
	}
	return c;
}

int64_t
cli_now(void)
{
	return (int64_t)time(NULL);
}

int
cli_spool_statements(const char *path, FILE *out, size_t *n)
{
	struct nhi_envelope *env;
	struct nhi_err e;
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lineno = 0, before = *n;
	ssize_t len;
	int r = -1;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		nhictl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
			line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((size_t)len > NHI_MAX_STATEMENT) {
			nhictl_err("%s:%zu: longer than %d bytes: not a signed "
			    "statement", path, lineno, NHI_MAX_STATEMENT);
			goto out;
		}
		if (nhi_dsse_decode(line, (size_t)len, NHI_MAX_STATEMENT, &env,
		    &e) != 0) {
			nhictl_err("%s:%zu: not a signed statement: %s", path,
			    lineno, e.msg);
			goto out;
		}
		nhi_envelope_free(env);
		if (fwrite(line, 1, (size_t)len, out) != (size_t)len ||
		    putc('\n', out) == EOF) {
			nhictl_err("%s: cannot spool the statements: %s", path,
			    strerror(errno));
			goto out;
		}
		(*n)++;
	}
	if (ferror(f)) {
		nhictl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	/*
	 * A statement file left empty by a failed "nhictl issue ... > FILE"
	 * would drop that binding or account from the register unnoticed.
	 */
	if (*n == before) {
		nhictl_err("%s: no signed statement in it", path);
		goto out;
	}
	r = 0;
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return r;
}

struct nhi_seckey *
cli_seckey(const char *path)
{
	struct nhi_seckey *k = NULL;
	struct nhi_err e;
	char head[64];
	size_t n;
	FILE *f;

	/*
	 * The first word says what the file is: a public key or anything
	 * else is "not a secret key", whatever its mode. Only the tag is
	 * read here, and wiped.
	 */
	if ((f = fopen(path, "re")) != NULL) {
		n = fread(head, 1, sizeof(head) - 1, f);
		(void)fclose(f);
		head[n] = '\0';
		head[strcspn(head, " \t\r\n")] = '\0';
		if (strcmp(head, "nhi-ed25519-secret") != 0) {
			nhictl_err("%s: not a secret key%s", path,
			    strcmp(head, "nhi-ed25519") == 0 ?
				" (a public key: give the .key file)" : "");
			nhi_wipe(head, sizeof(head));
			return NULL;
		}
		nhi_wipe(head, sizeof(head));
	}
	if (nhi_crypto_init() != 0 || nhi_seckey_load(path, &k, &e) != 0) {
		nhictl_err("%s", e.msg);
		return NULL;
	}
	return k;
}

int
cli_usage(const char *text, bool ok)
{
	fputs(text, ok ? stdout : stderr);
	return ok ? CLI_OK : CLI_USAGE;
}

void
cli_print_time(FILE *f, const char *label, int64_t t, int64_t now)
{
	char buf[32];
	int64_t d = t - now, a = d < 0 ? -d : d;

	fprintf(f, "%-12s %s (", label, nhi_format_time(t, buf, sizeof(buf)));
	if (a < 1) {
		fprintf(f, "just now)\n");
		return;
	}
	if (a >= 86400)
		fprintf(f, "%" PRId64 "d %" PRId64 "h", a / 86400,
		    a % 86400 / 3600);
	else if (a >= 3600)
		fprintf(f, "%" PRId64 "h %" PRId64 "m", a / 3600,
		    a % 3600 / 60);
	else
		fprintf(f, "%" PRId64 "m %" PRId64 "s", a / 60, a % 60);
	fprintf(f, "%s)\n", d < 0 ? " ago" : " from now");
}
