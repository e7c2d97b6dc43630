import Codecs
import Dispatch
import H5Model
import Synchronization
import XCTest

/// Encode then decode, for every filter alone and in the combinations HDF5 writers use.
final class RoundTripTests: XCTestCase {
    let elementSizes = [1, 2, 4, 8]
    let elementCounts = [0, 1, 7, 8, 9, 63, 1003, 4097]

    func assertRoundTrip(_ filters: [FilterSpec], elementSize: Int, data: [UInt8],
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let encoded = try encode(data, filters, elementSize: elementSize)
        let decoded = try decode(encoded, filters, elementSize: elementSize, size: data.count)
        XCTAssertEqual(decoded, data, "\(filters.map(\.name)) size \(elementSize) bytes \(data.count)", file: file, line: line)
    }

    func pipelines(elementSize size: Int) -> [[FilterSpec]] {
        let s = UInt32(size)
        return [
            [Spec.deflate(1)], [Spec.deflate(9)], [Spec.shuffle(s)], [Spec.fletcher32], [Spec.lz4()],
            [Spec.bitshuffle(s)], [Spec.bitshuffle(s, compression: 0)],
            [Spec.shuffle(s), Spec.deflate(4)],
            [Spec.shuffle(s), Spec.deflate(4), Spec.fletcher32],
            [Spec.deflate(6), Spec.fletcher32],
            [Spec.fletcher32, Spec.deflate(6)],
            [Spec.shuffle(s), Spec.lz4()],
            [Spec.bitshuffle(s), Spec.fletcher32],
            [Spec.bitshuffle(s, compression: 0), Spec.deflate(3)],
            // A compressor feeding another: the inner stage's size is only known from its header.
            [Spec.lz4(), Spec.deflate(6)],
            [Spec.bitshuffle(s), Spec.deflate(1), Spec.fletcher32],
        ]
    }

    func testEveryPipelineAtEveryElementSizeAndCount() throws {
        for size in elementSizes {
            for count in elementCounts {
                let data = sampleData(elements: count, elementSize: size, seed: UInt64(count + 100 * size))
                for filters in pipelines(elementSize: size) {
                    try assertRoundTrip(filters, elementSize: size, data: data)
                }
            }
        }
    }

    func testIncompressibleDataStaysDecodable() throws {
        let data = noise(50_000)
        for filters in pipelines(elementSize: 4) { try assertRoundTrip(filters, elementSize: 4, data: data) }
        // LZ4 keeps incompressible blocks raw: the chunk is the data plus framing.
        let encoded = try encode(data, [Spec.lz4(blockSize: 4096)], elementSize: 1)
        XCTAssertEqual(encoded.count, 12 + data.count + 4 * 13)
    }

    func testBitshuffleBlockSizesAndLeftovers() throws {
        for size in [1, 2, 3, 4, 8, 16] {
            for block: UInt32 in [0, 8, 64, 128, 4096] {
                let blockElements = block == 0 ? max(128, 8192 / size / 8 * 8) : Int(block)
                // Around every boundary: whole blocks, a partial block, fewer than 8 leftovers.
                for count in [blockElements - 1, blockElements, blockElements + 1, blockElements + 7,
                              blockElements + 8, 3 * blockElements + 13] {
                    let data = sampleData(elements: count, elementSize: size, seed: UInt64(count))
                    for compression: UInt32 in [0, 2] {
                        try assertRoundTrip([Spec.bitshuffle(UInt32(size), block: block, compression: compression)],
                                            elementSize: size, data: data)
                    }
                }
            }
        }
    }

    func testBitshuffleWithoutCompressionKeepsLeftoverElementsInPlace() throws {
        let data = sampleData(elements: 8 * 20 + 5, elementSize: 2)
        let encoded = try encode(data, [Spec.bitshuffle(2, block: 8, compression: 0)], elementSize: 2)
        XCTAssertEqual(encoded.count, data.count)
        XCTAssertEqual(encoded.suffix(10), data.suffix(10))
        XCTAssertNotEqual(encoded.prefix(320), data.prefix(320))
    }

    func testBitshuffleLZ4HeaderRecordsSizeAndBlockBytes() throws {
        let data = sampleData(elements: 1000, elementSize: 4)
        let encoded = try encode(data, [Spec.bitshuffle(4, block: 64)], elementSize: 4)
        XCTAssertEqual(Array(encoded.prefix(12)), [0, 0, 0, 0, 0, 0, 0x0F, 0xA0, 0, 0, 1, 0])
    }

    func testLZ4MultipleBlocksAndOddBlockSizes() throws {
        for blockSize: UInt32 in [1, 7, 100, 1024, 1 << 20] {
            for count in [0, 1, 99, 100, 101, 5000] {
                try assertRoundTrip([Spec.lz4(blockSize: blockSize)], elementSize: 1, data: sampleData(elements: count, elementSize: 1))
            }
        }
    }

    func testShuffleKeepsTrailingPartialElement() throws {
        // 250 whole 4-byte elements and 3 spare bytes that libhdf5 leaves at the end.
        let data = noise(1003)
        let encoded = try encode(data, [Spec.shuffle(4)], elementSize: 4)
        XCTAssertEqual(Array(encoded.suffix(3)), Array(data.suffix(3)))
        XCTAssertEqual(encoded[1], data[4])
        XCTAssertEqual(encoded[250], data[1])
        try assertRoundTrip([Spec.shuffle(4)], elementSize: 4, data: data)
        try assertRoundTrip([Spec.shuffle(3), Spec.deflate()], elementSize: 3, data: data)
    }

    func testShuffleUsesElementSizeArgumentWhenClientDataIsMissing() throws {
        let data = sampleData(elements: 100, elementSize: 4)
        let bare = FilterSpec(id: 2, name: "shuffle", flags: 1, clientData: [])
        XCTAssertEqual(try encode(data, [bare], elementSize: 4), try encode(data, [Spec.shuffle(4)], elementSize: 4))
        try assertRoundTrip([bare], elementSize: 4, data: data)
    }

    func testFilterMaskSkipsFiltersPerChunk() throws {
        let data = sampleData(elements: 500, elementSize: 2)
        let pipeline = [Spec.shuffle(2), Spec.deflate(4), Spec.fletcher32]
        // Chunk written with deflate skipped (bit 1), as libhdf5 does when an optional filter fails.
        let partial = try encode(data, [Spec.shuffle(2), Spec.fletcher32], elementSize: 2)
        XCTAssertEqual(try decode(partial, pipeline, mask: 0b010, elementSize: 2, size: data.count), data)
        // Everything skipped: stored as is.
        XCTAssertEqual(try decode(data, pipeline, mask: 0b111, elementSize: 2, size: data.count), data)
        // Only the checksum applied.
        let checked = try encode(data, [Spec.fletcher32], elementSize: 2)
        XCTAssertEqual(try decode(checked, pipeline, mask: 0b011, elementSize: 2, size: data.count), data)
        // Without the mask the same chunk is not valid deflate data.
        XCTAssertThrowsError(try decode(partial, pipeline, elementSize: 2, size: data.count))
    }

    func testOneWorkspaceAcrossChangingPipelinesAndSizes() throws {
        let workspace = CodecWorkspace()
        for round in 0..<3 {
            for (index, size) in [8, 1, 4, 2].enumerated() {
                let data = sampleData(elements: 3000 - 700 * index + round, elementSize: size, seed: UInt64(round))
                for filters in pipelines(elementSize: size) {
                    let encoded = try encode(data, filters, elementSize: size)
                    XCTAssertEqual(try decode(encoded, filters, elementSize: size, size: data.count, workspace: workspace), data)
                }
            }
        }
    }

    func testConcurrentDecodesWithOwnWorkspaces() throws {
        let data = sampleData(elements: 20_000, elementSize: 2)
        let pipelines = [[Spec.bitshuffle(2)], [Spec.shuffle(2), Spec.deflate(4), Spec.fletcher32], [Spec.lz4()]]
        let chunks = try pipelines.map { try encode(data, $0, elementSize: 2) }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let workspace = CodecWorkspace()
            for round in 0..<20 {
                let which = (worker + round) % pipelines.count
                let decoded = try? decode(chunks[which], pipelines[which], elementSize: 2, size: data.count, workspace: workspace)
                if decoded != data { failures.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }
}
