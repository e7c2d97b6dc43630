@testable import ChunkEngine
import Foundation
import H5Model
import TestSupport
import HDF5
import XCTest

/// The chunk index read straight from files h5py wrote (version 1 B-trees, single chunks,
/// fixed arrays paged and not), against h5py's own chunk list; index types we do not read
/// are refused, and mangled files never crash the walk.
final class NativeIndexTests: XCTestCase {
    /// The files, written once for the whole class.
    static let shared: Result<(URL, [String: Expected]), any Error> = Result { try makeFiles() }
    var directory: URL { get throws { try Self.shared.get().0 } }
    var files: [String: Expected] { get throws { try Self.shared.get().1 } }

    override class func tearDown() {
        if case .success(let (url, _)) = shared { try? FileManager.default.removeItem(at: url) }
        super.tearDown()
    }

    struct Expected: Sendable {
        var shape: [Int]
        var maxShape: [Int]?
        var chunks: [Int]
        var itemSize: Int
        var locations: [[Int]: ChunkLocation]
        var raw: [UInt8]
    }

    static let script = #"""
import json, sys, os
import numpy as np, h5py

out = sys.argv[1]
rng = np.random.default_rng(3)
specs = {}
def add(f, name, **kw):
    specs[(f.filename, name)] = True
    return f.create_dataset(name, **kw)

# "latest" = the 1.10 format (layout message 4 with the new chunk indexes), which
# libhdf5 1.10 reads; h5py's own latest (2.0) is beyond it.
for name, libver in [("earliest", "earliest"), ("latest", ("v110", "v110"))]:
    path = os.path.join(out, name + ".h5")
    with h5py.File(path, "w", libver=libver) as f:
        add(f, "many", data=rng.integers(0, 9, 5000 * 16).astype("u1"), chunks=(16,), compression="gzip")
        d = add(f, "sparse3d", shape=(9, 40, 33), dtype="<i2", chunks=(2, 8, 8), compression="gzip", shuffle=True)
        d[1:6, 3:30, 5:20] = rng.integers(-100, 100, (5, 27, 15))
        add(f, "plain", data=rng.integers(0, 1000, (50, 70)).astype("<u4"), chunks=(7, 9))
        m = add(f, "masked", shape=(64,), dtype="u1", chunks=(16,), compression="gzip")
        m[16:] = np.arange(48, dtype="u1")
        m.id.write_direct_chunk((0,), bytes(range(100, 116)), filter_mask=1)
        add(f, "single", data=rng.integers(0, 50, (30, 20)).astype("<i8"), chunks=(30, 20), compression="gzip")
        add(f, "single_raw", data=rng.integers(0, 50, (30, 20)).astype("<i8"), chunks=(30, 20))
        p = add(f, "paged", shape=(3000, 4), dtype="<f4", chunks=(1, 4))
        p[0:500] = rng.normal(size=(500, 4))
        p[2900:2950] = rng.normal(size=(50, 4))
        add(f, "unlimited", data=np.arange(1000, dtype="<i4"), chunks=(100,), maxshape=(None,))
        add(f, "unlimited2", data=np.arange(400, dtype="<i4").reshape(20, 20), chunks=(5, 5), maxshape=(None, None))
        o = add(f, "ordered", data=np.arange(300, dtype="<u2"), chunks=(32,), compression="gzip", track_order=True)
        for i in range(12):
            o.attrs["a%d" % i] = i
        r = add(f, "shrunk", data=np.arange(100, dtype="<i2"), chunks=(10,), maxshape=(100,))
        r.resize((55,))
with h5py.File(os.path.join(out, "userblock.h5"), "w", userblock_size=512) as f:
    add(f, "many", data=rng.integers(0, 9, 300 * 16).astype("u1"), chunks=(16,), compression="gzip")

manifest = {}
for (filename, name) in specs:
    with h5py.File(filename, "r") as f:
        ds = f[name]
        chunks = []
        for i in range(ds.id.get_num_chunks()):
            c = ds.id.get_chunk_info(i)
            chunks.append([list(c.chunk_offset), c.byte_offset, c.size, c.filter_mask])
        manifest[os.path.basename(filename) + ":" + name] = {
            "shape": list(ds.shape), "maxshape": [m if m is not None else -1 for m in ds.maxshape], "chunks": list(ds.chunks), "itemsize": ds.dtype.itemsize,
            "index": chunks}
        open(os.path.join(out, os.path.basename(filename) + "." + name + ".raw"), "wb").write(ds[()].tobytes())
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"))
"""#

    static func makeFiles() throws -> (URL, [String: Expected]) {
        let python = try Corpus.pythonPath()
        let directory = try TestDirectory()
        let script = directory.url.appendingPathComponent("make.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, directory.url.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw RealChunkFilesError(message: "h5py failed") }
        let data = try Data(contentsOf: directory.url.appendingPathComponent("manifest.json"))
        guard let manifest = try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else {
            throw RealChunkFilesError(message: "manifest unreadable")
        }
        var result: [String: Expected] = [:]
        for (key, entry) in manifest {
            let ints = { (name: String) in (entry[name] as? [NSNumber] ?? []).map(\.intValue) }
            var locations: [[Int]: ChunkLocation] = [:]
            for chunk in entry["index"] as? [[Any]] ?? [] {
                let origin = (chunk[0] as? [NSNumber] ?? []).map(\.intValue)
                locations[origin] = ChunkLocation(offset: (chunk[1] as? NSNumber)?.uint64Value ?? 0,
                                                  size: (chunk[2] as? NSNumber)?.uint64Value ?? 0,
                                                  filterMask: (chunk[3] as? NSNumber)?.uint32Value ?? 0)
            }
            let rawName = key.replacingOccurrences(of: ":", with: ".") + ".raw"
            let raw = [UInt8](try Data(contentsOf: directory.url.appendingPathComponent(rawName)))
            let maxShape = ints("maxshape")
            result[key] = Expected(shape: ints("shape"), maxShape: maxShape.contains(-1) ? nil : maxShape, chunks: ints("chunks"), itemSize: (entry["itemsize"] as? NSNumber)?.intValue ?? 0,
                                   locations: locations, raw: raw)
        }
        return (directory.url, result)
    }

    func nativeIndex(file: String, dataset: String, expected: Expected) throws -> [Int: ChunkLocation] {
        let path = try directory.appendingPathComponent(file).path
        let container = try HDF5Container.open(path: path)
        let address = try container.object(at: H5Path(parsing: dataset)).address
        let grid = TileGrid(shape: expected.shape, tileShape: expected.chunks, elementSize: expected.itemSize,
                            fullTileBuffers: true)
        let files = FileTable()
        return try NativeChunkIndex.read(file: try files.file(at: path), objectAddress: address, grid: grid,
                                         maxShape: expected.maxShape)
    }

    func testIndexesMatchH5pysChunkList() throws {
        let files = try self.files
        let readable = ["many", "sparse3d", "plain", "masked", "single", "single_raw", "paged", "shrunk", "ordered"]
        for file in ["earliest.h5", "latest.h5"] {
            for name in readable {
                let expected = try XCTUnwrap(files["\(file):\(name)"])
                let grid = TileGrid(shape: expected.shape, tileShape: expected.chunks, elementSize: expected.itemSize,
                                    fullTileBuffers: true)
                let native = try nativeIndex(file: file, dataset: "/" + name, expected: expected)
                var want: [Int: ChunkLocation] = [:]
                for (origin, location) in expected.locations {
                    let tile = zip(origin, expected.chunks).map { $0 / $1 }
                    want[grid.linearIndex(of: tile)] = location
                }
                XCTAssertEqual(native, want, "\(file) \(name)")
            }
        }
        XCTAssertEqual(try nativeIndex(file: "earliest.h5", dataset: "/many", expected: XCTUnwrap(files["earliest.h5:many"])).count,
                       5000, "a B-tree several levels deep")
        // Extensible arrays and version 2 B-trees (unlimited dims with libver latest) are
        // left to the reader.
        for name in ["unlimited", "unlimited2"] {
            let expected = try XCTUnwrap(files["latest.h5:\(name)"])
            XCTAssertThrowsError(try nativeIndex(file: "latest.h5", dataset: "/" + name, expected: expected), name)
            let earliest = try XCTUnwrap(files["earliest.h5:\(name)"])
            XCTAssertEqual(try nativeIndex(file: "earliest.h5", dataset: "/" + name, expected: earliest).count,
                           earliest.locations.count)
        }
    }

    func testEngineReadsEveryDatasetThroughTheNativeIndexOrTheReader() throws {
        let files = try self.files
        for (key, expected) in files.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: ":").map(String.init)
            let container = try HDF5Container.open(path: try directory.appendingPathComponent(parts[0]).path)
            let path = H5Path(parsing: parts[1])
            let engine = ChunkEngine(cacheBytes: 1 << 20)
            let dataset = try engine.dataset(reader: container, path: path, info: try container.dataset(at: path))
            XCTAssertEqual(try dataset.read(offset: 0, count: expected.raw.count), expected.raw, key)
            var random = SeededRandom(seed: 8)
            for _ in 0..<20 {
                let offset = Int.random(in: 0..<expected.raw.count, using: &random)
                let count = Int.random(in: 1...4000, using: &random)
                XCTAssertEqual(try dataset.read(offset: UInt64(offset), count: count),
                               Array(expected.raw[offset..<min(expected.raw.count, offset + count)]), key)
            }
            let stats = engine.statistics
            let native = !(parts[0] == "latest.h5" && parts[1].hasPrefix("unlimited"))
            XCTAssertEqual(stats.nativeIndexes, native ? 1 : 0, key)
            XCTAssertEqual(stats.nativeIndexRejected, native ? 0 : 1, key)
            if native {
                XCTAssertEqual(stats.locateCalls, 1, "\(key): only the sample check asks libhdf5")
            }
        }
    }

    func testMangledIndexStructuresNeverCrashTheWalk() throws {
        let files = try self.files
        let expected = try XCTUnwrap(files["userblock.h5:many"])
        let original = try Data(contentsOf: try directory.appendingPathComponent("userblock.h5"))
        let container = try HDF5Container.open(path: try directory.appendingPathComponent("userblock.h5").path)
        let address = try container.object(at: H5Path(parsing: "/many")).address
        let grid = TileGrid(shape: expected.shape, tileShape: expected.chunks, elementSize: 1, fullTileBuffers: true)
        // Mutate bytes where the metadata lives (the first 4 KiB and the B-tree nodes,
        // which sit before the data in the file h5py wrote), then walk.
        let smallestChunk = Int(expected.locations.values.map(\.offset).min() ?? 4096)
        var random = SeededRandom(seed: 77)
        var outcomes = (threw: 0, read: 0)
        for round in 0..<150 {
            var bytes = [UInt8](original)
            for _ in 0..<(1 + round % 4) {
                let at = Int.random(in: 512..<min(bytes.count, max(4096, smallestChunk)), using: &random)
                bytes[at] = UInt8.random(in: 0...255, using: &random)
            }
            let path = try directory.appendingPathComponent("mangled.h5").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let table = FileTable()
            do {
                let chunks = try NativeChunkIndex.read(file: try table.file(at: path), objectAddress: address, grid: grid)
                XCTAssertTrue(chunks.keys.allSatisfy { $0 >= 0 && $0 < grid.tileCount })
                outcomes.read += 1
            } catch {
                outcomes.threw += 1
            }
        }
        XCTAssertEqual(outcomes.read + outcomes.threw, 150)
        XCTAssertGreaterThan(outcomes.threw, 0)
    }
}
