// Bitshuffle (kiyo-masui/bitshuffle) of a block of `count` elements of `size` bytes stores
// 8 * size "bit rows" of count / 8 bytes: row 8 * j + k holds bit k of byte j of every
// element, element e at bit e % 8 of byte e / 8 of the row.
//
// Done here in two steps: a byte transpose (HDF5 shuffle) gathers byte j of every element
// into plane j, then each plane is bit-transposed on its own (8 rows <-> count bytes). The
// per-plane step is an 8x8 bit-matrix transpose per group of 8 bytes. Decode (SIMD) loads the
// eight rows into eight registers, transposes bits across them with a three-stage swap
// network, and interleaves the registers' bytes; encode peels bit rows off with movemask.
// With AVX-512 and GFNI, decode is bit_transpose_gfni.c (one affine transform per 8 groups),
// and for 2-byte elements it writes the elements directly, with no byte-plane pass.
#include <string.h>
#include "CodecKernels.h"
#include "bit_transpose_gfni.h"
#include "simd.h"

// Transposes the 8x8 bit matrix in a 64-bit word (byte = row, bit = column):
// bit k of byte m moves to bit m of byte k. Three rounds swap 1x1, 2x2 and 4x4 sub-blocks.
static inline uint64_t transpose8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull;
    x ^= t ^ (t << 28);
    return x;
}

// Plane of 8 * rowBytes bytes -> 8 bit rows of rowBytes bytes, groups from `from` on.
static void bytes_to_rows_scalar(const uint8_t *in, uint8_t *out, size_t rowBytes, size_t from) {
    for (size_t g = from; g < rowBytes; g++) {
        uint64_t x = 0;
        for (int e = 0; e < 8; e++) x |= (uint64_t)in[8 * g + (size_t)e] << (8 * e);
        x = transpose8(x);
        for (int k = 0; k < 8; k++) out[(size_t)k * rowBytes + g] = (uint8_t)(x >> (8 * k));
    }
}

// 8 bit rows of rowBytes bytes -> plane of 8 * rowBytes bytes, groups from `from` on.
static void rows_to_bytes_scalar(const uint8_t *in, uint8_t *out, size_t rowBytes, size_t from) {
    for (size_t g = from; g < rowBytes; g++) {
        uint64_t x = 0;
        for (int k = 0; k < 8; k++) x |= (uint64_t)in[(size_t)k * rowBytes + g] << (8 * k);
        x = transpose8(x);
        for (int e = 0; e < 8; e++) out[8 * g + (size_t)e] = (uint8_t)(x >> (8 * e));
    }
}

#if CK_X86
// One swap stage of the 8x8 bit transpose across registers: exchanges the bits of `a` at
// mask << shift with the bits of `b` at mask. Shifts by 16-bit lanes are fine: the mask
// drops every bit that crossed a byte boundary.
#define CK_SWAP_STAGE(OPS, a, b, shift, mask) do {                                          \
        OPS##_TYPE t_ = OPS##_AND(OPS##_XOR(OPS##_SRLI(a, shift), b), mask);              \
        b = OPS##_XOR(b, t_);                                                               \
        a = OPS##_XOR(a, OPS##_SLLI(t_, shift));                                            \
    } while (0)

// Transposes the 8x8 bit matrix at every byte position of eight registers: afterwards bit k
// of register e is what bit e of register k was. Three stages swap 1x1, 2x2, 4x4 blocks.
#define CK_TRANSPOSE_BITS(OPS, r) do {                                                      \
        const OPS##_TYPE m1_ = OPS##_SET1(0x55), m2_ = OPS##_SET1(0x33), m4_ = OPS##_SET1(0x0F); \
        for (int p_ = 0; p_ < 8; p_ += 2) CK_SWAP_STAGE(OPS, r[p_], r[p_ + 1], 1, m1_);     \
        CK_SWAP_STAGE(OPS, r[0], r[2], 2, m2_);                                            \
        CK_SWAP_STAGE(OPS, r[1], r[3], 2, m2_);                                            \
        CK_SWAP_STAGE(OPS, r[4], r[6], 2, m2_);                                            \
        CK_SWAP_STAGE(OPS, r[5], r[7], 2, m2_);                                            \
        for (int p_ = 0; p_ < 4; p_++) CK_SWAP_STAGE(OPS, r[p_], r[p_ + 4], 4, m4_);        \
    } while (0)

#define SSE_TYPE __m128i
#define SSE_AND _mm_and_si128
#define SSE_XOR _mm_xor_si128
#define SSE_SRLI _mm_srli_epi16
#define SSE_SLLI _mm_slli_epi16
#define SSE_SET1(x) _mm_set1_epi8((char)(x))

// 16 groups per step: the eight rows' bytes g..g+15 are bit-transposed across registers
// (register e then holds the output bytes of elements 8i + e), then interleaved so that each
// group's eight bytes are contiguous.
static size_t rows_to_bytes_sse2(const uint8_t *in, uint8_t *out, size_t rowBytes) {
    size_t g = 0;
    for (; g + 16 <= rowBytes; g += 16) {
        __m128i a[8], b[8], c[8];
        for (int k = 0; k < 8; k++) a[k] = _mm_loadu_si128((const __m128i *)(const void *)(in + (size_t)k * rowBytes + g));
        CK_TRANSPOSE_BITS(SSE, a);
        for (int p = 0; p < 4; p++) {   // registers (2p, 2p+1): groups 0-7, then 8-15
            b[2 * p] = _mm_unpacklo_epi8(a[2 * p], a[2 * p + 1]);
            b[2 * p + 1] = _mm_unpackhi_epi8(a[2 * p], a[2 * p + 1]);
        }
        for (int h = 0; h < 2; h++) {   // registers 0-3 (h = 0) and 4-7 (h = 1)
            c[4 * h + 0] = _mm_unpacklo_epi16(b[4 * h + 0], b[4 * h + 2]);  // groups 0-3
            c[4 * h + 1] = _mm_unpackhi_epi16(b[4 * h + 0], b[4 * h + 2]);  // 4-7
            c[4 * h + 2] = _mm_unpacklo_epi16(b[4 * h + 1], b[4 * h + 3]);  // 8-11
            c[4 * h + 3] = _mm_unpackhi_epi16(b[4 * h + 1], b[4 * h + 3]);  // 12-15
        }
        uint8_t *dst = out + 8 * g;
        for (int q = 0; q < 4; q++) {   // groups 4q..4q+3, two per vector
            _mm_storeu_si128((__m128i *)(void *)(dst + 32 * q), _mm_unpacklo_epi32(c[q], c[4 + q]));
            _mm_storeu_si128((__m128i *)(void *)(dst + 32 * q + 16), _mm_unpackhi_epi32(c[q], c[4 + q]));
        }
    }
    return g;
}

// 2 groups (16 bytes) per step: movemask collects the top bit of every byte, i.e. one bit row.
static size_t bytes_to_rows_sse2(const uint8_t *in, uint8_t *out, size_t rowBytes) {
    size_t g = 0;
    for (; g + 2 <= rowBytes; g += 2) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + 8 * g));
        for (int k = 7; k >= 0; k--) {
            uint16_t bits = (uint16_t)_mm_movemask_epi8(v);
            memcpy(out + (size_t)k * rowBytes + g, &bits, 2);
            v = _mm_slli_epi16(v, 1);
        }
    }
    return g;
}

#define AVX_TYPE __m256i
#define AVX_AND _mm256_and_si256
#define AVX_XOR _mm256_xor_si256
#define AVX_SRLI _mm256_srli_epi16
#define AVX_SLLI _mm256_slli_epi16
#define AVX_SET1(x) _mm256_set1_epi8((char)(x))

// As the SSE2 version with 32 groups per step, from group `from` on: the unpacks work within 128-bit lanes, so the
// low lanes end up holding groups 0-15 and the high lanes groups 16-31; the final
// permutes put them back in order.
CK_AVX2 static size_t rows_to_bytes_avx2(const uint8_t *in, uint8_t *out, size_t rowBytes, size_t from) {
    size_t g = from;
    for (; g + 32 <= rowBytes; g += 32) {
        __m256i a[8], b[8], c[8], d[8];
        for (int k = 0; k < 8; k++) a[k] = _mm256_loadu_si256((const __m256i *)(const void *)(in + (size_t)k * rowBytes + g));
        CK_TRANSPOSE_BITS(AVX, a);
        for (int p = 0; p < 4; p++) {
            b[2 * p] = _mm256_unpacklo_epi8(a[2 * p], a[2 * p + 1]);
            b[2 * p + 1] = _mm256_unpackhi_epi8(a[2 * p], a[2 * p + 1]);
        }
        for (int h = 0; h < 2; h++) {
            c[4 * h + 0] = _mm256_unpacklo_epi16(b[4 * h + 0], b[4 * h + 2]);
            c[4 * h + 1] = _mm256_unpackhi_epi16(b[4 * h + 0], b[4 * h + 2]);
            c[4 * h + 2] = _mm256_unpacklo_epi16(b[4 * h + 1], b[4 * h + 3]);
            c[4 * h + 3] = _mm256_unpackhi_epi16(b[4 * h + 1], b[4 * h + 3]);
        }
        for (int q = 0; q < 4; q++) {   // d[2q], d[2q+1]: groups 4q..4q+3 (low lanes), +16 (high)
            d[2 * q] = _mm256_unpacklo_epi32(c[q], c[4 + q]);
            d[2 * q + 1] = _mm256_unpackhi_epi32(c[q], c[4 + q]);
        }
        uint8_t *dst = out + 8 * g;
        for (int q = 0; q < 4; q++) {
            _mm256_storeu_si256((__m256i *)(void *)(dst + 32 * q), _mm256_permute2x128_si256(d[2 * q], d[2 * q + 1], 0x20));
            _mm256_storeu_si256((__m256i *)(void *)(dst + 128 + 32 * q), _mm256_permute2x128_si256(d[2 * q], d[2 * q + 1], 0x31));
        }
    }
    return g;
}

CK_AVX2 static size_t bytes_to_rows_avx2(const uint8_t *in, uint8_t *out, size_t rowBytes) {
    size_t g = 0;
    for (; g + 4 <= rowBytes; g += 4) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(in + 8 * g));
        for (int k = 7; k >= 0; k--) {
            uint32_t bits = (uint32_t)_mm256_movemask_epi8(v);
            memcpy(out + (size_t)k * rowBytes + g, &bits, 4);
            v = _mm256_slli_epi16(v, 1);
        }
    }
    return g;
}
#endif

static void rows_to_bytes(const uint8_t *in, uint8_t *out, size_t rowBytes, int level) {
    size_t done = 0;
#if CK_X86
    if (level >= CK_LEVEL_AVX512) done = ck_rows_to_bytes_gfni(in, out, rowBytes);
    if (level >= CK_LEVEL_AVX2) done = rows_to_bytes_avx2(in, out, rowBytes, done);
    else if (level >= CK_LEVEL_SSE2) done = rows_to_bytes_sse2(in, out, rowBytes);
#else
    (void)level;
#endif
    rows_to_bytes_scalar(in, out, rowBytes, done);
}

static void bytes_to_rows(const uint8_t *in, uint8_t *out, size_t rowBytes, int level) {
    size_t done = 0;
#if CK_X86
    if (level >= CK_LEVEL_AVX2) done = bytes_to_rows_avx2(in, out, rowBytes);
    else if (level >= CK_LEVEL_SSE2) done = bytes_to_rows_sse2(in, out, rowBytes);
#else
    (void)level;
#endif
    bytes_to_rows_scalar(in, out, rowBytes, done);
}

void ck_bitshuffle_block(const uint8_t *in, uint8_t *out, uint8_t *tmp,
                         size_t count, size_t size, int level) {
    size_t rowBytes = count / 8;
    if (size == 1) {
        bytes_to_rows(in, out, rowBytes, level);
        return;
    }
    ck_byte_shuffle(in, tmp, count, size, level);
    for (size_t j = 0; j < size; j++) bytes_to_rows(tmp + j * count, out + j * count, rowBytes, level);
}

void ck_bitunshuffle_block(const uint8_t *in, uint8_t *out, uint8_t *tmp,
                           size_t count, size_t size, int level) {
    size_t rowBytes = count / 8;
    if (size == 1) {
        rows_to_bytes(in, out, rowBytes, level);
        return;
    }
#if CK_X86
    if (level >= CK_LEVEL_AVX512 && size == 2 && count % 512 == 0) {
        ck_bitunshuffle2_gfni(in, out, count);
        return;
    }
#endif
    for (size_t j = 0; j < size; j++) rows_to_bytes(in + j * count, tmp + j * count, rowBytes, level);
    ck_byte_unshuffle(tmp, out, count, size, level);
}
