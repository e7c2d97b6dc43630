import Codecs
import TestSupport
import XCTest

/// The C transposes at every SIMD level this CPU runs, against plain definitions.
final class KernelTests: XCTestCase {
    var levels: [Int32] { Array(0...Kernels.bestLevel) }

    /// Bitshuffle by definition: bit row 8j+k holds bit k of byte j of each element, element e
    /// at bit e % 8 of byte e / 8 of the row.
    func referenceBitshuffle(_ input: [UInt8], elementSize size: Int) -> [UInt8] {
        let count = input.count / size
        let rowBytes = count / 8
        var out = [UInt8](repeating: 0, count: input.count)
        for element in 0..<count {
            for byte in 0..<size {
                let value = input[element * size + byte]
                for bit in 0..<8 where value & (1 << bit) != 0 {
                    out[(byte * 8 + bit) * rowBytes + element / 8] |= UInt8(1 << (element % 8))
                }
            }
        }
        return out
    }

    /// Runs a kernel from `input` into a new buffer of the same size, with a scratch buffer.
    func apply(_ input: [UInt8],
               _ kernel: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: input.count)
        var temp = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                temp.withUnsafeMutableBytes { scratch in kernel(source, target, scratch) }
            }
        }
        return output
    }

    func referenceShuffle(_ input: [UInt8], elementSize size: Int) -> [UInt8] {
        let count = input.count / size
        var out = [UInt8](repeating: 0, count: input.count)
        for element in 0..<count { for byte in 0..<size { out[byte * count + element] = input[element * size + byte] } }
        return out
    }

    func testBitshuffleBlockMatchesDefinitionAtEveryLevel() {
        // Counts cover the SIMD widths (16, 32 and 64 groups of 8) and their tails; 512 and
        // its multiples take the one-pass path for 2-byte elements at the AVX-512 level.
        for size in [1, 2, 3, 4, 8, 16] {
            for count in [8, 16, 24, 128, 136, 256, 264, 512, 520, 1000, 1024, 1288, 4096] {
                let input = noise(count * size, seed: UInt64(size * 10_000 + count))
                let expected = referenceBitshuffle(input, elementSize: size)
                for level in levels {
                    let shuffled = apply(input) { Kernels.bitshuffleBlock($0, into: $1, temp: $2, elementSize: size, level: level) }
                    XCTAssertEqual(shuffled, expected, "size \(size) count \(count) level \(level)")
                    let back = apply(shuffled) { Kernels.bitunshuffleBlock($0, into: $1, temp: $2, elementSize: size, level: level) }
                    XCTAssertEqual(back, input, "size \(size) count \(count) level \(level)")
                }
            }
        }
    }

    func testByteShuffleMatchesDefinitionAtEveryLevel() {
        for size in [2, 3, 4, 5, 8, 12] {
            for count in [1, 15, 16, 17, 33, 1000] {
                let input = noise(count * size, seed: UInt64(size * 1000 + count))
                let expected = referenceShuffle(input, elementSize: size)
                for level in levels {
                    let shuffled = apply(input) { source, target, _ in Kernels.byteShuffle(source, into: target, elementSize: size, level: level) }
                    XCTAssertEqual(shuffled, expected, "size \(size) count \(count) level \(level)")
                    let back = apply(shuffled) { source, target, _ in Kernels.byteUnshuffle(source, into: target, elementSize: size, level: level) }
                    XCTAssertEqual(back, input, "size \(size) count \(count) level \(level)")
                }
            }
        }
    }

    func testFletcher32KnownValues() {
        func sum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { Kernels.fletcher32($0) } }
        // Words are big-endian; an odd last byte is the high half of a zero-padded word.
        XCTAssertEqual(sum([0x01, 0x02]), 0x0102_0102)
        XCTAssertEqual(sum([0x01, 0x02, 0x03]), 0x0504_0402)
        XCTAssertEqual(sum([]), 0)
        // Long runs fold every 360 words: all-0xFF words are 0xFFFF == 0 modulo 65535.
        let ones = sum([UInt8](repeating: 0xFF, count: 10_000))
        XCTAssertEqual(ones & 0xFFFF, 0xFFFF)
        // Against a straightforward modulo-65535 reference on longer random data.
        let data = noise(100_001)
        let (low, high) = plainFletcher32Sums(data)
        let computed = sum(data)
        XCTAssertEqual(UInt64(computed & 0xFFFF) % 65535, low)
        XCTAssertEqual(UInt64(computed >> 16) % 65535, high)
    }
}
