#include "CodecKernels.h"
#include "simd.h"

int ck_simd_level(void) {
#if CK_X86
    // __builtin_cpu_supports also checks that the OS saves the AVX registers.
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return CK_LEVEL_SSE2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni")) return CK_LEVEL_AVX512;
    return CK_LEVEL_AVX2;
#else
    return CK_LEVEL_SCALAR;
#endif
}
