import ChunkEngine
import Foundation
import H5Model
import XCTest

/// Reads served as pieces of the engine's tiles (`RawArrayDataset.withSegments`, what the
/// FUSE layer replies with on read-only mounts): the same bytes as a copied read, adjacent
/// stretches of a tile in one piece, and nil wherever the engine has no tile to lend.
final class SegmentTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    /// 8 frames of 256 x 128 uint16 (64 KiB each), one chunk per frame.
    static let frameBytes = 256 * 128 * 2

    func frames(filtered: Bool = true, chunks: [Int] = [1, 256, 128], unallocated: @escaping (Int) -> Bool = { _ in false })
        throws -> (RawArrayDataset, [UInt8]) {
        let synthetic = try SyntheticChunkedFile(
            directory: directory.url, shape: [8, 256, 128], chunkShape: chunks, elementSize: 2,
            unallocated: unallocated, encode: { _, bytes in filtered ? XorCodec.encode(bytes) : bytes })
        let engine = ChunkEngine(cacheBytes: 4 << 20, codec: XorCodec())
        let info = datasetInfo(type: elementType(size: 2), shape: [8, 256, 128],
                               layout: .chunked(chunkShape: chunks.map(UInt64.init)),
                               filters: filtered ? [XorCodec.filter] : [])
        return (try engine.dataset(reader: synthetic.container(), path: H5Path(parsing: "/stack"), info: info),
                synthetic.expected)
    }

    /// The pieces of one read, concatenated, and how many there were.
    func segmented(_ dataset: RawArrayDataset, offset: Int, count: Int) throws -> ([UInt8], Int)? {
        try dataset.withSegments(offset: UInt64(offset), count: count) { pieces in
            (pieces.reduce(into: [UInt8]()) { $0 += Array($1) }, pieces.count)
        }
    }

    func testPiecesAreTheBytesOfTheRange() throws {
        let (dataset, expected) = try frames()
        let f = Self.frameBytes
        for (offset, count) in [(0, 1 << 20), (5, 100), (f - 3, 7), (f / 2, 3 * f), (7 * f + 11, 1 << 20), (8 * f - 1, 9)] {
            let end = min(expected.count, offset + count)
            let got = try XCTUnwrap(try segmented(dataset, offset: offset, count: count), "\(offset)")
            XCTAssertEqual(got.0, Array(expected[offset..<end]), "\(offset) + \(count)")
        }
        XCTAssertEqual(try segmented(dataset, offset: f / 2, count: 2 * f)?.1, 3, "half a frame, a frame, half a frame")
        XCTAssertEqual(try segmented(dataset, offset: expected.count, count: 100)?.0, [], "past the end: no piece")
    }

    func testUnallocatedFramesArePiecesOfTheFillTile() throws {
        let (dataset, expected) = try frames(unallocated: { $0 == 2 })
        let f = Self.frameBytes
        XCTAssertEqual(try segmented(dataset, offset: f, count: 3 * f)?.0, Array(expected[f..<(4 * f)]))
        XCTAssertTrue(expected[(2 * f)..<(3 * f)].allSatisfy { $0 == 0 })
    }

    func testNothingToLendForUnfilteredChunksNarrowRunsOrContiguousStorage() throws {
        XCTAssertNil(try segmented(try frames(filtered: false).0, offset: 0, count: 100), "unfiltered: read from the file")
        // 16 x 16 chunks: runs of 32 bytes.
        XCTAssertNil(try segmented(try frames(chunks: [1, 16, 16]).0, offset: 0, count: 100), "narrow runs are copied")
        let path = directory.url.appendingPathComponent("c.bin").path
        try Data([UInt8](repeating: 3, count: 1 << 17)).write(to: URL(fileURLWithPath: path))
        let reader = FakeContainer(filePath: path, shape: [1 << 17], elementSize: 1, expected: [])
        let contiguous = try ChunkEngine(cacheBytes: 1 << 20).dataset(
            reader: reader, path: H5Path(parsing: "/c"),
            info: datasetInfo(type: elementType(size: 1), shape: [1 << 17], layout: .contiguous(offset: 0)))
        XCTAssertNil(try segmented(contiguous, offset: 0, count: 100), "contiguous: read from the file")
    }
}
