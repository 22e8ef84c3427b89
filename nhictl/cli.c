/* cli.c: helpers shared by nhictl's subcommands. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
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
cli_read_lines(const char *path, char ***v, size_t *n)
{
	FILE *f;
	char *line = NULL, **nv;
	size_t cap = 0;
	ssize_t len;
	int r = -1;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		nhictl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' ||
			line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((size_t)len > NHI_MAX_STATEMENT) {
			nhictl_err("%s: a line is longer than %d bytes", path,
			    NHI_MAX_STATEMENT);
			goto out;
		}
		nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (nv == NULL)
			goto out;
		*v = nv;
		if (((*v)[*n] = strdup(line)) == NULL)
			goto out;
		(*n)++;
	}
	if (ferror(f)) {
		nhictl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return r;
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
	if (a >= 86400)
		fprintf(f, "%" PRId64 "d %" PRId64 "h", a / 86400,
		    a % 86400 / 3600);
	else if (a >= 3600)
		fprintf(f, "%" PRId64 "h %" PRId64 "m", a / 3600, a % 3600 / 60);
	else
		fprintf(f, "%" PRId64 "m %" PRId64 "s", a / 60, a % 60);
	fprintf(f, "%s)\n", d < 0 ? " ago" : " from now");
}
