#include "CodecKernels.h"

// Folds a running sum back into 16 bits plus a small carry (one's-complement style).
static inline uint32_t fold16(uint32_t sum) { return (sum & 0xffffu) + (sum >> 16); }

uint32_t ck_fletcher32(const uint8_t *data, size_t length) {
    uint32_t low = 0, high = 0;
    size_t words = length / 2;
    while (words > 0) {
        // 360 words is the longest run whose sums cannot overflow 32 bits before folding.
        size_t run = words > 360 ? 360 : words;
        words -= run;
        for (size_t i = 0; i < run; i++) {
            low += ((uint32_t)data[0] << 8) | (uint32_t)data[1];
            high += low;
            data += 2;
        }
        low = fold16(low);
        high = fold16(high);
    }
    if (length % 2 != 0) {
        // The odd last byte is the high half of a word whose low half is zero.
        low += (uint32_t)data[0] << 8;
        high += low;
        low = fold16(low);
        high = fold16(high);
    }
    low = fold16(low);
    high = fold16(high);
    return (high << 16) | low;
}
