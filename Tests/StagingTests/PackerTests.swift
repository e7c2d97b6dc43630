import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// Packer round trips for every compression (decoded natively, and through libhdf5 where it
/// needs no plugin), and the files it makes opened by h5py (with hdf5plugin for lz4/bslz4).
final class PackerTests: StagingTestCase {
    static let compressions: [Compression] = [.gzip(level: 6), .gzip(level: 1), .none, .lz4, .bitshuffleLZ4]

    /// Sizes around the chunk size, for a chunk size of 4096, plus a multi-MiB file.
    private func cases(chunk: Int) -> [(String, [UInt8])] {
        var list: [(String, [UInt8])] = [
            ("empty", []),
            ("one", [0x42]),
            ("small", sampleBytes(100)),
            ("exact", sampleBytes(chunk, seed: 2)),
            ("chunkPlusOne", sampleBytes(chunk + 1, seed: 3)),
            ("noisy", sampleBytes(3 * chunk + 17, seed: 4, noisy: true)),
        ]
        var holey = sampleBytes(5 * chunk, seed: 5)
        holey.replaceSubrange(chunk..<(3 * chunk), with: [UInt8](repeating: 0, count: 2 * chunk))
        list.append(("holey", holey))
        list.append(("zeros", [UInt8](repeating: 0, count: chunk + 5)))
        return list
    }

    func testRoundTripsForEveryCompression() throws {
        let chunk = 4096
        let files = cases(chunk: chunk)
        for compression in Self.compressions {
            let container = path("\(compression).h5")
            let writer = try HDF5Writer.create(path: container)
            let packer = Packer(compression: compression, chunkSize: chunk, pool: WorkerPool(threads: 2))
            for (index, (name, bytes)) in files.enumerated() {
                let spool = try makeSpool(path("spool-\(compression)-\(index)"), bytes)
                try spool.seal()
                let result = try packer.pack(spool, into: writer, at: .p("/\(name)"))
                XCTAssertEqual(result.layout.logicalSize, UInt64(bytes.count))
                if name == "holey" { XCTAssertEqual(result.chunksWritten, 3, "the two zero chunks stay holes") }
                if name == "zeros" { XCTAssertEqual(result.chunksWritten, 0) }
            }
            XCTAssertEqual(writer.openObjectCount(), 0)
            try writer.close()
            let reader = try HDF5Container.open(path: container)
            for (name, bytes) in files {
                XCTAssertEqual(try nativeBytes(reader, "/\(name)"), bytes, "\(compression) \(name)")
                if !compression.needsPlugin {
                    XCTAssertEqual(try reader.bytes("/\(name)"), bytes, "\(compression) \(name) through libhdf5")
                }
                let info = try reader.dataset(at: .p("/\(name)"))
                XCTAssertEqual(info.filters.map(\.id), compression.filters.map(\.id), "\(compression) \(name)")
                XCTAssertEqual(info.filters.map(\.clientData), compression.filters.map(\.clientData),
                               "\(compression) \(name): the client values hdf5plugin and h5py store")
                XCTAssertEqual(info.filters.map(\.flags), compression.filters.map(\.flags), "\(compression) \(name)")
            }
        }
    }

    func testMultiMegabyteFileWithDefaultChunks() throws {
        let bytes = sampleBytes(3 * (1 << 20) + 12_345, seed: 9)
        let container = path("big.h5")
        let writer = try HDF5Writer.create(path: container)
        let spool = try makeSpool(path("spool"), bytes)
        try spool.seal()
        let result = try Packer(pool: WorkerPool(threads: 2)).pack(spool, into: writer, at: .p("/big"))
        XCTAssertEqual(result.layout.chunkSize, 1 << 20)
        XCTAssertEqual(result.chunksWritten, 4)
        XCTAssertLessThan(result.storedBytes, UInt64(bytes.count) / 2)
        try writer.close()
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.bytes("/big"), bytes)
        XCTAssertEqual(try reader.dataset(at: .p("/big")).maxShape, [nil], "big files can grow in place")
    }

    func testGzipContainerOpensInPlainH5py() throws {
        let files = cases(chunk: 4096)
        let container = path("gzip.h5")
        let writer = try HDF5Writer.create(path: container)
        let packer = Packer(compression: .standard, chunkSize: 4096, pool: WorkerPool(threads: 2))
        try writer.createGroup(at: .p("/dir"))
        for (index, (name, bytes)) in files.enumerated() {
            let spool = try makeSpool(path("spool-\(index)"), bytes)
            try spool.seal()
            try packer.pack(spool, into: writer, at: .p("/dir/\(name)"))
            try Data(bytes).write(to: URL(fileURLWithPath: path("expected-\(name)")))
        }
        try writer.close()
        let script = """
        import sys, h5py
        container, expected = sys.argv[1], sys.argv[2]
        f = h5py.File(container, 'r')
        for name in f['dir']:
            d = f['dir'][name]
            data = bytes(d[()]) if d.shape != (0,) else b''
            assert data == open(expected + '/expected-' + name, 'rb').read(), name
            assert d.compression == 'gzip' and d.compression_opts == 6, (name, d.compression)
        assert 'hdf5plugin' not in sys.modules
        print(len(f['dir']))
        """
        XCTAssertEqual(try runPython(script, arguments: [container, directory]), "\(files.count)\n")
    }

    func testLZ4AndBitshuffleContainersOpenWithHdf5plugin() throws {
        let bytes = sampleBytes(10_000, seed: 11)
        for compression in [Compression.lz4, .bitshuffleLZ4] {
            let container = path("\(compression).h5")
            let writer = try HDF5Writer.create(path: container)
            let spool = try makeSpool(path("spool-\(compression)"), bytes)
            try spool.seal()
            try Packer(compression: compression, chunkSize: 4096, pool: WorkerPool(threads: 2))
                .pack(spool, into: writer, at: .p("/f"))
            try writer.close()
            try Data(bytes).write(to: URL(fileURLWithPath: path("expected")))
            let script = """
            import sys, h5py, hdf5plugin
            f = h5py.File(sys.argv[1], 'r')
            assert bytes(f['f'][()]) == open(sys.argv[2], 'rb').read()
            """
            try runPython(script, arguments: [container, path("expected")])
        }
    }

    func testPackerRefusesASourceThatShrinks() throws {
        struct Shrinking: ByteSource {
            var size: UInt64 { 10_000 }
            func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StagingError) -> Int {
                offset >= 5_000 ? 0 : min(buffer.count, 5_000 - Int(offset))
            }
        }
        let writer = try HDF5Writer.create(path: path("x.h5"))
        let packer = Packer(compression: .standard, chunkSize: 1024, pool: WorkerPool(threads: 2))
        assertStagingError(EIO) { try packer.pack(Shrinking(), into: writer, at: .p("/f")) }
        // The failed pack left nothing behind: no link, no open dataset.
        XCTAssertFalse(try writer.linkExists(at: .p("/f")))
        XCTAssertEqual(writer.openObjectCount(), 0)
    }
}
