@testable import ChunkEngine
import XCTest

/// Run arithmetic: whole frames and rows are single copies; runs tile the range exactly.
final class TileGridTests: XCTestCase {
    func runs(_ grid: TileGrid, _ range: Range<Int>) -> [TileGrid.Run] {
        var result: [TileGrid.Run] = []
        grid.forEachRun(in: range) { result.append($0) }
        return result
    }

    func testFrameChunkIsOneRun() {
        let grid = TileGrid(shape: [200, 2048, 2048], tileShape: [1, 2048, 2048], elementSize: 2, fullTileBuffers: true)
        let frame = 2048 * 2048
        let all = runs(grid, (3 * frame + 5)..<(5 * frame))
        XCTAssertEqual(all.map(\.count), [frame - 5, frame])
        XCTAssertEqual(all.map(\.tile), [[3, 0, 0], [4, 0, 0]])
        XCTAssertEqual(all.map(\.bufferElement), [5, 0])
    }

    func testOneDimensionalChunksSplitAtChunkEdges() {
        let grid = TileGrid(shape: [3_000_000], tileShape: [1 << 20], elementSize: 1, fullTileBuffers: true)
        XCTAssertEqual(runs(grid, 1_000_000..<2_200_000).map(\.count), [48_576, 1_048_576, 102_848])
    }

    func testEdgeChunkBufferStrideIsTheFullChunk() {
        // 5 x 5 in 4 x 4 chunks: the edge chunk (0, 1) has 1 valid column but rows of 4.
        let grid = TileGrid(shape: [5, 5], tileShape: [4, 4], elementSize: 1, fullTileBuffers: true)
        let all = runs(grid, 0..<25)
        XCTAssertEqual(all.count, 10)
        XCTAssertEqual(all[1].tile, [0, 1])
        XCTAssertEqual(all[3].bufferElement, 4 * 1 + 0, "row 1 of chunk (0, 1)")
        XCTAssertEqual(all[3].count, 1)
        let clipped = TileGrid(shape: [5, 5], tileShape: [4, 4], elementSize: 1, fullTileBuffers: false)
        XCTAssertEqual(runs(clipped, 0..<25)[3].bufferElement, 1, "clipped buffers have rows of 1")
    }

    func testRunsCoverTheRangeExactlyInOrder() {
        let grid = TileGrid(shape: [7, 9, 11], tileShape: [3, 4, 5], elementSize: 3, fullTileBuffers: true)
        for range in [0..<693, 17..<18, 40..<500, 692..<693] {
            var next = range.lowerBound
            for run in runs(grid, range) {
                XCTAssertEqual(run.element, next)
                XCTAssertGreaterThan(run.count, 0)
                next += run.count
            }
            XCTAssertEqual(next, range.upperBound)
        }
    }

    func testBlockTileShape() {
        XCTAssertEqual(TileGrid.blockTileShape(shape: [300, 1000], elementSize: 8), [131, 1000])
        XCTAssertEqual(TileGrid.blockTileShape(shape: [10, 20], elementSize: 4), [10, 20])
        XCTAssertEqual(TileGrid.blockTileShape(shape: [4, 5, 600_000], elementSize: 4), [1, 1, 262_144])
        XCTAssertEqual(TileGrid.blockTileShape(shape: [3], elementSize: 4 << 20), [1])
    }

    func testLRUEvictsLeastRecentlyUsed() {
        var store = LRUStore()
        func key(_ i: Int) -> TileKey { TileKey(dataset: 0, tile: i) }
        func tile() -> Tile { Tile.make(count: 10, pool: nil) { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        for i in 0..<3 { store.insert(key(i), tile()) }
        XCTAssertNotNil(store.get(key(0)))
        store.insert(key(3), tile())
        store.evict(toFit: 30)
        XCTAssertFalse(store.contains(key(1)), "1 was least recently used")
        XCTAssertTrue(store.contains(key(0)) && store.contains(key(2)) && store.contains(key(3)))
        XCTAssertEqual(store.bytes, 30)
        store.removeAll { $0.tile == 2 }
        XCTAssertEqual(store.count, 2)
        store.evict(toFit: 0)
        XCTAssertEqual(store.bytes, 0)
        XCTAssertEqual(store.count, 0)
    }

    func testLRUCountsUnreadReadAheadTiles() {
        var store = LRUStore()
        func key(_ i: Int) -> TileKey { TileKey(dataset: 0, tile: i) }
        func tile() -> Tile { Tile.make(count: 10, pool: nil) { $0.initializeMemory(as: UInt8.self, repeating: 1) } }
        store.insert(key(0), tile())
        store.insert(key(1), tile(), unread: true)
        store.insert(key(2), tile(), unread: true)
        XCTAssertEqual(store.unreadBytes, 20)
        XCTAssertEqual(store.get(key(1))?.bytes.first, 1)
        XCTAssertEqual(store.unreadBytes, 10, "a reader touched tile 1")
        // Order, oldest first: 0 (read), 2 (unread), 1 (read, most recent). Read tiles go
        // first, but not the most recent: 0, then unread 2 only when nothing else is left.
        store.evict(toFit: 20)
        XCTAssertFalse(store.contains(key(0)))
        XCTAssertTrue(store.contains(key(1)) && store.contains(key(2)))
        XCTAssertEqual(store.unreadDropped, 0)
        store.evict(toFit: 10)
        XCTAssertFalse(store.contains(key(2)), "then the least recently used, unread or not")
        XCTAssertEqual(store.unreadBytes, 0)
        XCTAssertEqual(store.unreadDropped, 1)
        XCTAssertTrue(store.contains(key(1)))
    }

    func testLinearTileIndex() {
        let grid = TileGrid(shape: [5, 37, 29], tileShape: [2, 16, 8], elementSize: 2, fullTileBuffers: true)
        XCTAssertEqual(grid.tileCounts, [3, 3, 4])
        XCTAssertEqual(grid.tileCount, 36)
        for linear in 0..<grid.tileCount {
            XCTAssertEqual(grid.linearIndex(of: grid.tile(atLinear: linear)), linear)
        }
        XCTAssertEqual(grid.linearIndex(of: [1, 2, 3]), 1 * 12 + 2 * 4 + 3)
        XCTAssertEqual(grid.shortestRunBytes, 16)
        let frames = TileGrid(shape: [200, 2048, 2048], tileShape: [1, 2048, 2048], elementSize: 2, fullTileBuffers: true)
        XCTAssertEqual(frames.shortestRunBytes, 8 << 20)
        XCTAssertEqual(frames.largestTileBytes, 8 << 20)
    }
}
