import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// Container bytes per small file beyond its compressed content: ours against h5py's
/// default file (what the seed's h5zip writes: one gzip dataset per file).
final class OverheadTests: StagingTestCase {
    static let fileCount = 1000

    static func size(_ index: Int) -> Int { 100 + (index * 397) % 4000 }

    func testSmallFilesCostLessThanAQuarterOfH5pysOverhead() throws {
        // Ours: 10 directories of 100 files, gzip 6, through spools and the packer.
        let ours = path("ours.h5")
        let writer = try HDF5Writer.create(path: ours)
        let packer = Packer(compression: .standard, pool: WorkerPool(threads: 2))
        var stored: UInt64 = 0
        for index in 0..<Self.fileCount {
            if index % 100 == 0 { try writer.createGroup(at: .p("/dir\(index / 100)")) }
            let spool = try makeSpool(path("spool"), sampleBytes(Self.size(index), seed: UInt64(index)))
            try spool.seal()
            stored += try packer.pack(spool, into: writer, at: .p("/dir\(index / 100)/file\(index).txt")).storedBytes
            spool.remove()
        }
        try writer.close()
        let ourOverhead = (Double(try fileSize(ours)) - Double(stored)) / Double(Self.fileCount)

        // h5py, default file, same tree and bytes: overhead = file size - stored chunk bytes.
        let theirs = path("h5py.h5")
        let sizes = (0..<Self.fileCount).map { String(Self.size($0)) }.joined(separator: ",")
        let script = """
        import sys, h5py, numpy
        sys.path.insert(0, '')
        path, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split(',')]
        words = b"the quick brown fox jumps over the lazy dog 0123456789\\n"
        def sample(count, seed):
            state = (seed * 0x9E3779B97F4A7C15 | 1) & (2**64 - 1)
            out = bytearray(count)
            for i in range(count):
                state ^= (state << 13) & (2**64 - 1); state ^= state >> 7; state ^= (state << 17) & (2**64 - 1)
                out[i] = words[(i + state % 3) % len(words)]
            return bytes(out)
        stored = 0
        with h5py.File(path, 'w') as f:
            for i, size in enumerate(sizes):
                d = f.create_dataset('dir%d/file%d.txt' % (i // 100, i), data=numpy.frombuffer(sample(size, i), dtype='u1'),
                                     compression='gzip', compression_opts=6)
                stored += sum(d.id.get_chunk_info(k).size for k in range(d.id.get_num_chunks()))
        print(stored)
        """
        let theirStored = Double(try runPython(script, arguments: [theirs, sizes])
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let theirOverhead = (Double(try fileSize(theirs)) - theirStored) / Double(Self.fileCount)
        print("per-file overhead, \(Self.fileCount) files of 100..4100 bytes: h5mount \(Int(ourOverhead)) bytes, "
              + "h5py default \(Int(theirOverhead)) bytes; content \(stored) vs \(Int(theirStored)) bytes")
        XCTAssertGreaterThan(ourOverhead, 0)
        XCTAssertLessThan(ourOverhead * 4, theirOverhead)

        // The bytes really are the same files.
        let reader = try HDF5Container.open(path: ours)
        XCTAssertEqual(try reader.bytes("/dir3/file345.txt"), sampleBytes(Self.size(345), seed: 345))
        try runPython("""
        import sys, h5py
        a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
        for name in ('dir0/file0.txt', 'dir9/file999.txt', 'dir5/file512.txt'):
            assert bytes(a[name][()]) == bytes(b[name][()]), name
        """, arguments: [ours, theirs])
    }

    /// What `cp -a` adds: four reserved attributes per file (mode, uid, gid, mtime).
    func testCostOfPosixMetadataAttributes() throws {
        func build(_ name: String, attributes: Bool) throws -> Int {
            let container = path(name)
            let writer = try HDF5Writer.create(path: container)
            let packer = Packer(compression: .standard, pool: WorkerPool(threads: 2))
            try writer.createGroup(at: .p("/d"))
            for index in 0..<200 {
                let spool = try makeSpool(path("spool"), sampleBytes(500, seed: UInt64(index)))
                try spool.seal()
                let file = H5Path.p("/d/f\(index)")
                try packer.pack(spool, into: writer, at: file)
                spool.remove()
                if attributes {
                    try writer.setAttribute(of: file, name: "h5mount.mode", value: .int(0o100644))
                    try writer.setAttribute(of: file, name: "h5mount.uid", value: .int(1000))
                    try writer.setAttribute(of: file, name: "h5mount.gid", value: .int(1000))
                    try writer.setAttribute(of: file, name: "h5mount.mtime", value: .double(1_700_000_000.123))
                }
            }
            try writer.close()
            return try fileSize(container)
        }
        let plain = try build("plain.h5", attributes: false)
        let withAttributes = try build("attrs.h5", attributes: true)
        let perFile = Double(withAttributes - plain) / 200
        print("four h5mount.* attributes cost \(Int(perFile)) bytes per file")
        XCTAssertGreaterThan(perFile, 0)
    }

    private func fileSize(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }
}
