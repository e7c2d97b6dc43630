// Which vector code this build can contain. SSE2 is part of x86-64 itself; AVX2 functions are
// compiled with a target attribute and only called after ck_simd_level() saw the CPU support it.
#ifndef CODEC_KERNELS_SIMD_H
#define CODEC_KERNELS_SIMD_H

#if defined(__x86_64__) && defined(__SSE2__)
#define CK_X86 1
#include <immintrin.h>
#define CK_AVX2 __attribute__((target("avx2")))
#else
#define CK_X86 0
#endif

#endif
