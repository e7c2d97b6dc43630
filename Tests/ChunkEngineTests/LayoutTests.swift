import ChunkEngine
import Foundation
import H5Model
import XCTest

/// Layouts read through libhdf5 (`readBlock`) and contiguous storage read with pread.
final class LayoutTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            for i in stride(from: 0, to: count, by: 8) {
                withUnsafeBytes(of: random.next()) { word in
                    for j in 0..<min(8, count - i) { buffer[i + j] = word[j] }
                }
            }
        }
        return bytes
    }

    func testCompactVirtualAndUnallocatedContiguousReadInBlocksOfAboutOneMiB() throws {
        // Rows of 8000 bytes: a block is 131 whole rows (<= 1 MiB).
        let shape = [300, 1000]
        let expected = randomBytes(300 * 1000 * 8, seed: 11)
        for layout in [StorageLayout.compact, .virtual, .contiguous(offset: nil)] {
            let reader = FakeContainer(filePath: "/nonexistent", shape: shape, elementSize: 8, expected: expected)
            let engine = ChunkEngine(cacheBytes: 8 << 20)
            let info = datasetInfo(type: .float(size: 8, order: .little), shape: [300, 1000], layout: layout)
            let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/v"), info: info)
            XCTAssertEqual(try dataset.read(offset: 0, count: expected.count), expected, "\(layout)")
            XCTAssertEqual(try dataset.read(offset: 1_048_575, count: 9), Array(expected[1_048_575..<1_048_584]))
            // Workers may read the blocks in any order.
            let blocks = reader.blocks.sorted { $0.start.lexicographicallyPrecedes($1.start) }
            XCTAssertEqual(blocks.count, 3, "\(layout): 131 + 131 + 38 rows, each read once")
            XCTAssertEqual(blocks.map(\.start), [[0, 0], [131, 0], [262, 0]])
            XCTAssertEqual(blocks.map(\.count), [[131, 1000], [131, 1000], [38, 1000]])
        }
    }

    func testHugeRowsAreCutIntoPieces() throws {
        // One row of 600k float32 (2.4 MB): blocks along the last dimension.
        let expected = randomBytes(2 * 600_000 * 4, seed: 12)
        let reader = FakeContainer(filePath: "/nonexistent", shape: [2, 600_000], elementSize: 4, expected: expected)
        let engine = ChunkEngine(cacheBytes: 8 << 20)
        let info = datasetInfo(type: .float(size: 4, order: .big), shape: [2, 600_000], layout: .compact)
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/wide"), info: info)
        XCTAssertEqual(try dataset.read(offset: 0, count: expected.count), expected)
        XCTAssertTrue(reader.blocks.allSatisfy { $0.count[0] == 1 && $0.count[1] <= 262_144 })
    }

    func testUndecodableFiltersReadChunkRegionsClippedToTheShape() throws {
        let expected = randomBytes(10 * 7 * 2, seed: 13)
        let reader = FakeContainer(filePath: "/nonexistent", shape: [10, 7], elementSize: 2, expected: expected)
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let blosc = FilterSpec(id: 32001, name: "blosc", flags: 0, clientData: [])
        let info = datasetInfo(type: elementType(size: 2), shape: [10, 7], layout: .chunked(chunkShape: [4, 4]),
                               filters: [blosc])
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/b"), info: info)
        XCTAssertEqual(try dataset.read(offset: 0, count: 1000), expected)
        XCTAssertEqual(reader.locateCalls, 0, "no chunk index needed")
        let blocks = reader.blocks.map { "\($0.start)+\($0.count)" }
        XCTAssertEqual(Set(blocks), ["[0, 0]+[4, 4]", "[0, 4]+[4, 3]", "[4, 0]+[4, 4]", "[4, 4]+[4, 3]",
                                     "[8, 0]+[2, 4]", "[8, 4]+[2, 3]"])
        XCTAssertEqual(blocks.count, 6)
        XCTAssertEqual(try dataset.read(offset: 25, count: 50), Array(expected[25..<75]), "served from the cache")
        XCTAssertEqual(reader.blocks.count, 6)
    }

    func testContiguousWithOffsetIsReadDirectly() throws {
        let expected = randomBytes(5000 * 4, seed: 14)
        let path = directory.url.appendingPathComponent("c.bin").path
        try Data([UInt8](repeating: 9, count: 4096) + expected + [1, 2, 3]).write(to: URL(fileURLWithPath: path))
        let reader = FakeContainer(filePath: path, shape: [50, 100], elementSize: 4, expected: [])
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let info = datasetInfo(type: elementType(size: 4), shape: [50, 100], layout: .contiguous(offset: 4096))
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/c"), info: info)
        XCTAssertEqual(try dataset.read(offset: 0, count: 1 << 20), expected)
        XCTAssertEqual(try dataset.read(offset: 19_997, count: 10), Array(expected[19_997...]))
        XCTAssertEqual(try dataset.read(offset: 7, count: 13), Array(expected[7..<20]))
        XCTAssertEqual(reader.blocks.count + reader.locateCalls, 0)
        XCTAssertEqual(engine.cachedBytes, 0)
    }

    func testTruncatedContiguousFileIsAnError() throws {
        let path = directory.url.appendingPathComponent("short.bin").path
        try Data([UInt8](repeating: 1, count: 100)).write(to: URL(fileURLWithPath: path))
        let reader = FakeContainer(filePath: path, shape: [100], elementSize: 1, expected: [])
        let engine = ChunkEngine(cacheBytes: 0)
        let info = datasetInfo(type: elementType(size: 1), shape: [100], layout: .contiguous(offset: 50))
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/t"), info: info)
        XCTAssertEqual(try dataset.read(offset: 0, count: 50), [UInt8](repeating: 1, count: 50))
        XCTAssertThrowsError(try dataset.read(offset: 40, count: 20)) { error in
            XCTAssertTrue("\(error)".contains("/t"), "\(error)")
        }
    }

    func testMissingContainerIsAnErrorAtReadNotAtOpen() throws {
        let reader = FakeContainer(filePath: directory.url.appendingPathComponent("gone.h5").path,
                                   shape: [10], elementSize: 1, expected: [])
        let engine = ChunkEngine(cacheBytes: 0)
        let info = datasetInfo(type: elementType(size: 1), shape: [10], layout: .contiguous(offset: 0))
        let dataset = try engine.dataset(reader: reader, path: H5Path(parsing: "/g"), info: info)
        XCTAssertThrowsError(try dataset.read(offset: 0, count: 10))
    }
}
