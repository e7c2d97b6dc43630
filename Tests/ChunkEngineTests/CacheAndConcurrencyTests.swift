import ChunkEngine
import Dispatch
import H5Model
import XCTest

/// The decoded-chunk cache: budget, batching of chunk lookups, one decode per chunk under
/// concurrency, and errors.
final class CacheAndConcurrencyTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    /// (64, 64) uint32 in (16, 16) chunks of 1 KiB, through the xor filter.
    func xorDataset(cacheBytes: Int, codec: XorCodec,
                    corrupt: Set<Int> = []) throws -> (ChunkEngine, RawArrayDataset, SyntheticChunkedFile) {
        let synthetic = try SyntheticChunkedFile(
            directory: directory.url, shape: [64, 64], chunkShape: [16, 16], elementSize: 4,
            encode: { index, bytes in
                var encoded = XorCodec.encode(bytes)
                if corrupt.contains(index) { encoded[1] = 0 }
                return encoded
            })
        let engine = ChunkEngine(cacheBytes: cacheBytes, codec: codec)
        let info = datasetInfo(type: elementType(size: 4), shape: [64, 64], layout: .chunked(chunkShape: [16, 16]),
                               filters: [XorCodec.filter])
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/entry/data"), info: info)
        return (engine, dataset, synthetic)
    }

    func testCacheStaysWithinBudget() throws {
        let (engine, dataset, synthetic) = try xorDataset(cacheBytes: 3 * 1024 + 100, codec: XorCodec())
        var random = SeededRandom(seed: 5)
        for _ in 0..<200 {
            let offset = Int.random(in: 0..<synthetic.expected.count, using: &random)
            let got = try dataset.read(offset: UInt64(offset), count: 3000)
            XCTAssertEqual(got, Array(synthetic.expected[offset..<min(offset + 3000, synthetic.expected.count)]))
            XCTAssertLessThanOrEqual(engine.cachedBytes, 3 * 1024 + 100)
        }
        XCTAssertEqual(engine.statistics.cachedTiles, 3)
    }

    func testChunkBiggerThanBudgetIsServedButNotKept() throws {
        let codec = XorCodec()
        let (engine, dataset, synthetic) = try xorDataset(cacheBytes: 1000, codec: codec)
        XCTAssertEqual(try dataset.read(offset: 10, count: 20), Array(synthetic.expected[10..<30]))
        XCTAssertEqual(try dataset.read(offset: 10, count: 20), Array(synthetic.expected[10..<30]))
        XCTAssertEqual(engine.cachedBytes, 0)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 2)
    }

    func testChunkLocationsAreLookedUpInOneBatchAndRemembered() throws {
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [64, 64], chunkShape: [16, 16],
                                                 elementSize: 4)
        let reader = synthetic.container()
        let engine = ChunkEngine(cacheBytes: 0)
        let info = datasetInfo(type: elementType(size: 4), shape: [64, 64], layout: .chunked(chunkShape: [16, 16]))
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/d"), info: info)
        XCTAssertEqual(reader.locateCalls, 0, "making a dataset does no I/O")
        // Rows 0..<20: the first read learns the whole (small) index in one call.
        XCTAssertEqual(try dataset.read(offset: 0, count: 20 * 64 * 4), Array(synthetic.expected[0..<(20 * 64 * 4)]))
        XCTAssertEqual(reader.locateCalls, 1)
        XCTAssertEqual(Set(reader.log.withLock { $0.locatedChunks }), Set(synthetic.origins))
        _ = try dataset.read(offset: 0, count: 100)
        // Another handle on the same dataset shares the index.
        let again = try engine.dataset(reader: reader, path: H5Path(parsing: "/d"), info: info)
        _ = try again.read(offset: 300, count: 4_000)
        XCTAssertEqual(try again.read(offset: 0, count: 1 << 20), synthetic.expected)
        XCTAssertEqual(reader.locateCalls, 1)
        XCTAssertEqual(reader.log.withLock { $0.locatedChunks.count }, 16, "each chunk looked up once")
    }

    func testLargeIndexIsLearntABlockAtATime() throws {
        // 3000 one-byte chunks: blocks of 2048 chunks, each learnt when first touched.
        let synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [3000], chunkShape: [1], elementSize: 1)
        let reader = synthetic.container()
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: XorCodec())
        let info = datasetInfo(type: elementType(size: 1), shape: [3000], layout: .chunked(chunkShape: [1]))
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/d"), info: info)
        XCTAssertEqual(try dataset.read(offset: 10, count: 5), Array(synthetic.expected[10..<15]))
        XCTAssertEqual(reader.locateCalls, 1)
        XCTAssertEqual(reader.log.withLock { $0.locatedChunks.count }, 2048)
        XCTAssertEqual(try dataset.read(offset: 2000, count: 5), Array(synthetic.expected[2000..<2005]))
        XCTAssertEqual(reader.locateCalls, 1)
        XCTAssertEqual(try dataset.read(offset: 2040, count: 100), Array(synthetic.expected[2040..<2140]))
        XCTAssertEqual(reader.locateCalls, 2)
        XCTAssertEqual(reader.log.withLock { $0.locatedChunks.count }, 3000)
    }

    func testConcurrentReadersOfOneChunkDecodeItOnce() throws {
        let codec = XorCodec(delayMicroseconds: 200_000)
        let (engine, dataset, synthetic) = try xorDataset(cacheBytes: 1 << 20, codec: codec)
        let want = Array(synthetic.expected[4..<44])
        let results = ResultsBox(count: 8)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            results.set(i, (try? dataset.read(offset: 4, count: 40)) ?? [])
        }
        XCTAssertEqual(results.all, [[UInt8]](repeating: want, count: 8))
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 1)
        XCTAssertEqual(engine.statistics.chunkLoads, 1)
    }

    func testConcurrentRandomReadsWithASmallCacheStayExact() throws {
        let (engine, dataset, synthetic) = try xorDataset(cacheBytes: 2 * 1024, codec: XorCodec())
        let expected = synthetic.expected
        let mismatches = ResultsBox(count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var random = SeededRandom(seed: UInt64(worker) + 100)
            var bad = 0
            for _ in 0..<150 {
                let offset = Int.random(in: 0..<expected.count, using: &random)
                let count = Int.random(in: 1...9000, using: &random)
                let got = (try? dataset.read(offset: UInt64(offset), count: count)) ?? []
                if got != Array(expected[offset..<min(expected.count, offset + count)]) { bad += 1 }
            }
            mismatches.set(worker, [UInt8(min(bad, 255))])
        }
        XCTAssertEqual(mismatches.all, [[0], [0], [0], [0]])
        XCTAssertLessThanOrEqual(engine.cachedBytes, 2 * 1024)
    }

    func testCorruptChunkIsAnErrorNamingDatasetAndChunk() throws {
        // Chunk 5 is at row 16, column 16.
        let (_, dataset, synthetic) = try xorDataset(cacheBytes: 1 << 20, codec: XorCodec(), corrupt: [5])
        XCTAssertEqual(try dataset.read(offset: 0, count: 64), Array(synthetic.expected[0..<64]))
        let inChunk5 = (16 * 64 + 16) * 4
        XCTAssertThrowsError(try dataset.read(offset: UInt64(inChunk5), count: 8)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("/entry/data") && text.contains("[16, 16]") && text.contains("bad xor header"), text)
        }
        // And again (errors are not cached as data), while the rest stays readable.
        XCTAssertThrowsError(try dataset.read(offset: 0, count: 1 << 20))
        XCTAssertEqual(try dataset.read(offset: UInt64(inChunk5 - 4), count: 4),
                       Array(synthetic.expected[(inChunk5 - 4)..<inChunk5]))
    }

    func testBadChunkLocationsAreErrors() throws {
        var synthetic = try SyntheticChunkedFile(directory: directory.url, shape: [32], chunkShape: [8], elementSize: 1)
        synthetic.locations[[0]] = ChunkLocation(offset: 1 << 40, size: 8, filterMask: 0)        // past EOF
        synthetic.locations[[8]] = ChunkLocation(offset: 0, size: 1 << 50, filterMask: 0)        // absurd size
        synthetic.locations[[16]] = ChunkLocation(offset: 0, size: 7, filterMask: 0)             // wrong raw size
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let info = datasetInfo(type: elementType(size: 1), shape: [32], layout: .chunked(chunkShape: [8]))
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/bad"), info: info)
        for offset: UInt64 in [0, 8, 16] {
            XCTAssertThrowsError(try dataset.read(offset: offset, count: 1)) { error in
                XCTAssertTrue("\(error)".contains("/bad chunk at [\(offset)]"), "\(error)")
            }
        }
        XCTAssertEqual(try dataset.read(offset: 24, count: 8), Array(synthetic.expected[24...]))

        let failing = try engine.dataset(reader: synthetic.container(failLocate: true), path: H5Path(parsing: "/idx"),
                                         info: info)
        XCTAssertThrowsError(try failing.read(offset: 0, count: 1)) { error in
            XCTAssertTrue("\(error)".contains("/idx") && "\(error)".contains("damaged"), "\(error)")
        }
    }

    func testPrefetchWarmsTheCache() throws {
        let codec = XorCodec()
        let (engine, dataset, synthetic) = try xorDataset(cacheBytes: 1 << 20, codec: codec)
        dataset.prefetch(offset: 0, count: 64 * 16 * 4)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 4)
        XCTAssertEqual(engine.cachedBytes, 4 * 1024)
        XCTAssertEqual(try dataset.read(offset: 0, count: 64 * 16 * 4), Array(synthetic.expected[0..<(64 * 16 * 4)]))
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 4)
    }

    func testInvalidateForgetsCachedChunks() throws {
        let codec = XorCodec()
        let (engine, dataset, synthetic) = try xorDataset(cacheBytes: 1 << 20, codec: codec)
        _ = try dataset.read(offset: 0, count: 10)
        XCTAssertEqual(engine.cachedBytes, 1024)
        engine.invalidate(filePath: synthetic.path)
        XCTAssertEqual(engine.cachedBytes, 0)
    }
}

/// Collects per-thread results of concurrentPerform.
final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[UInt8]]
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ value: [UInt8]) { lock.lock(); values[i] = value; lock.unlock() }
    var all: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return values }
}
