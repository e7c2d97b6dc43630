import Foundation
import H5Model
import TestSupport
import HDF5
import XCTest

/// HDF5Writer: files, links, attributes and raw (unfiltered) byte datasets, read back
/// through HDF5Container. Compressed datasets are tested from Staging (which encodes).
final class WriterTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5writer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func newContainer(_ name: String = "w.h5") throws -> (String, HDF5Writer) {
        let path = directory + "/" + name
        return (path, try HDF5Writer.create(path: path))
    }

    /// Raw chunks for `bytes` under `layout` (compression none): padded to the chunk size.
    private func rawChunks(_ bytes: [UInt8], _ layout: ByteDatasetLayout) -> [EncodedChunk] {
        (0..<layout.chunkCount).map { index in
            let range = layout.byteRange(ofChunk: index)
            var chunk = Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)])
            chunk += [UInt8](repeating: 0, count: layout.chunkSize - chunk.count)
            return EncodedChunk(index: index, bytes: chunk)
        }
    }

    func testCreatesSuperblockVersion2AndRefusesExistingFile() throws {
        let (path, writer) = try newContainer()
        try writer.close()
        let head = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(Array(head.prefix(8)), [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])
        XCTAssertEqual(head[8], 2, "superblock version 2: no open-for-write flag a crash could leave behind")
        assertStoreError(.accessDenied) { try HDF5Writer.create(path: path) }
        XCTAssertNoThrow(try HDF5Writer.create(path: path, truncate: true).close())
        assertStoreError(.notHDF5) {
            _ = FileManager.default.createFile(atPath: directory + "/text", contents: Data("hello".utf8))
            return try HDF5Writer.open(path: directory + "/text")
        }
        assertStoreError(.notFound) { try HDF5Writer.open(path: directory + "/missing.h5") }
    }

    func testByteDatasetsOfEverySizeReadBackExactly() throws {
        let (path, writer) = try newContainer()
        let sizes = [0, 1, 100, 4096, 4097, 3 * 4096, 10_000]
        for size in sizes {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let layout = ByteDatasetLayout(logicalSize: UInt64(size), preferredChunkSize: 4096, compression: .none)
            try writer.writeByteDataset(at: .p("/f\(size)"), chunks: rawChunks(bytes, layout), layout: layout)
        }
        XCTAssertEqual(writer.openObjectCount(), 0)
        let reader = try HDF5Container.open(path: path)
        for size in sizes {
            let info = try reader.dataset(at: .p("/f\(size)"))
            XCTAssertEqual(info.type, .integer(size: 1, signed: false, order: .little))
            XCTAssertEqual(info.shape, [UInt64(size)])
            XCTAssertEqual(info.filters, [])
            switch size {
            case 0:
                XCTAssertEqual(info.layout, .chunked(chunkShape: [1]))
                XCTAssertEqual(info.maxShape, [nil])
            case ...4096:
                // Small files: one chunk of exactly their size, fixed shape (single-chunk index).
                XCTAssertEqual(info.layout, .chunked(chunkShape: [UInt64(size)]))
                XCTAssertEqual(info.maxShape, [UInt64(size)])
            default:
                XCTAssertEqual(info.layout, .chunked(chunkShape: [4096]))
                XCTAssertEqual(info.maxShape, [nil])
            }
            let expected = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            XCTAssertEqual(try reader.readAll("/f\(size)"), expected, "size \(size)")
        }
        XCTAssertEqual(reader.openObjectCount(), 0)
    }

    func testUngivenChunksReadAsZerosAndUseNoSpace() throws {
        let (path, writer) = try newContainer()
        let layout = ByteDatasetLayout(logicalSize: 10_000, preferredChunkSize: 4096, compression: .none)
        var bytes = [UInt8](repeating: 0, count: 10_000)
        for i in 8192..<10_000 { bytes[i] = 0xEE }
        // Only the last chunk carries data; the first two are holes.
        try writer.writeByteDataset(at: .p("/sparse"), chunks: [rawChunks(bytes, layout)[2]], layout: layout)
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.readAll("/sparse"), bytes)
        XCTAssertEqual(try reader.dataset(at: .p("/sparse")).storageSize, 4096)
        let locations = try reader.chunkLocations(dataset: .p("/sparse"), chunks: [[0], [4096], [8192]])
        XCTAssertNil(locations[0])
        XCTAssertNil(locations[1])
        XCTAssertEqual(locations[2]?.size, 4096)
    }

    func testPendingDatasetAppearsOnlyWhenLinked() throws {
        let (path, writer) = try newContainer()
        let layout = ByteDatasetLayout(logicalSize: 8192, preferredChunkSize: 4096, compression: .none)
        let bytes = (0..<8192).map { UInt8(truncatingIfNeeded: $0 / 3) }
        let chunks = rawChunks(bytes, layout)
        let pending = try writer.beginByteDataset(layout: layout)
        try writer.writeChunks([chunks[1]], to: pending)
        XCTAssertEqual(writer.openObjectCount(), 1, "the pending dataset stays open between calls")
        XCTAssertFalse(try writer.linkExists(at: .p("/late")))
        try writer.writeChunks([chunks[0]], to: pending)
        try writer.link(pending, at: .p("/late"))
        XCTAssertEqual(writer.openObjectCount(), 0)
        assertStoreError(.invalidArgument) { try writer.writeChunks([chunks[0]], to: pending) }

        let dropped = try writer.beginByteDataset(layout: layout)
        try writer.writeChunks(chunks, to: dropped)
        writer.abandon(dropped)
        XCTAssertEqual(writer.openObjectCount(), 0)
        try writer.close()
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.links(in: .root).map(\.name), ["late"])
        XCTAssertEqual(try reader.readAll("/late"), bytes)
    }

    /// What `link` reports is what reading the dataset back reports: H5FS builds a packed
    /// file's node from it instead of reading it back.
    func testLinkReportsWhatAReaderSeesOfTheLinkedDataset() throws {
        let (path, writer) = try newContainer()
        let layout = ByteDatasetLayout(logicalSize: 3000, preferredChunkSize: 4096, compression: .standard)
        let stat = NamedValue(name: "h5mount.stat", value: .array([.int(0o644), .int(1000), .int(100), .int(1), .int(2)]))
        let fresh = try writer.link(try writer.beginByteDataset(layout: layout), at: .p("/f"), replacing: true,
                                    attributes: [stat])
        XCTAssertFalse(fresh.replaced, "nothing was at /f")
        XCTAssertEqual(fresh.attributes, [stat])
        let again = try writer.link(try writer.beginByteDataset(layout: layout), at: .p("/f"), replacing: true)
        XCTAssertTrue(again.replaced)
        try writer.close()
        let reader = try HDF5Container.open(path: path)
        let info = try reader.object(at: .p("/f"))
        XCTAssertEqual(again.info.address, info.address)
        XCTAssertEqual(again.info.referenceCount, info.referenceCount)
        XCTAssertEqual(again.info.kind, info.kind)
        XCTAssertEqual(fresh.info.attributeCount, 1)
        XCTAssertEqual(try reader.datasetSummary(at: .p("/f")), layout.summary)
    }

    func testReplacingKeepsTheOldContentUntilTheNewIsComplete() throws {
        let (path, writer) = try newContainer()
        let small = ByteDatasetLayout(logicalSize: 3, preferredChunkSize: 4096, compression: .none)
        try writer.writeByteDataset(at: .p("/f"), chunks: rawChunks([1, 2, 3], small), layout: small)
        assertStoreError(.invalidArgument) {
            try writer.writeByteDataset(at: .p("/f"), chunks: rawChunks([1, 2, 3], small), layout: small)
        }
        // A bad chunk fails before anything changes.
        assertStoreError(.invalidArgument) {
            try writer.writeByteDataset(at: .p("/f"), chunks: [EncodedChunk(index: 0, bytes: [9])], layout: small,
                                        replacing: true)
        }
        let other = ByteDatasetLayout(logicalSize: 2, preferredChunkSize: 4096, compression: .none)
        try writer.writeByteDataset(at: .p("/f"), chunks: rawChunks([7, 8], other), layout: other, replacing: true)
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.readAll("/f"), [7, 8])
    }

    func testGroupsAndLinks() throws {
        let (path, writer) = try newContainer()
        let one = ByteDatasetLayout(logicalSize: 1, preferredChunkSize: 4096, compression: .none)
        try writer.createGroup(at: .p("/a"))
        try writer.createGroup(at: .p("/a/b"))
        assertStoreError(.invalidArgument) { try writer.createGroup(at: .p("/a")) }
        assertStoreError(.notFound) { try writer.createGroup(at: .p("/missing/x")) }
        try writer.writeByteDataset(at: .p("/a/b/file"), chunks: rawChunks([42], one), layout: one)
        try writer.writeByteDataset(at: .p("/target"), chunks: rawChunks([43], one), layout: one)
        try writer.createSoftLink(at: .p("/a/soft"), target: "../weird target/ü")
        try writer.createHardLink(at: .p("/a/hard"), to: .p("/a/b/file"))
        try writer.createSoftLink(at: .p("/to-move"), target: "x")
        // Across groups, and over an existing name (the old target goes).
        try writer.moveLink(from: .p("/a/b/file"), to: .p("/target"))
        try writer.moveLink(from: .p("/to-move"), to: .p("/a/b/moved"))
        assertStoreError(.invalidArgument) { try writer.moveLink(from: .p("/a"), to: .p("/a/b/inside")) }
        assertStoreError(.notFound) { try writer.moveLink(from: .p("/nothing"), to: .p("/x")) }
        try writer.moveLink(from: .p("/a/b/moved"), to: .p("/a/b/moved"))
        assertStoreError(.notFound) { try writer.deleteLink(at: .p("/nothing")) }

        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.links(in: .root).map(\.name), ["a", "target"])
        XCTAssertEqual(try reader.links(in: .p("/a")).map(\.name), ["b", "hard", "soft"])
        XCTAssertEqual(try reader.link(named: "soft", in: .p("/a"))?.target, .soft("../weird target/ü"))
        XCTAssertEqual(try reader.link(named: "moved", in: .p("/a/b"))?.target, .soft("x"))
        XCTAssertEqual(try reader.readAll("/target"), [42])
        XCTAssertEqual(try reader.object(at: .p("/a/hard")).referenceCount, 2)
        XCTAssertEqual(try reader.object(at: .p("/target")).address, try reader.object(at: .p("/a/hard")).address)

        // Deleting one of two hard links keeps the object; the other name still reads it.
        try writer.deleteLink(at: .p("/target"))
        XCTAssertEqual(try reader.object(at: .p("/a/hard")).referenceCount, 1)
        XCTAssertEqual(try reader.readAll("/a/hard"), [42])
        try writer.deleteLink(at: .p("/a/b"))
        XCTAssertEqual(try reader.links(in: .p("/a")).map(\.name), ["hard", "soft"])
    }

    func testAttributesRoundTripAsJSON() throws {
        let (path, writer) = try newContainer()
        try writer.createGroup(at: .p("/g"))
        let values: [(String, JSONValue)] = [
            ("h5mount.mode", .int(0o100644)),
            ("h5mount.mtime", .double(1_700_000_000.25)),
            ("big", .uint(UInt64.max)),
            ("negative", .int(-5)),
            ("text", .string("héllo\nworld")),
            ("flag", .bool(true)),
            ("nothing", .null),
            ("matrix", .array([.array([.int(1), .int(2)]), .array([.int(3), .int(4)])])),
            ("mixed", .array([.int(1), .double(2.5)])),
            ("names", .array([.string("a"), .string("")])),
            ("empty", .array([])),
        ]
        for (name, value) in values { try writer.setAttribute(of: .p("/g"), name: name, value: value) }
        try writer.setAttribute(of: .p("/g"), name: "text", value: .string("replaced"))
        try writer.setAttribute(of: .p("/g"), name: "negative", value: .string("now a string"))
        try writer.deleteAttribute(of: .p("/g"), name: "big")
        assertStoreError(.notFound) { try writer.deleteAttribute(of: .p("/g"), name: "big") }
        assertStoreError(.notFound) { try writer.setAttribute(of: .p("/nope"), name: "x", value: .int(1)) }
        assertStoreError(.invalidArgument) {
            try writer.setAttribute(of: .p("/g"), name: "bad", value: .object([("k", .int(1))]))
        }
        assertStoreError(.invalidArgument) {
            try writer.setAttribute(of: .p("/g"), name: "ragged", value: .array([.array([.int(1)]), .int(2)]))
        }
        assertStoreError(.invalidArgument) {
            try writer.setAttribute(of: .p("/g"), name: "mix", value: .array([.string("a"), .int(2)]))
        }
        XCTAssertEqual(writer.openObjectCount(), 0)

        let reader = try HDF5Container.open(path: path)
        let read = Dictionary(uniqueKeysWithValues: try reader.attributes(of: .p("/g")).map { ($0.name, $0.value) })
        XCTAssertEqual(read["h5mount.mode"], .int(0o100644))
        XCTAssertEqual(read["h5mount.mtime"], .double(1_700_000_000.25))
        XCTAssertNil(read["big"])
        XCTAssertEqual(read["negative"], .string("now a string"))
        XCTAssertEqual(read["text"], .string("replaced"))
        XCTAssertEqual(read["flag"], .bool(true), "h5py's bool enum reads back as true/false")
        XCTAssertEqual(read["nothing"], .null)
        XCTAssertEqual(read["matrix"], .array([.array([.int(1), .int(2)]), .array([.int(3), .int(4)])]))
        XCTAssertEqual(read["mixed"], .array([.double(1), .double(2.5)]))
        XCTAssertEqual(read["names"], .array([.string("a"), .string("")]))
        XCTAssertEqual(read["empty"], .array([]))
        XCTAssertEqual(read.count, values.count - 1)
    }

    func testReaderSharesTheWritersFileAndCloseWaitsForIt() throws {
        let (path, writer) = try newContainer()
        var reader: HDF5Container? = try HDF5Container.open(path: path)
        let layout = ByteDatasetLayout(logicalSize: 5, preferredChunkSize: 4096, compression: .none)
        try writer.writeByteDataset(at: .p("/seen"), chunks: rawChunks([1, 2, 3, 4, 5], layout), layout: layout)
        // Not flushed: the reader sees it through libhdf5's shared file.
        XCTAssertEqual(try reader?.readAll("/seen"), [1, 2, 3, 4, 5])
        let location = try XCTUnwrap(try reader?.chunkLocations(dataset: .p("/seen"), chunks: [[0]]).first ?? nil)
        // The raw chunk is already in the file for a reader's own pread.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: path))
        try handle.seek(toOffset: location.offset)
        XCTAssertEqual(Array(try handle.read(upToCount: 5) ?? Data()), [1, 2, 3, 4, 5])
        try handle.close()
        assertStoreError(.busy) { try writer.close() }
        reader = nil
        try writer.close()
        try writer.close()
        assertStoreError(.invalidArgument) { try writer.createGroup(at: .p("/late")) }
        XCTAssertEqual(try HDF5Container.open(path: path).readAll("/seen"), [1, 2, 3, 4, 5])
    }

    func testWriterAfterReaderFails() throws {
        let (path, writer) = try newContainer()
        try writer.close()
        let reader = try HDF5Container.open(path: path)
        // libhdf5 will not upgrade a file it holds open read-only: open the writer first.
        XCTAssertThrowsError(try HDF5Writer.open(path: path))
        _ = reader
    }

    func testOpensAnH5pyFileAndAddsNewFormatDatasets() throws {
        let path = directory + "/old.h5"
        let script = "import h5py; f = h5py.File('\(path)', 'w'); f['x'] = b'abc'; f.create_group('g'); f.close()"
        try runPython(script)
        let writer = try HDF5Writer.open(path: path)
        let layout = ByteDatasetLayout(logicalSize: 2, preferredChunkSize: 4096, compression: .none)
        try writer.writeByteDataset(at: .p("/g/new"), chunks: rawChunks([5, 6], layout), layout: layout)
        try writer.close()
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.readAll("/g/new"), [5, 6])
        XCTAssertEqual(try reader.links(in: .root).map(\.name), ["g", "x"])
        let check = """
        import h5py
        f = h5py.File('\(path)', 'r')
        d = f['g/new']
        assert bytes(d[()]) == bytes([5, 6]), d[()]
        assert d.id.get_chunk_info(0).size == 2
        """
        try runPython(check)
    }

    private func runPython(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = ["-c", script]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, message)
    }
}
