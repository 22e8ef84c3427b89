/*
 * mkidx: writes an NSS index with the real writer (common/nssidx.c), for
 * the NSS tests and benchmarks.
 *
 *   mkidx [-e] OUT [DESC]       entries from DESC (default stdin)
 *   mkidx [-e] -n N [-p PASSWD] [-g GROUP] OUT
 *                               N generated users, each with a group of its
 *                               own, and a member of "nhi-b<i/1000>"
 *                               (1000 each); PASSWD and GROUP receive the
 *                               same entries as files, for nss_files peers
 *
 * -e sets the enumerate flag. DESC lines (blank and '#' lines skipped):
 *   user:NAME:UID:GID:GECOS:DIR:SHELL
 *   group:NAME:GID:MEMBER,MEMBER,...
 * Member records (initgroups) are derived from the groups' member lists.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nssidx.h"

#define GEN_UID_BASE 200000u
#define GEN_BUCKET 1000u

/* One user's supplementary gids, for the member records. */
struct member {
	char *name;
	uint32_t *gids;
	size_t n;
};

struct members {
	struct member *v;
	size_t n;
};

static void
die(const char *what, const struct nhi_err *e)
{
	fprintf(stderr, "mkidx: %s: %s\n", what, e != NULL ? e->msg :
	    strerror(errno));
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory", NULL);
	return p;
}

static void
members_add(struct members *ms, const char *user, uint32_t gid)
{
	struct member *m = NULL;
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->v[i].name, user) == 0)
			m = &ms->v[i];
	if (m == NULL) {
		ms->v = xrealloc(ms->v, (ms->n + 1) * sizeof(*ms->v));
		m = &ms->v[ms->n++];
		if ((m->name = strdup(user)) == NULL)
			die("out of memory", NULL);
		m->gids = NULL;
		m->n = 0;
	}
	m->gids = xrealloc(m->gids, (m->n + 1) * sizeof(*m->gids));
	m->gids[m->n++] = gid;
}

static uint32_t
id_arg(const char *s, int64_t max)
{
	int64_t v;

	if (nhi_parse_int(s, 0, max, &v) == -1) {
		fprintf(stderr, "mkidx: bad number '%s'\n", s);
		exit(1);
	}
	return (uint32_t)v;
}

/* Splits line at ':' into at most max fields; returns how many. */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	while (n < max && (line = strchr(line, ':')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return n;
}

static void
desc_line(struct nhi_nssidx_writer *w, struct members *ms, char *line)
{
	struct nhi_strv sv = { 0 };
	struct nhi_err e;
	char *f[7];
	size_t n, i;
	uint32_t gid;

	n = split(line, f, 7);
	if (n == 7 && strcmp(f[0], "user") == 0) {
		if (nhi_nssidx_add_user(w, f[1], id_arg(f[2], UINT32_MAX),
		    id_arg(f[3], UINT32_MAX), f[4], f[5], f[6], &e) == -1)
			die("user", &e);
	} else if (n == 4 && strcmp(f[0], "group") == 0) {
		gid = id_arg(f[2], UINT32_MAX);
		if (*f[3] != '\0' &&
		    nhi_strv_split(f[3], nhi_valid_name, &sv, &e) == -1)
			die("group members", &e);
		if (nhi_nssidx_add_group(w, f[1], gid, &sv, &e) == -1)
			die("group", &e);
		for (i = 0; i < sv.n; i++)
			members_add(ms, sv.v[i], gid);
		nhi_strv_free(&sv);
	} else {
		fprintf(stderr, "mkidx: bad line '%s'\n", f[0]);
		exit(1);
	}
}

static void
from_desc(struct nhi_nssidx_writer *w, FILE *in)
{
	struct members ms = { 0 };
	struct nhi_err e;
	char *line = NULL;
	size_t cap = 0, i;
	ssize_t len;

	while ((len = getline(&line, &cap, in)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		desc_line(w, &ms, line);
	}
	free(line);
	for (i = 0; i < ms.n; i++) {
		if (nhi_nssidx_add_member(w, ms.v[i].name, ms.v[i].gids,
		    ms.v[i].n, &e) == -1)
			die("member", &e);
		free(ms.v[i].name);
		free(ms.v[i].gids);
	}
	free(ms.v);
}

/* Generated entries, also written as passwd and group files if asked. */
static void
generate(struct nhi_nssidx_writer *w, uint32_t n, FILE *pw, FILE *gr)
{
	struct nhi_strv none = { 0 };
	struct nhi_err e;
	char name[32], gname[32];
	uint32_t i, gid;

	for (i = 0; i < n; i++) {
		(void)snprintf(name, sizeof(name), "nhi-u%07u", i);
		(void)snprintf(gname, sizeof(gname), "nhi-g%07u", i);
		if (nhi_nssidx_add_user(w, name, GEN_UID_BASE + i,
		    GEN_UID_BASE + i, "nhi owner owner@example.com",
		    "/nonexistent", "/usr/sbin/nologin", &e) == -1 ||
		    nhi_nssidx_add_group(w, gname, GEN_UID_BASE + i, &none,
		    &e) == -1)
			die("generate", &e);
		gid = GEN_UID_BASE + n + i / GEN_BUCKET;
		if (nhi_nssidx_add_member(w, name, &gid, 1, &e) == -1)
			die("generate", &e);
		if (pw != NULL)
			fprintf(pw, "%s:x:%u:%u:nhi owner owner@example.com:"
			    "/nonexistent:/usr/sbin/nologin\n", name,
			    GEN_UID_BASE + i, GEN_UID_BASE + i);
		if (gr != NULL)
			fprintf(gr, "%s:x:%u:\n", gname, GEN_UID_BASE + i);
	}
}

/* The shared groups of generate(), with their members listed in full. */
static void
generate_shared(struct nhi_nssidx_writer *w, uint32_t n, FILE *gr)
{
	struct nhi_strv sv = { 0 };
	struct nhi_err e;
	char gname[32], name[32];
	uint32_t b, i;

	for (b = 0; b * GEN_BUCKET < n; b++) {
		(void)snprintf(gname, sizeof(gname), "nhi-b%04u", b);
		if (gr != NULL)
			fprintf(gr, "%s:x:%u:", gname, GEN_UID_BASE + n + b);
		for (i = b * GEN_BUCKET; i < n && i < (b + 1) * GEN_BUCKET;
		    i++) {
			(void)snprintf(name, sizeof(name), "nhi-u%07u", i);
			if (nhi_strv_add(&sv, name) == -1)
				die("out of memory", NULL);
			if (gr != NULL)
				fprintf(gr, "%s%s", i == b * GEN_BUCKET ? "" :
				    ",", name);
		}
		if (gr != NULL)
			fputc('\n', gr);
		if (nhi_nssidx_add_group(w, gname, GEN_UID_BASE + n + b, &sv,
		    &e) == -1)
			die("generate", &e);
		nhi_strv_free(&sv);
	}
}

static FILE *
open_out(const char *path)
{
	FILE *f;

	if (path == NULL)
		return NULL;
	if ((f = fopen(path, "we")) == NULL)
		die(path, NULL);
	return f;
}

static void
close_out(FILE *f, const char *path)
{
	if (f != NULL && fclose(f) != 0)
		die(path, NULL);
}

int
main(int argc, char **argv)
{
	struct nhi_nssidx_writer *w;
	const char *pwpath = NULL, *grpath = NULL;
	struct nhi_err e;
	FILE *in = stdin, *pw, *gr;
	uint32_t n = 0;
	bool gen = false, enumerate = false;
	int c;

	while ((c = getopt(argc, argv, "eg:n:p:")) != -1) {
		switch (c) {
		case 'e':
			enumerate = true;
			break;
		case 'g':
			grpath = optarg;
			break;
		case 'n':
			n = id_arg(optarg, 10000000);
			gen = true;
			break;
		case 'p':
			pwpath = optarg;
			break;
		default:
			fprintf(stderr, "usage: mkidx [-e] [-n N [-p PASSWD] "
			    "[-g GROUP]] OUT [DESC]\n");
			return 2;
		}
	}
	if (optind >= argc)
		return 2;
	if (!gen && optind + 1 < argc &&
	    (in = fopen(argv[optind + 1], "re")) == NULL)
		die(argv[optind + 1], NULL);

	if (nhi_nssidx_create(argv[optind], &w, &e) == -1)
		die("create", &e);
	nhi_nssidx_set_enumerate(w, enumerate);
	if (gen) {
		pw = open_out(pwpath);
		gr = open_out(grpath);
		generate(w, n, pw, gr);
		generate_shared(w, n, gr);
		close_out(pw, pwpath);
		close_out(gr, grpath);
	} else {
		from_desc(w, in);
	}
	if (nhi_nssidx_commit(w, &e) == -1)
		die("commit", &e);
	return 0;
}
