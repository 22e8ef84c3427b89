/*
 * replay.c: the driver used when libFuzzer is absent. Runs the target
 * once over every file named on the command line, and over every file of
 * each directory named (in name order, so that a failure reproduces).
 * Prints the number of inputs run; exits 1 when a path cannot be read.
 * A crash or a broken invariant aborts, as under libFuzzer.
 *
 * Built with -DNHI_FUZZ_LIBFUZZER this file is empty: libFuzzer brings
 * its own main.
 */
#include "config.h"

#ifndef NHI_FUZZ_LIBFUZZER
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "fuzz.h"

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static int
run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	int r = -1;

	if (f == NULL) {
		(void)fprintf(stderr, "replay: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *nb;

			cap = cap > 0 ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL)
				goto out;
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		(void)fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	/* Each input is handed over exactly len bytes long, as libFuzzer
	 * does. */
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);

		if (exact == NULL)
			goto out;
		if (len > 0)
			memcpy(exact, buf, len);
		(void)LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	(*count)++;
	r = 0;
out:
	free(buf);
	(void)fclose(f);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	int r = -1;

	if (d == NULL) {
		(void)fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn;

			cap = cap > 0 ? cap * 2 : 64;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
				goto out;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto out;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (run_file(path, count) != 0)
			goto out;
	}
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	(void)closedir(d);
	return r;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int i;

	(void)LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			(void)fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			return 1;
		}
		if ((S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) :
		    run_file(argv[i], &count)) != 0)
			return 1;
	}
	(void)printf("%zu inputs\n", count);
	return 0;
}
#endif
