import ChunkEngine
import Dispatch
import H5Model
import XCTest

/// Sequential detection and read-ahead: who triggers it, how much it loads, and that it
/// never makes a tile load twice or push out what readers are reading.
final class ReadAheadTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    static let frames = 64
    static let frameBytes = 32 * 32 * 2

    /// 64 frames of 32x32 uint16, one 2 KiB chunk per frame, through the xor filter.
    func frameStack(cacheBytes: Int, codec: XorCodec, scheduler: any DecodeScheduler,
                    unallocated: @escaping (Int) -> Bool = { _ in false })
        throws -> (ChunkEngine, RawArrayDataset, [UInt8]) {
        let synthetic = try SyntheticChunkedFile(
            directory: directory.url, shape: [Self.frames, 32, 32], chunkShape: [1, 32, 32], elementSize: 2,
            unallocated: unallocated, encode: { _, bytes in XorCodec.encode(bytes) })
        let engine = ChunkEngine(cacheBytes: cacheBytes, codec: codec, scheduler: scheduler)
        let info = datasetInfo(type: elementType(size: 2), shape: [UInt64(Self.frames), 32, 32],
                               layout: .chunked(chunkShape: [1, 32, 32]), filters: [XorCodec.filter])
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/stack"), info: info)
        return (engine, dataset, synthetic.expected)
    }

    func testSequentialReadsTriggerReadAheadAfterTwoContinuations() throws {
        // Budget 16 frames: a stream reads ahead 2 frames per worker, within a quarter of it.
        let scheduler = ManualScheduler(workers: 1)
        let codec = XorCodec()
        let (engine, dataset, expected) = try frameStack(cacheBytes: 16 * Self.frameBytes, codec: codec, scheduler: scheduler)
        let piece = Self.frameBytes / 2
        XCTAssertEqual(try dataset.read(offset: 0, count: piece), Array(expected[0..<piece]))
        XCTAssertEqual(try dataset.read(offset: UInt64(piece), count: piece), Array(expected[piece..<(2 * piece)]))
        XCTAssertEqual(engine.statistics.readAheadTiles, 0, "two reads are not a stream yet")
        XCTAssertEqual(scheduler.queued, 0)
        XCTAssertEqual(try dataset.read(offset: UInt64(2 * piece), count: piece), Array(expected[(2 * piece)..<(3 * piece)]))
        let stats = engine.statistics
        XCTAssertEqual(stats.readAheadWindows, 1)
        // The window is 4 frames from 1.5 frames: frames 1...5. Frame 1, which this read
        // copies from, was registered too and then loaded by the reader itself.
        XCTAssertEqual(stats.readAheadTiles, 5)
        XCTAssertGreaterThan(scheduler.queued, 0)
        XCTAssertTrue(scheduler.priorities.allSatisfy { $0 == .readAhead })
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 2, "frames 0 and 1; nothing ahead until the jobs run")
        scheduler.runAll()
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 6)
        XCTAssertEqual(engine.statistics.scheduledLoads, 4)

        // Stream the rest, running jobs as a pool would: each frame decoded exactly once.
        var offset = 3 * piece
        while offset < expected.count {
            let got = try dataset.read(offset: UInt64(offset), count: piece)
            XCTAssertEqual(got, Array(expected[offset..<min(expected.count, offset + piece)]))
            scheduler.runAll()
            offset += piece
        }
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames)
        XCTAssertEqual(engine.statistics.chunkLoads, Self.frames)
        XCTAssertEqual(engine.statistics.readAheadUnused, 0)
        XCTAssertGreaterThan(engine.statistics.scheduledLoads, Self.frames / 2, "most frames decoded ahead")
        XCTAssertLessThanOrEqual(engine.statistics.peakBytes, 16 * Self.frameBytes)
    }

    func testRandomReadsNeverTriggerReadAhead() throws {
        let scheduler = ManualScheduler(workers: 2)
        let codec = XorCodec()
        let (engine, dataset, expected) = try frameStack(cacheBytes: 1 << 20, codec: codec, scheduler: scheduler)
        var random = SeededRandom(seed: 21)
        var touched = Set<Int>()
        for _ in 0..<300 {
            let offset = Int.random(in: 0..<(expected.count - 256), using: &random)
            let count = Int.random(in: 1...256, using: &random)
            XCTAssertEqual(try dataset.read(offset: UInt64(offset), count: count), Array(expected[offset..<(offset + count)]))
            touched.formUnion(Set([offset / Self.frameBytes, (offset + count - 1) / Self.frameBytes]))
        }
        let stats = engine.statistics
        XCTAssertEqual(stats.readAheadWindows, 0)
        XCTAssertEqual(stats.readAheadTiles, 0)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), touched.count, "exactly the frames the reads touch")
        XCTAssertTrue(scheduler.priorities.allSatisfy { $0 == .urgent }, "only reads spanning two frames schedule")
    }

    func testReaderRunsAQueuedLoadItselfAndTheJobThenDoesNothing() throws {
        // Jobs that never run (a busy pool) must not make readers wait or decode twice.
        let scheduler = ManualScheduler(workers: 2)
        let codec = XorCodec()
        let (engine, dataset, expected) = try frameStack(cacheBytes: 1 << 20, codec: codec, scheduler: scheduler)
        var offset = 0
        while offset < expected.count {
            XCTAssertEqual(try dataset.read(offset: UInt64(offset), count: 3000),
                           Array(expected[offset..<min(expected.count, offset + 3000)]))
            offset += 3000
        }
        XCTAssertGreaterThan(engine.statistics.readAheadTiles, 0)
        XCTAssertGreaterThan(scheduler.queued, 0)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames)
        scheduler.runAll()
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames, "claimed loads are not run again")
        XCTAssertEqual(engine.statistics.scheduledLoads, 0)
        XCTAssertEqual(engine.statistics.inFlightBytes, 0)
    }

    func testReadAheadSkipsUnallocatedChunksAndStaysWithinItsShare() throws {
        // Budget 8 frames: read-ahead may hold at most half (4 frames) in flight or unread.
        let scheduler = ManualScheduler(workers: 4)
        let codec = XorCodec()
        let (engine, dataset, expected) = try frameStack(cacheBytes: 8 * Self.frameBytes, codec: codec, scheduler: scheduler,
                                                         unallocated: { $0 % 3 == 1 })
        for i in 0..<3 {
            XCTAssertEqual(try dataset.read(offset: UInt64(i * 1000), count: 1000), Array(expected[(i * 1000)..<((i + 1) * 1000)]))
        }
        let stats = engine.statistics
        XCTAssertEqual(stats.readAheadWindows, 1)
        XCTAssertLessThanOrEqual(stats.readAheadTiles, 4)
        XCTAssertLessThanOrEqual(stats.inFlightBytes, 4 * Self.frameBytes)
        scheduler.runAll()
        let allocated = (0..<Self.frames).filter { $0 % 3 != 1 }.count
        var offset = 3000
        while offset < expected.count {
            _ = try dataset.read(offset: UInt64(offset), count: 1000)
            XCTAssertLessThanOrEqual(engine.statistics.inFlightBytes + engine.cachedBytes, 8 * Self.frameBytes)
            scheduler.runAll()
            offset += 1000
        }
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), allocated, "unallocated frames are never loaded")
        XCTAssertEqual(engine.statistics.readAheadUnused, 0)
    }

    func testStreamingSmallReadsOfBigFramesDecodesEachFrameOnce() throws {
        // A budget of 4 frames, 256-byte reads: read-ahead must not push out the frame being read.
        let codec = XorCodec()
        let scheduler = PoolDecodeScheduler(workers: 2)
        let (engine, dataset, expected) = try frameStack(cacheBytes: 4 * Self.frameBytes, codec: codec, scheduler: scheduler)
        var streamed: [UInt8] = []
        streamed.reserveCapacity(expected.count)
        while streamed.count < expected.count {
            streamed += try dataset.read(offset: UInt64(streamed.count), count: 256)
        }
        XCTAssertEqual(streamed, expected)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames)
        XCTAssertLessThanOrEqual(engine.statistics.peakBytes, 4 * Self.frameBytes)
    }

    func testConcurrentSequentialReadersDecodeEachFrameOnce() throws {
        let codec = XorCodec(delayMicroseconds: 300)
        let scheduler = PoolDecodeScheduler(workers: 2)
        let (engine, dataset, expected) = try frameStack(cacheBytes: 2 << 20, codec: codec, scheduler: scheduler)
        let results = ResultsBox(count: 6)
        DispatchQueue.concurrentPerform(iterations: 6) { reader in
            var streamed: [UInt8] = []
            let piece = 300 + 200 * reader
            while streamed.count < expected.count {
                guard let got = try? dataset.read(offset: UInt64(streamed.count), count: piece), !got.isEmpty else { break }
                streamed += got
            }
            results.set(reader, streamed == expected ? [1] : [0])
        }
        XCTAssertEqual(results.all, [[UInt8]](repeating: [1], count: 6))
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames, "each frame decoded once for six readers")
        XCTAssertEqual(engine.statistics.chunkLoads, Self.frames)
        XCTAssertGreaterThan(engine.statistics.readAheadTiles, 0)
    }

    func testExplicitPrefetchIsBoundedByReadAheadShare() throws {
        let scheduler = ManualScheduler()
        let codec = XorCodec()
        let (engine, dataset, _) = try frameStack(cacheBytes: 8 * Self.frameBytes, codec: codec, scheduler: scheduler)
        dataset.prefetch(offset: 0, count: Self.frames * Self.frameBytes)
        XCTAssertEqual(engine.statistics.readAheadTiles, 4, "half of the budget is four frames")
        scheduler.runAll()
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 4)
        XCTAssertEqual(engine.cachedBytes, 4 * Self.frameBytes)
    }
}
