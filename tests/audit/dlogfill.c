/*
 * dlogfill: appends decision records to a decision log, for the shell
 * tests. usage: dlogfill LOGDIR STATEDIR COUNT EVERY ACCOUNT OWNER BINDING
 * Each record is an allowed sshd session for ACCOUNT under BINDING owned
 * by OWNER; EVERY is the checkpoint interval. Exit status 0 when every
 * record was appended.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog.h"
#include "keys.h"

int
main(int argc, char **argv)
{
	struct nhi_binding b;
	struct nhi_request r;
	struct nhi_decision d = { NHI_ALLOW, NHI_R_OK, &b, false };
	struct nhi_audit_login l = { &r, &d, NULL, "session", NULL, NULL,
		false };
	struct nhi_dlog o = { NULL, NULL, "testhost", 0, 0, 0, true };
	struct nhi_err e;
	char approver[] = "approver", ticket[] = "CHG-1";
	long i, n;

	if (argc != 8 || nhi_crypto_init() != 0) {
		fprintf(stderr, "usage: dlogfill LOGDIR STATEDIR COUNT EVERY "
		    "ACCOUNT OWNER BINDING\n");
		return 2;
	}
	o.dir = argv[1];
	o.state_dir = argv[2];
	n = strtol(argv[3], NULL, 10);
	o.checkpoint_every = (unsigned)strtoul(argv[4], NULL, 10);
	memset(&b, 0, sizeof(b));
	b.id = argv[7];
	b.owner = argv[6];
	b.approver = approver;
	b.ticket = ticket;
	b.not_after = 1767225600;
	memset(&r, 0, sizeof(r));
	r.service = "sshd";
	r.account = argv[5];
	r.rhost = "127.0.0.1";
	r.cred = NHI_SEEN_SSH_KEY;
	r.key_fp = "SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA";
	for (i = 0; i < n; i++) {
		if (nhi_dlog_decision(&o, &l, UINT32_MAX, &e) != 0) {
			fprintf(stderr, "dlogfill: %s\n", e.msg);
			return 1;
		}
	}
	return 0;
}
