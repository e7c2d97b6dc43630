// Byte and bit transposes behind the HDF5 shuffle (id 2) and bitshuffle (id 32008) filters,
// plus the Fletcher-32 checksum (id 3). Plain C so the transposes can use SSE2/AVX2; every
// function works on caller-owned buffers, allocates nothing and cannot fail (callers check sizes).
#ifndef CODEC_KERNELS_H
#define CODEC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Instruction sets a kernel may use. `ck_simd_level()` is the best this CPU runs; tests pass
/// lower levels to check every path against the others.
enum {
    CK_LEVEL_SCALAR = 0,
    CK_LEVEL_SSE2 = 1,
    CK_LEVEL_AVX2 = 2,
    /// AVX2 plus AVX-512 F/BW/VBMI and GFNI: the bit untranspose of bitshuffle decode.
    CK_LEVEL_AVX512 = 3,
};

/// The best level this CPU supports (AVX-512 with GFNI, else AVX2 when present, SSE2 on any
/// x86-64, scalar elsewhere).
int ck_simd_level(void);

/// HDF5 shuffle, forward: `count` elements of `size` bytes -> `size` byte planes of `count` bytes.
void ck_byte_shuffle(const uint8_t *in, uint8_t *out, size_t count, size_t size, int level);
/// HDF5 shuffle, reverse: `size` byte planes of `count` bytes -> `count` elements of `size` bytes.
void ck_byte_unshuffle(const uint8_t *in, uint8_t *out, size_t count, size_t size, int level);

/// Bitshuffle one block forward: `count` elements (a multiple of 8) of `size` bytes become
/// 8 * size bit rows of count / 8 bytes. `tmp` holds count * size bytes.
void ck_bitshuffle_block(const uint8_t *in, uint8_t *out, uint8_t *tmp,
                         size_t count, size_t size, int level);
/// Bitshuffle one block reverse; same shapes as `ck_bitshuffle_block`.
void ck_bitunshuffle_block(const uint8_t *in, uint8_t *out, uint8_t *tmp,
                           size_t count, size_t size, int level);

/// HDF5's Fletcher-32 (H5_checksum_fletcher32): big-endian 16-bit words, sums start at 0,
/// an odd last byte counts as the high byte of a word.
uint32_t ck_fletcher32(const uint8_t *data, size_t length);

#endif
