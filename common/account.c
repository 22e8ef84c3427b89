/* account.c: a local account as the decision sees it (account.h). */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"

/* Entries larger than this are not real accounts; stop growing there. */
#define BUF_MAX (16 * 1024 * 1024)

/*
 * getpwnam_r or getpwuid_r into a buffer that grows on ERANGE. *ret_pw is
 * NULL when there is no such entry; *ret_buf is the caller's to free.
 */
static int
lookup_pw(const char *name, uid_t uid, struct passwd *pw,
    struct passwd **ret_pw, char **ret_buf)
{
	size_t len = 4096;
	char *buf = NULL, *nbuf;
	int r;

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			free(buf);
			return -1;
		}
		buf = nbuf;
		if (name != NULL)
			r = getpwnam_r(name, pw, buf, len, ret_pw);
		else
			r = getpwuid_r(uid, pw, buf, len, ret_pw);
		if (r != ERANGE || len >= BUF_MAX)
			break;
		len *= 2;
	}
	if (r != 0)
		*ret_pw = NULL;
	*ret_buf = buf;
	return 0;
}

int
nhi_local_account(const char *name, struct nhi_local_account *ret)
{
	struct passwd pw, *pwp = NULL, cpw, *cpwp = NULL;
	char *buf = NULL, *cbuf = NULL;
	int r = -1;

	memset(ret, 0, sizeof(*ret));
	if (lookup_pw(name, 0, &pw, &pwp, &buf) != 0)
		goto out;
	if (pwp != NULL) {
		ret->known = true;
		ret->uid = pwp->pw_uid;
		ret->gid = pwp->pw_gid;
		if (lookup_pw(NULL, pwp->pw_uid, &cpw, &cpwp, &cbuf) != 0)
			goto out;
	}
	if (cpwp != NULL && strcmp(cpwp->pw_name, name) != 0) {
		ret->alias = true;
		name = cpwp->pw_name;
	}
	if ((ret->name = strdup(name)) == NULL)
		goto out;
	r = 0;
out:
	free(cbuf);
	free(buf);
	return r;
}

/*
 * 1 when user is a member of group (primary or listed), 0 when not, -1
 * when the group could not be read.
 */
static int
is_member(const char *group, const char *user, gid_t gid)
{
	struct group gr, *grp = NULL;
	size_t len = 16384;
	char *buf = NULL, *nbuf, **m;
	int r, member = -1;

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL)
			goto out;
		buf = nbuf;
		r = getgrnam_r(group, &gr, buf, len, &grp);
		if (r != ERANGE)
			break;
		if (len >= BUF_MAX)
			goto out;
		len *= 2;
	}
	if (r != 0)
		goto out;
	member = 0;
	if (grp == NULL)
		goto out;
	if (grp->gr_gid == gid)
		member = 1;
	for (m = grp->gr_mem; member == 0 && m != NULL && *m != NULL; m++)
		if (strcmp(*m, user) == 0)
			member = 1;
out:
	free(buf);
	return member;
}

int
nhi_local_account_groups(struct nhi_local_account *a,
    const struct nhi_strv *govern)
{
	size_t i, k = 0;

	for (i = 0; a->known && i < govern->n && k < NHI_MAX_LIST; i++) {
		if (is_member(govern->v[i], a->name, a->gid) == 0)
			continue;
		if ((a->groups[k] = strdup(govern->v[i])) == NULL)
			return -1;
		k++;
	}
	a->groups[k] = NULL;
	return 0;
}

void
nhi_local_account_request(const struct nhi_local_account *a,
    struct nhi_request *r)
{
	r->account = a->name;
	r->account_known = a->known;
	r->account_uid = a->uid;
	r->account_groups = (const char *const *)a->groups;
}

void
nhi_local_account_clear(struct nhi_local_account *a)
{
	size_t i;

	if (a == NULL)
		return;
	free(a->name);
	for (i = 0; i < NHI_MAX_LIST && a->groups[i] != NULL; i++)
		free(a->groups[i]);
	memset(a, 0, sizeof(*a));
}

int
nhi_uid_name(uid_t uid, char **ret)
{
	struct passwd pw, *pwp = NULL;
	char *buf = NULL;
	int r = -1;

	*ret = NULL;
	if (lookup_pw(NULL, uid, &pw, &pwp, &buf) != 0)
		return -1;
	if (pwp == NULL || (*ret = strdup(pwp->pw_name)) != NULL)
		r = 0;
	free(buf);
	return r;
}
