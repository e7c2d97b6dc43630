import ChunkEngine
import Foundation
import H5Model
import TestSupport
import XCTest

struct RealChunkFilesError: Error { var message: String }

/// Real HDF5 files written by h5py (gzip, shuffle, fletcher32, LZ4, bitshuffle, fill values,
/// filter masks, edge chunks), with each dataset's chunk locations and raw array as h5py
/// sees them. Lets the engine's pread + decode path be checked on real chunks without the
/// HDF5 module: the fake reader answers `chunkLocations` from h5py's own index.
struct RealChunkFiles {
    struct Dataset {
        var name: String
        var info: DatasetInfo
        var expected: [UInt8]
        var locations: [[UInt64]: ChunkLocation]
        var shape: [Int]
        var itemSize: Int
    }

    let file: String
    let datasets: [Dataset]

    /// Writes the files into `directory` with the tests' h5py (TestSupport.Corpus.pythonPath).
    init(directory: URL) throws {
        let script = directory.appendingPathComponent("make.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = [script.path, directory.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RealChunkFilesError(message: "h5py could not write the test file: \(errorText)")
        }
        file = directory.appendingPathComponent("real.h5").path
        let manifestData = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        guard let manifest = try JSONSerialization.jsonObject(with: manifestData) as? [[String: Any]] else {
            throw RealChunkFilesError(message: "manifest unreadable")
        }
        datasets = try manifest.map { entry in try Self.dataset(entry, directory: directory) }
    }

    private static func dataset(_ entry: [String: Any], directory: URL) throws -> Dataset {
        func ints(_ key: String) -> [Int] { (entry[key] as? [NSNumber])?.map(\.intValue) ?? [] }
        let name = entry["name"] as? String ?? ""
        let itemSize = (entry["itemsize"] as? NSNumber)?.intValue ?? 0
        let shape = ints("shape")
        let layout: StorageLayout
        switch entry["layout"] as? String {
        case "chunked": layout = .chunked(chunkShape: ints("chunks").map(UInt64.init))
        case "contiguous": layout = .contiguous(offset: (entry["offset"] as? NSNumber)?.uint64Value)
        default: layout = .compact
        }
        let filters = (entry["filters"] as? [[String: Any]] ?? []).map { filter in
            FilterSpec(id: Int32((filter["id"] as? NSNumber)?.intValue ?? 0), name: filter["name"] as? String ?? "",
                       flags: UInt32((filter["flags"] as? NSNumber)?.intValue ?? 0),
                       clientData: (filter["cd"] as? [NSNumber] ?? []).map { UInt32($0.uint32Value) })
        }
        var locations: [[UInt64]: ChunkLocation] = [:]
        for chunk in entry["chunk_index"] as? [[String: Any]] ?? [] {
            let origin = (chunk["origin"] as? [NSNumber] ?? []).map(\.uint64Value)
            locations[origin] = ChunkLocation(offset: (chunk["offset"] as? NSNumber)?.uint64Value ?? 0,
                                              size: (chunk["size"] as? NSNumber)?.uint64Value ?? 0,
                                              filterMask: (chunk["mask"] as? NSNumber)?.uint32Value ?? 0)
        }
        let fill = (entry["fill"] as? [NSNumber])?.map(\.uint8Value)
        let expected = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name + ".raw")))
        let info = DatasetInfo(type: .opaque(size: itemSize, tag: ""), shape: shape.map(UInt64.init), maxShape: nil,
                               layout: layout, filters: filters, fillValue: nil, fillValueBytes: fill,
                               storageSize: 0, virtualSources: [])
        return Dataset(name: name, info: info, expected: expected, locations: locations, shape: shape, itemSize: itemSize)
    }

    func container(for dataset: Dataset) -> FakeContainer {
        FakeContainer(filePath: file, shape: dataset.shape, elementSize: dataset.itemSize,
                      expected: dataset.expected, locations: dataset.locations)
    }

    static let script = #"""
import json, sys, os
import numpy as np, h5py, hdf5plugin

out = sys.argv[1]
rng = np.random.default_rng(42)
path = os.path.join(out, "real.h5")
with h5py.File(path, "w") as f:
    f.create_dataset("gzip_shuffle", data=rng.poisson(0.5, (20, 100, 90)).astype("<u2"),
                     chunks=(1, 64, 64), compression="gzip", compression_opts=4, shuffle=True)
    f.create_dataset("lz4", data=rng.integers(-50, 50, (1000, 37)).astype("<i4"), chunks=(128, 16),
                     **hdf5plugin.LZ4())
    f.create_dataset("bslz4", data=rng.poisson(2.0, (7, 200, 300)).astype("<u2"), chunks=(1, 200, 300),
                     **hdf5plugin.Bitshuffle(cname="lz4"))
    f.create_dataset("bslz4_odd", data=rng.poisson(2.0, (3, 33, 37)).astype(">u4"), chunks=(2, 33, 37),
                     **hdf5plugin.Bitshuffle(cname="lz4"))
    f.create_dataset("fletcher", data=rng.normal(size=(50, 50)).astype(">f8"), chunks=(16, 16),
                     compression="gzip", fletcher32=True)
    sparse = f.create_dataset("sparse", shape=(100, 100), dtype="<i2", chunks=(10, 10), fillvalue=-7)
    sparse[15:25, 40:47] = 3
    sparse[90:100, 95:100] = rng.integers(0, 100, (10, 5))
    f.create_dataset("bytes", data=rng.integers(0, 4, 100_000).astype("u1"), chunks=(16384,),
                     compression="gzip")
    f.create_dataset("compound", data=np.array([(i, i / 3) for i in range(300)], dtype=[("a", "<i4"), ("b", "<f8")]),
                     chunks=(64,), compression="gzip", shuffle=True)
    f.create_dataset("contiguous", data=rng.normal(size=(40, 30)).astype("<f4"))
    arr = f.create_dataset("array", shape=(50,), dtype=np.dtype("(3,)<u2"), chunks=(8,), compression="gzip",
                           shuffle=True)
    arr[...] = rng.integers(0, 1000, (50, 3)).astype("<u2")
    masked = f.create_dataset("masked", shape=(64,), dtype="u1", chunks=(16,), compression="gzip")
    masked[16:] = np.arange(48, dtype="u1")
    masked.id.write_direct_chunk((0,), bytes(range(100, 116)), filter_mask=1)
    f.create_dataset("unfiltered", data=rng.integers(0, 255, (33, 17)).astype("u1"), chunks=(8, 8))

manifest = []
with h5py.File(path, "r") as f:
    for name in f:
        ds = f[name]
        data = ds[()]
        with open(os.path.join(out, name + ".raw"), "wb") as raw:
            raw.write(np.ascontiguousarray(data).tobytes())
        dcpl = ds.id.get_create_plist()
        filters = []
        for i in range(dcpl.get_nfilters()):
            code, flags, cd, fname = dcpl.get_filter(i)
            filters.append({"id": int(code), "flags": int(flags), "cd": [int(c) for c in cd],
                            "name": fname.decode("ascii", "replace")})
        fill = np.empty(1, dtype=ds.dtype)
        fill[0] = ds.fillvalue
        entry = {"name": name, "itemsize": ds.dtype.itemsize, "shape": list(ds.shape), "filters": filters,
                 "fill": list(fill.tobytes())}
        if ds.chunks:
            entry["layout"] = "chunked"
            entry["chunks"] = list(ds.chunks)
            index = []
            for i in range(ds.id.get_num_chunks()):
                info = ds.id.get_chunk_info(i)
                index.append({"origin": list(info.chunk_offset), "offset": int(info.byte_offset),
                              "size": int(info.size), "mask": int(info.filter_mask)})
            entry["chunk_index"] = index
        else:
            entry["layout"] = "contiguous"
            entry["offset"] = ds.id.get_offset()
        manifest.append(entry)
with open(os.path.join(out, "manifest.json"), "w") as m:
    json.dump(manifest, m)
"""#
}
