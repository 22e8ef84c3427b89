/*
 * testutil.h: helpers shared by the Check unit tests.
 */
#ifndef NHI_TESTUTIL_H
#define NHI_TESTUTIL_H

#include <check.h>
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

static inline void
tu_rmtree(char *p)
{
	char *cmd;

	if (p == NULL)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", p) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", p);
	free(cmd);
	free(p);
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
