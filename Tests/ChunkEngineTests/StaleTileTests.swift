@testable import ChunkEngine
import H5Model
import Synchronization
import XCTest

/// `-o swmr`: which tiles a refresh forgets (TileGrid.firstStaleTile) and how a chunk index
/// forgets and completes a block (ChunkIndex.forget / learn).
final class StaleTileTests: XCTestCase {
    func testGrowthAlongTheFirstDimensionForgetsFromTheOldEdgeRow() {
        // (10, 6, 4) in (4, 3, 4) tiles: 3 rows of 2 tiles; was (5, 6, 4): edge row 1.
        let grid = TileGrid(shape: [10, 6, 4], tileShape: [4, 3, 4], elementSize: 2, fullTileBuffers: true)
        XCTAssertEqual(grid.firstStaleTile(previousShape: [5, 6, 4]), 2)
        // An old shape ending on a chunk boundary: its last row (row 0) may still be filling.
        XCTAssertEqual(grid.firstStaleTile(previousShape: [4, 6, 4]), 0)
        XCTAssertEqual(grid.firstStaleTile(previousShape: [9, 6, 4]), 4)
        // Unchanged shape: the edge row only (its data may land after the shape did).
        XCTAssertEqual(grid.firstStaleTile(previousShape: [10, 6, 4]), 4)
        // Shrunk: from the new edge row.
        XCTAssertEqual(TileGrid(shape: [5, 6, 4], tileShape: [4, 3, 4], elementSize: 2, fullTileBuffers: true)
            .firstStaleTile(previousShape: [10, 6, 4]), 2)
    }

    func testAnyOtherChangeForgetsEverything() {
        let grid = TileGrid(shape: [10, 6, 4], tileShape: [4, 3, 4], elementSize: 2, fullTileBuffers: true)
        XCTAssertEqual(grid.firstStaleTile(previousShape: [5, 3, 4]), 0, "a trailing dimension changed")
        XCTAssertEqual(grid.firstStaleTile(previousShape: [5, 6]), 0, "rank changed")
        XCTAssertEqual(grid.firstStaleTile(previousShape: []), 0, "no previous shape")
        XCTAssertEqual(grid.firstStaleTile(previousShape: [0, 6, 4]), 0, "was empty")
    }

    final class CountingReader: ChunkOnlyReader, Sendable {
        let filePath = "/nowhere"
        let asked = Mutex<[[UInt64]]>([])
        func chunkLocations(dataset path: H5Path, chunks: [[UInt64]]) throws(StoreError) -> [ChunkLocation?] {
            asked.withLock { $0 += chunks }
            return chunks.map { ChunkLocation(offset: $0[0] * 100, size: 10, filterMask: 0) }
        }
    }

    func testForgottenTailIsCompletedWithOnlyTheMissingChunks() throws {
        let reader = CountingReader()
        let index = ChunkIndex()
        let small = TileGrid(shape: [3], tileShape: [1], elementSize: 1, fullTileBuffers: true)
        XCTAssertTrue(try index.learn([0], grid: small, reader: reader, path: .root))
        XCTAssertEqual(reader.asked.withLock { $0 }, [[0], [1], [2]])
        // The dataset grew to 5: the block learnt for 3 tiles is completed, not learnt again.
        let grown = TileGrid(shape: [5], tileShape: [1], elementSize: 1, fullTileBuffers: true)
        XCTAssertNil(index.entry(of: 4), "past the end of a block learnt for a smaller grid: unknown")
        index.forget(from: 2)
        XCTAssertNil(index.entry(of: 2))
        XCTAssertEqual(index.entry(of: 1), .allocated(ChunkLocation(offset: 100, size: 10, filterMask: 0)))
        reader.asked.withLock { $0 = [] }
        XCTAssertTrue(try index.learn([4], grid: grown, reader: reader, path: .root))
        XCTAssertEqual(reader.asked.withLock { $0 }, [[2], [3], [4]])
        XCTAssertEqual(index.entry(of: 4), .allocated(ChunkLocation(offset: 400, size: 10, filterMask: 0)))
        XCTAssertFalse(try index.learn([4], grid: grown, reader: reader, path: .root), "known now: not asked again")
    }
}
