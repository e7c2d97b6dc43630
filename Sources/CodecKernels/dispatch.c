#include "CodecKernels.h"
#include "simd.h"

int ck_simd_level(void) {
#if CK_X86
    // __builtin_cpu_supports also checks that the OS saves the AVX registers.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? CK_LEVEL_AVX2 : CK_LEVEL_SSE2;
#else
    return CK_LEVEL_SCALAR;
#endif
}
