/*
 * nhictl: the administrator's command for nhi. This file only dispatches;
 * each subcommand lives in its own file.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nhictl.h"

struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "make an Ed25519 key pair" },
	{ "issue", cmd_issue, "sign a binding or account statement" },
	{ "publish", cmd_publish, "sign a register of statements" },
	{ "sync", cmd_sync, "fetch, verify and install the register" },
	{ "status", cmd_status, "show the installed register's state" },
	{ "whois", cmd_whois, "show who owns a pseudonymous account" },
	{ "check", cmd_check, "explain the decision for a login" },
	{ "verify", cmd_verify, "verify a signed envelope and print it" },
	{ "log", cmd_log, "verify or show the decision log" },
	{ "authorized-keys", cmd_authorized_keys,
	    "sshd AuthorizedKeysCommand: the keys bound now" },
	{ NULL, NULL, NULL },
};

void
nhictl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("nhictl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: nhictl COMMAND [OPTIONS]\n\ncommands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-16s %s\n", c->name, c->summary);
	fprintf(f, "\n'nhictl COMMAND --help' describes each command.\n");
}

int
main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("nhictl %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->fn(argc - 1, argv + 1);
	nhictl_err("unknown command '%s' (see nhictl --help)", argv[1]);
	return 2;
}
