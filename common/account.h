/*
 * account.h: a local account as the decision sees it, looked up the same
 * way by pam_nhi.so, nhictl check and nhictl authorized-keys.
 *
 * A login name is only one way to reach a uid: "toor" with uid 0 is root,
 * and a case-insensitive directory answers "DEPLOY" for deploy. The
 * account is named by its uid's own name (what getpwuid gives, and what
 * logs and audit show), so an alias cannot step around govern_users.
 * Group membership is looked up only for the governing groups, each one
 * exactly; a group that cannot be read counts as membership, so a failed
 * lookup never takes an account out of governance.
 */
#ifndef NHI_ACCOUNT_H
#define NHI_ACCOUNT_H

#include "decide.h"
#include "nhi.h"
#include "util.h"

#include <sys/types.h>

struct nhi_local_account {
	bool known;		/* the name resolves to a passwd entry */
	bool alias;		/* the name asked is not the uid's own name */
	uid_t uid;
	gid_t gid;
	char *name;		/* the uid's own name, or the name asked */
	char *groups[NHI_MAX_LIST + 1];	/* governing groups, NULL-ended */
};

/* Looks name up. Returns -1 only when memory runs out. */
int nhi_local_account(const char *name, struct nhi_local_account *ret);

/* Fills a->groups with the groups of govern that a belongs to. */
int nhi_local_account_groups(struct nhi_local_account *a,
    const struct nhi_strv *govern);

/* Points the request's account fields at a (which must outlive r). */
void nhi_local_account_request(const struct nhi_local_account *a,
    struct nhi_request *r);

void nhi_local_account_clear(struct nhi_local_account *a);

/*
 * The name of uid (for the invoker of su or sudo: the real uid), in
 * *ret, or NULL when it has none. Returns -1 only when memory runs out.
 */
int nhi_uid_name(uid_t uid, char **ret);

#endif
