import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// `readBlock` returns the bytes as stored: what numpy wrote (expected/*.expected.bin).
final class ReadBlockTests: XCTestCase {
    private var container: HDF5Container!
    private static let pluginFiltered: Set<String> = ["/layouts/chunked_lz4", "/layouts/chunked_bslz4"]

    override func setUpWithError() throws {
        container = try openCorpus("types.h5")
    }

    override func tearDown() {
        container = nil
    }

    func testEveryFixedSizeDatasetReadsAsNumpyWroteIt() throws {
        for file in ["types.h5", "bytes.h5"] {
            let reader = try openCorpus(file)
            var checked = 0
            for (path, facts) in try Corpus.facts(file: file) where facts.expectedBin {
                if Self.pluginFiltered.contains(path) { continue }
                XCTAssertEqual(try reader.readAll(path), try Corpus.expectedBytes(file: file, dataset: path),
                               "\(file) \(path)")
                checked += 1
            }
            XCTAssertGreaterThan(checked, file == "types.h5" ? 40 : 3)
            XCTAssertEqual(reader.openObjectCount(), 0)
        }
    }

    func testSubBlockOfPartialEdgeChunks() throws {
        // (25, 30) int32 in (10, 8) chunks: rows 3..<17, columns 5..<27 cross chunk edges.
        let whole = try Corpus.expectedBytes(file: "types.h5", dataset: "/layouts/chunked_gzip")
        var block = [UInt8](repeating: 0, count: 14 * 22 * 4)
        try block.withUnsafeMutableBytes {
            try container.readBlock(dataset: .p("/layouts/chunked_gzip"), start: [3, 5], count: [14, 22], into: $0)
        }
        var expected: [UInt8] = []
        for row in 3..<17 {
            expected += whole[(row * 30 + 5) * 4 ..< (row * 30 + 27) * 4]
        }
        XCTAssertEqual(block, expected)
    }

    func testBigEndianAndCompoundBytesStayAsStored() throws {
        // uint16_be: element 1 is the maximum; stored big-endian it is FF FF, element 0 (minimum) 00 00.
        let bytes = try container.readAll("/numeric/int16_be")
        XCTAssertEqual(Array(bytes[0..<4]), [0x80, 0x00, 0x7F, 0xFF])
        // Nested compound element 1: "b" is a big-endian 0.5 at offset 4, inner.x = 201 at offset 16.
        let nested = try container.readAll("/compound/nested")
        XCTAssertEqual(nested.count, 4 * 64)
        XCTAssertEqual(Array(nested[64 + 4 ..< 64 + 12]), [0x3F, 0xE0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(nested[64 + 16], 201)
    }

    func testScalarAndEmptyAndNull() throws {
        var scalar = [UInt8](repeating: 0, count: 8)
        try scalar.withUnsafeMutableBytes {
            try container.readBlock(dataset: .p("/shapes/scalar_f8"), start: [], count: [], into: $0)
        }
        XCTAssertEqual(scalar, littleEndianBytes([(2.5).bitPattern]))
        var nothing: [UInt8] = []
        try nothing.withUnsafeMutableBytes {
            try container.readBlock(dataset: .p("/shapes/null"), start: [], count: [], into: $0)
            try container.readBlock(dataset: .p("/shapes/empty_2d"), start: [0, 0], count: [3, 0], into: $0)
        }
    }

    func testExternalStorageResolvesAgainstTheContainer() throws {
        // The raw file is named relatively; the process cwd is elsewhere.
        XCTAssertNotEqual(FileManager.default.currentDirectoryPath, try Corpus.directory())
        XCTAssertEqual(try container.readAll("/layouts/external"), littleEndianBytes((0..<12).map { UInt16($0 * 11) }))
    }

    func testBadRequests() throws {
        var small = [UInt8](repeating: 0, count: 3)
        small.withUnsafeMutableBytes { buffer in
            assertStoreError(.invalidArgument) {
                try self.container.readBlock(dataset: .p("/numeric/int8"), start: [0], count: [4], into: buffer)
            }
            assertStoreError(.invalidArgument) {
                try self.container.readBlock(dataset: .p("/numeric/int8"), start: [9], count: [3], into: buffer)
            }
            assertStoreError(.invalidArgument) {
                try self.container.readBlock(dataset: .p("/numeric/int8"), start: [0, 0], count: [1, 3], into: buffer)
            }
            assertStoreError(.invalidArgument) {
                try self.container.readBlock(dataset: .p("/strings/vlen_utf8"), start: [0], count: [3], into: buffer)
            }
            assertStoreError(.notFound) {
                try self.container.readBlock(dataset: .p("/numeric/none"), start: [0], count: [3], into: buffer)
            }
        }
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    /// lz4 and bitshuffle are not built into libhdf5: without the plugin directory the read
    /// fails as unsupported; with hdf5plugin's directory added it gives numpy's bytes.
    func testPluginFiltersNeedThePluginPath() throws {
        // The plugin path is process-wide: another test of this process may have added it already.
        let environment = ProcessInfo.processInfo.environment["HDF5_PLUGIN_PATH"]
        if environment == nil, !HDF5Library.pluginPaths().contains(try Corpus.pluginPath()) {
            let error = assertStoreError(.unsupported) { try self.container.readAll("/layouts/chunked_lz4") }
            XCTAssertNotNil(error)
        }
        try HDF5Library.addPluginPath(Corpus.pluginPath())
        for path in Self.pluginFiltered.sorted() {
            XCTAssertEqual(try container.readAll(path), try Corpus.expectedBytes(file: "types.h5", dataset: path), path)
        }
        XCTAssertEqual(container.openObjectCount(), 0)
    }
}
