import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// A truncated file (TruncatedFiles, HDF5Container+Truncation): what lies before the cut
/// reads as in the intact file; data past it is an error, never the zeros libhdf5 reads there.
final class TruncatedFileTests: XCTestCase {
    /// Datasets in file order, each header before its data: front (contiguous), chunks
    /// (4 unfiltered chunks), text (fixed strings, contiguous), back (contiguous, last).
    private static let script = """
    import sys, json, h5py, numpy as np
    with h5py.File(sys.argv[1], "w") as f:
        f["front"] = np.arange(100, dtype="<i4")
        f.create_dataset("chunks", data=np.arange(4000, dtype="<i4"), chunks=(1000,))
        f["text"] = np.array([b"line %d" % i for i in range(500)], dtype="S10")
        f["back"] = np.arange(20000, dtype="<f8")
    with h5py.File(sys.argv[1]) as f:
        c = f["chunks"].id
        print(json.dumps({
            "chunk2": [c.get_chunk_info(2).byte_offset, c.get_chunk_info(2).size],
            "text": [f["text"].id.get_offset(), f["text"].id.get_storage_size()],
            "back": [f["back"].id.get_offset(), f["back"].id.get_storage_size()],
        }))
    """

    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("h5mount-cut-\(getpid())-\(name.hashValue)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { [directory] in try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The intact file, its bytes and where its data lies.
    private func intact() throws -> (path: String, bytes: Data, offsets: [String: [Int]]) {
        let path = directory + "/intact.h5"
        let printed = try Python.run(Self.script, arguments: [path])
        let offsets = try JSONDecoder().decode([String: [Int]].self, from: Data(printed.utf8))
        return (path, try Data(contentsOf: URL(fileURLWithPath: path)), offsets)
    }

    private func cut(_ bytes: Data, at length: Int) throws -> HDF5Container {
        let path = directory + "/cut\(length).h5"
        try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
        return try HDF5Container.open(path: path)
    }

    private func assertPastTheEnd(_ body: () throws -> Void, _ what: String) {
        let error = assertStoreError(.unreadable, body)
        XCTAssertTrue(error?.message.contains("past the end of the file") ?? false, "\(what): \(error?.message ?? "")")
    }

    func testContiguousDataPastTheCutIsAnErrorAndEverythingBeforeReadsAsIntact() throws {
        let (path, bytes, offsets) = try intact()
        let original = try HDF5Container.open(path: path)
        let back = try XCTUnwrap(offsets["back"])
        let truncated = try cut(bytes, at: back[0] + back[1] / 2)
        for name in ["/front", "/chunks"] {
            XCTAssertEqual(try truncated.readAll(name), try original.readAll(name), name)
        }
        XCTAssertEqual(try truncated.readStrings(dataset: .p("/text")), try original.readStrings(dataset: .p("/text")))
        assertPastTheEnd({ _ = try truncated.readAll("/back") }, "/back")
        XCTAssertEqual(truncated.openObjectCount(), 0)
    }

    func testStringsAndChunksPastTheCutAreErrors() throws {
        let (path, bytes, offsets) = try intact()
        let original = try HDF5Container.open(path: path)
        let text = try XCTUnwrap(offsets["text"])
        let inText = try cut(bytes, at: text[0] + text[1] / 2)
        assertPastTheEnd({ _ = try inText.readStrings(dataset: .p("/text")) }, "/text")
        XCTAssertEqual(try inText.readAll("/chunks"), try original.readAll("/chunks"))

        let chunk = try XCTUnwrap(offsets["chunk2"])
        let inChunks = try cut(bytes, at: chunk[0] + chunk[1] / 2)
        assertPastTheEnd({ _ = try inChunks.readAll("/chunks") }, "/chunks")
        // The chunks before the cut still read, one block at a time.
        var first = [UInt8](repeating: 0, count: 4000)
        try first.withUnsafeMutableBytes { buffer in
            try inChunks.readBlock(dataset: .p("/chunks"), start: [0], count: [1000], into: buffer)
        }
        XCTAssertEqual(first, Array(try original.readAll("/chunks").prefix(4000)))
        assertPastTheEnd({
            var third = [UInt8](repeating: 0, count: 4000)
            try third.withUnsafeMutableBytes { buffer in
                try inChunks.readBlock(dataset: .p("/chunks"), start: [2000], count: [1000], into: buffer)
            }
        }, "/chunks third chunk")
    }
}
