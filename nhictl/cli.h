/* cli.h: helpers shared by nhictl's subcommands. */
#ifndef NHI_CLI_H
#define NHI_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "conf.h"
#include "nhi.h"

/* Exit codes. status has its own (see cmd_host.c). */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/*
 * Loads the config named by --config (or NHI_CONFIG in the environment, or
 * the default). The owner and mode checks apply unless the file is the
 * caller's own and the caller is not root: an admin may test a config in
 * a scratch directory before installing it.
 */
struct nhi_conf *cli_conf(const char *path);

/* The current time, or the --at TIME given. */
int64_t cli_now(void);

/*
 * Copies the statement envelopes of path, one per line (blank lines
 * skipped; "-" reads standard input), to out, each newline-terminated.
 * Each line must decode as an envelope, and there must be one at least;
 * an error names the file and line. Holds one line at a time; adds the
 * number of statements to *n. Returns -1 after printing the error.
 */
int cli_spool_statements(const char *path, FILE *out, size_t *n);

/*
 * Loads a secret key; a file that is not one (a .pub given by mistake)
 * is named as such before its mode is judged. NULL after printing why.
 */
struct nhi_seckey *cli_seckey(const char *path);

/* Prints the command's help text on --help, or usage on a bad option. */
int cli_usage(const char *text, bool ok);

/*
 * Prints a time as "YYYY-MM-DDTHH:MM:SSZ (2h 3m from now)" relative to
 * now ("just now" within a second).
 */
void cli_print_time(FILE *f, const char *label, int64_t t, int64_t now);

#endif
