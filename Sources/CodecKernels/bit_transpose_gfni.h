// AVX-512 + GFNI bit untransposes (bit_transpose_gfni.c), internal to CodecKernels: called by
// bit_transpose.c only at CK_LEVEL_AVX512, which ck_simd_level() reports only when the CPU
// (and the OS) run AVX-512 F/BW/VBMI and GFNI.
#ifndef CODEC_KERNELS_BIT_TRANSPOSE_GFNI_H
#define CODEC_KERNELS_BIT_TRANSPOSE_GFNI_H

#include <stddef.h>
#include <stdint.h>

/// 8 bit rows of rowBytes bytes -> plane of 8 * rowBytes bytes, 64 groups at a time; returns
/// the groups done (the caller finishes the rest).
size_t ck_rows_to_bytes_gfni(const uint8_t *in, uint8_t *out, size_t rowBytes);

/// Bit untranspose of a whole block of 2-byte elements in one pass: 16 bit rows of count / 8
/// bytes -> count elements, with no byte-plane intermediate. Only for count % 512 == 0.
void ck_bitunshuffle2_gfni(const uint8_t *in, uint8_t *out, size_t count);

#endif
