/*
 * fuzz.h: what the fuzz targets share. Each fuzz_<target>.c defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); it is
 * linked either with libFuzzer (scripts/fuzz) or with replay.c, which
 * feeds it every file of a corpus (make check).
 *
 * A target aborts on a broken invariant, so that both drivers report it
 * the same way as a crash.
 */
#ifndef NHI_FUZZ_H
#define NHI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Stops with a message: an invariant the code under test promises broke. */
#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		(void)fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * A copy of the input without a terminator, so that a read past len is
 * a heap overflow the sanitizers see; fuzz_cstr adds one (inputs holding
 * NUL are then cut at the first one, as a C string caller would see them).
 */
char *fuzz_copy(const uint8_t *data, size_t size);
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * Fixed Ed25519 keys derived from a one-byte seed (libsodium), so that a
 * target can sign what the fuzzer wrote and reach the code behind the
 * signature check. Only for targets linked with libnhicore.
 */
struct nhi_seckey;
void fuzz_seckey(unsigned char seed, struct nhi_seckey *ret);

/*
 * A copy of p with every occurrence of pat replaced by rep (how a target
 * puts a key id or a hash it computes into what the fuzzer wrote),
 * NUL-terminated; ret_len excludes the terminator.
 */
char *fuzz_subst(const void *p, size_t n, const char *pat, const char *rep,
    size_t *ret_len);

#endif
