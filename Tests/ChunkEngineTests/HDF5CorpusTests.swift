import ChunkEngine
import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// Every fixed-size dataset of the shared corpus, read through HDF5Container and the
/// engine, against the bytes numpy wrote: natively where the codecs can, and again with
/// every chunk forced through libhdf5 (`readBlock`), which must agree.
final class HDF5CorpusTests: XCTestCase {
    /// A codec that declines everything: every chunked dataset goes through `readBlock`.
    struct NoCodec: ChunkCodec {
        func canDecode(_ filters: [FilterSpec]) -> Bool { false }
        func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                    elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(ChunkCodecError) {
            throw ChunkCodecError("declined")
        }
    }

    /// Filters libhdf5 reads only through plugins (lz4, bitshuffle). The plugin path is
    /// process-wide, and HDF5Tests checks what happens without it, so these tests leave it
    /// alone: datasets with these filters are checked natively only.
    static let pluginFilters: Set<Int32> = [32004, 32008]

    private func checkAgainstExpected(_ raw: RawArrayDataset, _ expected: [UInt8], _ name: String,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(raw.byteCount, UInt64(expected.count), name, file: file, line: line)
        XCTAssertEqual(try raw.read(offset: 0, count: expected.count + 7), expected, name, file: file, line: line)
        guard !expected.isEmpty else { return }
        var random = SeededRandom(seed: 4)
        for _ in 0..<40 {
            let offset = Int.random(in: 0..<expected.count, using: &random)
            let count = Int.random(in: 1...max(1, expected.count / 2), using: &random)
            let want = Array(expected[offset..<min(expected.count, offset + count)])
            guard try raw.read(offset: UInt64(offset), count: count) == want else {
                XCTFail("\(name): read(\(offset), \(count)) differs", file: file, line: line)
                return
            }
        }
    }

    func testCorpusDatasetsReadAsNumpyWroteThem() throws {
        var checked = 0
        for fileName in ["types.h5", "bytes.h5"] {
            let container = try HDF5Container.open(path: Corpus.path(fileName))
            for (path, facts) in try Corpus.facts(file: fileName).sorted(by: { $0.key < $1.key }) where facts.expectedBin {
                let h5path = H5Path(parsing: path)
                let info = try container.dataset(at: h5path)
                let rendering = info.type.rendering(rank: info.shape?.count)
                guard rendering == .rawArray || rendering == .bytes else { continue }
                let expected = try Corpus.expectedBytes(file: fileName, dataset: path)
                let needsPlugin = info.filters.contains { Self.pluginFilters.contains($0.id) }
                for native in needsPlugin ? [true] : [true, false] {
                    let engine = native ? ChunkEngine(cacheBytes: 1 << 20) : ChunkEngine(cacheBytes: 1 << 20, codec: NoCodec())
                    let raw = try engine.dataset(reader: container, path: h5path, info: info)
                    try checkAgainstExpected(raw, expected, "\(fileName)\(path) native=\(native)")
                    if native, case .chunked = info.layout {
                        XCTAssertEqual(engine.statistics.blockReads, 0, "\(path): chunks decoded natively")
                        XCTAssertGreaterThan(engine.statistics.chunkLoads, 0, path)
                    }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 30)
    }

    func testExternalStorageAndVirtualDatasetWithMissingSource() throws {
        let types = try HDF5Container.open(path: Corpus.path("types.h5"))
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let externalPath = H5Path(parsing: "/layouts/external")
        let external = try engine.dataset(reader: types, path: externalPath, info: try types.dataset(at: externalPath))
        let elevens = (0..<12).flatMap { i -> [UInt8] in withUnsafeBytes(of: UInt16(i * 11).littleEndian) { Array($0) } }
        XCTAssertEqual(try external.read(offset: 0, count: 100), elevens)

        let links = try HDF5Container.open(path: Corpus.path("links.h5"))
        let vdsPath = H5Path(parsing: "/vds")
        let vds = try engine.dataset(reader: links, path: vdsPath, info: try links.dataset(at: vdsPath))
        let rows: [Int32] = (0..<4).flatMap { row in (0..<10).map { row < 3 ? Int32(row * 100 + $0) : -1 } }
        let want = rows.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        XCTAssertEqual(try vds.read(offset: 0, count: 1000), want)
        XCTAssertEqual(try vds.read(offset: 118, count: 6), Array(want[118..<124]), "across the missing row's edge")
    }

    func testFramesOfAGzipStackAndACorruptChunk() throws {
        let directory = try TestDirectory()
        defer { directory.remove() }
        let file = directory.url.appendingPathComponent("stack.h5").path
        let raw = directory.url.appendingPathComponent("stack.raw").path
        let info = directory.url.appendingPathComponent("stack.json").path
        try runPython("""
            import h5py, numpy as np, json
            data = np.random.default_rng(1).poisson(0.5, (6, 256, 200)).astype("<u2")
            with h5py.File("\(file)", "w") as f:
                ds = f.create_dataset("entry/data", data=data, chunks=(1, 256, 200), compression="gzip",
                                      compression_opts=4, shuffle=True)
                c = ds.id.get_chunk_info_by_coord((2, 0, 0))
                json.dump({"offset": c.byte_offset, "size": c.size}, open("\(info)", "w"))
            open("\(raw)", "wb").write(data.tobytes())
            """)
        let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
        let path = H5Path(parsing: "/entry/data")
        do {
            let container = try HDF5Container.open(path: file)
            let engine = ChunkEngine(cacheBytes: 4 * 256 * 200 * 2)
            let dataset = try engine.dataset(reader: container, path: path, info: try container.dataset(at: path))
            // Stream it as the kernel would, 128 KiB at a time.
            var streamed: [UInt8] = []
            while true {
                let piece = try dataset.read(offset: UInt64(streamed.count), count: 128 << 10)
                if piece.isEmpty { break }
                streamed += piece
            }
            XCTAssertEqual(streamed, expected)
            XCTAssertEqual(engine.statistics.chunkLoads, 6, "each frame decoded once")
            XCTAssertEqual(engine.statistics.blockReads, 0)
            XCTAssertLessThanOrEqual(engine.cachedBytes, 4 * 256 * 200 * 2)
        }

        // Scribble over the middle of frame 2's compressed bytes.
        let chunk = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: Int] ?? [:]
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: file))
        try handle.seek(toOffset: UInt64((chunk["offset"] ?? 0) + (chunk["size"] ?? 0) / 2))
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 64))
        try handle.close()
        let container = try HDF5Container.open(path: file)
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let dataset = try engine.dataset(reader: container, path: path, info: try container.dataset(at: path))
        let frame = 256 * 200 * 2
        XCTAssertEqual(try dataset.read(offset: UInt64(frame), count: frame), Array(expected[frame..<(2 * frame)]))
        XCTAssertThrowsError(try dataset.read(offset: UInt64(2 * frame) + 1001, count: 10)) { error in
            XCTAssertTrue("\(error)".contains("/entry/data chunk at [2, 0, 0]"), "\(error)")
        }
        XCTAssertEqual(try dataset.read(offset: UInt64(3 * frame), count: 10), Array(expected[(3 * frame)..<(3 * frame + 10)]))
    }

    func testConcurrentReadersOverRealChunksWithATinyCache() throws {
        let container = try HDF5Container.open(path: Corpus.path("types.h5"))
        let engine = ChunkEngine(cacheBytes: 4096)
        for name in ["/layouts/chunked_gzip", "/layouts/chunked_bslz4", "/layouts/chunked_fill"] {
            let path = H5Path(parsing: name)
            let dataset = try engine.dataset(reader: container, path: path, info: try container.dataset(at: path))
            let expected = try Corpus.expectedBytes(file: "types.h5", dataset: name)
            let mismatches = ResultsBox(count: 4)
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                var random = SeededRandom(seed: UInt64(worker))
                var bad = 0
                for _ in 0..<60 {
                    let offset = Int.random(in: 0..<expected.count, using: &random)
                    let count = Int.random(in: 1...expected.count, using: &random)
                    let got = (try? dataset.read(offset: UInt64(offset), count: count)) ?? []
                    if got != Array(expected[offset..<min(expected.count, offset + count)]) { bad += 1 }
                }
                mismatches.set(worker, [UInt8(min(bad, 255))])
            }
            XCTAssertEqual(mismatches.all, [[0], [0], [0], [0]], name)
            XCTAssertLessThanOrEqual(engine.cachedBytes, 4096)
        }
    }

    private func runPython(_ source: String) throws {
        let python = try Corpus.pythonPath()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", source]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "python failed")
    }
}
