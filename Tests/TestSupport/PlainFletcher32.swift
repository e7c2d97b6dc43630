/// Fletcher-32 by its definition, for checking the SIMD kernel (CodecsTests, h5fuzz): both
/// sums modulo 65535 over big-endian 16-bit words, an odd last byte as the high half of a
/// zero-padded word. HDF5 folds lazily, so compare its sums modulo 65535 (0xFFFF ≡ 0).
package func plainFletcher32Sums<Bytes: RandomAccessCollection>(_ data: Bytes) -> (low: UInt64, high: UInt64)
    where Bytes.Element == UInt8, Bytes.Index == Int {
    var low: UInt64 = 0, high: UInt64 = 0
    var index = data.startIndex
    while index < data.endIndex {
        let word = UInt64(data[index]) << 8 | (index + 1 < data.endIndex ? UInt64(data[index + 1]) : 0)
        low = (low + word) % 65535
        high = (high + low) % 65535
        index += 2
    }
    return (low, high)
}
