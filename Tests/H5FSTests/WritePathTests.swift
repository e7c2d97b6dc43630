import Foundation
import Glibc
import H5Model
import HDF5
@testable import H5FS
import XCTest

/// The write path through the filesystem layer on real containers: changes land in
/// the working copy, the original stays as it was until commit, and commit makes
/// the container hold exactly what was written.
final class WritePathTests: XCTestCase {
    var directory: String = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5fs-write-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func mount(_ name: String = "c.h5", compression: Compression = .standard) throws -> (ContainerFilesystem, String) {
        let path = directory + "/" + name
        let fs = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: false, uid: 1000, gid: 100,
                                                                                    compression: compression, chunkSize: 4096))
        return (fs, path)
    }

    @discardableResult
    func writeFile(_ fs: ContainerFilesystem, parent: NodeID, _ name: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws -> NodeID {
        let (attributes, handle) = try fs.create(parent: parent, name: name, mode: mode, flags: O_WRONLY | O_CREAT)
        var offset = 0
        while offset < bytes.count {
            let piece = Array(bytes[offset..<min(bytes.count, offset + 3000)])
            _ = try piece.withUnsafeBytes { try fs.write(attributes.node, handle: handle, offset: UInt64(offset), data: $0) }
            offset += piece.count
        }
        try fs.flush(attributes.node, handle: handle)
        fs.release(attributes.node, handle: handle)
        return attributes.node
    }

    func readAll(_ fs: ContainerFilesystem, _ node: NodeID) throws -> [UInt8] {
        let handle = try fs.open(node, flags: O_RDONLY)
        defer { fs.release(node, handle: handle) }
        return try fs.read(node, handle: handle, offset: 0, size: 1 << 24)
    }

    /// `mv dir newdir` while a program writes a file inside it: the file is listed in the
    /// new directory, its close stores it there, and the mount goes on taking changes.
    /// (The open file kept its old path before: its close packed it below a group that no
    /// longer existed, which failed, and from then on every change and the commit failed.)
    func test_a_file_open_for_writing_moves_with_its_renamed_directory() throws {
        let (fs, path) = try mount()
        let a = try fs.makeDirectory(parent: 1, name: "a", mode: 0o755)
        let inner = try fs.makeDirectory(parent: a.node, name: "inner", mode: 0o755)
        try writeFile(fs, parent: a.node, "stored", Array("stored before\n".utf8))
        let (created, handle) = try fs.create(parent: inner.node, name: "log", mode: 0o644, flags: O_WRONLY | O_CREAT)
        let first = Array("written before the rename, ".utf8)
        let second = Array("and after it\n".utf8)
        _ = try first.withUnsafeBytes { try fs.write(created.node, handle: handle, offset: 0, data: $0) }
        try fs.rename(parent: 1, name: "a", newParent: 1, newName: "b", flags: [])
        let b = try fs.lookup(parent: 1, name: "b")
        let movedInner = try fs.lookup(parent: b.node, name: "inner")
        XCTAssertEqual(try fs.listDirectory(movedInner.node).map(\.name), ["log"], "listed where it now is, before its close")
        _ = try second.withUnsafeBytes { try fs.write(created.node, handle: handle, offset: UInt64(first.count), data: $0) }
        try fs.flush(created.node, handle: handle)
        fs.release(created.node, handle: handle)
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: movedInner.node, name: "log").node), first + second)
        _ = try fs.makeDirectory(parent: 1, name: "later", mode: 0o755)
        try fs.commit()
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.links(in: H5Path(parsing: "/b/inner")).map(\.name), ["log"])
        XCTAssertEqual(try reader.links(in: .root).map(\.name).sorted(), ["b", "later"])
    }

    func test_a_missing_container_is_created_and_a_tree_round_trips_through_commit() throws {
        let (fs, path) = try mount()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let dir = try fs.makeDirectory(parent: 1, name: "src", mode: 0o750)
        XCTAssertEqual(dir.mode, S_IFDIR | 0o750)
        let big = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let file = try writeFile(fs, parent: dir.node, "data.bin", big, mode: 0o755)
        try writeFile(fs, parent: dir.node, "empty", [])
        try writeFile(fs, parent: 1, "one", [42])
        XCTAssertEqual(try readAll(fs, file), big)
        XCTAssertEqual(try fs.attributes(of: file).mode, S_IFREG | 0o755)
        XCTAssertEqual(try fs.listDirectory(dir.node).map(\.name).sorted(), ["data.bin", "empty"])
        _ = try fs.symlink(parent: 1, name: "link", target: "src/data.bin")
        // The original is untouched until commit.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        try fs.commit()

        let reader = try HDF5Container.open(path: path)
        var bytes = [UInt8](repeating: 0, count: big.count)
        try bytes.withUnsafeMutableBytes { try reader.readBlock(dataset: H5Path(parsing: "/src/data.bin"), start: [0], count: [UInt64(big.count)], into: $0) }
        XCTAssertEqual(bytes, big)
        XCTAssertEqual(try reader.dataset(at: H5Path(parsing: "/src/empty")).shape, [0])
        XCTAssertEqual(try reader.link(named: "link", in: .root)?.target, .soft("src/data.bin"))
        let again = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: true, uid: 1000, gid: 100))
        let src = try again.lookup(parent: 1, name: "src")
        XCTAssertEqual(src.mode, S_IFDIR | 0o750, "modes survive a remount")
        let data = try again.lookup(parent: src.node, name: "data.bin")
        XCTAssertEqual(data.mode, S_IFREG | 0o755, "the mode given at create is kept")
        XCTAssertEqual(try readAll(again, data.node), big)
        XCTAssertNil(try? again.lookup(parent: 1, name: "src.attrs"), "reserved attributes make no sidecar")
    }

    func test_overwrite_truncate_rename_unlink_and_errors() throws {
        let (fs, path) = try mount()
        let a = try writeFile(fs, parent: 1, "a", Array("hello world".utf8))
        // Overwrite in the middle, keeping the rest (the spool starts from the old bytes).
        let handle = try fs.open(a, flags: O_WRONLY)
        _ = try Array("W".utf8).withUnsafeBytes { try fs.write(a, handle: handle, offset: 6, data: $0) }
        try fs.flush(a, handle: handle)
        fs.release(a, handle: handle)
        XCTAssertEqual(String(decoding: try readAll(fs, a), as: UTF8.self), "hello World")
        _ = try fs.setAttributes(a, handle: nil, AttributeChanges(size: 5))
        XCTAssertEqual(String(decoding: try readAll(fs, a), as: UTF8.self), "hello")
        XCTAssertEqual(try fs.attributes(of: a).size, 5)
        let time = Timestamp(seconds: 1_500_000_000, nanoseconds: 123)
        XCTAssertEqual(try fs.setAttributes(a, handle: nil, AttributeChanges(modificationTime: time)).modificationTime, time)

        let dir = try fs.makeDirectory(parent: 1, name: "d", mode: 0o755)
        try fs.rename(parent: 1, name: "a", newParent: dir.node, newName: "b", flags: [])
        XCTAssertEqual(try fs.lookup(parent: dir.node, name: "b").node, a, "a renamed file keeps its node")
        XCTAssertThrowsError(try fs.lookup(parent: 1, name: "a"))
        XCTAssertThrowsError(try fs.removeDirectory(parent: 1, name: "d")) { XCTAssertEqual(($0 as? FSError)?.errno, ENOTEMPTY) }
        XCTAssertThrowsError(try fs.makeDirectory(parent: 1, name: "d", mode: 0o755)) { XCTAssertEqual(($0 as? FSError)?.errno, EEXIST) }
        XCTAssertThrowsError(try fs.makeDirectory(parent: 1, name: String(repeating: "x", count: 300), mode: 0o755)) {
            XCTAssertEqual(($0 as? FSError)?.errno, ENAMETOOLONG)
        }
        try writeFile(fs, parent: 1, "c", [1, 2, 3])
        try fs.rename(parent: 1, name: "c", newParent: dir.node, newName: "b", flags: [])  // over an existing file
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: dir.node, name: "b").node), [1, 2, 3])
        try fs.unlink(parent: dir.node, name: "b")
        try fs.removeDirectory(parent: 1, name: "d")
        XCTAssertEqual(try fs.listDirectory(1).map(\.name), [])
        try fs.commit()
        XCTAssertEqual(try HDF5Container.open(path: path).links(in: .root), [])
    }

    func test_renaming_a_directory_moves_what_is_inside() throws {
        let (fs, path) = try mount()
        let dir = try fs.makeDirectory(parent: 1, name: "old", mode: 0o755)
        let sub = try fs.makeDirectory(parent: dir.node, name: "sub", mode: 0o755)
        let file = try writeFile(fs, parent: sub.node, "f", Array("inside".utf8))
        XCTAssertEqual(try readAll(fs, file), Array("inside".utf8))
        try fs.rename(parent: 1, name: "old", newParent: 1, newName: "new", flags: [])
        let moved = try fs.lookup(parent: try fs.lookup(parent: try fs.lookup(parent: 1, name: "new").node, name: "sub").node, name: "f")
        XCTAssertEqual(moved.node, file)
        XCTAssertEqual(try readAll(fs, file), Array("inside".utf8), "a file read before the move reads after it")
        XCTAssertThrowsError(try fs.rename(parent: 1, name: "new", newParent: sub.node, newName: "loop", flags: [])) {
            XCTAssertEqual(($0 as? FSError)?.errno, EINVAL, "a directory cannot move into itself")
        }
        try fs.commit()
        XCTAssertNotNil(try HDF5Container.open(path: path).link(named: "f", in: H5Path(parsing: "/new/sub")))
    }

    func test_a_file_unlinked_while_open_keeps_working_until_closed() throws {
        let (fs, _) = try mount()
        let (created, handle) = try fs.create(parent: 1, name: "tmp", mode: 0o600, flags: O_RDWR | O_CREAT)
        _ = try Array("abc".utf8).withUnsafeBytes { try fs.write(created.node, handle: handle, offset: 0, data: $0) }
        try fs.unlink(parent: 1, name: "tmp")
        XCTAssertThrowsError(try fs.lookup(parent: 1, name: "tmp"))
        XCTAssertEqual(try fs.read(created.node, handle: handle, offset: 0, size: 10), Array("abc".utf8))
        try fs.flush(created.node, handle: handle)
        fs.release(created.node, handle: handle)
        XCTAssertEqual(try fs.listDirectory(1).map(\.name), [])
    }

    /// The kernel takes a link's reply as the inode's attributes (size included, whatever it
    /// has seen written since): it must be what getattr answers, not the stored dataset's.
    func test_a_hard_link_to_a_file_open_for_writing_answers_the_size_written_so_far() throws {
        let (fs, _) = try mount()
        let stored = [UInt8](repeating: 1, count: 5000)
        let file = try writeFile(fs, parent: 1, "f", stored)
        let handle = try fs.open(file, flags: O_WRONLY)
        let more = [UInt8](repeating: 2, count: 7000)
        _ = try more.withUnsafeBytes { try fs.write(file, handle: handle, offset: 5000, data: $0) }
        let linked = try fs.link(file, newParent: 1, newName: "g")
        XCTAssertEqual(linked.node, file, "one inode")
        XCTAssertEqual(linked.size, 12_000, "the stored dataset holds 5,000")
        XCTAssertEqual(linked.size, try fs.attributes(of: file).size)
        try fs.flush(file, handle: handle)
        fs.release(file, handle: handle)
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: 1, name: "g").node), stored + more)
    }

    func test_read_only_mount_refuses_every_change() throws {
        let path = directory + "/ro.h5"
        try HDF5Writer.create(path: path).close()
        let fs = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: true))
        XCTAssertThrowsError(try fs.makeDirectory(parent: 1, name: "x", mode: 0o755)) { XCTAssertEqual(($0 as? FSError)?.errno, EROFS) }
        XCTAssertThrowsError(try fs.create(parent: 1, name: "x", mode: 0o644, flags: O_WRONLY)) { XCTAssertEqual(($0 as? FSError)?.errno, EROFS) }
    }

    // MARK: lookups in directories this mount made (WriteSession.mayHaveLink)
    // They answer a name no link was ever given without libhdf5. The risk is the other way
    // round: a name that has a link but was not noted would vanish. So every operation that
    // makes a link is followed by a lookup of what it made, in groups made this session.

    func address(_ fs: ContainerFilesystem, _ node: NodeID) throws -> UInt64 {
        guard case .directory(_, _, let address, _) = try XCTUnwrap(fs.nodes.node(node)).kind else {
            XCTFail("node \(node) is not a directory")
            return 0
        }
        return address
    }

    func assertMissing(_ fs: ContainerFilesystem, _ parent: NodeID, _ name: String, line: UInt = #line) {
        XCTAssertThrowsError(try fs.lookup(parent: parent, name: name), "\(name) should not exist", line: line) {
            XCTAssertEqual(($0 as? FSError)?.errno, ENOENT, line: line)
        }
    }

    func test_every_link_made_in_a_new_directory_is_found_again() throws {
        let (fs, path) = try mount()
        let d = try fs.makeDirectory(parent: 1, name: "d", mode: 0o755)
        let writes = try XCTUnwrap(fs.writes)
        XCTAssertFalse(writes.mayHaveLink(named: "f", inGroup: try address(fs, d.node)),
                       "a directory this mount made knows it has no link named f")
        assertMissing(fs, d.node, "f")

        // create (packed in the background), then rename within the directory
        let f = try writeFile(fs, parent: d.node, "f", [1, 2, 3])
        XCTAssertEqual(try fs.lookup(parent: d.node, name: "f").node, f)
        try fs.rename(parent: d.node, name: "f", newParent: d.node, newName: "g", flags: [])
        XCTAssertEqual(try fs.lookup(parent: d.node, name: "g").node, f)
        assertMissing(fs, d.node, "f")

        // symlink and hard link
        _ = try fs.symlink(parent: d.node, name: "s", target: "g")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: d.node, name: "s").node), "g")
        _ = try fs.link(f, newParent: d.node, newName: "h")
        XCTAssertEqual(try fs.lookup(parent: d.node, name: "h").node, f)

        // a file from a directory not made this session (the root) moved in
        let r = try writeFile(fs, parent: 1, "r", [9])
        try fs.rename(parent: 1, name: "r", newParent: d.node, newName: "from-root", flags: [])
        XCTAssertEqual(try fs.lookup(parent: d.node, name: "from-root").node, r)

        // a made directory moved into another made directory keeps what it knows
        let sub = try fs.makeDirectory(parent: d.node, name: "sub", mode: 0o755)
        let x = try writeFile(fs, parent: sub.node, "x", Array("inside".utf8))
        let e = try fs.makeDirectory(parent: 1, name: "e", mode: 0o700)
        try fs.rename(parent: d.node, name: "sub", newParent: e.node, newName: "moved", flags: [])
        let moved = try fs.lookup(parent: e.node, name: "moved")
        XCTAssertEqual(moved.node, sub.node)
        XCTAssertEqual(try fs.lookup(parent: moved.node, name: "x").node, x)
        assertMissing(fs, d.node, "sub")

        // removed and made again: the new group starts empty
        try fs.unlink(parent: moved.node, name: "x")
        try fs.removeDirectory(parent: e.node, name: "moved")
        let again = try fs.makeDirectory(parent: e.node, name: "moved", mode: 0o755)
        assertMissing(fs, again.node, "x")
        let y = try writeFile(fs, parent: again.node, "y", [7, 7])
        XCTAssertEqual(try fs.lookup(parent: again.node, name: "y").node, y)

        // a name that was noted and then unlinked is asked of libhdf5, which says it is gone
        try fs.unlink(parent: d.node, name: "h")
        assertMissing(fs, d.node, "h")

        try fs.commit()
        let container = try HDF5Container.open(path: path)
        for (group, name) in [("/d", "g"), ("/d", "s"), ("/d", "from-root"), ("/e/moved", "y")] {
            XCTAssertNotNil(try container.link(named: name, in: H5Path(parsing: group)), "\(group)/\(name) after commit")
        }
        XCTAssertNil(try container.link(named: "h", in: H5Path(parsing: "/d")))
    }
}
