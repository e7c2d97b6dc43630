import Foundation
import Glibc
import H5FS
import TestSupport
import XCTest
@testable import FUSEBridge

/// readdir and readdirplus of a large group listed into a link block (H5FS LinkBlock.swift),
/// on a container h5py wrote: every name once, in byte order, offsets that resume where
/// they left off across a slot left empty, and the ids a lookup answers.
final class LinkBlockDirectoryTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "fusebridge-links-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `/many`: 300 soft links to `/target`, a hard link, an external link, a name too long to show.
    private func dispatcher() throws -> (Dispatcher, ContainerFilesystem) {
        let path = directory + "/links.h5"
        try Python.run("""
        import sys, h5py, numpy as np
        with h5py.File(sys.argv[1], 'w', libver=('v110', 'v110')) as f:
            f['target'] = np.arange(4, dtype='u1')
            g = f.create_group('many')
            for i in range(300):
                g[f'l{i:03d}'] = h5py.SoftLink('/target')
            g['data'] = f['target']
            g['ext'] = h5py.ExternalLink('other.h5', '/x')
            g['n' * 300] = h5py.SoftLink('/target')
        """, arguments: [path])
        var options = MountOptions(readOnly: true)
        options.linkBlockMinimum = 100
        options.hdf5TimeLimit = nil
        let fs = try ContainerFilesystem(containerPath: path, options: options)
        let dispatcher = Dispatcher(filesystem: fs, configuration: BridgeConfiguration(readOnly: true),
                                    log: Log(destination: .standardError, debug: false))
        return (dispatcher, fs)
    }

    func test_readdirplus_pages_a_block_in_order_and_its_ids_are_the_lookups() throws {
        let (dispatcher, fs) = try dispatcher()
        let many = try dispatcher.doLookup(parent: 1, name: "many").node
        let handle = try dispatcher.doOpenDirectory(many)
        var entries: [ParsedDirent] = []
        var offset: Int64 = 0
        while true {
            let reply = try dispatcher.doReadDirectory(handle: handle, offset: offset, size: 4096, plus: true)
            let page = parseDirents(reply.bytes, plus: true)
            if page.isEmpty { break }
            XCTAssertEqual(reply.countedNodes, page.filter { $0.name != "." && $0.name != ".." }.map(\.inode))
            entries += page
            offset = Int64(page.last?.nextOffset ?? 0)
        }
        let expected = [".", "..", "data", "ext"] + (0 ..< 300).map { "l" + String(repeating: "0", count: 3 - String($0).count) + String($0) }
        XCTAssertEqual(entries.map(\.name), expected)
        XCTAssertEqual(entries.map(\.nextOffset), entries.map(\.nextOffset).sorted())
        // The name too long to show sorts last: its slot is empty, nothing after it.
        XCTAssertEqual(entries.last?.nextOffset, UInt64(expected.count))
        for entry in entries.dropFirst(2) {
            XCTAssertEqual(try dispatcher.doLookup(parent: many, name: entry.name).node, entry.inode, entry.name)
            XCTAssertEqual(entry.type, entry.name == "data" ? UInt32(DT_REG) : UInt32(DT_LNK), entry.name)
        }
        XCTAssertEqual(try fs.readLink(entries[expected.count - 1].inode), "../target")
        XCTAssertEqual(try fs.readLink(entries[3].inode), "../.external/other.h5/x")
        // 300 links listed and looked up: the root, the group, the dataset; no node per link.
        XCTAssertLessThan(fs.statistics().totalFiles, 10)
        // readdir without plus, resumed in the middle, gives the same names and inodes.
        let middle = entries[150]
        let rest = parseDirents(try dispatcher.doReadDirectory(handle: handle, offset: Int64(middle.nextOffset),
                                                               size: 65536, plus: false).bytes, plus: false)
        XCTAssertEqual(rest.map(\.name), Array(expected[151...]))
        XCTAssertEqual(rest.map(\.inode), entries[151...].map(\.inode))
        // A second opendir shares the block: the same ids.
        let again = try dispatcher.doOpenDirectory(many)
        let second = parseDirents(try dispatcher.doReadDirectory(handle: again, offset: 0, size: 65536, plus: false).bytes, plus: false)
        XCTAssertEqual(second.map(\.inode), entries.map(\.inode))
    }
}
