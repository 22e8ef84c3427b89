/* fuzz_util.c: helpers shared by the fuzz targets (fuzz.h). */
#include "config.h"

#include <string.h>

#include "fuzz.h"

char *
fuzz_copy(const uint8_t *data, size_t size)
{
	/* malloc(0) may return NULL; one byte keeps the pointer valid. */
	char *p = malloc(size > 0 ? size : 1);

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	p[size] = '\0';
	return p;
}
