// Bit untranspose with AVX-512 and GFNI (the decode side of bitshuffle; layout in
// bit_transpose.c). Why: streaming a bitshuffle+LZ4 dataset, the AVX2 transpose network and
// the separate byte unshuffle cost more than LZ4 itself (bench/README.md, "bslz4"). Here a
// plane takes two steps per 64 groups of 8 elements:
//   1. a byte transpose of the eight rows (3 rounds of two-source byte/word/dword permutes,
//      vpermt2b/w/d), so that qword g holds byte g of rows 7, 6, ..., 0;
//   2. one GF(2) affine transform per 8 qwords (vgf2p8affineqb), using each qword as the
//      8x8 bit matrix and the constant whose byte j is 1 << j as the data: result byte j,
//      bit i = bit j of the qword's byte 7 - i = bit j of row i's byte g, i.e. byte j of
//      element 8g + j with its bit i — the 8x8 bit transpose of that group.
// For 2-byte elements the two planes are interleaved in registers and stored once.
#include "bit_transpose_gfni.h"
#include "simd.h"

#if CK_X86
#define CK_GFNI __attribute__((target("avx512f,avx512bw,avx512vbmi,gfni")))

// Interleave tables for vpermt2*: "lo" takes element i/2 of a (even i) or of b (odd i) from
// the first half of each, "hi" the same from the second half. In units of bytes (64 per
// register), words (32) and dwords (16); index >= count picks from b.
#define I2(n, k) n, k + n
#define I8(n, k) I2(n, k), I2(n + 1, k), I2(n + 2, k), I2(n + 3, k)
#define I32(n, k) I8(n, k), I8(n + 4, k), I8(n + 8, k), I8(n + 12, k)
static const uint8_t bytes_lo[64] __attribute__((aligned(64))) = { I32(0, 64), I32(16, 64) };
static const uint8_t bytes_hi[64] __attribute__((aligned(64))) = { I32(32, 64), I32(48, 64) };
static const uint16_t words_lo[32] __attribute__((aligned(64))) = { I32(0, 32) };
static const uint16_t words_hi[32] __attribute__((aligned(64))) = { I32(16, 32) };
static const uint32_t dwords_lo[16] __attribute__((aligned(64))) = { I8(0, 16), I8(4, 16) };
static const uint32_t dwords_hi[16] __attribute__((aligned(64))) = { I8(8, 16), I8(12, 16) };

struct tables { __m512i b_lo, b_hi, w_lo, w_hi, d_lo, d_hi, data; };

CK_GFNI static inline struct tables load_tables(void) {
    struct tables t;
    t.b_lo = _mm512_load_si512(bytes_lo);
    t.b_hi = _mm512_load_si512(bytes_hi);
    t.w_lo = _mm512_load_si512(words_lo);
    t.w_hi = _mm512_load_si512(words_hi);
    t.d_lo = _mm512_load_si512(dwords_lo);
    t.d_hi = _mm512_load_si512(dwords_hi);
    t.data = _mm512_set1_epi64(0x8040201008040201ll);   // byte j = 1 << j
    return t;
}

// Groups g .. g+63 of the plane whose 8 bit rows start at `in`: out[m] holds the plane's bytes
// of elements 8g + 64m .. 8g + 64m + 63, in order.
CK_GFNI static inline void plane64(const uint8_t *in, size_t rowBytes, size_t g,
                                   const struct tables *t, __m512i out[8]) {
    __m512i s[8], w[8], d[8];
    // s[p] = row 7 - p, so that byte p of each qword comes from row 7 - p.
    for (int p = 0; p < 8; p++) s[p] = _mm512_loadu_si512(in + (size_t)(7 - p) * rowBytes + g);
    // w[2q + h]: words [s[2q], s[2q+1]] of groups 32h .. 32h+31.
    for (int q = 0; q < 4; q++) {
        w[2 * q] = _mm512_permutex2var_epi8(s[2 * q], t->b_lo, s[2 * q + 1]);
        w[2 * q + 1] = _mm512_permutex2var_epi8(s[2 * q], t->b_hi, s[2 * q + 1]);
    }
    // d[4r + 2h + k]: dwords [s[4r] .. s[4r+3]] of groups 32h + 16k .. +15.
    for (int r = 0; r < 2; r++) {
        for (int h = 0; h < 2; h++) {
            d[4 * r + 2 * h] = _mm512_permutex2var_epi16(w[4 * r + h], t->w_lo, w[4 * r + 2 + h]);
            d[4 * r + 2 * h + 1] = _mm512_permutex2var_epi16(w[4 * r + h], t->w_hi, w[4 * r + 2 + h]);
        }
    }
    // Qwords of groups 16k .. 16k+7 and 16k+8 .. 16k+15, then their bit transposes.
    for (int k = 0; k < 4; k++) {
        __m512i lo = _mm512_permutex2var_epi32(d[k], t->d_lo, d[4 + k]);
        __m512i hi = _mm512_permutex2var_epi32(d[k], t->d_hi, d[4 + k]);
        out[2 * k] = _mm512_gf2p8affine_epi64_epi8(t->data, lo, 0);
        out[2 * k + 1] = _mm512_gf2p8affine_epi64_epi8(t->data, hi, 0);
    }
}

CK_GFNI size_t ck_rows_to_bytes_gfni(const uint8_t *in, uint8_t *out, size_t rowBytes) {
    const struct tables t = load_tables();
    size_t g = 0;
    for (; g + 64 <= rowBytes; g += 64) {
        __m512i p[8];
        plane64(in, rowBytes, g, &t, p);
        for (int m = 0; m < 8; m++) _mm512_storeu_si512(out + 8 * g + 64 * (size_t)m, p[m]);
    }
    return g;
}

CK_GFNI void ck_bitunshuffle2_gfni(const uint8_t *in, uint8_t *out, size_t count) {
    const struct tables t = load_tables();
    size_t rowBytes = count / 8;
    for (size_t g = 0; g + 64 <= rowBytes; g += 64) {
        __m512i low[8], high[8];
        plane64(in, rowBytes, g, &t, low);           // rows 0-7: byte 0 of each element
        plane64(in + count, rowBytes, g, &t, high);  // rows 8-15: byte 1
        uint8_t *dst = out + 16 * g;
        for (int m = 0; m < 8; m++) {
            _mm512_storeu_si512(dst + 128 * m, _mm512_permutex2var_epi8(low[m], t.b_lo, high[m]));
            _mm512_storeu_si512(dst + 128 * m + 64, _mm512_permutex2var_epi8(low[m], t.b_hi, high[m]));
        }
    }
}
#endif
