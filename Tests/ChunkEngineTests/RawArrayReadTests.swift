import ChunkEngine
import H5Model
import XCTest

/// Byte-exact reads of chunked datasets against the expected raw array.
final class RawArrayReadTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    /// Random ranges (mid-element starts and ends, across chunk edges, into edge chunks),
    /// the whole file, ranges running past the end and ranges starting past it.
    func checkRandomRanges(_ dataset: RawArrayDataset, expected: [UInt8], seed: UInt64 = 7,
                           reads: Int = 300, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(dataset.byteCount, UInt64(expected.count), file: file, line: line)
        var random = SeededRandom(seed: seed)
        let total = expected.count
        XCTAssertEqual(try dataset.read(offset: 0, count: total), expected, "whole file", file: file, line: line)
        XCTAssertEqual(try dataset.read(offset: 0, count: total + 100), expected, "past EOF", file: file, line: line)
        XCTAssertEqual(try dataset.read(offset: UInt64(total), count: 10), [], "at EOF", file: file, line: line)
        XCTAssertEqual(try dataset.read(offset: UInt64(total) + 5, count: 10), [], "beyond EOF", file: file, line: line)
        XCTAssertEqual(try dataset.read(offset: 3, count: 0), [], "empty", file: file, line: line)
        for _ in 0..<reads {
            let offset = Int.random(in: 0..<total, using: &random)
            let count = Bool.random(using: &random) ? Int.random(in: 1...64, using: &random)
                                                    : Int.random(in: 1...(total / 3 + 1), using: &random)
            let got = try dataset.read(offset: UInt64(offset), count: count)
            let want = Array(expected[offset..<min(total, offset + count)])
            guard got == want else {
                XCTFail("read(\(offset), \(count)) differs", file: file, line: line)
                return
            }
        }
    }

    func testRandomRangesOf3DChunkedArrayWithEdgeAndUnallocatedChunks() throws {
        let fill: [UInt8] = [0xAB, 0xCD]
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [5, 37, 29], chunkShape: [2, 16, 8],
                                                 elementSize: 2, fill: fill, unallocated: { $0 % 7 == 3 })
        let engine = ChunkEngine(cacheBytes: 64 << 10)
        let info = datasetInfo(type: elementType(size: 2), shape: [5, 37, 29], layout: .chunked(chunkShape: [2, 16, 8]),
                               fill: fill)
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/a/b"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected)
        XCTAssertEqual(engine.statistics.blockReads, 0, "unfiltered chunks never go through libhdf5")
        XCTAssertGreaterThan(engine.statistics.chunkLoads, 0)
    }

    func testOddElementSizeAndChunkLargerThanShape() throws {
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [7, 3], chunkShape: [4, 5],
                                                 elementSize: 5, seed: 3)
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let info = datasetInfo(type: elementType(size: 5), shape: [7, 3], layout: .chunked(chunkShape: [4, 5]))
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/odd"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected, reads: 200)
    }

    func testFrameChunksOfImageStack() throws {
        // The (N, H, W) stack chunked frame by frame, small: every frame is one run.
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [6, 64, 48], chunkShape: [1, 64, 48],
                                                 elementSize: 2, unallocated: { $0 == 4 })
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let info = datasetInfo(type: elementType(size: 2), shape: [6, 64, 48], layout: .chunked(chunkShape: [1, 64, 48]))
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/stack"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected)
    }

    func testOneDimensionalBytesWithPartialLastChunk() throws {
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [10_500], chunkShape: [1000],
                                                 elementSize: 1, unallocated: { $0 == 2 })
        let engine = ChunkEngine(cacheBytes: 4000)
        let info = datasetInfo(type: elementType(size: 1), shape: [10_500], layout: .chunked(chunkShape: [1000]))
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/bytes"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected)
        XCTAssertTrue(synthetic.expected[2000..<3000].allSatisfy { $0 == 0 }, "undefined fill reads as zeros")
    }

    func testArrayElementType() throws {
        // (3,) uint16 array elements: 6 bytes each, stored whole.
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [10, 3], chunkShape: [4, 2],
                                                 elementSize: 6)
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let type = DataType.array(base: .integer(size: 2, signed: true, order: .big), dims: [3])
        let info = datasetInfo(type: type, shape: [10, 3], layout: .chunked(chunkShape: [4, 2]))
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/arr"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected)
    }

    func testFillValuePatternKeepsElementAlignment() throws {
        let fill: [UInt8] = [1, 2, 3, 4]
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [9, 9], chunkShape: [3, 3],
                                                 elementSize: 4, fill: fill, unallocated: { $0 != 4 })
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let info = datasetInfo(type: elementType(size: 4), shape: [9, 9], layout: .chunked(chunkShape: [3, 3]), fill: fill)
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/f"), info: info)
        XCTAssertEqual(try dataset.read(offset: 0, count: 8), [1, 2, 3, 4, 1, 2, 3, 4])
        XCTAssertEqual(try dataset.read(offset: 6, count: 4), [3, 4, 1, 2])
        try checkRandomRanges(dataset, expected: synthetic.expected)
        XCTAssertEqual(engine.statistics.chunkLoads, 1, "only the one allocated chunk is read")
        XCTAssertEqual(engine.cachedBytes, 36, "fill tiles stay out of the cache")
    }

    func testFilteredChunksDecodedByCodecAndFilterMaskHonoured() throws {
        // Even chunks went through the filter; odd ones skipped it (mask bit 0 set).
        let synthetic = try SyntheticChunkedFile(
            directory: directory.url, shape: [40, 30], chunkShape: [8, 8], elementSize: 4,
            encode: { index, bytes in index % 2 == 0 ? XorCodec.encode(bytes) : bytes },
            mask: { $0 % 2 == 0 ? 0 : 1 })
        let codec = XorCodec()
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: codec)
        let info = datasetInfo(type: elementType(size: 4), shape: [40, 30], layout: .chunked(chunkShape: [8, 8]),
                               filters: [XorCodec.filter])
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/x"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 10, "each filtered chunk decoded once (cache holds all)")
        XCTAssertEqual(engine.statistics.chunkLoads, 20)
    }

    func testScalarNullAndZeroSizeDatasets() throws {
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let scalarReader = FakeContainer(filePath: "/nonexistent", shape: [], elementSize: 8, expected: Array(1...8))
        let scalar = try engine.dataset(reader: scalarReader, path: H5Path(parsing: "/s"),
                                        info: datasetInfo(type: elementType(size: 8), shape: [], layout: .compact))
        XCTAssertEqual(scalar.byteCount, 8)
        XCTAssertEqual(try scalar.read(offset: 3, count: 100), [4, 5, 6, 7, 8])
        XCTAssertEqual(scalarReader.blocks.map(\.start), [[]], "scalar blocks are read with empty start/count")

        let null = try engine.dataset(reader: scalarReader, path: H5Path(parsing: "/n"),
                                      info: datasetInfo(type: elementType(size: 8), shape: nil, layout: .compact))
        XCTAssertEqual(null.byteCount, 0)
        XCTAssertEqual(try null.read(offset: 0, count: 10), [])

        let empty = try engine.dataset(reader: scalarReader, path: H5Path(parsing: "/e"),
                                       info: datasetInfo(type: elementType(size: 2), shape: [0, 5],
                                                         layout: .chunked(chunkShape: [1, 5])))
        XCTAssertEqual(empty.byteCount, 0)
        XCTAssertEqual(try empty.read(offset: 0, count: 10), [])
        XCTAssertEqual(scalarReader.locateCalls, 0)
    }

    func testTypesWithoutFixedSizeAreRejected() {
        let engine = ChunkEngine(cacheBytes: 0)
        let reader = FakeContainer(filePath: "/nonexistent", shape: [3], elementSize: 1, expected: [])
        XCTAssertThrowsError(try engine.dataset(reader: reader, path: H5Path(parsing: "/v"),
                                                info: datasetInfo(type: .variableString(charset: .utf8), shape: [3],
                                                                  layout: .compact)))
        XCTAssertThrowsError(try engine.dataset(reader: reader, path: H5Path(parsing: "/r"),
                                                info: datasetInfo(type: elementType(size: 2), shape: [3, 3],
                                                                  layout: .chunked(chunkShape: [3]))))
    }
    func testReadIntoCallerBufferMatchesArrayReads() throws {
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [5, 37, 29], chunkShape: [2, 16, 8],
                                                 elementSize: 2, unallocated: { $0 == 3 })
        let engine = ChunkEngine(cacheBytes: 64 << 10)
        let info = datasetInfo(type: elementType(size: 2), shape: [5, 37, 29], layout: .chunked(chunkShape: [2, 16, 8]))
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/into"), info: info)
        let expected = synthetic.expected
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 5000, alignment: 8)
        defer { buffer.deallocate() }
        var random = SeededRandom(seed: 17)
        for _ in 0..<100 {
            let offset = Int.random(in: 0..<expected.count, using: &random)
            let count = Int.random(in: 1...7000, using: &random)
            let n = try dataset.read(offset: UInt64(offset), count: count, into: buffer)
            XCTAssertEqual(n, min(count, buffer.count, expected.count - offset), "short at the end or at the buffer's size")
            XCTAssertEqual(Array(buffer[0..<n]), Array(expected[offset..<(offset + n)]))
        }
        XCTAssertEqual(try dataset.read(offset: UInt64(expected.count), count: 10, into: buffer), 0)
        XCTAssertEqual(try dataset.read(offset: 0, count: 0, into: buffer), 0)
    }

    func testUnfilteredFramesAreCopiedFromTheFileWithoutTheCache() throws {
        // Frames of 64 rows of 1024 uint16 (128 KiB): long runs, read with pread straight
        // into the caller's buffer; frame 2 is unallocated and reads as the fill value.
        let fill: [UInt8] = [0x34, 0x12]
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [4, 64, 1024], chunkShape: [1, 64, 1024],
                                                 elementSize: 2, fill: fill, unallocated: { $0 == 2 })
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let info = datasetInfo(type: elementType(size: 2), shape: [4, 64, 1024],
                               layout: .chunked(chunkShape: [1, 64, 1024]), fill: fill)
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/raw"), info: info)
        try checkRandomRanges(dataset, expected: synthetic.expected, reads: 100)
        let stats = engine.statistics
        XCTAssertGreaterThan(stats.directChunkReads, 0)
        XCTAssertEqual(stats.chunkLoads, 0)
        XCTAssertEqual(stats.cachedBytes, 0)
        XCTAssertEqual(stats.readAheadTiles, 0, "the kernel's page cache reads ahead for these")
    }
}
