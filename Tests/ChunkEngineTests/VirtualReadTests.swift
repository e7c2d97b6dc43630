@testable import ChunkEngine
import Foundation
import H5Model
import HDF5
import Synchronization
import TestSupport
import XCTest

/// Virtual datasets h5py wrote, read natively by the engine from their source files and
/// compared with what h5py reads.
final class VirtualReadTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    /// Source files found next to the virtual dataset's file, as the mount finds them.
    final class SiblingFiles: VirtualSourceFiles {
        let notes = Mutex<[String]>([])
        func reader(forSourceFile name: String, of virtualFile: any ContainerReader) -> (any ContainerReader)? {
            if name == "." { return virtualFile }
            let directory = (virtualFile.filePath as NSString).deletingLastPathComponent
            return try? HDF5Container.open(path: directory + "/" + name)
        }
        func note(_ message: String) { notes.withLock { $0.append(message) } }
    }

    /// stack: (20, 6, 7) int16 over four gzip sources of (5, 6, 7) chunked per frame, the
    /// third one missing (fill -1). interleaved: (10, 9) whose even rows come from a (5, 7)
    /// source in (2, 3) chunks and odd rows from a contiguous dataset in the same file
    /// (column 0 of even rows unmapped). converted: int16 over int32 sources (libhdf5
    /// converts: not ours). Each dataset's bytes as h5py reads them go to NAME.raw.
    static let script = #"""
import sys, os, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
for i in range(4):
    with h5py.File(os.path.join(d, f"src_{i}.h5"), "w") as f:
        f.create_dataset("data", data=rng.integers(0, 3000, (5, 6, 7)).astype("<i2"), chunks=(1, 6, 7),
                         compression="gzip", compression_opts=4)
        f.create_dataset("wide", data=rng.integers(0, 1 << 30, (5, 6, 7)).astype("<i4"), chunks=(1, 6, 7))
        f.create_dataset("blocky", data=rng.integers(0, 3000, (5, 6, 7)).astype("<i2"), chunks=(2, 4, 4),
                         compression="gzip", shuffle=True)
        f.create_dataset("rows", data=rng.integers(0, 3000, (5, 7)).astype("<i2"), chunks=(2, 3),
                         compression="gzip")
layout = h5py.VirtualLayout(shape=(20, 6, 7), dtype="<i2")
for i in range(4):
    layout[i * 5:(i + 1) * 5] = h5py.VirtualSource(f"src_{i}.h5", "data", shape=(5, 6, 7))
rows = h5py.VirtualLayout(shape=(10, 9), dtype="<i2")
rows[0::2, 1:8] = h5py.VirtualSource("src_0.h5", "rows", shape=(5, 7))
blocky = h5py.VirtualLayout(shape=(20, 6, 7), dtype="<i2")
for i in range(4):
    blocky[i * 5:(i + 1) * 5] = h5py.VirtualSource(f"src_{i}.h5", "blocky", shape=(5, 6, 7))
wide = h5py.VirtualLayout(shape=(20, 6, 7), dtype="<i2")
for i in range(4):
    wide[i * 5:(i + 1) * 5] = h5py.VirtualSource(f"src_{i}.h5", "wide", shape=(5, 6, 7))
with h5py.File(os.path.join(d, "vds.h5"), "w", libver="earliest") as f:
    f.create_dataset("odd", data=np.arange(45, dtype="<i2").reshape(5, 9) + 1000)
    rows[1::2, :] = h5py.VirtualSource(".", "odd", shape=(5, 9))
    f.create_virtual_dataset("stack", layout, fillvalue=-1)
    f.create_virtual_dataset("interleaved", rows, fillvalue=-7)
    f.create_virtual_dataset("converted", wide, fillvalue=-1)
    f.create_virtual_dataset("blocky", blocky, fillvalue=-1)
os.remove(os.path.join(d, "src_2.h5"))
with h5py.File(os.path.join(d, "vds.h5"), "r") as f:
    for name in ("stack", "interleaved", "converted", "blocky"):
        open(os.path.join(d, name + ".raw"), "wb").write(f[name][()].tobytes())
"""#

    func makeFiles() throws -> HDF5Container {
        try Python.run(Self.script, arguments: [directory.url.path])
        return try HDF5Container.open(path: directory.url.appendingPathComponent("vds.h5").path)
    }

    func expected(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.url.appendingPathComponent(name + ".raw")))
    }

    /// A fresh engine's dataset `name` of `container`, its sources found by `files` (none: libhdf5's path).
    func open(_ name: String, in container: HDF5Container,
              files: SiblingFiles?) throws -> (ChunkEngine, RawArrayDataset) {
        let engine = ChunkEngine(cacheBytes: 1 << 20)
        let path = H5Path(parsing: "/" + name)
        return (engine, try engine.dataset(reader: container, path: path, info: container.dataset(at: path),
                                           virtualSources: files))
    }

    func checkReads(_ raw: RawArrayDataset, _ expected: [UInt8], _ name: String) throws {
        XCTAssertEqual(raw.byteCount, UInt64(expected.count), name)
        XCTAssertEqual(try raw.read(offset: 0, count: expected.count + 10), expected, name)
        var random = SeededRandom(seed: 4)
        for _ in 0..<200 {
            let offset = Int.random(in: 0..<expected.count, using: &random)
            let count = Int.random(in: 1...700, using: &random)
            let got = try raw.read(offset: UInt64(offset), count: count)
            guard got == Array(expected[offset..<min(expected.count, offset + count)]) else {
                return XCTFail("\(name): read(\(offset), \(count)) differs")
            }
        }
    }

    /// Frame-chunked sources: each virtual tile is one source chunk decoded in place, on
    /// the workers; the missing source's frames are the fill value; libhdf5 reads nothing.
    func testStackOfChunkedSourcesReadsNatively() throws {
        let container = try makeFiles()
        let files = SiblingFiles()
        let (engine, raw) = try open("stack", in: container, files: files)
        let expected = try expected("stack")
        // The missing third source really is the fill value (-1: 0xffff) in h5py's answer.
        XCTAssertEqual(Set(expected[(10 * 42 * 2)..<(15 * 42 * 2)]), [0xff])
        try checkReads(raw, expected, "stack")
        let stats = engine.statistics
        XCTAssertEqual(stats.blockReads, 0, "no block read through libhdf5")
        XCTAssertEqual(stats.virtualWholeChunks, 15, "each present frame is its source chunk")
        XCTAssertGreaterThanOrEqual(stats.chunkLoads, 15)
        XCTAssertEqual(files.notes.withLock { $0 },
                       ["virtual dataset /stack in \(container.filePath): read natively from 3 of 4 sources (1 missing: fill value)"])
    }

    /// Strided rows from two sources (one chunked, one contiguous in the virtual file itself),
    /// columns left unmapped: pieces copied row by row around the fill value.
    func testInterleavedRowsAndUnmappedColumns() throws {
        let container = try makeFiles()
        let (engine, raw) = try open("interleaved", in: container, files: SiblingFiles())
        let expected = try expected("interleaved")
        // Row 0, column 0 is unmapped: the fill value -7.
        XCTAssertEqual(Array(expected[0..<2]), [0xf9, 0xff])
        try checkReads(raw, expected, "interleaved")
        XCTAssertEqual(engine.statistics.blockReads, 0)
        XCTAssertGreaterThan(engine.statistics.virtualTiles, 0)
    }

    /// Sources in (2, 4, 4) chunks, five frames each: virtual tiles of the chunk shape, some
    /// one source chunk (aligned), some straddling two sources or a source and the missing
    /// one (assembled into full chunk-shaped buffers), edge tiles clipped along every axis.
    func testChunksThatStraddleSourcesAndEdges() throws {
        let container = try makeFiles()
        let (engine, raw) = try open("blocky", in: container, files: SiblingFiles())
        try checkReads(raw, try expected("blocky"), "blocky")
        let stats = engine.statistics
        XCTAssertEqual(stats.blockReads, 0)
        XCTAssertGreaterThan(stats.virtualWholeChunks, 0, "tiles at frames 0, 10 and 16 are source chunks")
        XCTAssertGreaterThan(stats.virtualTiles, stats.virtualWholeChunks, "tiles at frames 4, 8, 14 straddle")
    }

    /// A mapping libhdf5 must convert stays on libhdf5's path, and reads the same.
    func testTypeConversionStaysWithLibhdf5() throws {
        let container = try makeFiles()
        let files = SiblingFiles()
        let (engine, raw) = try open("converted", in: container, files: files)
        try checkReads(raw, try expected("converted"), "converted")
        XCTAssertGreaterThan(engine.statistics.blockReads, 0)
        XCTAssertEqual(engine.statistics.virtualTiles, 0)
        let notes = files.notes.withLock { $0 }
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.contains("read through libhdf5: mapping 0: source wide has another type") ?? false,
                      "\(notes)")
    }

    /// Without source files to read from (what the layer above gives under `-o swmr`, or
    /// none at all) a virtual dataset is read through libhdf5 as before.
    func testWithoutSourceFilesLibhdf5ReadsIt() throws {
        let container = try makeFiles()
        let (engine, raw) = try open("stack", in: container, files: nil)
        XCTAssertEqual(try raw.read(offset: 0, count: Int(raw.byteCount)), try expected("stack"))
        XCTAssertGreaterThan(engine.statistics.blockReads, 0)
        XCTAssertEqual(engine.statistics.virtualTiles, 0)
    }
}
