/*
 * sha256.c: SHA-256 compressed with the x86-64 SHA extensions when the
 * processor has them, by libsodium otherwise.
 *
 * Only the compression function differs: padding and buffering follow
 * FIPS 180-4 §5.1.1 and §6.2. The SHA extensions keep the working
 * variables in two registers, ABEF and CDGH (A in the highest lane), and
 * run two rounds per instruction; the message schedule is extended four
 * words at a time.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "sha256.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NI_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#ifdef NI_CODE
static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static __m128i
load128(const void *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

static void
store128(void *p, __m128i v)
{
	_mm_storeu_si128((__m128i *)p, v);
}

/* W[4r .. 4r+3] from the sixteen words before, w[r % 4] holding W[4r-16 ..]. */
__attribute__((target("sha,sse4.1,ssse3")))
static inline __m128i
schedule(const __m128i w[4], int r)
{
	return _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(
	    w[r & 3], w[(r + 1) & 3]), _mm_alignr_epi8(w[(r + 3) & 3],
	    w[(r + 2) & 3], 4)), w[(r + 3) & 3]);
}

/* h[0..3] = a b c d and h[4..7] = e f g h become ABEF and CDGH. */
__attribute__((target("sha,sse4.1,ssse3")))
static inline void
state_load(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i t = _mm_shuffle_epi32(load128(&h[0]), 0xb1);

	*cdgh = _mm_shuffle_epi32(load128(&h[4]), 0x1b);
	*abef = _mm_alignr_epi8(t, *cdgh, 8);
	*cdgh = _mm_blend_epi16(*cdgh, t, 0xf0);
}

__attribute__((target("sha,sse4.1,ssse3")))
static inline void
state_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i t = _mm_shuffle_epi32(abef, 0x1b);

	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
	store128(&h[0], _mm_blend_epi16(t, cdgh, 0xf0));
	store128(&h[4], _mm_alignr_epi8(cdgh, t, 8));
}

/* Compresses n 64-byte blocks of p into h. */
__attribute__((target("sha,sse4.1,ssse3")))
static void
ni_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
	    0x0405060700010203LL);
	__m128i abef, cdgh, abef0, cdgh0, w[4], m;
	size_t i;
	int r;

	state_load(h, &abef, &cdgh);

	for (i = 0; i < n; i++, p += 64) {
		abef0 = abef;
		cdgh0 = cdgh;
		/* Unrolled, the schedule stays in registers (a quarter faster). */
#pragma GCC unroll 16
		for (r = 0; r < 16; r++) {
			/* w[r % 4] holds W[4r .. 4r+3]. */
			if (r < 4)
				w[r] = _mm_shuffle_epi8(load128(p + 16 * r),
				    bswap);
			else
				w[r & 3] = schedule(w, r);
			m = _mm_add_epi32(w[r & 3], load128(&k256[4 * r]));
			/* Two rounds each: the registers trade roles. */
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
			m = _mm_shuffle_epi32(m, 0x0e);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, m);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	state_store(h, abef, cdgh);
}

/* Two states in lockstep, each from its own n blocks. */
__attribute__((target("sha,sse4.1,ssse3")))
static void
ni_blocks2(uint32_t ha[8], const unsigned char *pa, uint32_t hb[8],
    const unsigned char *pb, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
	    0x0405060700010203LL);
	__m128i a0, a1, b0, b1, sa0, sa1, sb0, sb1, wa[4], wb[4], ma, mb, k;
	size_t i;
	int r;

	state_load(ha, &a0, &a1);
	state_load(hb, &b0, &b1);

	for (i = 0; i < n; i++, pa += 64, pb += 64) {
		sa0 = a0;
		sa1 = a1;
		sb0 = b0;
		sb1 = b1;
		/*
		 * Each round waits for the one before: two independent
		 * chains keep the SHA unit busy (almost twice the speed).
		 */
#pragma GCC unroll 16
		for (r = 0; r < 16; r++) {
			if (r < 4) {
				wa[r] = _mm_shuffle_epi8(load128(pa + 16 * r),
				    bswap);
				wb[r] = _mm_shuffle_epi8(load128(pb + 16 * r),
				    bswap);
			} else {
				wa[r & 3] = schedule(wa, r);
				wb[r & 3] = schedule(wb, r);
			}
			k = load128(&k256[4 * r]);
			ma = _mm_add_epi32(wa[r & 3], k);
			mb = _mm_add_epi32(wb[r & 3], k);
			a1 = _mm_sha256rnds2_epu32(a1, a0, ma);
			b1 = _mm_sha256rnds2_epu32(b1, b0, mb);
			ma = _mm_shuffle_epi32(ma, 0x0e);
			mb = _mm_shuffle_epi32(mb, 0x0e);
			a0 = _mm_sha256rnds2_epu32(a0, a1, ma);
			b0 = _mm_sha256rnds2_epu32(b0, b1, mb);
		}
		a0 = _mm_add_epi32(a0, sa0);
		a1 = _mm_add_epi32(a1, sa1);
		b0 = _mm_add_epi32(b0, sb0);
		b1 = _mm_add_epi32(b1, sb1);
	}
	state_store(ha, a0, a1);
	state_store(hb, b0, b1);
}

/* 0: not asked yet, 1: absent, 2: present. */
static atomic_int ni_known;

static bool
ni_present(void)
{
	unsigned int a, b, c, d;
	int v = atomic_load_explicit(&ni_known, memory_order_relaxed);

	if (v == 0) {
		/* cpuid traps to the hypervisor in a VM: asked once. */
		v = 1;
		if (__get_cpuid(1, &a, &b, &c, &d) != 0 &&
		    (c & bit_SSSE3) != 0 && (c & bit_SSE4_1) != 0 &&
		    __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 &&
		    (b & bit_SHA) != 0)
			v = 2;
		atomic_store_explicit(&ni_known, v, memory_order_relaxed);
	}
	return v == 2;
}
#else
static bool
ni_present(void)
{
	return false;
}

static void
ni_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

static void
ni_blocks2(uint32_t ha[8], const unsigned char *pa, uint32_t hb[8],
    const unsigned char *pb, size_t n)
{
	(void)ha;
	(void)pa;
	(void)hb;
	(void)pb;
	(void)n;
}
#endif

bool
nhi_sha256_accelerated(void)
{
	return ni_present();
}

void
nhi_sha256_init(struct nhi_sha256 *s)
{
	memset(s, 0, sizeof(*s));
	s->ni = ni_present();
	if (s->ni)
		memcpy(s->u.ni.h, iv, sizeof(iv));
	else
		(void)crypto_hash_sha256_init(&s->u.sodium);
}

void
nhi_sha256_update(struct nhi_sha256 *s, const void *p, size_t n)
{
	const unsigned char *in = p;
	size_t used, take;

	if (!s->ni) {
		(void)crypto_hash_sha256_update(&s->u.sodium, in, n);
		return;
	}
	used = (size_t)(s->u.ni.bytes % 64);
	s->u.ni.bytes += n;
	if (used > 0) {
		take = 64 - used < n ? 64 - used : n;
		memcpy(s->u.ni.buf + used, in, take);
		in += take;
		n -= take;
		if (used + take < 64)
			return;
		ni_blocks(s->u.ni.h, s->u.ni.buf, 1);
	}
	if (n >= 64) {
		ni_blocks(s->u.ni.h, in, n / 64);
		in += n - n % 64;
		n %= 64;
	}
	if (n > 0)
		memcpy(s->u.ni.buf, in, n);
}

void
nhi_sha256_update2(struct nhi_sha256 *a, struct nhi_sha256 *b,
    const void *p, size_t n)
{
	const unsigned char *in = p;
	size_t ka, kb, both;

	if (!a->ni || !b->ni) {
		nhi_sha256_update(a, in, n);
		nhi_sha256_update(b, in, n);
		return;
	}
	/* Each completes the block it has begun, then both go in step. */
	ka = (size_t)((64 - a->u.ni.bytes % 64) % 64);
	kb = (size_t)((64 - b->u.ni.bytes % 64) % 64);
	if (ka > n)
		ka = n;
	if (kb > n)
		kb = n;
	nhi_sha256_update(a, in, ka);
	nhi_sha256_update(b, in, kb);
	both = (n - (ka > kb ? ka : kb)) / 64;
	ni_blocks2(a->u.ni.h, in + ka, b->u.ni.h, in + kb, both);
	a->u.ni.bytes += 64 * both;
	b->u.ni.bytes += 64 * both;
	nhi_sha256_update(a, in + ka + 64 * both, n - ka - 64 * both);
	nhi_sha256_update(b, in + kb + 64 * both, n - kb - 64 * both);
}

static void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

void
nhi_sha256_final(struct nhi_sha256 *s, unsigned char out[NHI_SHA256_LEN])
{
	uint64_t bits;
	size_t used, i;

	if (!s->ni) {
		(void)crypto_hash_sha256_final(&s->u.sodium, out);
		return;
	}
	/* The message, a one bit, zeros, and its length in bits. */
	bits = s->u.ni.bytes * 8;
	used = (size_t)(s->u.ni.bytes % 64);
	s->u.ni.buf[used++] = 0x80;
	if (used > 56) {
		memset(s->u.ni.buf + used, 0, 64 - used);
		ni_blocks(s->u.ni.h, s->u.ni.buf, 1);
		used = 0;
	}
	memset(s->u.ni.buf + used, 0, 56 - used);
	be32_put(s->u.ni.buf + 56, (uint32_t)(bits >> 32));
	be32_put(s->u.ni.buf + 60, (uint32_t)bits);
	ni_blocks(s->u.ni.h, s->u.ni.buf, 1);
	for (i = 0; i < 8; i++)
		be32_put(out + 4 * i, s->u.ni.h[i]);
}

void
nhi_sha256(unsigned char out[NHI_SHA256_LEN], const void *p, size_t n)
{
	struct nhi_sha256 s;

	nhi_sha256_init(&s);
	nhi_sha256_update(&s, p, n);
	nhi_sha256_final(&s, out);
}
