import Foundation
import H5Model
@testable import HDF5
import TestSupport
import XCTest

/// Files with a user block (h5py's `userblock_size=`): chunk addresses must be absolute
/// file offsets, because the chunk engine preads them from the file.
final class UserBlockTests: XCTestCase {
    func testChunkOffsetsIncludeTheUserBlock() throws {
        let directory = NSTemporaryDirectory() + "userblock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ub.h5"
        let script = """
        import h5py, numpy
        with h5py.File('\(path)', 'w', userblock_size=512) as f:
            f.create_dataset('d', data=numpy.arange(64, dtype='<u4'), chunks=(16,))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)

        let container = try HDF5Container.open(path: path)
        let locations = try container.chunkLocations(dataset: H5Path(parsing: "/d"), chunks: [[0], [16], [32], [48]])
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        for (index, location) in locations.enumerated() {
            let location = try XCTUnwrap(location)
            let bytes = [UInt8](file[Int(location.offset)..<Int(location.offset + location.size)])
            let expected = (UInt32(index * 16)..<UInt32(index * 16 + 16)).flatMap { v in withUnsafeBytes(of: v.littleEndian, Array.init) }
            XCTAssertEqual(bytes, expected, "chunk \(index) at \(location.offset)")
        }
    }
}
