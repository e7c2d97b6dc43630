import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// links.h5 /vds: four rows from vds_src_0..3.h5 named relatively; vds_src_3.h5 is missing.
final class VirtualDatasetTests: XCTestCase {
    func testMappingsDescribeTheSources() throws {
        let container = try openCorpus("links.h5")
        let info = try container.dataset(at: .p("/vds"))
        XCTAssertEqual(info.layout, .virtual)
        XCTAssertEqual(info.shape, [4, 10])
        XCTAssertEqual(info.fillValue, .int(-1))
        XCTAssertEqual(info.virtualSources, (0..<4).map { row in
            VirtualSource(file: "vds_src_\(row).h5", dataset: "data",
                          destination: .regular(start: [UInt64(row), 0], stride: [1, 1], count: [1, 1], block: [1, 10]),
                          source: .all)
        })
    }

    /// Sources resolve against the container's directory even when the process runs in /
    /// (as the daemon does), and the missing source reads as the fill value.
    func testMissingSourceReadsAsFillValueFromAnyWorkingDirectory() throws {
        let container = try openCorpus("links.h5")
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath("/"))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        var expected: [Int32] = []
        for row in 0..<3 { expected += (0..<10).map { Int32(row * 100 + $0) } }
        expected += Array(repeating: -1, count: 10)
        XCTAssertEqual(try container.readAll("/vds"), littleEndianBytes(expected))
        XCTAssertEqual(try container.readJSONElements(dataset: .p("/vds")).suffix(2), [.int(-1), .int(-1)])
        // One row inside the missing source only.
        var row = [UInt8](repeating: 0, count: 8)
        try row.withUnsafeMutableBytes {
            try container.readBlock(dataset: .p("/vds"), start: [3, 4], count: [1, 2], into: $0)
        }
        XCTAssertEqual(row, littleEndianBytes([Int32(-1), -1]))
        XCTAssertEqual(container.openObjectCount(), 0)
    }
}
