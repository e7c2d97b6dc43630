import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// Links are iterated in libhdf5's native order and sorted by h5mount (Paths.swift: asked for
/// name order, libhdf5 1.10.8 builds a silent table of a dense group first). The listing must
/// still be in byte order, as H5_ITER_INC gave it, for every kind of group storage.
final class LinkOrderTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("h5mount-order-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testEveryGroupStorageListsInByteOrder() throws {
        // Names made in a scrambled order; bytes above 0x7F (UTF-8) sort after ASCII, "B" before "a".
        let path = directory + "/order.h5"
        try Python.run("""
            import sys, h5py, random
            names = ["a", "B", "b10", "b9", "\\u00e9", "z", "_", "a.b", "A", "~x"] + ["n%03d" % i for i in range(300)]
            random.Random(4).shuffle(names)
            with h5py.File(sys.argv[1], "w", libver=("v110", "v110")) as f:
                dense = f.create_group("dense")        # 310 links: a fractal heap and a v2 B-tree
                compact = f.create_group("compact")    # 4 links: link messages in the header
                for name in names:
                    dense[name] = h5py.SoftLink("/" + name)
                for name in names[:4]:
                    compact[name] = h5py.SoftLink("/" + name)
            with h5py.File(sys.argv[2], "w", libver="earliest") as f:
                old = f.create_group("old")            # a symbol table: B-tree and local heap
                for name in names:
                    old[name] = h5py.SoftLink("/" + name)
            """, arguments: [path, directory + "/old.h5"])
        for (file, group, count) in [(path, "/dense", 310), (path, "/compact", 4), (directory + "/old.h5", "/old", 310)] {
            let container = try HDF5Container.open(path: file)
            let names = try container.links(in: .p(group)).map(\.name)
            XCTAssertEqual(names.count, count, group)
            let sorted = names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            XCTAssertEqual(names, sorted, "\(group) lists in byte order")
            XCTAssertEqual(Set(names).count, count, "\(group): every link once")
        }
    }
}
