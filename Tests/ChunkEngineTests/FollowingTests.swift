import ChunkEngine
import Foundation
import H5Model
import Synchronization
import XCTest

/// `-o swmr`: a dataset a writer appends to, re-made with `refreshedDataset` after each
/// refresh: new rows read the writer's bytes, the old edge chunk is decoded again, the
/// chunks before it are neither located nor decoded again.
final class FollowingTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    /// A file a writer appends chunks to, as a SWMR writer does: new chunks at the end of
    /// the file, a rewritten chunk at a new place; the reader answers the current locations.
    final class GrowingFile: ChunkOnlyReader, Sendable {
        let filePath: String
        let rowBytes: Int
        let chunkRows: Int
        private let state = Mutex<(locations: [[UInt64]: ChunkLocation], end: UInt64, located: [[UInt64]])>(([:], 0, []))

        init(path: String, rowBytes: Int, chunkRows: Int) throws {
            filePath = path; self.rowBytes = rowBytes; self.chunkRows = chunkRows
            _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x77, count: 64))
            state.withLock { $0.end = 64 }
        }

        /// Stores chunk `index` (full size, rows past `rows` as the writer leaves them: 0xEE).
        func writeChunk(_ index: Int, rows: [[UInt8]]) throws {
            var bytes = rows.flatMap { $0 }
            bytes += [UInt8](repeating: 0xEE, count: chunkRows * rowBytes - bytes.count)
            let offset = state.withLock { s -> UInt64 in
                defer { s.end += UInt64(bytes.count) }
                return s.end
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filePath))
            try handle.seek(toOffset: offset)
            try handle.write(contentsOf: Data(bytes))
            try handle.close()
            state.withLock { $0.locations[[UInt64(index * chunkRows), 0]] = ChunkLocation(offset: offset, size: UInt64(bytes.count), filterMask: 0) }
        }

        var located: [[UInt64]] { state.withLock { $0.located } }
        func clearLog() { state.withLock { $0.located = [] } }

        func chunkLocations(dataset path: H5Path, chunks: [[UInt64]]) throws(StoreError) -> [ChunkLocation?] {
            state.withLock { s in
                s.located += chunks
                return chunks.map { s.locations[$0] }
            }
        }
    }

    let path = H5Path(parsing: "/entry/data")
    /// Frames of 8 bytes, two per chunk; frame i is filled with i.
    func frame(_ i: Int) -> [UInt8] { [UInt8](repeating: UInt8(i), count: 8) }
    func info(rows: Int) -> DatasetInfo {
        var info = datasetInfo(type: elementType(size: 1), shape: [UInt64(rows), 8], layout: .chunked(chunkShape: [2, 8]))
        info.maxShape = [nil, 8]
        return info
    }
    func expected(rows: Int) -> [UInt8] { (0..<rows).flatMap(frame) }

    func testGrowthReadsTheWritersNewFramesAndKeepsEarlierChunks() throws {
        let file = try GrowingFile(path: directory.url.appendingPathComponent("grow.bin").path, rowBytes: 8, chunkRows: 2)
        try file.writeChunk(0, rows: [frame(0), frame(1)])
        try file.writeChunk(1, rows: [frame(2)])
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: FilterPipelineCodec())
        let first = try engine.dataset(reader: file, path: path, info: info(rows: 3), followsWrites: true)
        XCTAssertEqual(try first.read(offset: 0, count: 100), expected(rows: 3))

        // The writer fills chunk 1 (rewritten elsewhere) and starts chunk 2.
        try file.writeChunk(1, rows: [frame(2), frame(3)])
        try file.writeChunk(2, rows: [frame(4)])
        file.clearLog()
        let grown = try engine.refreshedDataset(reader: file, path: path, info: info(rows: 5), previousShape: [3, 8])
        XCTAssertEqual(grown.byteCount, 40)
        XCTAssertEqual(try grown.read(offset: 0, count: 100), expected(rows: 5))
        XCTAssertEqual(file.located, [[2, 0], [4, 0]], "only the old edge chunk and the new one are located again")
        // The old view still ends where it ended.
        XCTAssertEqual(try first.read(offset: 0, count: 100), expected(rows: 3))
    }

    func testWithoutRefreshTheOldEdgeChunkWouldBeStale() throws {
        // The reason refreshedDataset exists: a dataset made again the ordinary way serves the
        // edge chunk as it was cached, so frame 3 reads the writer's unwritten bytes.
        let file = try GrowingFile(path: directory.url.appendingPathComponent("stale.bin").path, rowBytes: 8, chunkRows: 2)
        try file.writeChunk(0, rows: [frame(0), frame(1)])
        try file.writeChunk(1, rows: [frame(2)])
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: FilterPipelineCodec())
        _ = try engine.dataset(reader: file, path: path, info: info(rows: 3), followsWrites: true).read(offset: 0, count: 100)
        try file.writeChunk(1, rows: [frame(2), frame(3)])
        let remade = try engine.dataset(reader: file, path: path, info: info(rows: 4), followsWrites: true)
        XCTAssertNotEqual(try remade.read(offset: 0, count: 100), expected(rows: 4))
        let refreshed = try engine.refreshedDataset(reader: file, path: path, info: info(rows: 4), previousShape: [4, 8])
        XCTAssertEqual(try refreshed.read(offset: 0, count: 100), expected(rows: 4))
    }

    func testFramesThatLandAfterTheirShapeAreSeenAtTheNextRefresh() throws {
        // The writer extends the shape before its data is flushed: the reader first sees the
        // new frame unallocated (fill), then, at a refresh with the same shape, its data.
        let file = try GrowingFile(path: directory.url.appendingPathComponent("late.bin").path, rowBytes: 8, chunkRows: 2)
        try file.writeChunk(0, rows: [frame(0), frame(1)])
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: FilterPipelineCodec())
        let early = try engine.refreshedDataset(reader: file, path: path, info: info(rows: 3), previousShape: [2, 8])
        XCTAssertEqual(try early.read(offset: 16, count: 8), [UInt8](repeating: 0, count: 8))
        try file.writeChunk(1, rows: [frame(2)])
        let landed = try engine.refreshedDataset(reader: file, path: path, info: info(rows: 3), previousShape: [3, 8])
        XCTAssertEqual(try landed.read(offset: 0, count: 100), expected(rows: 3))
    }

    func testGrowthFromEmpty() throws {
        let file = try GrowingFile(path: directory.url.appendingPathComponent("empty.bin").path, rowBytes: 8, chunkRows: 2)
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: FilterPipelineCodec())
        let empty = try engine.dataset(reader: file, path: path, info: info(rows: 0), followsWrites: true)
        XCTAssertEqual(try empty.read(offset: 0, count: 100), [])
        try file.writeChunk(0, rows: [frame(0)])
        let one = try engine.refreshedDataset(reader: file, path: path, info: info(rows: 1), previousShape: [0, 8])
        XCTAssertEqual(try one.read(offset: 0, count: 100), frame(0))
    }

    /// Decodes as the identity, and runs `hook` (once) while decoding a chunk whose first
    /// byte is `trigger`: the chunk's bytes were read from the file before the hook ran.
    final class HookCodec: ChunkCodec {
        static let filter = FilterSpec(id: 40_001, name: "hook", flags: 0, clientData: [])
        let trigger: UInt8
        let hook = Mutex<(@Sendable () -> Void)?>(nil)
        init(trigger: UInt8) { self.trigger = trigger }
        func canDecode(_ filters: [FilterSpec]) -> Bool { filters == [Self.filter] }
        func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                    elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(ChunkCodecError) {
            if chunk.first == trigger, let hook = hook.withLock({ slot in defer { slot = nil }; return slot }) { hook() }
            output.copyMemory(from: chunk)
        }
    }

    func testALoadInFlightDuringARefreshIsNotKept() throws {
        // A worker has read the edge chunk as it was when the writer rewrites it and the
        // refresh comes; the load then publishes the old bytes: they must not be kept.
        let file = try GrowingFile(path: directory.url.appendingPathComponent("flight.bin").path, rowBytes: 8, chunkRows: 2)
        try file.writeChunk(0, rows: [frame(0), frame(1)])
        try file.writeChunk(1, rows: [frame(2)])
        let scheduler = ManualScheduler()
        let codec = HookCodec(trigger: 2)
        let engine = ChunkEngine(cacheBytes: 1 << 20, codec: codec, scheduler: scheduler)
        var filtered = info(rows: 3)
        filtered.filters = [HookCodec.filter]
        let first = try engine.dataset(reader: file, path: path, info: filtered, followsWrites: true)
        let grown = Mutex<RawArrayDataset?>(nil)
        var bigger = info(rows: 4)
        bigger.filters = [HookCodec.filter]
        let update = bigger
        let rows = [frame(2), frame(3)]
        codec.hook.withLock { [path] slot in
            slot = {
                try? file.writeChunk(1, rows: rows)
                let made = try? engine.refreshedDataset(reader: file, path: path, info: update, previousShape: [3, 8])
                grown.withLock { $0 = made }
            }
        }
        first.prefetch(offset: 0, count: 24)
        scheduler.runAll()
        let refreshed = try XCTUnwrap(grown.withLock { $0 }, "the hook ran during the edge chunk's load")
        XCTAssertEqual(try refreshed.read(offset: 0, count: 100), expected(rows: 4))
        XCTAssertEqual(engine.statistics.inFlightBytes, 0, "the dropped load's reservation is given back")
    }
}
