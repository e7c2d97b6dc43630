import Foundation
import Glibc
import H5Model
import HDF5
@testable import H5FS
import XCTest

/// Lookups in directories this mount made answer a name no link was ever given without
/// libhdf5 (`WriteSession.mayHaveLink`). The risk is the other way round: a name that has a
/// link but was not noted would vanish. So every operation that makes a link is followed
/// by a lookup of what it made, in groups made this session.
final class MadeGroupLookupTests: XCTestCase {
    var directory: String = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5fs-made-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func mount(_ path: String) throws -> ContainerFilesystem {
        try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: false, uid: 1000, gid: 100, chunkSize: 4096))
    }

    @discardableResult
    func writeFile(_ fs: ContainerFilesystem, parent: NodeID, _ name: String, _ bytes: [UInt8]) throws -> NodeID {
        let (attributes, handle) = try fs.create(parent: parent, name: name, mode: 0o644, flags: O_WRONLY | O_CREAT)
        _ = try bytes.withUnsafeBytes { try fs.write(attributes.node, handle: handle, offset: 0, data: $0) }
        try fs.flush(attributes.node, handle: handle)
        fs.release(attributes.node, handle: handle)
        return attributes.node
    }

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
        let path = directory + "/c.h5"
        let fs = try mount(path)
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
