/*
 * check_decide.c: the decision, table-driven.
 *
 * Each case describes bindings as an issuer would sign them, a deny list
 * and a request. The bindings are signed for real, opened through
 * nhi_statement_open (so bad signatures and wrong payload types are judged
 * by the verifier, not by the table), compiled into a PAM index in a
 * private directory, read back as the view a login would see, and decided.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "decide.h"
#include "dsse.h"
#include "keys.h"
#include "pamidx.h"
#include "statement.h"
#include "testutil.h"

#define T0 1800000000	/* 2027-01-15T08:00:00Z */
#define H 3600

enum issuer_id { ISS_OPS = 0, ISS_NARROW, ISS_ROGUE, ISS_COUNT };
enum skey { KEY_NONE = 0, KEY_A, KEY_B, KEY_COUNT };

/* Ways a statement can be spoiled after it is built. */
enum spoil {
	SP_NONE = 0,
	SP_BAD_SIG,	/* one bit of the signature flipped */
	SP_WRONG_TYPE,	/* signed as an account statement */
	SP_APPROVER_IS_OWNER,
	SP_OTHER_ISSUER_FIELD,	/* payload names another issuer */
};

struct bspec {
	bool used;
	const char *account;
	enum nhi_cred_kind kind;
	enum skey key;		/* ssh-key */
	const char *user;	/* user */
	const char *hosts;
	const char *services;
	int64_t nb, na;		/* offsets from T0 */
	const char *owner;
	enum issuer_id issuer;
	const char *source;
	enum spoil spoil;
};

struct dcase {
	const char *name;
	struct bspec b[3];
	const char *deny[2];	/* nhictl publish --deny syntax */
	bool no_register;
	int64_t reg_expires;	/* offset from T0; 0: a day */
	int64_t recertify_by;	/* offset from T0 for the account record */
	bool account_record;	/* a pseudonymous account record exists */
	bool audit;
	const char *service, *account, *invoker, *rhost;
	uint32_t uid;
	const char *group;
	enum nhi_cred_seen cred;
	enum skey key;
	int64_t at;		/* offset from T0 */
	enum nhi_result want;
	enum nhi_reason why;
};

#define KEYB(acct, k, svc, nb, na, own)                                      \
	{ true, acct, NHI_CRED_SSH_KEY, k, NULL, "web-*", svc, nb, na, own,  \
	    ISS_OPS, NULL, SP_NONE }
#define SSH_A(at_) "sshd", "deploy", NULL, "192.0.2.7", 1001, NULL,          \
	    NHI_SEEN_SSH_KEY, KEY_A, at_
#define SSH_B(at_) "sshd", "deploy", NULL, "192.0.2.7", 1001, NULL,          \
	    NHI_SEEN_SSH_KEY, KEY_B, at_

static const struct dcase cases[] = {
	{ "bound key allowed", { KEYB("deploy", KEY_A, "sshd", 0, H,
	    "alice@example.com") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(60), NHI_ALLOW, NHI_R_OK },
	{ "other key refused", { KEYB("deploy", KEY_A, "sshd", 0, H,
	    "alice@example.com") }, { NULL }, false, 0, 0, false, false,
	    SSH_B(60), NHI_DENY, NHI_R_WRONG_KEY },
	{ "no binding at all", { { 0 } }, { NULL }, false, 0, 0, false,
	    false, SSH_A(60), NHI_DENY, NHI_R_NO_BINDING },
	{ "exactly not_before allowed", { KEYB("deploy", KEY_A, "sshd",
	    10000, 10000 + H, "alice") }, { NULL }, false, 0, 0, false,
	    false, SSH_A(10000), NHI_ALLOW, NHI_R_OK },
	{ "one second before not_after allowed", { KEYB("deploy", KEY_A,
	    "sshd", 0, H, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(H - 1 + 60), NHI_ALLOW, NHI_R_OK },
	{ "exactly not_after refused", { KEYB("deploy", KEY_A, "sshd", 0,
	    H, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(H + 60), NHI_DENY, NHI_R_EXPIRED },
	{ "skew: 59 s early still allowed", { KEYB("deploy", KEY_A, "sshd",
	    1000, 1000 + H, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(1000 - 59), NHI_ALLOW, NHI_R_OK },
	{ "skew: 61 s early not yet valid", { KEYB("deploy", KEY_A, "sshd",
	    1000, 1000 + H, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(1000 - 61), NHI_DENY, NHI_R_NOT_YET_VALID },
	{ "skew: 59 s after not_after allowed", { KEYB("deploy", KEY_A,
	    "sshd", 0, H, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(H + 59), NHI_ALLOW, NHI_R_OK },
	{ "skew: 61 s after not_after expired", { KEYB("deploy", KEY_A,
	    "sshd", 0, H, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(H + 61), NHI_DENY, NHI_R_EXPIRED },
	{ "wrong host", { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL,
	    "db-*", "sshd", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_WRONG_HOST },
	{ "host group matches", { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A,
	    NULL, "@prod", "sshd", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_ALLOW,
	    NHI_R_OK },
	{ "other host group refused", { { true, "deploy", NHI_CRED_SSH_KEY,
	    KEY_A, NULL, "@staging", "sshd", 0, H, "alice", ISS_OPS, NULL,
	    SP_NONE } }, { NULL }, false, 0, 0, false, false, SSH_A(60),
	    NHI_DENY, NHI_R_WRONG_HOST },
	{ "wrong service", { KEYB("deploy", KEY_A, "sudo", 0, H, "alice") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_WRONG_SERVICE },
	{ "source inside CIDR", { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A,
	    NULL, "web-*", "sshd", 0, H, "alice", ISS_OPS, "192.0.2.0/24",
	    SP_NONE } }, { NULL }, false, 0, 0, false, false, SSH_A(60),
	    NHI_ALLOW, NHI_R_OK },
	{ "source outside CIDR", { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A,
	    NULL, "web-*", "sshd", 0, H, "alice", ISS_OPS, "198.51.100.0/24",
	    SP_NONE } }, { NULL }, false, 0, 0, false, false, SSH_A(60),
	    NHI_DENY, NHI_R_WRONG_SOURCE },
	{ "source needed but no rhost", { { true, "deploy", NHI_CRED_SSH_KEY,
	    KEY_A, NULL, "web-*", "sshd", 0, H, "alice", ISS_OPS,
	    "192.0.2.0/24", SP_NONE } }, { NULL }, false, 0, 0, false, false,
	    "sshd", "deploy", NULL, NULL, 1001, NULL, NHI_SEEN_SSH_KEY, KEY_A,
	    60, NHI_DENY, NHI_R_WRONG_SOURCE },
	{ "revoked by id", { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { "@ID0" }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_REVOKED },
	{ "revoked by owner", { KEYB("deploy", KEY_A, "sshd", 0, H,
	    "alice") }, { "owner:alice" }, false, 0, 0, false, false,
	    SSH_A(60), NHI_DENY, NHI_R_REVOKED },
	{ "revoked by key", { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { "@KEYA" }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_REVOKED },
	{ "denied key refused on a checkout",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { "@KEYA" }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_REVOKED },
	{ "denied key refused beside its own owner's checkout",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "bob", ISS_OPS, NULL, SP_NONE },
		KEYB("deploy", KEY_B, "sshd", 0, H, "bob") },
	    { "@KEYA" }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_REVOKED },
	{ "other key still allowed on a checkout despite a denied key",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { "@KEYA" }, false, 0, 0, false, false, SSH_B(60), NHI_ALLOW,
	    NHI_R_OK },
	{ "denied owner loses a checkout",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { "owner:alice" }, false, 0, 0, false, false, "login", "deploy",
	    NULL, NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_REVOKED },
	{ "denied owner loses a checkout used with a key",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { "owner:alice" }, false, 0, 0, false, false, SSH_B(60), NHI_DENY,
	    NHI_R_REVOKED },
	{ "revocation of another owner leaves this one",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { "owner:mallory" }, false, 0, 0, false, false, SSH_A(60),
	    NHI_ALLOW, NHI_R_OK },
	{ "two owners for one key: ambiguous",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice"),
		KEYB("deploy", KEY_A, "sshd", 0, H, "bob") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_AMBIGUOUS_OWNER },
	{ "two bindings, one owner: allowed",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice"),
		KEYB("deploy", KEY_A, "sshd", 0, 2 * H, "alice") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_ALLOW,
	    NHI_R_OK },
	{ "two keys, two owners: the key decides",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice"),
		KEYB("deploy", KEY_B, "sshd", 0, H, "bob") },
	    { NULL }, false, 0, 0, false, false, SSH_B(60), NHI_ALLOW,
	    NHI_R_OK },
	{ "overlapping checkouts by two owners",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE },
		{ true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*", "*",
		    1800, 2 * H, "bob", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "login", "deploy", NULL,
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 2000, NHI_DENY,
	    NHI_R_AMBIGUOUS_OWNER },
	{ "checkouts one after the other",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE },
		{ true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*", "*",
		    H, 2 * H, "bob", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "login", "deploy", NULL,
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 1000, NHI_ALLOW,
	    NHI_R_OK },
	{ "checkout and another owner's key: ambiguous",
	    { { true, "deploy", NHI_CRED_CHECKOUT, KEY_NONE, NULL, "*",
		"*", 0, H, "alice", ISS_OPS, NULL, SP_NONE },
		KEYB("deploy", KEY_A, "sshd", 0, H, "bob") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_AMBIGUOUS_OWNER },
	{ "issuer out of scope (account)",
	    { { true, "root", NHI_CRED_USER, KEY_NONE, "alice", "*", "sudo",
		0, H / 2, "alice", ISS_NARROW, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "sudo", "root", "alice",
	    NULL, 0, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_OUT_OF_SCOPE },
	{ "issuer out of scope (service)",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H / 2, "alice", ISS_NARROW, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_OUT_OF_SCOPE },
	{ "window longer than the issuer may grant",
	    { { true, "deploy", NHI_CRED_USER, KEY_NONE, "alice", "*",
		"sudo", 0, 2 * H, "alice", ISS_NARROW, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "sudo", "deploy", "alice",
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_OUT_OF_SCOPE },
	{ "narrow issuer within scope",
	    { { true, "deploy", NHI_CRED_USER, KEY_NONE, "alice", "*",
		"sudo", 0, H, "alice", ISS_NARROW, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "sudo", "deploy", "alice",
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_ALLOW,
	    NHI_R_OK },
	{ "untrusted issuer's statement is dropped",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H, "alice", ISS_ROGUE, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_NO_BINDING },
	{ "approver equal to owner is rejected",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H, "alice", ISS_OPS, NULL, SP_APPROVER_IS_OWNER } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_NO_BINDING },
	{ "bad signature is rejected",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H, "alice", ISS_OPS, NULL, SP_BAD_SIG } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_NO_BINDING },
	{ "wrong payload type is rejected",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H, "alice", ISS_OPS, NULL, SP_WRONG_TYPE } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_NO_BINDING },
	{ "payload naming another issuer is rejected",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H, "alice", ISS_OPS, NULL, SP_OTHER_ISSUER_FIELD } },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_NO_BINDING },
	{ "bad signature beside a good binding",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "*", "sshd",
		0, H, "mallory", ISS_OPS, NULL, SP_BAD_SIG },
		KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_ALLOW,
	    NHI_R_OK },
	{ "sudo: bound invoker allowed",
	    { { true, "deploy", NHI_CRED_USER, KEY_NONE, "alice", "web-01",
		"sudo", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "sudo", "deploy", "alice",
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_ALLOW,
	    NHI_R_OK },
	{ "sudo: other invoker refused",
	    { { true, "deploy", NHI_CRED_USER, KEY_NONE, "alice", "web-01",
		"sudo", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "sudo", "deploy", "bob",
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_WRONG_INVOKER },
	{ "su: no invoker known",
	    { { true, "deploy", NHI_CRED_USER, KEY_NONE, "alice", "*",
		"su", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "su", "deploy", NULL, NULL,
	    1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_NO_CREDENTIAL },
	{ "sshd account stage: a key binding could apply",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice"),
		KEYB("deploy", KEY_B, "sshd", 0, H, "bob") },
	    { NULL }, false, 0, 0, false, false, "sshd", "deploy", NULL,
	    "192.0.2.7", 1001, NULL, NHI_SEEN_PENDING, KEY_NONE, 60,
	    NHI_ALLOW, NHI_R_OK },
	{ "sshd account stage: nothing could apply",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 0, false, false, "sshd", "deploy", NULL,
	    "192.0.2.7", 1001, NULL, NHI_SEEN_PENDING, KEY_NONE, 2 * H,
	    NHI_DENY, NHI_R_EXPIRED },
	{ "password login needs a checkout",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 0, false, false, "sshd", "deploy", NULL,
	    "192.0.2.7", 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_NO_CREDENTIAL },
	{ "the most specific reason wins",
	    { { true, "deploy", NHI_CRED_SSH_KEY, KEY_A, NULL, "db-*",
		"sshd", 0, H, "alice", ISS_OPS, NULL, SP_NONE },
		KEYB("deploy", KEY_A, "sshd", -2 * H, -H, "alice") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_EXPIRED },
	{ "own key's binding expired, a colleague's still valid",
	    { KEYB("deploy", KEY_B, "sshd", 0, 4 * H, "bob"),
		KEYB("deploy", KEY_A, "sshd", -2 * H, -H, "alice") },
	    { NULL }, false, 0, 0, false, false, SSH_A(60), NHI_DENY,
	    NHI_R_EXPIRED },
	{ "own invoker's binding for another host",
	    { { true, "deploy", NHI_CRED_USER, KEY_NONE, "bob", "*",
		"sudo", 0, H, "bob", ISS_OPS, NULL, SP_NONE },
		{ true, "deploy", NHI_CRED_USER, KEY_NONE, "alice", "db-*",
		    "sudo", 0, H, "alice", ISS_OPS, NULL, SP_NONE } },
	    { NULL }, false, 0, 0, false, false, "sudo", "deploy", "alice",
	    NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_WRONG_HOST },
	{ "stale register: expired",
	    { KEYB("deploy", KEY_A, "sshd", 0, 4 * H, "alice") },
	    { NULL }, false, H, 0, false, false, SSH_A(H + 61), NHI_DENY,
	    NHI_R_STALE_REGISTER },
	{ "register within skew of expiry",
	    { KEYB("deploy", KEY_A, "sshd", 0, 4 * H, "alice") },
	    { NULL }, false, H, 0, false, false, SSH_A(H + 59), NHI_ALLOW,
	    NHI_R_OK },
	{ "no register installed", { { 0 } }, { NULL }, true, 0, 0, false,
	    false, SSH_A(60), NHI_DENY, NHI_R_STALE_REGISTER },
	{ "break-glass when the register is missing", { { 0 } }, { NULL },
	    true, 0, 0, false, false, "login", "root", NULL, NULL, 0, NULL,
	    NHI_SEEN_NONE, KEY_NONE, 60, NHI_ALLOW, NHI_R_BREAK_GLASS },
	{ "break-glass does not apply to other services", { { 0 } },
	    { NULL }, true, 0, 0, false, false, "sshd", "root", NULL, NULL, 0,
	    NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY,
	    NHI_R_STALE_REGISTER },
	{ "ungoverned account ignored",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 0, false, false, "sshd", "carol", NULL,
	    "192.0.2.7", 1002, NULL, NHI_SEEN_SSH_KEY, KEY_B, 60, NHI_IGNORE,
	    NHI_R_NOT_GOVERNED },
	{ "a governed account's cron job is not a login (ignore_services)",
	    { { 0 } }, { NULL }, false, 0, 0, false, false, "cron", "deploy",
	    "root", NULL, 1001, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_IGNORE,
	    NHI_R_IGNORED_SERVICE },
	{ "nor its systemd user manager, even with no register", { { 0 } },
	    { NULL }, true, 0, 0, false, false, "systemd-user", "root", "root",
	    NULL, 0, NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_IGNORE,
	    NHI_R_IGNORED_SERVICE },
	{ "a service like cron's name is still decided", { { 0 } }, { NULL },
	    false, 0, 0, false, false, "crond", "deploy", "root", NULL, 1001,
	    NULL, NHI_SEEN_NONE, KEY_NONE, 60, NHI_DENY, NHI_R_NO_BINDING },
	{ "ungoverned even with no register", { { 0 } }, { NULL }, true, 0,
	    0, false, false, "sshd", "carol", NULL, NULL, 1002, NULL,
	    NHI_SEEN_NONE, KEY_NONE, 60, NHI_IGNORE, NHI_R_NOT_GOVERNED },
	{ "governed by uid range", { { 0 } }, { NULL }, false, 0, 0, false,
	    false, "sshd", "batch", NULL, NULL, 60500, NULL,
	    NHI_SEEN_SSH_KEY, KEY_A, 60, NHI_DENY, NHI_R_NO_BINDING },
	{ "governed by group", { { 0 } }, { NULL }, false, 0, 0, false,
	    false, "sshd", "ops1", NULL, NULL, 1003, "shared",
	    NHI_SEEN_SSH_KEY, KEY_A, 60, NHI_DENY, NHI_R_NO_BINDING },
	{ "pseudonymous account with binding",
	    { KEYB("nhi-7f3a2c", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 0, true, false, "sshd", "nhi-7f3a2c", NULL,
	    "192.0.2.7", 70001, NULL, NHI_SEEN_SSH_KEY, KEY_A, 60, NHI_ALLOW,
	    NHI_R_OK },
	{ "recertification passed",
	    { KEYB("nhi-7f3a2c", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 30, true, false, "sshd", "nhi-7f3a2c", NULL,
	    "192.0.2.7", 70001, NULL, NHI_SEEN_SSH_KEY, KEY_A, 120, NHI_DENY,
	    NHI_R_RECERTIFY },
	{ "recertification still ahead",
	    { KEYB("nhi-7f3a2c", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, H, true, false, "sshd", "nhi-7f3a2c", NULL,
	    "192.0.2.7", 70001, NULL, NHI_SEEN_SSH_KEY, KEY_A, 120, NHI_ALLOW,
	    NHI_R_OK },
	{ "audit mode allows and marks would-deny",
	    { KEYB("deploy", KEY_A, "sshd", 0, H, "alice") },
	    { NULL }, false, 0, 0, false, true, SSH_B(60), NHI_ALLOW,
	    NHI_R_WRONG_KEY },
};

/*
 * The host clock against the register's own times: a register issued at
 * `issued` and installed at `installed` (offsets from T0), a login at
 * `at` with key A bound from nb to na.
 */
struct clockcase {
	const char *name;
	int64_t nb, na, issued, installed, at;
	enum nhi_result want;
	enum nhi_reason why;
};

static const struct clockcase clock_cases[] = {
	{ "clock set back before the register's issue time revives nothing",
	    -4 * H, -2 * H, -60, 0, -3 * H, NHI_DENY, NHI_R_CLOCK_BEHIND },
	{ "clock set back before the install time revives nothing",
	    -4 * H, -2 * H, -6 * H, 0, -3 * H, NHI_DENY,
	    NHI_R_CLOCK_BEHIND },
	{ "clock behind the issue time within the skew is allowed",
	    0, H, 30, -30, -20, NHI_ALLOW, NHI_R_OK },
	{ "clock behind the issue time beyond the skew is refused",
	    -H, H, 41, -30, -20, NHI_DENY, NHI_R_CLOCK_BEHIND },
	{ "clock behind the install time within the skew is allowed",
	    -H, H, -H, 40, -20, NHI_ALLOW, NHI_R_OK },
	{ "clock behind the install time beyond the skew is refused",
	    -H, H, -H, 41, -20, NHI_DENY, NHI_R_CLOCK_BEHIND },
};

/* Per-run material: keys, config, a private directory. */
static unsigned char ssh_pk[KEY_COUNT][32];
static char ssh_line[KEY_COUNT][128];
static char ssh_fp[KEY_COUNT][64];
static struct nhi_seckey *issuer_key[ISS_COUNT];
static char *dir;
static struct nhi_conf *conf;

static struct nhi_seckey *
make_key(const char *name)
{
	struct nhi_seckey *k = nhi_seckey_generate(name);

	ck_assert_ptr_nonnull(k);
	return k;
}

/* An OpenSSH ed25519 public key line for a random key. */
static void
make_ssh_key(enum skey i)
{
	unsigned char blob[4 + 11 + 4 + 32];
	struct nhi_err e;
	char *b64, *type = NULL;

	randombytes_buf(ssh_pk[i], 32);
	memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	memcpy(blob + 19, ssh_pk[i], 32);
	b64 = nhi_b64_encode(blob, sizeof(blob));
	ck_assert_ptr_nonnull(b64);
	snprintf(ssh_line[i], sizeof(ssh_line[i]), "ssh-ed25519 %s", b64);
	free(b64);
	ck_assert_int_eq(nhi_ssh_key_parse(ssh_line[i], ssh_fp[i],
	    sizeof(ssh_fp[i]), &type, &e), 0);
	free(type);
}

static void
setup(void)
{
	char pk[3][64], text[4096];
	struct nhi_err e;
	int i;

	ck_assert_int_eq(nhi_crypto_init(), 0);
	dir = tu_tmpdir();
	make_ssh_key(KEY_A);
	make_ssh_key(KEY_B);
	issuer_key[ISS_OPS] = make_key("ops");
	issuer_key[ISS_NARROW] = make_key("narrow");
	issuer_key[ISS_ROGUE] = make_key("rogue");
	for (i = 0; i < 3; i++)
		nhi_pubkey_encode(issuer_key[i]->pk, pk[i], sizeof(pk[i]));
	snprintf(text, sizeof(text),
	    "host_name = web-01\n"
	    "host_groups = prod, eu\n"
	    "clock_skew = 60s\n"
	    "govern_users = deploy, root, svc-*\n"
	    "govern_groups = shared\n"
	    "govern_uids = 60000-60999\n"
	    "account_uids = 70000-79999\n"
	    "account_gids = 70000-79999\n"
	    "break_glass = root@login\n"
	    "state_dir = %s\n"
	    "register_url = file://%s/register.json\n"
	    "register_key = %s\n"
	    "\n[issuer ops]\nkey = %s\naccounts = deploy, root, nhi-*\n"
	    "services = *\nmax_window = 8h\n"
	    "\n[issuer narrow]\nkey = %s\naccounts = deploy\n"
	    "services = sudo\nmax_window = 1h\n",
	    dir, dir, pk[ISS_ROGUE], pk[ISS_OPS], pk[ISS_NARROW]);
	if (nhi_conf_parse("test.conf", text, &conf, &e) != 0)
		ck_abort_msg("config: %s", e.msg);
}

static void
teardown(void)
{
	int i;

	nhi_conf_free(conf);
	conf = NULL;
	for (i = 0; i < ISS_COUNT; i++)
		nhi_seckey_free(issuer_key[i]);
	tu_rmtree(dir);
	dir = NULL;
}

static const unsigned char *
find_key(void *ctx, const char *keyid)
{
	const struct nhi_issuer *is = nhi_conf_issuer(conf, keyid);

	(void)ctx;
	return is != NULL ? is->key.pk : NULL;
}

static int
split(const char *s, struct nhi_strv *sv)
{
	struct nhi_err e;

	return nhi_strv_split(s, NULL, sv, &e);
}

static char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Builds, signs and spoils one binding; returns the envelope text. */
static char *
build(const struct bspec *bs, int idx)
{
	const struct nhi_seckey *k = issuer_key[bs->issuer];
	struct nhi_binding *b = calloc(1, sizeof(*b));
	char *json, *env, id[32];
	const char *pt = NHI_PT_BINDING;

	ck_assert_ptr_nonnull(b);
	snprintf(id, sizeof(id), "b-test-%d", idx);
	b->id = xstrdup(id);
	b->account = xstrdup(bs->account);
	b->cred_kind = bs->kind;
	if (bs->kind == NHI_CRED_SSH_KEY)
		b->cred_key = xstrdup(ssh_line[bs->key]);
	b->cred_user = xstrdup(bs->user);
	ck_assert_int_eq(split(bs->hosts, &b->hosts), 0);
	ck_assert_int_eq(split(bs->services, &b->services), 0);
	if (bs->source != NULL)
		ck_assert_int_eq(split(bs->source, &b->source), 0);
	b->not_before = T0 + bs->nb;
	b->not_after = T0 + bs->na;
	b->issued_at = T0 - 60;
	b->owner = xstrdup(bs->owner);
	b->approver = xstrdup(bs->spoil == SP_APPROVER_IS_OWNER ? bs->owner :
		"approver@example.com");
	b->ticket = xstrdup("OPS-1234");
	snprintf(b->issuer, sizeof(b->issuer), "%s",
	    bs->spoil == SP_OTHER_ISSUER_FIELD ?
		issuer_key[ISS_NARROW]->keyid : k->keyid);
	json = nhi_binding_json(b);
	ck_assert_ptr_nonnull(json);
	if (bs->spoil == SP_WRONG_TYPE)
		pt = NHI_PT_ACCOUNT;
	env = nhi_dsse_sign(k, pt, json, strlen(json));
	ck_assert_ptr_nonnull(env);
	if (bs->spoil == SP_BAD_SIG) {
		/* Flip one bit of the signature's base64, inside the text. */
		char *sig = strstr(env, "\"sig\"");

		ck_assert_ptr_nonnull(sig);
		sig = strchr(sig + 5, '"');
		ck_assert_ptr_nonnull(sig);
		sig[3] = sig[3] == 'A' ? 'B' : 'A';
	}
	free(json);
	nhi_binding_free(b);
	return env;
}

static void
add_account(struct nhi_pamidx_writer *w, const struct dcase *c)
{
	struct nhi_account *a = calloc(1, sizeof(*a));
	struct nhi_err e;

	ck_assert_ptr_nonnull(a);
	a->name = xstrdup(c->account);
	a->uid = c->uid;
	a->gid = c->uid;
	a->owner = xstrdup("alice");
	a->issued_at = T0 - 60;
	a->recertify_by = c->recertify_by != 0 ? T0 + c->recertify_by : 0;
	snprintf(a->issuer, sizeof(a->issuer), "%s", issuer_key[0]->keyid);
	if (nhi_pamidx_add_account(w, a, &e) != 0)
		ck_abort_msg("add account: %s", e.msg);
	nhi_account_free(a);
}

static void
add_deny(struct nhi_pamidx_writer *w, const char *spec)
{
	struct nhi_deny d;
	struct nhi_err e;
	char buf[128];

	/* "@ID0" names the first binding's id, "@KEYA" key A's print. */
	if (strcmp(spec, "@ID0") == 0)
		snprintf(buf, sizeof(buf), "b-test-0");
	else if (strcmp(spec, "@KEYA") == 0)
		snprintf(buf, sizeof(buf), "key:%s", ssh_fp[KEY_A]);
	else
		snprintf(buf, sizeof(buf), "%s", spec);
	if (nhi_deny_parse(buf, &d, &e) != 0)
		ck_abort_msg("deny %s: %s", buf, e.msg);
	if (nhi_pamidx_add_deny(w, &d, &e) != 0)
		ck_abort_msg("add deny: %s", e.msg);
	free(d.value);
}

/*
 * Compiles the case's register into an index and reads the view back; the
 * register was issued and installed at these offsets from T0.
 */
static struct nhi_pamidx *
compile_at(const struct dcase *c, int64_t issued, int64_t installed,
    struct nhi_view *v)
{
	struct nhi_pamidx_writer *w = NULL;
	struct nhi_pamidx *x = NULL;
	struct nhi_regmeta meta;
	struct nhi_err e;
	char path[4096];
	int i;

	snprintf(path, sizeof(path), "%s/pam.cdb", dir);
	(void)unlink(path);
	if (c->no_register)
		return NULL;
	if (nhi_pamidx_create(path, &w, &e) != 0)
		ck_abort_msg("create: %s", e.msg);
	/* As a sync does: the config's governance rules go along. */
	if (nhi_pamidx_add_governance(w, conf, &e) != 0)
		ck_abort_msg("governance: %s", e.msg);
	for (i = 0; i < 3 && c->b[i].used; i++) {
		struct nhi_statement st;
		char *env = build(&c->b[i], i);

		memset(&st, 0, sizeof(st));
		if (nhi_statement_open(env, strlen(env), find_key, NULL, &st,
			&e) == 0) {
			ck_assert_ptr_nonnull(st.binding);
			ck_assert_int_eq(
			    nhi_pamidx_add_binding(w, st.binding, &e), 0);
		} else {
			ck_assert_msg(c->b[i].spoil != SP_NONE ||
				c->b[i].issuer == ISS_ROGUE,
			    "case '%s': statement %d refused: %s", c->name, i,
			    e.msg);
		}
		nhi_statement_clear(&st);
		free(env);
	}
	if (c->account_record)
		add_account(w, c);
	for (i = 0; i < 2 && c->deny[i] != NULL; i++)
		add_deny(w, c->deny[i]);
	memset(&meta, 0, sizeof(meta));
	meta.version = 7;
	meta.issued_at = T0 + issued;
	meta.expires_at = T0 + (c->reg_expires != 0 ? c->reg_expires : 24 * H);
	snprintf(meta.sha256, sizeof(meta.sha256), "%064d", 0);
	meta.installed_at = T0 + installed;
	if (nhi_pamidx_commit(w, &meta, &e) != 0)
		ck_abort_msg("commit: %s", e.msg);
	if (nhi_pamidx_open(path, &x, &e) != 0)
		ck_abort_msg("open: %s", e.msg);
	if (nhi_pamidx_view(x, c->account, v, &e) != 0)
		ck_abort_msg("view: %s", e.msg);
	return x;
}

static struct nhi_pamidx *
compile(const struct dcase *c, struct nhi_view *v)
{
	return compile_at(c, -60, 0, v);
}

/* The request a case describes, the key's deny entry asked as pam_nhi does. */
static void
request_fill(const struct dcase *c, struct nhi_pamidx *x,
    const char *const *groups, struct nhi_request *r)
{
	memset(r, 0, sizeof(*r));
	r->service = c->service;
	r->account = c->account;
	r->account_known = true;
	r->account_uid = c->uid;
	r->account_groups = groups;
	r->invoker = c->invoker;
	r->rhost = c->rhost;
	r->cred = c->cred;
	r->key_fp = c->key != KEY_NONE ? ssh_fp[c->key] : NULL;
	r->key_denied = r->cred == NHI_SEEN_SSH_KEY &&
	    nhi_pamidx_key_denied(x, r->key_fp);
	r->now = T0 + c->at;
}

START_TEST(test_case)
{
	const struct dcase *c = &cases[_i];
	const char *groups[2] = { c->group, NULL };
	struct nhi_decision d;
	struct nhi_request r;
	struct nhi_view v;
	struct nhi_pamidx *x;

	memset(&v, 0, sizeof(v));
	x = compile(c, &v);
	request_fill(c, x, groups, &r);
	nhi_decide(conf, &r, &v, c->audit, &d);
	ck_assert_msg(d.result == c->want && d.reason == c->why,
	    "case '%s': got %s/%s, want %s/%s", c->name,
	    nhi_result_name(d.result), nhi_reason_name(d.reason),
	    nhi_result_name(c->want), nhi_reason_name(c->why));
	/* A key still to come names no binding: nobody is attributed. */
	if (d.result == NHI_ALLOW && d.reason == NHI_R_OK &&
	    c->cred != NHI_SEEN_PENDING)
		ck_assert_msg(d.binding != NULL, "case '%s': no binding",
		    c->name);
	if (c->cred == NHI_SEEN_PENDING && c->b[0].kind == NHI_CRED_SSH_KEY)
		ck_assert_msg(d.binding == NULL, "case '%s': a binding named "
		    "before the key was seen", c->name);
	ck_assert(d.would_deny == (c->audit && c->why != NHI_R_OK));
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
}
END_TEST

static const struct dcase *
case_named(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	ck_abort_msg("no case named '%s'", name);
	return NULL;
}

START_TEST(test_clock)
{
	const struct clockcase *cc = &clock_cases[_i];
	const struct dcase c = { cc->name, { KEYB("deploy", KEY_A, "sshd",
	    cc->nb, cc->na, "alice") }, { NULL }, false, 0, 0, false, false,
	    SSH_A(cc->at), cc->want, cc->why };
	struct nhi_decision d;
	struct nhi_request r;
	struct nhi_view v;
	struct nhi_pamidx *x;

	memset(&v, 0, sizeof(v));
	x = compile_at(&c, cc->issued, cc->installed, &v);
	request_fill(&c, x, NULL, &r);
	nhi_decide(conf, &r, &v, false, &d);
	ck_assert_msg(d.result == c.want && d.reason == c.why,
	    "case '%s': got %s/%s, want %s/%s", c.name,
	    nhi_result_name(d.result), nhi_reason_name(d.reason),
	    nhi_result_name(c.want), nhi_reason_name(c.why));
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
}
END_TEST

/*
 * Times at the end of int64_t (what the index reader now refuses, here
 * handed to the decision directly): adding the skew must not wrap a
 * window's end into the past.
 */
START_TEST(test_times_at_the_limit_do_not_overflow)
{
	const struct dcase *c = case_named("bound key allowed");
	struct nhi_decision d;
	struct nhi_request r;
	struct nhi_view v;
	struct nhi_pamidx *x;

	memset(&v, 0, sizeof(v));
	x = compile(c, &v);
	ck_assert_uint_eq(v.n_bindings, 1);
	v.meta.expires_at = INT64_MAX;
	v.bindings[0]->not_before = INT64_MAX - H;
	v.bindings[0]->not_after = INT64_MAX;
	request_fill(c, x, NULL, &r);
	r.now = INT64_MAX - H / 2;
	nhi_decide(conf, &r, &v, false, &d);
	ck_assert_msg(d.result == NHI_ALLOW, "got %s/%s",
	    nhi_result_name(d.result), nhi_reason_name(d.reason));
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
}
END_TEST

/* The matched binding is the one the key names, with its owner. */
START_TEST(test_match_names_owner)
{
	const struct dcase *c =
	    case_named("two keys, two owners: the key decides");
	struct nhi_decision d;
	struct nhi_request r;
	struct nhi_view v;
	struct nhi_pamidx *x;

	memset(&v, 0, sizeof(v));
	x = compile(c, &v);
	memset(&r, 0, sizeof(r));
	r.service = "sshd";
	r.account = "deploy";
	r.account_known = true;
	r.account_uid = 1001;
	r.cred = NHI_SEEN_SSH_KEY;
	r.key_fp = ssh_fp[KEY_B];
	r.rhost = "192.0.2.7";
	r.now = T0 + 60;
	nhi_decide(conf, &r, &v, false, &d);
	ck_assert_int_eq(d.result, NHI_ALLOW);
	ck_assert_ptr_nonnull(d.binding);
	ck_assert_str_eq(d.binding->owner, "bob");
	ck_assert_str_eq(d.binding->cred_fp, ssh_fp[KEY_B]);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
}
END_TEST

/* With no config, only what the register names is governed. */
START_TEST(test_no_config)
{
	const struct dcase *c = &cases[0];
	struct nhi_decision d;
	struct nhi_request r;
	struct nhi_view v;
	struct nhi_pamidx *x;

	memset(&v, 0, sizeof(v));
	x = compile(c, &v);
	memset(&r, 0, sizeof(r));
	r.service = "sshd";
	r.account = "deploy";
	r.account_known = true;
	r.account_uid = 1001;
	r.cred = NHI_SEEN_SSH_KEY;
	r.key_fp = ssh_fp[KEY_A];
	r.now = T0 + 60;
	nhi_decide(NULL, &r, &v, false, &d);
	ck_assert_int_eq(d.result, NHI_DENY);
	ck_assert_int_eq(d.reason, NHI_R_NO_CONFIG);
	/* Audit mode does not open what a broken config leaves closed. */
	nhi_decide(NULL, &r, &v, true, &d);
	ck_assert_int_eq(d.result, NHI_DENY);
	ck_assert(!d.would_deny);
	r.account = "carol";
	nhi_view_clear(&v);
	memset(&v, 0, sizeof(v));
	nhi_decide(NULL, &r, &v, false, &d);
	ck_assert_int_eq(d.result, NHI_IGNORE);
	r.account_uid = 70005;
	nhi_decide(NULL, &r, &v, false, &d);
	ck_assert_int_eq(d.result, NHI_DENY);
	ck_assert_int_eq(d.reason, NHI_R_NO_CONFIG);
	nhi_pamidx_close(x);
}
END_TEST

/*
 * With no config, the governance rules of the last sync, kept in the
 * index, still say who is governed: root (govern_users) with no binding
 * is refused, not ignored.
 */
static const struct {
	const char *account;
	uint32_t uid;
	const char *group;
	enum nhi_result want;
} no_config_rules[] = {
	{ "root", 0, NULL, NHI_DENY },		/* govern_users */
	{ "svc-backup", 1010, NULL, NHI_DENY },	/* govern_users glob */
	{ "batch", 60500, NULL, NHI_DENY },	/* govern_uids */
	{ "ops1", 1003, "shared", NHI_DENY },	/* govern_groups */
	{ "bot", 70005, NULL, NHI_DENY },	/* account_uids */
	{ "carol", 1002, "users", NHI_IGNORE },
};

START_TEST(test_no_config_uses_the_rules_of_the_last_sync)
{
	const struct dcase *c = case_named("bound key allowed");
	const char *groups[2] = { no_config_rules[_i].group, NULL };
	struct nhi_decision d;
	struct nhi_request r;
	struct nhi_view v;
	struct nhi_pamidx *x;
	struct nhi_err e;

	memset(&v, 0, sizeof(v));
	x = compile(c, &v);
	nhi_view_clear(&v);
	ck_assert_msg(nhi_pamidx_view(x, no_config_rules[_i].account, &v,
	    &e) == 0, "%s", e.msg);
	ck_assert(v.governance.present);
	memset(&r, 0, sizeof(r));
	r.service = "su";
	r.account = no_config_rules[_i].account;
	r.account_known = true;
	r.account_uid = no_config_rules[_i].uid;
	r.account_groups = groups;
	r.invoker = "alice";
	r.now = T0 + 60;
	nhi_decide(NULL, &r, &v, false, &d);
	ck_assert_msg(d.result == no_config_rules[_i].want, "%s: got %s/%s",
	    r.account, nhi_result_name(d.result), nhi_reason_name(d.reason));
	if (d.result == NHI_DENY)
		ck_assert_int_eq(d.reason, NHI_R_NO_CONFIG);
	nhi_view_clear(&v);
	nhi_pamidx_close(x);
}
END_TEST

START_TEST(test_reason_names)
{
	int i;

	for (i = 0; i < NHI_R_COUNT; i++)
		ck_assert_str_ne(nhi_reason_name((enum nhi_reason)i),
		    "unknown");
	ck_assert_str_eq(nhi_reason_name(NHI_R_COUNT), "unknown");
	ck_assert_str_eq(nhi_reason_name(NHI_R_STALE_REGISTER),
	    "stale-register");
	ck_assert_str_eq(nhi_result_name(NHI_DENY), "deny");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, test_clock, 0,
	    (int)(sizeof(clock_cases) / sizeof(clock_cases[0])));
	tcase_add_test(tc, test_match_names_owner);
	tcase_add_test(tc, test_times_at_the_limit_do_not_overflow);
	tcase_add_test(tc, test_no_config);
	tcase_add_loop_test(tc, test_no_config_uses_the_rules_of_the_last_sync,
	    0, (int)(sizeof(no_config_rules) / sizeof(no_config_rules[0])));
	tcase_add_test(tc, test_reason_names);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
