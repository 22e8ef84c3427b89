/*
 * nhictl.h: the subcommands of nhictl. Each takes the arguments after its
 * own name (argv[0] is the subcommand) and returns the process exit code.
 */
#ifndef NHI_NHICTL_H
#define NHI_NHICTL_H

int cmd_keygen(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_whois(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_authorized_keys(int argc, char **argv);
int cmd_log(int argc, char **argv);

/* Prints "nhictl: " and the message to stderr. */
void nhictl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
