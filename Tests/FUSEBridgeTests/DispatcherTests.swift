import Glibc
import H5FS
import XCTest
@testable import FUSEBridge

final class DispatcherTests: XCTestCase {
    private func makeDispatcher(_ fs: MemoryFilesystem = .sample()) -> Dispatcher {
        Dispatcher(filesystem: fs, configuration: BridgeConfiguration(readOnly: fs.isReadOnly),
                   log: Log(destination: .standardError, debug: false))
    }

    /// The errno an FSError carries, nil on success, -1 for any other error.
    private func errno<T>(_ body: () throws -> T) -> Int32? {
        do { _ = try body(); return nil } catch let error as FSError { return error.errno } catch { return -1 }
    }

    func testLookupCountsOneAndRecordsDirectoryParents() throws {
        let fs = MemoryFilesystem.sample()
        let dispatcher = makeDispatcher(fs)
        let data = try dispatcher.doLookup(parent: 1, name: "data")
        XCTAssertEqual(data.node, 3)
        XCTAssertEqual(fs.lookupCount(3), 1)
        XCTAssertEqual(dispatcher.parents.parent(of: 3), 1)
        XCTAssertEqual(errno { try dispatcher.doLookup(parent: 1, name: "missing") }, ENOENT)
        XCTAssertEqual(fs.totalLookups, 1)
    }

    func testReaddirListsDotEntriesThenTheSnapshotWithConsecutiveOffsets() throws {
        let dispatcher = makeDispatcher()
        _ = try dispatcher.doLookup(parent: 1, name: "data")
        let handle = try dispatcher.doOpenDirectory(3)
        let reply = try dispatcher.doReadDirectory(handle: handle, offset: 0, size: 4096, plus: false)
        let entries = parseDirents(reply.bytes, plus: false)
        XCTAssertEqual(entries.map(\.name), [".", "..", "big.bin", "link"])
        XCTAssertEqual(entries.map(\.inode), [3, 1, 4, 5])
        XCTAssertEqual(entries.map(\.nextOffset), [1, 2, 3, 4])
        XCTAssertEqual(entries.map(\.type), [UInt32(DT_DIR), UInt32(DT_DIR), UInt32(DT_REG), UInt32(DT_LNK)])
        XCTAssertTrue(reply.countedNodes.isEmpty)
        // Reading past the end gives an empty buffer (end of directory).
        XCTAssertEqual(try dispatcher.doReadDirectory(handle: handle, offset: 4, size: 4096, plus: false).bytes, [])
        dispatcher.directories.remove(handle)
        XCTAssertEqual(errno { try dispatcher.doReadDirectory(handle: handle, offset: 0, size: 4096, plus: false) }, EBADF)
    }

    func testReaddirplusCountsOnlyEntriesThatFitAndPagesThroughEverything() throws {
        let fs = MemoryFilesystem.sample(manyCount: 300)
        let dispatcher = makeDispatcher(fs)
        let handle = try dispatcher.doOpenDirectory(6)
        var names: [String] = []
        var offset: Int64 = 0
        var pages = 0
        while true {
            let reply = try dispatcher.doReadDirectory(handle: handle, offset: offset, size: 4096, plus: true)
            let entries = parseDirents(reply.bytes, plus: true)
            if entries.isEmpty { break }
            pages += 1
            XCTAssertLessThanOrEqual(reply.bytes.count, 4096)
            // Exactly the real entries that went out were counted, nothing more.
            let real = entries.filter { $0.name != "." && $0.name != ".." }
            XCTAssertEqual(reply.countedNodes, real.map(\.inode))
            XCTAssertEqual(real.map { $0.entryNode ?? 0 }, real.map(\.inode))
            XCTAssertEqual(fs.totalLookups, Int64(names.count(where: { $0 != "." && $0 != ".." }) + real.count))
            names += entries.map(\.name)
            offset = Int64(entries.last?.nextOffset ?? 0)
        }
        XCTAssertGreaterThan(pages, 5, "a 4 KiB buffer should not hold 300 entries")
        XCTAssertEqual(names.count, 302)
        XCTAssertEqual(Array(names.prefix(2)), [".", ".."])
        XCTAssertEqual(Set(names).count, 302)
        XCTAssertEqual(fs.totalLookups, 300)
        for index in 0..<300 { XCTAssertEqual(fs.lookupCount(NodeID(1000 + index)), 1) }
    }

    func testReaddirplusDotEntriesAreNotLinked() throws {
        let dispatcher = makeDispatcher()
        let handle = try dispatcher.doOpenDirectory(1)
        let entries = parseDirents(try dispatcher.doReadDirectory(handle: handle, offset: 0, size: 65536, plus: true).bytes, plus: true)
        XCTAssertEqual(entries.map(\.name), [".", "..", "hello.txt", "data", "many"])
        XCTAssertEqual(entries[0].entryNode, 0)
        XCTAssertEqual(entries[1].entryNode, 0)
        XCTAssertEqual(entries[0].inode, 1)
        XCTAssertEqual(entries[2].entrySize, 12)
    }

    func testTinyBufferHoldsNothingAndCountsNothing() throws {
        let fs = MemoryFilesystem.sample()
        let dispatcher = makeDispatcher(fs)
        let handle = try dispatcher.doOpenDirectory(1)
        let reply = try dispatcher.doReadDirectory(handle: handle, offset: 2, size: 100, plus: true)
        XCTAssertEqual(reply.entryCount, 0)
        XCTAssertEqual(fs.totalLookups, 0)
    }

    func testOpenDirectoryOnAFileIsENOTDIR() {
        let dispatcher = makeDispatcher()
        XCTAssertEqual(errno { try dispatcher.doOpenDirectory(2) }, ENOTDIR)
        XCTAssertEqual(errno { try dispatcher.doOpenDirectory(999) }, ENOENT)
    }

    func testOpenForWritingIsEROFSOnReadOnlyMounts() throws {
        let fs = MemoryFilesystem.sample()
        let dispatcher = makeDispatcher(fs)
        XCTAssertEqual(errno { try dispatcher.doOpen(2, flags: O_WRONLY) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doOpen(2, flags: O_RDWR) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doOpen(2, flags: O_RDONLY | O_TRUNC) }, EROFS)
        let handle = try dispatcher.doOpen(2, flags: O_RDONLY)
        XCTAssertEqual(try dispatcher.doRead(2, handle: handle, offset: 6, size: 100), Array("world\n".utf8))
        XCTAssertEqual(try dispatcher.doRead(2, handle: handle, offset: 100, size: 100), [])
        XCTAssertEqual(errno { try dispatcher.doRead(2, handle: handle, offset: -1, size: 1) }, EINVAL)
        XCTAssertEqual(dispatcher.mutationError.errno, EROFS)
    }

    func testExtendedAttributeSizing() throws {
        let dispatcher = makeDispatcher()
        XCTAssertEqual(try dispatcher.doGetExtendedAttribute(2, name: "user.units", size: 0), .size(1))
        XCTAssertEqual(try dispatcher.doGetExtendedAttribute(2, name: "user.units", size: 10), .value([109]))
        XCTAssertEqual(errno { try dispatcher.doGetExtendedAttribute(2, name: "user.long", size: 299) }, ERANGE)
        XCTAssertEqual(errno { try dispatcher.doGetExtendedAttribute(2, name: "user.none", size: 0) }, ENODATA)
        let names = Array("user.long\0user.units\0".utf8)
        XCTAssertEqual(try dispatcher.doListExtendedAttributes(2, size: 0), .size(names.count))
        XCTAssertEqual(try dispatcher.doListExtendedAttributes(2, size: 4096), .value(names))
        XCTAssertEqual(errno { try dispatcher.doListExtendedAttributes(2, size: 3) }, ERANGE)
        XCTAssertEqual(errno { try extendedAttributeReply([UInt8](repeating: 0, count: 70000), bufferSize: 0) }, E2BIG)
    }

    func testDaemonPIDAttributeOnlyOnTheRootAndNotListed() throws {
        let dispatcher = makeDispatcher()
        XCTAssertEqual(try dispatcher.doGetExtendedAttribute(1, name: daemonPIDAttribute, size: 64),
                       .value(Array(String(getpid()).utf8)))
        XCTAssertEqual(errno { try dispatcher.doGetExtendedAttribute(2, name: daemonPIDAttribute, size: 64) }, ENODATA)
        guard case .value(let listed) = try dispatcher.doListExtendedAttributes(1, size: 4096) else {
            return XCTFail("expected names")
        }
        XCTAssertEqual(listed, Array("user.title\0".utf8))
    }

    func testAccessFollowsModeBitsAndReadOnly() throws {
        let dispatcher = makeDispatcher()
        XCTAssertNoThrow(try dispatcher.doAccess(node: 2, mask: R_OK, uid: 1234, gid: 1))
        XCTAssertEqual(errno { try dispatcher.doAccess(node: 2, mask: W_OK, uid: 1234, gid: 1) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doAccess(node: 2, mask: X_OK, uid: 1234, gid: 1) }, EACCES)
        XCTAssertEqual(errno { try dispatcher.doAccess(node: 2, mask: X_OK, uid: 0, gid: 0) }, EACCES)
        XCTAssertNoThrow(try dispatcher.doAccess(node: 3, mask: X_OK | R_OK, uid: 42, gid: 42))
        XCTAssertNoThrow(try dispatcher.doAccess(node: 2, mask: F_OK, uid: 42, gid: 42))
        XCTAssertEqual(errno { try dispatcher.doAccess(node: 999, mask: F_OK, uid: 42, gid: 42) }, ENOENT)
    }

    func testAccessDeniedPicksOwnerGroupOrOther() {
        let time = Timestamp(seconds: 0)
        let file = NodeAttributes(node: 9, mode: UInt32(S_IFREG) | 0o640, linkCount: 1, size: 0, uid: 10, gid: 20,
                                  accessTime: time, modificationTime: time, changeTime: time)
        XCTAssertNil(accessDenied(mask: R_OK | W_OK, attributes: file, uid: 10, gid: 99))
        XCTAssertNil(accessDenied(mask: R_OK, attributes: file, uid: 11, gid: 20))
        XCTAssertNotNil(accessDenied(mask: W_OK, attributes: file, uid: 11, gid: 20))
        XCTAssertNotNil(accessDenied(mask: R_OK, attributes: file, uid: 11, gid: 21))
        XCTAssertNil(accessDenied(mask: R_OK | W_OK, attributes: file, uid: 0, gid: 0))
    }

    func testReadOnlyConfigurationUsesLongTimeouts() {
        XCTAssertEqual(BridgeConfiguration(readOnly: true).entryTimeout, 3600)
        XCTAssertEqual(BridgeConfiguration(readOnly: true).attributeTimeout, 3600)
        XCTAssertEqual(BridgeConfiguration(readOnly: false).entryTimeout, 1)
    }
}
