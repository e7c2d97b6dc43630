@testable import ChunkEngine
import H5Model
import XCTest

/// Drop-behind (engines made with `dropsStreamedTiles`, a read-only mount's): the tiles a
/// sequential stream has read whole leave the cache and their buffers are reused; nothing
/// else is dropped, and without the option the cache keeps what it read.
final class DropBehindTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    static let frames = 64
    static let frameBytes = 32 * 32 * 2

    func stack(shape: [Int] = [frames, 32, 32], chunks: [Int] = [1, 32, 32], drops: Bool,
               scheduler: any DecodeScheduler = InlineDecodeScheduler(), cacheBytes: Int = 1 << 20)
        throws -> (ChunkEngine, RawArrayDataset, [UInt8], XorCodec) {
        let synthetic = try SyntheticChunkedFile(
            directory: directory.url, shape: shape, chunkShape: chunks, elementSize: 2,
            encode: { _, bytes in XorCodec.encode(bytes) })
        let codec = XorCodec()
        let engine = ChunkEngine(cacheBytes: cacheBytes, codec: codec, scheduler: scheduler, dropsStreamedTiles: drops)
        let info = datasetInfo(type: elementType(size: 2), shape: shape.map(UInt64.init),
                               layout: .chunked(chunkShape: chunks.map(UInt64.init)), filters: [XorCodec.filter])
        let dataset = try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/stack"), info: info)
        return (engine, dataset, synthetic.expected, codec)
    }

    func stream(_ dataset: RawArrayDataset, from start: Int, to end: Int, piece: Int,
                between: () -> Void = {}) throws -> [UInt8] {
        var out: [UInt8] = []
        var offset = start
        while offset < end {
            out += try dataset.read(offset: UInt64(offset), count: min(piece, end - offset))
            between()
            offset += piece
        }
        return out
    }

    func testStreamDropsWhatItReadAndReusesTheBuffers() throws {
        let (engine, dataset, expected, codec) = try stack(drops: true)
        XCTAssertEqual(try stream(dataset, from: 0, to: expected.count, piece: Self.frameBytes / 2), expected)
        let stats = engine.statistics
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames)
        // All but the last frames, within 8 reads (4 frames) of the end, are behind.
        XCTAssertGreaterThanOrEqual(stats.droppedBehind, Self.frames - 5)
        XCTAssertLessThanOrEqual(stats.cachedTiles, 5)
        XCTAssertLessThan(stats.bufferAllocations, 8, "the dropped frames' buffers are reused")
    }

    func testWithoutTheOptionTheCacheKeepsEverything() throws {
        let (engine, dataset, expected, codec) = try stack(drops: false)
        XCTAssertEqual(try stream(dataset, from: 0, to: expected.count, piece: Self.frameBytes / 2), expected)
        XCTAssertEqual(engine.statistics.droppedBehind, 0)
        XCTAssertEqual(engine.statistics.cachedTiles, Self.frames)
        XCTAssertEqual(try dataset.read(offset: 0, count: 100), Array(expected[0..<100]))
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames, "a second read is a cache hit")
    }

    func testPartlyReadTilesStay() throws {
        // The stream starts in the middle of frame 3: frame 3 was not read whole.
        let (engine, dataset, expected, codec) = try stack(drops: true)
        let start = 3 * Self.frameBytes + 100
        let end = 20 * Self.frameBytes
        XCTAssertEqual(try stream(dataset, from: start, to: end, piece: 512), Array(expected[start..<end]))
        let decoded = codec.decodes.load(ordering: .relaxed)
        XCTAssertEqual(decoded, 17)
        XCTAssertEqual(try dataset.read(offset: UInt64(3 * Self.frameBytes), count: 100),
                       Array(expected[(3 * Self.frameBytes)..<(3 * Self.frameBytes + 100)]))
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), decoded, "frame 3 is still cached")
        XCTAssertEqual(try dataset.read(offset: UInt64(5 * Self.frameBytes), count: 100),
                       Array(expected[(5 * Self.frameBytes)..<(5 * Self.frameBytes + 100)]))
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), decoded + 1, "frame 5 was dropped behind the stream")
        XCTAssertGreaterThan(engine.statistics.droppedBehind, 0)
    }

    func testRequestsServedOutOfOrderFindTheirTiles() throws {
        // Four requests in flight, reaching the engine in any order (the kernel's read-ahead
        // and a multithreaded daemon): nothing a straggler needs has been dropped.
        let expected = try stack(drops: true).2
        let piece = Self.frameBytes / 4
        let reads = expected.count / piece
        for order in [[1, 0, 3, 2], [3, 0, 1, 2], [2, 3, 0, 1]] {
            // A fresh engine each pass: nothing cached.
            let (_, fresh, _, freshCodec) = try stack(drops: true)
            for group in stride(from: 0, to: reads, by: 4) {
                for k in order where group + k < reads {
                    let offset = (group + k) * piece
                    XCTAssertEqual(try fresh.read(offset: UInt64(offset), count: piece),
                                   Array(expected[offset..<(offset + piece)]), "\(order) read \(group + k)")
                }
            }
            XCTAssertEqual(freshCodec.decodes.load(ordering: .relaxed), Self.frames, "\(order): each frame decoded once")
        }
    }

    func testRandomReadsDropNothing() throws {
        let (engine, dataset, expected, _) = try stack(drops: true)
        var random = SeededRandom(seed: 7)
        for _ in 0..<300 {
            let offset = Int.random(in: 0..<(expected.count - 256), using: &random)
            XCTAssertEqual(try dataset.read(offset: UInt64(offset), count: 256), Array(expected[offset..<(offset + 256)]))
        }
        XCTAssertEqual(engine.statistics.droppedBehind, 0)
    }

    func testRowBandsOfSquareTilesAreDroppedOnceTheStreamPassesTheirLastRow() throws {
        // 64 x 64 in 16 x 16 tiles: a row of 4 tiles is finished every 16 rows (2 KiB).
        let (engine, dataset, expected, codec) = try stack(shape: [64, 64], chunks: [16, 16], drops: true)
        XCTAssertEqual(try stream(dataset, from: 0, to: expected.count, piece: 256), expected)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), 16, "each tile decoded once")
        XCTAssertEqual(engine.statistics.droppedBehind, 8, "the first two bands; the rest are within 8 reads of the end")
    }

    func testReadAheadTilesNotYetReadStay() throws {
        // A pool of workers reads ahead; everything is decoded once and nothing unread is wasted.
        let scheduler = ManualScheduler(workers: 2)
        let (engine, dataset, expected, codec) = try stack(drops: true, scheduler: scheduler, cacheBytes: 16 * Self.frameBytes)
        let streamed = try stream(dataset, from: 0, to: expected.count, piece: Self.frameBytes / 2) { scheduler.runAll() }
        XCTAssertEqual(streamed, expected)
        XCTAssertEqual(codec.decodes.load(ordering: .relaxed), Self.frames)
        XCTAssertEqual(engine.statistics.readAheadUnused, 0)
        XCTAssertGreaterThan(engine.statistics.scheduledLoads, Self.frames / 2)
        XCTAssertGreaterThanOrEqual(engine.statistics.droppedBehind, Self.frames - 5)
    }

    func testStreamsReportEachPassedByteOnce() {
        var streams = ReadStreams()
        var behind: [Range<Int>] = []
        for offset in stride(from: 1000, to: 20_000, by: 1000) {
            let decision = streams.note(offset: offset, count: 1000, fileSize: 100_000, aheadBytes: 0, step: 1)
            if let range = decision.behind {
                behind.append(range)
                XCTAssertEqual(decision.start, 1000)
            }
            XCTAssertNil(decision.window, "no read-ahead asked")
        }
        // Behind trails the read by 8 read sizes.
        XCTAssertEqual(behind.first, 1000..<2000)
        XCTAssertEqual(behind.last?.upperBound, 19_000 - 8000)
        XCTAssertEqual(zip(behind, behind.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, true)
    }

    func testByteSpanOfTiles() {
        let grid = TileGrid(shape: [5, 6], tileShape: [2, 4], elementSize: 2, fullTileBuffers: true)
        XCTAssertEqual(grid.byteSpan(of: [0, 0]), 0..<((1 * 6 + 3 + 1) * 2))
        XCTAssertEqual(grid.byteSpan(of: [0, 1]), (4 * 2)..<((1 * 6 + 5 + 1) * 2), "edge tile clipped")
        XCTAssertEqual(grid.byteSpan(of: [2, 1]), ((4 * 6 + 4) * 2)..<(30 * 2))
    }
}
