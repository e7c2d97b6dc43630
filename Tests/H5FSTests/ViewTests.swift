import Foundation
import Glibc
import H5Model
@testable import H5FS
import TestSupport
import XCTest

/// Frame views (`-o frames`) and .npy views (`-o npy`) through the filesystem layer, on a
/// container h5py writes; h5py and `numpy.save` give the expected bytes.
final class ViewTests: XCTestCase {
    var directory = ""
    var container: String { directory + "/views.h5" }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5fs-views-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
        import sys, numpy, h5py, warnings
        warnings.simplefilter("ignore")
        out = sys.argv[1]
        table = numpy.dtype({"names": ["a", "b"], "formats": ["<i4", "<f8"], "offsets": [0, 8], "itemsize": 24})
        with h5py.File(out + "/views.h5", "w") as f:
            f.create_dataset("stack", data=(numpy.arange(20 * 16 * 16) % 65521).astype("<u2").reshape(20, 16, 16),
                             chunks=(1, 8, 16), compression="gzip", compression_opts=4)
            f.create_dataset("be", data=numpy.arange(24, dtype=">i4").reshape(4, 3, 2))
            t = numpy.zeros(5, dtype=table); t["a"] = range(5); t["b"] = numpy.linspace(0, 1, 5)
            f.create_dataset("table", data=t)
            c = numpy.zeros((4, 2, 2), dtype=table); c["a"] = numpy.arange(16).reshape(4, 2, 2)
            f.create_dataset("cstack", data=c, chunks=(1, 2, 2), compression="gzip")
            f.create_dataset("scalar", data=numpy.float64(2.5))
            # A dataset of an HDF5 array type (h5py's high level cannot write one).
            array_type = h5py.h5t.array_create(h5py.h5t.py_create(numpy.dtype("<i2")), (2, 3))
            arr = h5py.h5d.create(f.id, b"arr", array_type, h5py.h5s.create_simple((4,)))
            arr.write(h5py.h5s.ALL, h5py.h5s.ALL, numpy.arange(24, dtype="<i2").reshape(4, 2, 3), mtype=array_type)
            f.create_dataset("text", data="hello")
            f.create_dataset("bytes", data=numpy.frombuffer(b"abc", dtype="u1"))
            f.create_dataset("vlen", data=[numpy.arange(2), numpy.arange(3)], dtype=h5py.vlen_dtype("i4"))
            f.create_dataset("empty", shape=(0, 3, 3), dtype="<f4")
            f.create_dataset("grow", data=numpy.arange(8, dtype="<u2").reshape(2, 2, 2), maxshape=(None, 2, 2), chunks=(1, 2, 2))
        with h5py.File(out + "/views.h5", "r") as f:
            for name in ["stack", "be", "table", "cstack", "scalar", "arr", "empty"]:
                numpy.save(out + "/" + name + ".npy", f[name][()])
            for name in ["stack", "cstack"]:
                for i in range(f[name].shape[0]):
                    numpy.save("%s/%s.%d.npy" % (out, name, i), f[name][i])
                    f[name][i].tofile("%s/%s.%d.raw" % (out, name, i))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = ["-c", script, directory]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "fixture script failed")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func mount(frames: Bool = false, npy: Bool = false, readOnly: Bool = true) throws -> ContainerFilesystem {
        var options = MountOptions(readOnly: readOnly, cacheBytes: 8 << 20, uid: 1000, gid: 100)
        options.frames = frames
        options.npy = npy
        return try ContainerFilesystem(containerPath: container, options: options)
    }

    func expected(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
    }

    func readAll(_ fs: ContainerFilesystem, _ node: NodeID, step: Int = 1000) throws -> [UInt8] {
        let handle = try fs.open(node, flags: O_RDONLY)
        defer { fs.release(node, handle: handle) }
        var out: [UInt8] = []
        while true {
            let piece = try fs.read(node, handle: handle, offset: UInt64(out.count), size: step)
            if piece.isEmpty { return out }
            out += piece
        }
    }

    func assertErrno(_ code: Int32, _ what: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            XCTAssertEqual((error as? FSError)?.errno, code, "\(what): \(error)", file: file, line: line)
        }
    }

    let plainNames = ["arr", "arr.attrs", "be", "be.attrs", "bytes", "cstack", "cstack.attrs", "empty", "empty.attrs",
                      "grow", "grow.attrs", "scalar", "scalar.attrs", "stack", "stack.attrs", "table", "table.attrs", "text", "vlen", "vlen.attrs"]

    func test_without_the_options_there_are_no_views() throws {
        let fs = try mount()
        XCTAssertEqual(try fs.listDirectory(1).map(\.name).sorted(), plainNames)
        for name in ["stack.npy", "stack.frames", "table.npy"] {
            assertErrno(ENOENT, name) { _ = try fs.lookup(parent: 1, name: name) }
        }
    }

    func test_npy_views_equal_what_numpy_save_writes_of_h5py_data() throws {
        let fs = try mount(npy: true)
        let names = try fs.listDirectory(1).map(\.name)
        XCTAssertEqual(names.filter { $0.hasSuffix(".npy") }.sorted(),
                       ["arr.npy", "be.npy", "cstack.npy", "empty.npy", "grow.npy", "scalar.npy", "stack.npy", "table.npy"],
                       "typed datasets only: no views of text, byte or JSON-lines datasets")
        XCTAssertFalse(names.contains { $0.hasSuffix(".frames") }, "frames need -o frames")
        for name in ["stack", "be", "table", "cstack", "scalar", "arr", "empty"] {
            let npy = try fs.lookup(parent: 1, name: name + ".npy")
            let want = try expected(name + ".npy")
            XCTAssertEqual(npy.mode, S_IFREG | 0o444, name)
            XCTAssertEqual(npy.size, UInt64(want.count), name)
            XCTAssertEqual(try readAll(fs, npy.node, step: 777), want, name)
            XCTAssertEqual(try fs.lookup(parent: 1, name: name + ".npy").node, npy.node, "one node per view")
        }
        for name in ["text.npy", "bytes.npy", "vlen.npy", "stack.attrs.npy"] {
            assertErrno(ENOENT, name) { _ = try fs.lookup(parent: 1, name: name) }
        }
    }

    func test_frames_list_by_arithmetic_and_read_only_their_chunks() throws {
        let fs = try mount(frames: true)
        let root = try fs.listDirectory(1)
        XCTAssertEqual(root.map(\.name).filter { $0.hasSuffix(".frames") }.sorted(), ["be.frames", "cstack.frames", "empty.frames", "grow.frames", "stack.frames"],
                       "rank 3 or more only")
        XCTAssertFalse(root.contains { $0.name.hasSuffix(".npy") }, ".npy needs -o npy")
        let frames = try fs.lookup(parent: 1, name: "stack.frames")
        XCTAssertEqual(frames.mode, S_IFDIR | 0o555)
        let nodesBefore = fs.nodes.count
        let listing = try fs.listDirectory(frames.node)
        XCTAssertEqual(listing.map(\.name), (0..<20).map { String(format: "%06d.raw", $0) } + [".attrs"])
        XCTAssertEqual(try fs.listDirectory(frames.node), listing, "the same list every time: readdir offsets stay valid")
        XCTAssertEqual(fs.nodes.count, nodesBefore, "listing frames makes no node")
        XCTAssertEqual(Set(listing.map(\.attributes.node)).count, listing.count, "one id per file")
        XCTAssertTrue(listing.allSatisfy { $0.attributes.mode == S_IFREG | 0o444 })
        XCTAssertTrue(listing.dropLast().allSatisfy { $0.attributes.size == 512 })

        let before = fs.engine.statistics.chunkLoads
        let seventh = listing[7].attributes
        // The kernel may ask by id alone (after readdirplus): the id leads to the frame.
        XCTAssertEqual(try fs.attributes(of: seventh.node), seventh)
        XCTAssertEqual(try readAll(fs, seventh.node, step: 4096), try expected("stack.7.raw"))
        XCTAssertEqual(fs.engine.statistics.chunkLoads - before, 2, "frame 7 is two chunks of (1, 8, 16)")
        XCTAssertEqual(try fs.lookup(parent: frames.node, name: "000007.raw"), seventh)

        let sidecar = try fs.lookup(parent: frames.node, name: ".attrs")
        XCTAssertEqual(String(decoding: try readAll(fs, sidecar.node), as: UTF8.self), """
        {
          "kind": "frames",
          "dtype": "<u2",
          "shape": [16, 16],
          "frames": 20,
          "frame_bytes": 512
        }

        """)
        for name in ["7.raw", "0000007.raw", "000020.raw", "000007.npy", "000007", "x.raw"] {
            assertErrno(ENOENT, name) { _ = try fs.lookup(parent: frames.node, name: name) }
        }
        let empty = try fs.lookup(parent: 1, name: "empty.frames")
        XCTAssertEqual(try fs.listDirectory(empty.node).map(\.name), [".attrs"])
    }

    func test_frames_with_npy_hold_numpy_files_of_each_frame() throws {
        let fs = try mount(frames: true, npy: true)
        for name in ["stack", "cstack"] {
            let frames = try fs.lookup(parent: 1, name: name + ".frames")
            let listing = try fs.listDirectory(frames.node)
            let count = name == "stack" ? 20 : 4
            XCTAssertEqual(listing.map(\.name),
                           (0..<count).flatMap { [String(format: "%06d.raw", $0), String(format: "%06d.npy", $0)] } + [".attrs"])
            for (index, entry) in listing.dropLast().enumerated() {
                let frame = index / 2
                let want = try expected("\(name).\(frame)" + (index % 2 == 0 ? ".raw" : ".npy"))
                XCTAssertEqual(entry.attributes.size, UInt64(want.count), entry.name)
                XCTAssertEqual(try readAll(fs, entry.attributes.node, step: 100), want, "\(name).frames/\(entry.name)")
            }
        }
    }

    func test_a_large_stack_lists_without_a_node_per_frame() throws {
        let c = InMemoryContainer(filePath: "/data/big.h5")
        c.addDataset("/stack", type: .integer(size: 2, signed: false, order: .little), shape: [100_000, 64, 64],
                     layout: .chunked(chunkShape: [1, 64, 64]))
        var options = MountOptions(uid: 1000, gid: 100)
        options.frames = true
        options.npy = true
        let fs = try ContainerFilesystem(container: c, options: options, opener: { path throws(StoreError) in
            throw StoreError(.notFound, path)
        })
        let frames = try fs.lookup(parent: 1, name: "stack.frames")
        let descriptions = c.fullDescriptions
        let nodes = fs.nodes.count
        let started = clock()
        let listing = try fs.listDirectory(frames.node)
        let seconds = Double(clock() - started) / Double(CLOCKS_PER_SEC)
        XCTAssertEqual(listing.count, 200_001)
        XCTAssertEqual(listing[0].name, "000000.raw")
        XCTAssertEqual(listing[199_999].name, "099999.npy")
        XCTAssertEqual(listing[199_999].attributes.size, 8192 + 128)
        XCTAssertEqual(c.fullDescriptions, descriptions, "no HDF5 call per frame")
        XCTAssertEqual(fs.nodes.count, nodes)
        XCTAssertLessThan(seconds, 2.0, "listing 100,000 frames took \(seconds) s")
        XCTAssertEqual(try fs.lookup(parent: frames.node, name: "099999.npy"), listing[199_999].attributes)
    }

    func test_real_objects_shadow_views() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        let u2 = DataType.integer(size: 2, signed: false, order: .little)
        c.addDataset("/a", type: u2, shape: [2, 1, 1], bytes: [1, 0, 2, 0])
        c.addDataset("/a.npy", type: .integer(size: 1, signed: false, order: .notApplicable), shape: [3], bytes: [7, 8, 9])
        c.addGroup("/a.frames")
        var options = MountOptions(uid: 1000, gid: 100)
        options.frames = true
        options.npy = true
        let fs = try ContainerFilesystem(container: c, options: options, opener: { path throws(StoreError) in
            throw StoreError(.notFound, path)
        })
        let names = try fs.listDirectory(1).map(\.name)
        XCTAssertEqual(names.sorted(), ["a", "a.attrs", "a.frames", "a.npy"], "each name once: the real objects")
        XCTAssertEqual(try fs.lookup(parent: 1, name: "a.npy").size, 3, "the real byte dataset")
        XCTAssertEqual(try fs.lookup(parent: 1, name: "a.frames").mode, S_IFDIR | 0o755, "the real group")
        XCTAssertEqual(try fs.listDirectory(try fs.lookup(parent: 1, name: "a.frames").node), [])
    }

    func test_views_read_what_the_dataset_file_reads_after_a_typed_write() throws {
        let fs = try mount(frames: true, npy: true, readOnly: false)
        let stack = try fs.lookup(parent: 1, name: "stack")
        let frames = try fs.lookup(parent: 1, name: "stack.frames")
        let third = try fs.lookup(parent: frames.node, name: "000003.raw")
        let thirdNpy = try fs.lookup(parent: frames.node, name: "000003.npy")
        let npy = try fs.lookup(parent: 1, name: "stack.npy")
        let header = npy.size - stack.size
        let written = [UInt8](repeating: 0xAB, count: 512)
        let handle = try fs.open(stack.node, flags: O_RDWR)
        XCTAssertEqual(try written.withUnsafeBytes { try fs.write(stack.node, handle: handle, offset: 3 * 512, data: $0) }, 512)
        XCTAssertEqual(try readAll(fs, third.node), written, "before the store: the file's pending bytes")
        try fs.flush(stack.node, handle: handle)
        fs.release(stack.node, handle: handle)
        XCTAssertEqual(try readAll(fs, third.node), written, "after the store")
        XCTAssertEqual(Array(try readAll(fs, thirdNpy.node).dropFirst(Int(thirdNpy.size) - 512)), written)
        let whole = try readAll(fs, npy.node, step: 1 << 16)
        XCTAssertEqual(Array(whole[Int(header) + 3 * 512 ..< Int(header) + 4 * 512]), written)
        XCTAssertEqual(Array(whole[Int(header) + 2 * 512 ..< Int(header) + 3 * 512]), try expected("stack.2.raw"))
    }

    func test_views_follow_a_dataset_that_grows() throws {
        let fs = try mount(frames: true, npy: true, readOnly: false)
        let grow = try fs.lookup(parent: 1, name: "grow")
        let npyBefore = try fs.lookup(parent: 1, name: "grow.npy")
        let framesBefore = try fs.lookup(parent: 1, name: "grow.frames")
        XCTAssertEqual(try fs.listDirectory(framesBefore.node).count, 5, "2 frames, .raw and .npy, and .attrs")
        let handle = try fs.open(grow.node, flags: O_RDWR)
        let frame: [UInt8] = [9, 0, 10, 0, 11, 0, 12, 0]
        _ = try frame.withUnsafeBytes { try fs.write(grow.node, handle: handle, offset: 16, data: $0) }
        try fs.flush(grow.node, handle: handle)
        fs.release(grow.node, handle: handle)
        let npy = try fs.lookup(parent: 1, name: "grow.npy")
        XCTAssertEqual(npy.node, npyBefore.node, "the same inode")
        let header = try XCTUnwrap(NumpyHeader.header(element: .integer(size: 2, signed: false, order: .little), shape: [3, 2, 2]))
        XCTAssertEqual(try readAll(fs, npy.node), header + [0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0] + frame)
        let frames = try fs.lookup(parent: 1, name: "grow.frames")
        XCTAssertEqual(frames.node, framesBefore.node)
        XCTAssertEqual(try fs.listDirectory(frames.node).map(\.name), ["000000.raw", "000000.npy", "000001.raw", "000001.npy",
                                                                      "000002.raw", "000002.npy", ".attrs"])
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: frames.node, name: "000002.raw").node), frame)
    }

    func test_externally_linked_files_have_views_too() throws {
        let c = InMemoryContainer(filePath: "/data/master.h5")
        c.addLink("/data", .external(file: "run_1.h5", object: "/stack"))
        let other = InMemoryContainer(filePath: "/data/run_1.h5")
        let u2 = DataType.integer(size: 2, signed: false, order: .little)
        other.addDataset("/stack", type: u2, shape: [2, 1, 2], bytes: [1, 0, 2, 0, 3, 0, 4, 0])
        var options = MountOptions(uid: 1000, gid: 100)
        options.frames = true
        options.npy = true
        let fs = try ContainerFilesystem(container: c, options: options, opener: { path throws(StoreError) in
            guard path == "/data/run_1.h5" else { throw StoreError(.notFound, path) }
            return other
        })
        let ext = try fs.lookup(parent: 1, name: ".external")
        let root = try fs.lookup(parent: ext.node, name: "run_1.h5")
        XCTAssertEqual(try fs.listDirectory(root.node).map(\.name), ["stack", "stack.attrs", "stack.npy", "stack.frames"])
        let npy = try fs.lookup(parent: root.node, name: "stack.npy")
        let header = try XCTUnwrap(NumpyHeader.header(element: u2, shape: [2, 1, 2]))
        XCTAssertEqual(try readAll(fs, npy.node, step: 50), header + [1, 0, 2, 0, 3, 0, 4, 0])
        let frames = try fs.lookup(parent: root.node, name: "stack.frames")
        let second = try fs.lookup(parent: frames.node, name: "000001.raw")
        XCTAssertEqual(try readAll(fs, second.node), [3, 0, 4, 0])
        let secondNpy = try fs.lookup(parent: frames.node, name: "000001.npy")
        XCTAssertEqual(try readAll(fs, secondNpy.node), try XCTUnwrap(NumpyHeader.header(element: u2, shape: [1, 2])) + [3, 0, 4, 0])
    }

    func test_views_refuse_every_change() throws {
        let readOnly = try mount(frames: true, npy: true)
        let npy = try readOnly.lookup(parent: 1, name: "stack.npy")
        assertErrno(EROFS, "open for writing, read-only mount") { _ = try readOnly.open(npy.node, flags: O_WRONLY) }

        let fs = try mount(frames: true, npy: true, readOnly: false)
        let view = try fs.lookup(parent: 1, name: "stack.npy")
        let frames = try fs.lookup(parent: 1, name: "stack.frames")
        let frame = try fs.lookup(parent: frames.node, name: "000001.raw")
        for node in [view.node, frame.node] {
            assertErrno(EPERM, "open for writing") { _ = try fs.open(node, flags: O_RDWR) }
            assertErrno(EPERM, "truncate") { _ = try fs.setAttributes(node, handle: nil, AttributeChanges(size: 0)) }
            assertErrno(EPERM, "chmod") { _ = try fs.setAttributes(node, handle: nil, AttributeChanges(mode: 0o600)) }
            assertErrno(EPERM, "setfattr") { try fs.setExtendedAttribute(node, name: "user.x", value: Array("1".utf8), flags: []) }
        }
        assertErrno(EPERM, "unlink") { try fs.unlink(parent: 1, name: "stack.npy") }
        assertErrno(EPERM, "rmdir") { try fs.removeDirectory(parent: 1, name: "stack.frames") }
        assertErrno(EPERM, "rename") { try fs.rename(parent: 1, name: "stack.npy", newParent: 1, newName: "x.npy", flags: []) }
        assertErrno(EPERM, "unlink a frame") { try fs.unlink(parent: frames.node, name: "000001.raw") }
        assertErrno(EPERM, "create in a frames directory") {
            _ = try fs.create(parent: frames.node, name: "new", mode: 0o644, flags: O_WRONLY | O_CREAT)
        }
        assertErrno(EPERM, "mkdir in a frames directory") { _ = try fs.makeDirectory(parent: frames.node, name: "d", mode: 0o755) }
        assertErrno(EEXIST, "a name a view holds, as for sidecars") {
            _ = try fs.create(parent: 1, name: "stack.npy", mode: 0o644, flags: O_WRONLY | O_CREAT)
        }
        XCTAssertEqual(try readAll(fs, frame.node), try expected("stack.1.raw"), "and still reads")
    }
}
