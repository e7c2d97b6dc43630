@testable import ChunkEngine
import H5Model
import XCTest

/// The hyperslab arithmetic that cuts a virtual dataset's mappings into pieces.
final class VirtualMappingTests: XCTestCase {
    func regular(_ start: [UInt64], _ stride: [UInt64], _ count: [UInt64], _ block: [UInt64]) -> Selection {
        .regular(start: start, stride: stride, count: count, block: block)
    }

    func piece(_ destination: [Int], _ source: [Int], _ count: [Int], mapping: Int = 0) -> VirtualPiece {
        VirtualPiece(mapping: mapping, destination: destination, source: source, count: count)
    }

    /// h5py's `layout[50:100] = VirtualSource(...)`: one block onto a whole source.
    func testBlockOntoWholeSourceIsOnePiece() throws {
        let pieces = try VirtualMapping.pieces(mapping: 1, destination: regular([50, 0, 0], [1, 1, 1], [1, 1, 1], [50, 4, 6]),
                                               source: .all, virtualShape: [200, 4, 6], sourceShape: [50, 4, 6])
        XCTAssertEqual(pieces, [piece([50, 0, 0], [0, 0, 0], [50, 4, 6], mapping: 1)])
    }

    /// Every other pair of elements of the virtual space from a plain range of the source.
    func testStridedDestinationCutsAtEachBlock() throws {
        let pieces = try VirtualMapping.pieces(mapping: 0, destination: regular([1], [3], [4], [2]),
                                               source: regular([0], [1], [1], [8]),
                                               virtualShape: [12], sourceShape: [8])
        XCTAssertEqual(pieces, [piece([1], [0], [2]), piece([4], [2], [2]), piece([7], [4], [2]), piece([10], [6], [2])])
    }

    /// Blocks of 3 against blocks of 2: cut wherever either side has an edge.
    func testUnequalBlocksOnBothSides() throws {
        // Virtual positions 0,1,2 | 4,5,6; source 0,1 | 5,6 | 10,11.
        let pieces = try VirtualMapping.pieces(mapping: 0, destination: regular([0], [4], [2], [3]),
                                               source: regular([0], [5], [3], [2]),
                                               virtualShape: [7], sourceShape: [12])
        XCTAssertEqual(pieces, [piece([0], [0], [2]), piece([2], [5], [1]), piece([4], [6], [1]), piece([5], [10], [2])])
        // Every element pairs as HDF5 pairs them: n-th selected with n-th selected.
        let virtualElements = pieces.flatMap { p in (0..<p.count[0]).map { p.destination[0] + $0 } }
        let sourceElements = pieces.flatMap { p in (0..<p.count[0]).map { p.source[0] + $0 } }
        XCTAssertEqual(virtualElements, [0, 1, 2, 4, 5, 6])
        XCTAssertEqual(sourceElements, [0, 1, 5, 6, 10, 11])
    }

    /// Two dimensions: the pieces are the products of each dimension's cuts, in C order.
    func testTwoDimensionsMultiply() throws {
        let pieces = try VirtualMapping.pieces(mapping: 0, destination: regular([0, 1], [2, 4], [2, 2], [1, 3]),
                                               source: .all, virtualShape: [3, 8], sourceShape: [2, 6])
        XCTAssertEqual(pieces, [piece([0, 1], [0, 0], [1, 3]), piece([0, 5], [0, 3], [1, 3]),
                                piece([2, 1], [1, 0], [1, 3]), piece([2, 5], [1, 3], [1, 3])])
    }

    /// Touching blocks (the C API's block of 1, stride 1) are one range, not one piece per element.
    func testTouchingBlocksMerge() throws {
        let pieces = try VirtualMapping.pieces(mapping: 0, destination: regular([0, 0], [1, 1], [1000, 2048], [1, 1]),
                                               source: .all, virtualShape: [1000, 2048], sourceShape: [1000, 2048])
        XCTAssertEqual(pieces, [piece([0, 0], [0, 0], [1000, 2048])])
    }

    func testNothingSelectedIsNoPieces() throws {
        XCTAssertEqual(try VirtualMapping.pieces(mapping: 0, destination: .none, source: .none,
                                                 virtualShape: [4], sourceShape: [4]), [])
        XCTAssertEqual(try VirtualMapping.pieces(mapping: 0, destination: regular([0], [1], [0], [1]),
                                                 source: regular([0], [1], [0], [1]), virtualShape: [4], sourceShape: [4]), [])
    }

    /// What libhdf5 keeps: each refused with a reason, none a crash.
    func testRefusals() {
        func refused(_ destination: Selection, _ source: Selection, _ virtualShape: [Int], _ sourceShape: [Int],
                     _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            do {
                let pieces = try VirtualMapping.pieces(mapping: 0, destination: destination, source: source,
                                                       virtualShape: virtualShape, sourceShape: sourceShape)
                XCTFail("not refused: \(pieces.count) pieces", file: file, line: line)
            } catch {
                XCTAssertTrue(error.reason.contains(expected), error.reason, file: file, line: line)
            }
        }
        refused(.other("points(3)"), .all, [4], [3], "not a regular hyperslab")
        refused(regular([0], [10], [UInt64.max], [10]), .all, [40], [40], "unlimited")
        refused(regular([0], [2], [3], [3]), .all, [9], [9], "overlap")
        refused(regular([0], [1], [1], [6]), .all, [4], [6], "past the space")
        refused(regular([0, 0], [1, 1], [1, 1], [2, 3]), .all, [2, 3], [3, 2], "positions per dimension")
        refused(.all, .all, [2, 3], [6], "rank")
        // 300 x 300 single elements two apart: 90,000 pieces.
        refused(regular([0, 0], [2, 2], [300, 300], [1, 1]), .all, [600, 600], [300, 300], "more than")
        // A billion blocks is refused before any of them is looked at.
        refused(regular([0], [2], [1_000_000_000], [1]), .all, [2_000_000_000], [1_000_000_000], "blocks")
    }

    /// Each row of tiles along the first dimension lists the pieces reaching into it; pieces
    /// of missing sources none; a layout whose full read would test too many is refused.
    func testTileRowsIndexThePieces() throws {
        let grid = TileGrid(shape: [20, 8], tileShape: [4, 8], elementSize: 2, fullTileBuffers: true)
        let pieces = [piece([0, 0], [0, 0], [6, 8], mapping: 0), piece([6, 0], [0, 0], [10, 8], mapping: 1),
                      piece([16, 0], [0, 0], [4, 8], mapping: 2)]
        let source = VirtualLayout.Source(dataset: try ChunkEngine(cacheBytes: 0).dataset(
            reader: FakeContainer(filePath: "/nonexistent", shape: [1], elementSize: 2, expected: [0, 0]), path: H5Path(parsing: "/none"),
            info: DatasetInfo(type: .opaque(size: 2, tag: ""), shape: nil, maxShape: nil, layout: .compact, filters: [],
                              fillValue: nil, fillValueBytes: nil, storageSize: 0, virtualSources: [])),
            shape: [1, 1], chunks: nil)
        let layout = try XCTUnwrap(VirtualLayout(pieces: pieces, sources: [source, source, nil], grid: grid))
        XCTAssertEqual(layout.rows, [[0], [0, 1], [1], [1], []])
        let wide = TileGrid(shape: [1, 1 << 20], tileShape: [1, 128], elementSize: 1, fullTileBuffers: false)
        let many = (0..<VirtualMapping.pieceLimit).map { piece([0, $0 * 16], [0, $0 * 16], [1, 16]) }
        XCTAssertNil(VirtualLayout(pieces: many, sources: [source], grid: wide), "65,536 pieces x 8,192 tiles")
    }

    func testClipMovesTheSourceBoxAlong() {
        let p = piece([10, 0], [0, 5], [20, 8])
        XCTAssertEqual(VirtualMapping.clip(p, toBox: [16, 4], extent: [8, 8]), piece([16, 4], [6, 9], [8, 4]))
        XCTAssertNil(VirtualMapping.clip(p, toBox: [30, 0], extent: [4, 8]))
        XCTAssertNil(VirtualMapping.clip(p, toBox: [0, 0], extent: [10, 8]), "touching is not meeting")
    }
}
