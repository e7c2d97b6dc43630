import Codecs
import H5Model
import XCTest

/// Hostile and damaged chunks: every one must end in a CodecError (never a crash, never a
/// write outside the output, never an allocation driven by a size the chunk claims).
final class CorruptionTests: XCTestCase {
    let data = sampleData(elements: 2000, elementSize: 2)

    func encoded(_ filters: [FilterSpec]) throws -> [UInt8] { try encode(data, filters, elementSize: 2) }

    func withBigEndian64(_ chunk: [UInt8], _ value: UInt64) -> [UInt8] {
        var chunk = chunk
        for i in 0..<8 { chunk[i] = UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64(i))) }
        return chunk
    }

    func testDeflateDamage() throws {
        let filters = [Spec.deflate()]
        let chunk = try encoded(filters)
        XCTAssertCodecError(try decode(Array(chunk.prefix(chunk.count / 2)), filters, elementSize: 2, size: data.count), containing: "deflate")
        XCTAssertCodecError(try decode([], filters, elementSize: 2, size: data.count), containing: "deflate")
        XCTAssertCodecError(try decode(noise(500), filters, elementSize: 2, size: data.count), containing: "corrupt")
        // Right stream, wrong expectations.
        XCTAssertCodecError(try decode(chunk, filters, elementSize: 2, size: data.count + 1), containing: "ends before")
        XCTAssertCodecError(try decode(chunk, filters, elementSize: 2, size: data.count - 1), containing: "more than")
    }

    func testDeflateBombStopsAtTheOutputSize() throws {
        // 64 MiB of zeros compress to ~64 KiB; decoding into 4 KiB must stop there.
        let bomb = try encode([UInt8](repeating: 0, count: 64 << 20), [Spec.deflate(9)], elementSize: 1)
        XCTAssertLessThan(bomb.count, 1 << 20)
        XCTAssertCodecError(try decode(bomb, [Spec.deflate()], elementSize: 1, size: 4096), containing: "more than")
        // As an inner stage of unknown size, it is bounded by the pipeline's intermediate limit.
        XCTAssertCodecError(try decode(bomb, [Spec.lz4(), Spec.deflate()], elementSize: 1, size: 4096), containing: "more than")
    }

    func testLZ4Damage() throws {
        let filters = [Spec.lz4(blockSize: 512)]
        let chunk = try encoded(filters)
        func expectError(_ bytes: [UInt8], _ text: String, line: UInt = #line) {
            XCTAssertCodecError(try decode(bytes, filters, elementSize: 2, size: data.count), containing: text, line: line)
        }
        expectError(Array(chunk.prefix(11)), "header")
        expectError(Array(chunk.prefix(chunk.count - 10)), "lz4")
        expectError(Array(chunk.prefix(20)), "lz4")
        // A decompression bomb header: claims 2^60 bytes; refused before anything is allocated.
        expectError(withBigEndian64(chunk, 1 << 60), "claims")
        expectError(withBigEndian64(chunk, UInt64(data.count + 2)), "expected")
        var zeroBlock = chunk
        zeroBlock[8...11] = [0, 0, 0, 0]
        expectError(zeroBlock, "block size 0")
        var hugeBlock = chunk
        hugeBlock[12...15] = [0x7F, 0xFF, 0xFF, 0xFF]
        expectError(hugeBlock, "claims")
        var garbled = chunk
        for i in 16..<min(80, garbled.count) { garbled[i] = 0xFF }
        expectError(garbled, "corrupt")
    }

    func testBitshuffleLZ4Damage() throws {
        let filters = [Spec.bitshuffle(2, block: 128)]
        let chunk = try encoded(filters)
        func expectError(_ bytes: [UInt8], _ text: String, line: UInt = #line) {
            XCTAssertCodecError(try decode(bytes, filters, elementSize: 2, size: data.count), containing: text, line: line)
        }
        expectError(Array(chunk.prefix(8)), "header")
        expectError(withBigEndian64(chunk, UInt64.max), "claims")
        expectError(withBigEndian64(chunk, 1 << 40), "claims")
        expectError(Array(chunk.prefix(chunk.count - 1)), "claims")
        expectError(Array(chunk.prefix(40)), "bitshuffle")
        var oddBlock = chunk
        oddBlock[8...11] = [0, 0, 0, 6]       // 3 elements per block: not a multiple of 8
        expectError(oddBlock, "multiple of 8")
        var longBlock = chunk
        longBlock[12...15] = [0x10, 0, 0, 0]  // first block claims 256 MiB
        expectError(longBlock, "claims")
        var garbled = chunk
        for i in 16..<60 { garbled[i] = 0xFF }
        expectError(garbled, "corrupt")
        // Leftover elements (2003 % 8 = 3) missing at the end.
        let withLeftover = sampleData(elements: 2003, elementSize: 2)
        let leftoverChunk = try encode(withLeftover, filters, elementSize: 2)
        XCTAssertCodecError(try decode(Array(leftoverChunk.dropLast()), filters, elementSize: 2, size: withLeftover.count),
                            containing: "truncated before the last elements")
        // Decoded size not a whole number of elements.
        let odd = try encode(noise(1001), [Spec.bitshuffle(1)], elementSize: 1)
        XCTAssertCodecError(try decode(odd, [Spec.bitshuffle(2)], elementSize: 2, size: 1001), containing: "whole number")
    }

    func testBitshuffleWithoutCompressionDamage() throws {
        let filters = [Spec.bitshuffle(4, compression: 0)]
        XCTAssertCodecError(try decode(noise(1002), filters, elementSize: 4, size: 1002), containing: "whole number")
        XCTAssertCodecError(try decode(noise(1000), filters, elementSize: 4, size: 1004), containing: "expected")
    }

    func testFletcher32Damage() throws {
        let filters = [Spec.deflate(), Spec.fletcher32]
        let chunk = try encoded(filters)
        var flipped = chunk
        flipped[flipped.count / 2] ^= 0x10
        XCTAssertCodecError(try decode(flipped, filters, elementSize: 2, size: data.count), containing: "checksum mismatch")
        var badSum = chunk
        badSum[badSum.count - 1] ^= 1
        XCTAssertCodecError(try decode(badSum, filters, elementSize: 2, size: data.count), containing: "checksum mismatch")
        XCTAssertCodecError(try decode([1, 2, 3], [Spec.fletcher32], elementSize: 1, size: 0), containing: "no checksum")
        let valid = try encode([1, 2], [Spec.fletcher32], elementSize: 1)
        XCTAssertCodecError(try decode(valid, [Spec.fletcher32], elementSize: 1, size: 3), containing: "expected")
    }

    func testFletcher32AcceptsTheLegacyByteSwappedChecksum() throws {
        let body: [UInt8] = [1, 2, 3, 4, 5]
        let sum = body.withUnsafeBytes { Kernels.fletcher32($0) }
        let legacy = ((sum & 0x00ff_00ff) << 8) | ((sum >> 8) & 0x00ff_00ff)
        XCTAssertNotEqual(sum, legacy)
        let chunk = body + withUnsafeBytes(of: legacy.littleEndian, Array.init)
        XCTAssertEqual(try decode(chunk, [Spec.fletcher32], elementSize: 1, size: 5), body)
    }

    func testSizeMismatchesWithoutCompression() throws {
        XCTAssertCodecError(try decode(noise(100), [Spec.shuffle(4)], elementSize: 4, size: 104), containing: "expected")
        XCTAssertCodecError(try decode(noise(100), [Spec.deflate()], mask: 1, elementSize: 1, size: 99), containing: "unfiltered")
        XCTAssertCodecError(try decode(noise(100), [], elementSize: 1, size: 101), containing: "unfiltered")
        XCTAssertEqual(try decode([9, 8, 7], [], elementSize: 1, size: 3), [9, 8, 7])
    }

    func testUnsupportedFilters() throws {
        let blosc = FilterSpec(id: 32001, name: "blosc", flags: 1, clientData: [2, 2, 4, 4000, 5, 1, 1])
        let zstdBitshuffle = Spec.bitshuffle(2, compression: 3)
        XCTAssertTrue(FilterPipeline.canDecode([]))
        XCTAssertTrue(FilterPipeline.canDecode([Spec.shuffle(2), Spec.deflate(), Spec.fletcher32, Spec.lz4(), Spec.bitshuffle(2)]))
        XCTAssertFalse(FilterPipeline.canDecode([blosc]))
        XCTAssertFalse(FilterPipeline.canDecode([Spec.shuffle(2), blosc]))
        XCTAssertFalse(FilterPipeline.canDecode([zstdBitshuffle]))
        XCTAssertFalse(FilterPipeline.canDecode([FilterSpec(id: 32008, name: "bitshuffle", flags: 1, clientData: [0, 2])]))
        XCTAssertFalse(FilterPipeline.canDecode([FilterSpec(id: 32008, name: "bitshuffle", flags: 1, clientData: [0, 4, 0, 0, 2])]))
        XCTAssertFalse(FilterPipeline.canDecode([FilterSpec(id: 4, name: "szip", flags: 1, clientData: [])]))
        XCTAssertCodecError(try decode(noise(10), [blosc], elementSize: 1, size: 10), containing: "not implemented")
        XCTAssertCodecError(try decode(noise(10), [zstdBitshuffle], elementSize: 2, size: 10), containing: "zstd")
        XCTAssertCodecError(try encode(noise(10), [Spec.deflate(13)], elementSize: 1), containing: "level")
        // A chunk where the unknown filter was skipped decodes fine.
        let chunk = try encode(data, [Spec.deflate()], elementSize: 2)
        XCTAssertEqual(try decode(chunk, [Spec.deflate(), blosc], mask: 0b10, elementSize: 2, size: data.count), data)
    }

    /// Random truncations and byte flips of real chunks: each decode either gives the right
    /// number of bytes or throws a CodecError. A crash fails the whole run.
    func testMutatedFixturesNeverCrash() throws {
        var state: UInt64 = 0x1234_5678
        func random(_ bound: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(max(bound, 1)))
        }
        let workspace = CodecWorkspace()
        var failures = 0
        for (fixture, chunk, expected) in try FixtureTests.load() {
            for round in 0..<150 {
                var mutated = chunk
                switch round % 3 {
                case 0: mutated = Array(chunk.prefix(random(chunk.count)))
                case 1: for _ in 0...random(4) where !mutated.isEmpty { mutated[random(mutated.count)] ^= UInt8(1 + random(255)) }
                default: if mutated.count > 12 { for i in 0..<4 { mutated[8 + i] = UInt8(random(256)) } }
                }
                do {
                    let decoded = try decode(mutated, fixture.specs, mask: fixture.filterMask,
                                             elementSize: fixture.elementSize, size: expected.count, workspace: workspace)
                    XCTAssertEqual(decoded.count, expected.count)
                } catch is CodecError {
                    failures += 1
                }
            }
        }
        XCTAssertGreaterThan(failures, 500)
    }
}
