import ChunkEngine
import Dispatch
import Foundation
import H5Model
import Synchronization
import XCTest

/// The worker pool (lifetime, concurrency, priorities), the memory contract (budget covers
/// loads in flight, tile buffers reused) and byte-exact reads under stress.
final class SchedulerAndMemoryTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    static let frameBytes = 32 * 32 * 2

    func frameStack(frames: Int = 64, cacheBytes: Int, codec: XorCodec,
                    scheduler: any DecodeScheduler) throws -> (ChunkEngine, RawArrayDataset, [UInt8]) {
        let synthetic = try SyntheticChunkedFile(
            directory: directory.url, shape: [frames, 32, 32], chunkShape: [1, 32, 32], elementSize: 2,
            encode: { _, bytes in XorCodec.encode(bytes) })
        let engine = ChunkEngine(cacheBytes: cacheBytes, codec: codec, scheduler: scheduler)
        let info = datasetInfo(type: elementType(size: 2), shape: [UInt64(frames), 32, 32],
                               layout: .chunked(chunkShape: [1, 32, 32]), filters: [XorCodec.filter])
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/stack"), info: info)
        return (engine, dataset, synthetic.expected)
    }

    private func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }

    func testWorkersLeaveWhenTheEngineIsReleased() throws {
        let census = WorkerCensus()
        do {
            let scheduler = PoolDecodeScheduler(workers: 3, census: census)
            XCTAssertEqual(scheduler.workerCount, 3)
            XCTAssertTrue(waitUntil { census.live == 3 })
            let codec = XorCodec(delayMicroseconds: 2000)
            let (_, dataset, expected) = try frameStack(cacheBytes: 1 << 20, codec: codec, scheduler: scheduler)
            // Leave read-ahead jobs queued behind slow decodes when everything is dropped.
            for i in 0..<4 {
                XCTAssertEqual(try dataset.read(offset: UInt64(i * 500), count: 500), Array(expected[(i * 500)..<((i + 1) * 500)]))
            }
            XCTAssertGreaterThan(codec.decodes.load(ordering: .relaxed), 0)
        }
        XCTAssertTrue(waitUntil { census.live == 0 }, "\(census.live) worker threads still alive")
    }

    func testDefaultEngineUsesOneWorkerPerCore() throws {
        let scheduler = PoolDecodeScheduler()
        XCTAssertEqual(scheduler.workerCount, PoolDecodeScheduler.onlineCores)
        XCTAssertTrue(scheduler.isConcurrent)
    }

    func testPoolRunsJobsInParallel() {
        // Two jobs that each wait for the other can only finish on two threads.
        let scheduler = PoolDecodeScheduler(workers: 2)
        let arrived = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)
        let job: @Sendable () -> Void = {
            arrived.wrappingAdd(1, ordering: .relaxed)
            let deadline = Date().addingTimeInterval(5)
            while arrived.load(ordering: .relaxed) < 2 && Date() < deadline { usleep(100) }
            finished.signal()
        }
        scheduler.schedule([job, job], priority: .readAhead)
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(arrived.load(ordering: .relaxed), 2)
    }

    func testUrgentJobsRunBeforeReadAhead() {
        let scheduler = PoolDecodeScheduler(workers: 1)
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let order = Mutex<[String]>([])
        scheduler.schedule([{ gate.wait() }], priority: .urgent)   // occupies the only worker
        func record(_ name: String) -> @Sendable () -> Void {
            { order.withLock { $0.append(name) }; done.signal() }
        }
        scheduler.schedule([record("ahead1"), record("ahead2")], priority: .readAhead)
        scheduler.schedule([record("urgent")], priority: .urgent)
        gate.signal()
        for _ in 0..<3 { XCTAssertEqual(done.wait(timeout: .now() + 10), .success) }
        XCTAssertEqual(order.withLock { $0 }, ["urgent", "ahead1", "ahead2"])
    }

    func testBudgetCoversLoadsInFlight() throws {
        // Three sequential readers and slow decodes on four workers: cache plus loads in
        // flight never exceed the budget of 12 frames.
        let budget = 12 * Self.frameBytes
        let codec = XorCodec(delayMicroseconds: 500)
        let (engine, dataset, expected) = try frameStack(cacheBytes: budget, codec: codec,
                                                         scheduler: PoolDecodeScheduler(workers: 4))
        let results = ResultsBox(count: 3)
        DispatchQueue.concurrentPerform(iterations: 3) { reader in
            var streamed: [UInt8] = []
            let start = reader * expected.count / 3
            while start + streamed.count < expected.count {
                guard let got = try? dataset.read(offset: UInt64(start + streamed.count), count: 700), !got.isEmpty else { break }
                streamed += got
            }
            results.set(reader, streamed == Array(expected[start...]) ? [1] : [0])
        }
        XCTAssertEqual(results.all, [[1], [1], [1]])
        let stats = engine.statistics
        XCTAssertGreaterThan(stats.readAheadTiles, 0)
        XCTAssertLessThanOrEqual(stats.peakBytes, budget)
        XCTAssertLessThanOrEqual(stats.cachedBytes, budget)
        XCTAssertTrue(waitUntil { engine.statistics.inFlightBytes == 0 })
    }

    func testTileBuffersAreReused() throws {
        // Streaming 64 frames through a cache of 8: after warm-up, every load takes the
        // buffer of the frame it evicts instead of fresh memory.
        let codec = XorCodec()
        let (engine, dataset, expected) = try frameStack(cacheBytes: 8 * Self.frameBytes, codec: codec,
                                                         scheduler: InlineDecodeScheduler())
        var offset = 0
        while offset < expected.count {
            XCTAssertEqual(try dataset.read(offset: UInt64(offset), count: 1000),
                           Array(expected[offset..<min(expected.count, offset + 1000)]))
            offset += 1000
        }
        let stats = engine.statistics
        XCTAssertEqual(stats.chunkLoads, 64)
        XCTAssertLessThanOrEqual(stats.bufferAllocations, 10)
        XCTAssertGreaterThanOrEqual(stats.bufferReuses, 54)
        XCTAssertLessThanOrEqual(stats.pooledBytes, 2 * Self.frameBytes + (1 << 16), "tile pool plus one scratch buffer")
    }

    func testManyThreadsWithATinyCacheReadExactBytes() throws {
        // Eight threads mixing streams and random ranges over a cache of three frames.
        let codec = XorCodec()
        let (engine, dataset, expected) = try frameStack(cacheBytes: 3 * Self.frameBytes, codec: codec,
                                                         scheduler: PoolDecodeScheduler(workers: 3))
        let bad = ResultsBox(count: 8)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var random = SeededRandom(seed: UInt64(worker) * 7 + 1)
            var mismatches = 0
            for round in 0..<40 {
                if worker % 2 == 0 && round % 10 == 0 {
                    // A stream over a few frames in small reads.
                    var offset = Int.random(in: 0..<expected.count, using: &random)
                    for _ in 0..<30 where offset < expected.count {
                        let count = Int.random(in: 100...3000, using: &random)
                        let got = (try? dataset.read(offset: UInt64(offset), count: count)) ?? []
                        if got != Array(expected[offset..<min(expected.count, offset + count)]) { mismatches += 1 }
                        offset += count
                    }
                } else {
                    let offset = Int.random(in: 0..<expected.count, using: &random)
                    let count = Int.random(in: 1...(5 * Self.frameBytes), using: &random)
                    let got = (try? dataset.read(offset: UInt64(offset), count: count)) ?? []
                    if got != Array(expected[offset..<min(expected.count, offset + count)]) { mismatches += 1 }
                }
            }
            bad.set(worker, [UInt8(min(mismatches, 255))])
        }
        XCTAssertEqual(bad.all, [[UInt8]](repeating: [0], count: 8))
        XCTAssertLessThanOrEqual(engine.cachedBytes, 3 * Self.frameBytes)
        XCTAssertTrue(waitUntil { engine.statistics.inFlightBytes == 0 })
    }
}
