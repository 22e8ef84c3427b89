/*
 * testutil.h: helpers shared by the Check unit tests.
 */
#ifndef NHI_TESTUTIL_H
#define NHI_TESTUTIL_H

#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh private directory under TMPDIR; removed by tu_rmtree. */
static inline char *
tu_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *p;

	if (t == NULL || *t == '\0')
		t = "/tmp";
	if (asprintf(&p, "%s/nhi-test.XXXXXX", t) < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

/* nftw visits each directory after its contents (FTW_DEPTH). */
static inline int
tu_remove_entry(
    const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

/*
 * Removes the tree at p without a shell, so that no character of the path
 * can matter, and without following symbolic links out of it. A missing
 * tree is already removed. Returns 0, or -1 with errno set.
 */
static inline int
tu_rmpath(const char *p)
{
	struct stat st;

	if (lstat(p, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(p, tu_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes the tree at p and frees p. */
static inline void
tu_rmtree(char *p)
{
	if (p == NULL)
		return;
	if (tu_rmpath(p) != 0)
		fprintf(
		    stderr, "could not remove %s: %s\n", p, strerror(errno));
	free(p);
}

/* The number of entries in dir, hidden ones included, as ls -A counts. */
static inline size_t
tu_dir_entries(const char *dir)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dp = opendir(dir);

	ck_assert_ptr_nonnull(dp);
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			n++;
	}
	closedir(dp);
	return n;
}

/* Runs a suite and returns the process exit status. */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
