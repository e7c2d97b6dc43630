// HDF5's shuffle filter is a transpose of a count x size byte matrix. Sizes 2, 4 and 8 (nearly
// every numeric type) get SSE2 paths working on 16 elements at a time; other sizes and the
// tails use plain loops.
#include "CodecKernels.h"
#include "simd.h"

static void shuffle_scalar(const uint8_t *in, uint8_t *out, size_t count, size_t size, size_t from) {
    for (size_t j = 0; j < size; j++) {
        uint8_t *plane = out + j * count;
        for (size_t i = from; i < count; i++) plane[i] = in[i * size + j];
    }
}

static void unshuffle_scalar(const uint8_t *in, uint8_t *out, size_t count, size_t size, size_t from) {
    for (size_t j = 0; j < size; j++) {
        const uint8_t *plane = in + j * count;
        for (size_t i = from; i < count; i++) out[i * size + j] = plane[i];
    }
}

#if CK_X86
#define LOAD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STORE(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))

// Splits the bytes of two vectors into the even-indexed bytes and the odd-indexed bytes.
static inline void split_even_odd(__m128i a, __m128i b, __m128i *even, __m128i *odd) {
    const __m128i low = _mm_set1_epi16(0x00ff);
    *even = _mm_packus_epi16(_mm_and_si128(a, low), _mm_and_si128(b, low));
    *odd = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
}

// Each helper handles 16 elements and returns how many elements it covered.
static size_t shuffle2_sse2(const uint8_t *in, uint8_t *out, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i p0, p1;
        split_even_odd(LOAD(in + 2 * i), LOAD(in + 2 * i + 16), &p0, &p1);
        STORE(out + i, p0);
        STORE(out + count + i, p1);
    }
    return i;
}

static size_t shuffle4_sse2(const uint8_t *in, uint8_t *out, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        const uint8_t *src = in + 4 * i;
        __m128i e0, o0, e1, o1, p0, p1, p2, p3;
        split_even_odd(LOAD(src), LOAD(src + 16), &e0, &o0);       // elements 0-7: bytes {0,2} / {1,3}
        split_even_odd(LOAD(src + 32), LOAD(src + 48), &e1, &o1);  // elements 8-15
        split_even_odd(e0, e1, &p0, &p2);
        split_even_odd(o0, o1, &p1, &p3);
        STORE(out + i, p0);
        STORE(out + count + i, p1);
        STORE(out + 2 * count + i, p2);
        STORE(out + 3 * count + i, p3);
    }
    return i;
}

static size_t shuffle8_sse2(const uint8_t *in, uint8_t *out, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        const uint8_t *src = in + 8 * i;
        __m128i e[4], o[4], ee[2], eo[2], oe[2], oo[2], p[8];
        for (int q = 0; q < 4; q++)   // elements 4q..4q+3: bytes {0,2,4,6} / {1,3,5,7}
            split_even_odd(LOAD(src + 32 * q), LOAD(src + 32 * q + 16), &e[q], &o[q]);
        for (int q = 0; q < 2; q++) { // elements 8q..8q+7: bytes {0,4} {2,6} {1,5} {3,7}
            split_even_odd(e[2 * q], e[2 * q + 1], &ee[q], &eo[q]);
            split_even_odd(o[2 * q], o[2 * q + 1], &oe[q], &oo[q]);
        }
        split_even_odd(ee[0], ee[1], &p[0], &p[4]);
        split_even_odd(eo[0], eo[1], &p[2], &p[6]);
        split_even_odd(oe[0], oe[1], &p[1], &p[5]);
        split_even_odd(oo[0], oo[1], &p[3], &p[7]);
        for (int j = 0; j < 8; j++) STORE(out + (size_t)j * count + i, p[j]);
    }
    return i;
}

static size_t unshuffle2_sse2(const uint8_t *in, uint8_t *out, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i a = LOAD(in + i), b = LOAD(in + count + i);
        STORE(out + 2 * i, _mm_unpacklo_epi8(a, b));
        STORE(out + 2 * i + 16, _mm_unpackhi_epi8(a, b));
    }
    return i;
}

static size_t unshuffle4_sse2(const uint8_t *in, uint8_t *out, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i a0 = LOAD(in + i), a1 = LOAD(in + count + i);
        __m128i a2 = LOAD(in + 2 * count + i), a3 = LOAD(in + 3 * count + i);
        __m128i b0 = _mm_unpacklo_epi8(a0, a1), b1 = _mm_unpackhi_epi8(a0, a1);
        __m128i b2 = _mm_unpacklo_epi8(a2, a3), b3 = _mm_unpackhi_epi8(a2, a3);
        uint8_t *dst = out + 4 * i;
        STORE(dst, _mm_unpacklo_epi16(b0, b2));
        STORE(dst + 16, _mm_unpackhi_epi16(b0, b2));
        STORE(dst + 32, _mm_unpacklo_epi16(b1, b3));
        STORE(dst + 48, _mm_unpackhi_epi16(b1, b3));
    }
    return i;
}

static size_t unshuffle8_sse2(const uint8_t *in, uint8_t *out, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i a[8], b[8], c[8];
        for (int j = 0; j < 8; j++) a[j] = LOAD(in + (size_t)j * count + i);
        for (int j = 0; j < 4; j++) {   // byte pairs (2j, 2j+1): elements 0-7 then 8-15
            b[2 * j] = _mm_unpacklo_epi8(a[2 * j], a[2 * j + 1]);
            b[2 * j + 1] = _mm_unpackhi_epi8(a[2 * j], a[2 * j + 1]);
        }
        for (int h = 0; h < 2; h++) {   // bytes 0-3 (h = 0) and 4-7 (h = 1) of elements 0-15
            c[4 * h + 0] = _mm_unpacklo_epi16(b[4 * h + 0], b[4 * h + 2]);  // elements 0-3
            c[4 * h + 1] = _mm_unpackhi_epi16(b[4 * h + 0], b[4 * h + 2]);  // 4-7
            c[4 * h + 2] = _mm_unpacklo_epi16(b[4 * h + 1], b[4 * h + 3]);  // 8-11
            c[4 * h + 3] = _mm_unpackhi_epi16(b[4 * h + 1], b[4 * h + 3]);  // 12-15
        }
        uint8_t *dst = out + 8 * i;
        for (int q = 0; q < 4; q++) {   // elements 4q..4q+3, two per store
            STORE(dst + 32 * q, _mm_unpacklo_epi32(c[q], c[4 + q]));
            STORE(dst + 32 * q + 16, _mm_unpackhi_epi32(c[q], c[4 + q]));
        }
    }
    return i;
}
#endif

void ck_byte_shuffle(const uint8_t *in, uint8_t *out, size_t count, size_t size, int level) {
    size_t done = 0;
#if CK_X86
    if (level >= CK_LEVEL_SSE2) {
        if (size == 2) done = shuffle2_sse2(in, out, count);
        else if (size == 4) done = shuffle4_sse2(in, out, count);
        else if (size == 8) done = shuffle8_sse2(in, out, count);
    }
#else
    (void)level;
#endif
    shuffle_scalar(in, out, count, size, done);
}

void ck_byte_unshuffle(const uint8_t *in, uint8_t *out, size_t count, size_t size, int level) {
    size_t done = 0;
#if CK_X86
    if (level >= CK_LEVEL_SSE2) {
        if (size == 2) done = unshuffle2_sse2(in, out, count);
        else if (size == 4) done = unshuffle4_sse2(in, out, count);
        else if (size == 8) done = unshuffle8_sse2(in, out, count);
    }
#else
    (void)level;
#endif
    unshuffle_scalar(in, out, count, size, done);
}
