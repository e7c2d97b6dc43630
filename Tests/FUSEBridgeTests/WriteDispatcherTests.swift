import CFUSE
import Glibc
import H5FS
import XCTest
@testable import FUSEBridge

/// The write half of the bridge, driven without a mount.
final class WriteDispatcherTests: XCTestCase {
    private func makeDispatcher(_ fs: any FilesystemOperations) -> Dispatcher {
        Dispatcher(filesystem: fs, configuration: BridgeConfiguration(readOnly: fs.isReadOnly, containerPath: "/d/c.h5"),
                   log: Log(destination: .standardError, debug: false))
    }

    private func errno<T>(_ body: () throws -> T) -> Int32? {
        do { _ = try body(); return nil } catch let error as FSError { return error.errno } catch { return -1 }
    }

    func testEveryMutationIsEROFSOnAReadOnlyMount() {
        let fs = MemoryFilesystem.sample()
        let dispatcher = makeDispatcher(fs)
        XCTAssertNil(dispatcher.writer)
        XCTAssertEqual(errno { try dispatcher.doMakeDirectory(parent: 1, name: "d", mode: 0o755) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doRemoveDirectory(parent: 1, name: "data") }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doUnlink(parent: 1, name: "hello.txt") }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doRename(parent: 1, name: "hello.txt", newParent: 1, newName: "x", flags: 0) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doSymlink(parent: 1, name: "l", target: "x") }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doLink(2, newParent: 1, newName: "h2") }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doCreate(parent: 1, name: "n", mode: 0o644, flags: O_WRONLY) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doMakeNode(parent: 1, name: "n", mode: UInt32(Glibc.S_IFREG) | 0o644) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doSetAttributes(2, handle: nil, AttributeChanges(mode: 0o600)) }, EROFS)
        XCTAssertEqual(errno {
            try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try dispatcher.doWrite(2, handle: 1, offset: 0, data: $0) }
        }, EROFS)
        // Extended attributes of any namespace: EROFS, not ENOTSUP, on a read-only mount.
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(2, name: "user.x", value: [0x31], flags: 0) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(2, name: "security.x", value: [], flags: 0) }, EROFS)
        XCTAssertEqual(errno { try dispatcher.doRemoveExtendedAttribute(2, name: "user.x") }, EROFS)
        // fsync of a file opened for reading on a read-only mount: nothing to do, no error.
        XCTAssertNil(errno { try dispatcher.doSynchronize(2, handle: 1) })
        XCTAssertEqual(fs.totalLookups, 0)
    }

    func testAWritableFilesystemOnAReadOnlyMountIsNotWritten() {
        // isReadOnly is the filesystem's own answer; a writer is used only when it says false.
        let dispatcher = makeDispatcher(MemoryFilesystem.sample(readOnly: false))
        XCTAssertNil(dispatcher.writer, "MemoryFilesystem cannot write")
        XCTAssertEqual(errno { try dispatcher.doMakeDirectory(parent: 1, name: "d", mode: 0o755) }, EROFS)
        XCTAssertNotNil(makeDispatcher(WritableMemoryFilesystem()).writer)
    }

    func testEntriesCountOneLookupAndDirectoriesKnowTheirParent() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let directory = try dispatcher.doMakeDirectory(parent: 1, name: "d", mode: UInt32(Glibc.S_IFDIR) | 0o750)
        XCTAssertEqual(directory.mode, UInt32(Glibc.S_IFDIR) | 0o750, "only permission bits go to the filesystem")
        XCTAssertEqual(fs.lookupCount(directory.node), 1)
        XCTAssertEqual(dispatcher.parents.parent(of: directory.node), 1)
        let nested = try dispatcher.doMakeDirectory(parent: directory.node, name: "e", mode: 0o755)
        XCTAssertEqual(dispatcher.parents.parent(of: nested.node), directory.node)

        let (file, handle) = try dispatcher.doCreate(parent: directory.node, name: "f", mode: 0o640, flags: O_WRONLY | O_CREAT)
        XCTAssertEqual(fs.lookupCount(file.node), 1)
        XCTAssertEqual(fs.createFlags, [O_WRONLY | O_CREAT])
        let link = try dispatcher.doLink(file.node, newParent: 1, newName: "f2")
        XCTAssertEqual(link.node, file.node)
        XCTAssertEqual(link.linkCount, 2)
        XCTAssertEqual(fs.lookupCount(file.node), 2)
        let symlink = try dispatcher.doSymlink(parent: 1, name: "s", target: "../not/normalised//x")
        XCTAssertEqual(fs.lookupCount(symlink.node), 1)
        XCTAssertEqual(try fs.readLink(symlink.node), "../not/normalised//x")
        fs.release(file.node, handle: handle)
    }

    func testNamesMustBeUTF8AndAtMost255Bytes() throws {
        let dispatcher = makeDispatcher(WritableMemoryFilesystem())
        XCTAssertEqual(errno { try dispatcher.doMakeDirectory(parent: 1, name: nil, mode: 0o755) }, EILSEQ)
        XCTAssertEqual(errno { try dispatcher.doCreate(parent: 1, name: String(repeating: "x", count: 256), mode: 0o644, flags: 0) },
                       ENAMETOOLONG)
        XCTAssertNil(errno { try dispatcher.doCreate(parent: 1, name: String(repeating: "é", count: 127), mode: 0o644, flags: 0) })
        XCTAssertEqual(errno { try dispatcher.doSymlink(parent: 1, name: "l", target: nil) }, EILSEQ)
        // A name that is not UTF-8 cannot exist, so removing it is ENOENT.
        XCTAssertEqual(errno { try dispatcher.doUnlink(parent: 1, name: nil) }, ENOENT)
        XCTAssertEqual(errno { try dispatcher.doRemoveDirectory(parent: 1, name: nil) }, ENOENT)
    }

    func testRenameFlagsPassThroughAndUnknownFlagsAreEINVAL() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        for name in ["a", "b"] { _ = try dispatcher.doCreate(parent: 1, name: name, mode: 0o644, flags: 0) }
        XCTAssertEqual(errno { try dispatcher.doRename(parent: 1, name: "a", newParent: 1, newName: "b", flags: 1) }, EEXIST)
        XCTAssertNil(errno { try dispatcher.doRename(parent: 1, name: "a", newParent: 1, newName: "b", flags: 2) })
        XCTAssertEqual(errno { try dispatcher.doRename(parent: 1, name: "a", newParent: 1, newName: "b", flags: 4) }, EINVAL)
        XCTAssertNil(errno { try dispatcher.doRename(parent: 1, name: "a", newParent: 1, newName: "b", flags: 0) })
        XCTAssertEqual(fs.renameFlags, [.noReplace, .exchange, []])
    }

    func testSetxattrFlagsPassThroughAndBadRequestsStopAtTheBridge() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, _) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: 0)
        XCTAssertNil(errno { try dispatcher.doSetExtendedAttribute(file.node, name: "user.a", value: [0x31], flags: 1) })
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(file.node, name: "user.a", value: [0x32], flags: 1) }, EEXIST)
        XCTAssertNil(errno { try dispatcher.doSetExtendedAttribute(file.node, name: "user.a", value: [0x32], flags: 2) })
        XCTAssertEqual(try dispatcher.doGetExtendedAttribute(file.node, name: "user.a", size: 16), .value([0x32]))
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(file.node, name: "user.a", value: [], flags: 4) }, EINVAL)
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(file.node, name: nil, value: [], flags: 0) }, EOPNOTSUPP)
        XCTAssertEqual(errno {
            try dispatcher.doSetExtendedAttribute(file.node, name: "user.big", value: [UInt8](repeating: 0, count: 65537), flags: 0)
        }, E2BIG)
        XCTAssertNil(errno { try dispatcher.doRemoveExtendedAttribute(file.node, name: "user.a") })
        XCTAssertEqual(errno { try dispatcher.doRemoveExtendedAttribute(file.node, name: "user.a") }, ENODATA)
    }

    func testRenamingADirectoryElsewhereMovesItsDotDot() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let a = try dispatcher.doMakeDirectory(parent: 1, name: "a", mode: 0o755)
        let b = try dispatcher.doMakeDirectory(parent: 1, name: "b", mode: 0o755)
        let c = try dispatcher.doMakeDirectory(parent: a.node, name: "c", mode: 0o755)
        try dispatcher.doRename(parent: a.node, name: "c", newParent: b.node, newName: "c2", flags: 0)
        XCTAssertEqual(dispatcher.parents.parent(of: c.node), b.node)
        XCTAssertEqual(fs.lookupCount(c.node), 1, "the lookup that found the moved node was given back")
        let handle = try dispatcher.doOpenDirectory(c.node)
        let entries = parseDirents(try dispatcher.doReadDirectory(handle: handle, offset: 0, size: 4096, plus: false).bytes, plus: false)
        XCTAssertEqual(entries.map(\.inode), [c.node, b.node])
    }

    /// The kernel applies a readdirplus entry's size to the inode it holds: it must be the
    /// size as of the reply (every write answered so far), not the opendir's snapshot's.
    func testReaddirplusOnAWritableMountAnswersSizesAsOfTheReplyNotOfTheOpendir() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, handle) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: O_WRONLY | O_CREAT)
        let first = [UInt8](repeating: 7, count: 100)
        _ = try first.withUnsafeBytes { try dispatcher.doWrite(file.node, handle: handle, offset: 0, data: $0) }
        let directory = try dispatcher.doOpenDirectory(1)
        let more = [UInt8](repeating: 8, count: 300)
        _ = try more.withUnsafeBytes { try dispatcher.doWrite(file.node, handle: handle, offset: 100, data: $0) }
        let entries = parseDirents(try dispatcher.doReadDirectory(handle: directory, offset: 0, size: 4096, plus: true).bytes,
                                   plus: true)
        let listed = try XCTUnwrap(entries.first { $0.name == "f" })
        XCTAssertEqual(listed.entryNode, file.node)
        XCTAssertEqual(listed.entrySize, 400, "the snapshot said 100")
        // Plain readdir carries no attributes the kernel keeps; it still lists the snapshot.
        let plain = parseDirents(try dispatcher.doReadDirectory(handle: directory, offset: 0, size: 4096, plus: false).bytes,
                                 plus: false)
        XCTAssertEqual(plain.map(\.name), [".", "..", "f"])
        fs.release(file.node, handle: handle)
    }

    func testReaddirplusHandsANodeGoneSinceTheOpendirOutUnlinkedAndUncounted() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, handle) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: O_WRONLY | O_CREAT)
        fs.release(file.node, handle: handle)
        let kept = try dispatcher.doMakeDirectory(parent: 1, name: "kept", mode: 0o755)
        let directory = try dispatcher.doOpenDirectory(1)
        fs.dropNode(file.node)
        let before = (fs.lookupCount(file.node), fs.lookupCount(kept.node))
        let reply = try dispatcher.doReadDirectory(handle: directory, offset: 0, size: 4096, plus: true)
        let entries = parseDirents(reply.bytes, plus: true)
        XCTAssertEqual(entries.map(\.name), [".", "..", "f", "kept"])
        let gone = try XCTUnwrap(entries.first { $0.name == "f" })
        XCTAssertEqual(gone.entryNode, 0, "not linked: the kernel looks the name up when it is used")
        XCTAssertEqual(gone.inode, file.node)
        XCTAssertEqual(gone.type, UInt32(DT_REG))
        XCTAssertEqual(reply.countedNodes, [kept.node])
        XCTAssertEqual(fs.lookupCount(file.node), before.0)
        XCTAssertEqual(fs.lookupCount(kept.node), before.1 + 1)
    }

    func testNamespaceErrorsComeFromTheFilesystem() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let d = try dispatcher.doMakeDirectory(parent: 1, name: "d", mode: 0o755)
        _ = try dispatcher.doCreate(parent: d.node, name: "f", mode: 0o644, flags: 0)
        XCTAssertEqual(errno { try dispatcher.doRemoveDirectory(parent: 1, name: "d") }, ENOTEMPTY)
        XCTAssertEqual(errno { try dispatcher.doUnlink(parent: 1, name: "d") }, EISDIR)
        XCTAssertEqual(errno { try dispatcher.doMakeDirectory(parent: 1, name: "d", mode: 0o755) }, EEXIST)
        try dispatcher.doUnlink(parent: d.node, name: "f")
        try dispatcher.doRemoveDirectory(parent: 1, name: "d")
        XCTAssertEqual(errno { try dispatcher.doLookup(parent: 1, name: "d") }, ENOENT)
    }

    func testMknodMakesRegularFilesOnly() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let file = try dispatcher.doMakeNode(parent: 1, name: "plain", mode: UInt32(Glibc.S_IFREG) | 0o600)
        XCTAssertEqual(file.mode, UInt32(Glibc.S_IFREG) | 0o600)
        XCTAssertEqual(fs.openHandleCount, 0, "the handle create opened was released")
        XCTAssertEqual(fs.lookupCount(file.node), 1)
        XCTAssertEqual(errno { try dispatcher.doMakeNode(parent: 1, name: "fifo", mode: UInt32(Glibc.S_IFIFO) | 0o600) }, EPERM)
        XCTAssertEqual(errno { try dispatcher.doMakeNode(parent: 1, name: "dev", mode: UInt32(Glibc.S_IFCHR) | 0o600) }, EPERM)
    }

    func testWriteReadBackAndNegativeOffsets() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, handle) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: O_RDWR)
        let written = try Array("hello".utf8).withUnsafeBytes { try dispatcher.doWrite(file.node, handle: handle, offset: 3, data: $0) }
        XCTAssertEqual(written, 5)
        XCTAssertEqual(try dispatcher.doRead(file.node, handle: handle, offset: 0, size: 100), [0, 0, 0] + Array("hello".utf8))
        XCTAssertEqual(errno {
            try [UInt8(1)].withUnsafeBytes { try dispatcher.doWrite(file.node, handle: handle, offset: -1, data: $0) }
        }, EINVAL)
        try dispatcher.doSynchronize(file.node, handle: handle)
        XCTAssertEqual(fs.synchronized, [file.node])
    }

    func testFlushReachesTheFilesystemAndItsErrorsAreTheClose() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, handle) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: O_WRONLY)
        try dispatcher.doFlush(file.node, handle: handle)
        let (full, fullHandle) = try dispatcher.doCreate(parent: 1, name: "full", mode: 0o644, flags: O_WRONLY)
        XCTAssertEqual(errno { try dispatcher.doFlush(full.node, handle: fullHandle) }, ENOSPC)
        XCTAssertEqual(fs.flushed, [file.node, full.node])
        // Read-only: nothing to store, no call.
        XCTAssertNil(errno { try self.makeDispatcher(MemoryFilesystem.sample()).doFlush(2, handle: 1) })
    }

    func testSetattrBitsBecomeAttributeChanges() throws {
        var st = stat()
        st.st_mode = mode_t(Glibc.S_IFREG) | 0o4755
        st.st_uid = 10
        st.st_gid = 20
        st.st_size = 12345
        st.st_atim = timespec(tv_sec: 100, tv_nsec: 5)
        st.st_mtim = timespec(tv_sec: 200, tv_nsec: 6)
        let now = Timestamp(seconds: 999, nanoseconds: 7)

        XCTAssertEqual(try attributeChanges(st, toSet: FUSE_SET_ATTR_MODE, now: now), AttributeChanges(mode: 0o4755))
        XCTAssertEqual(try attributeChanges(st, toSet: FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID, now: now),
                       AttributeChanges(uid: 10, gid: 20))
        XCTAssertEqual(try attributeChanges(st, toSet: FUSE_SET_ATTR_SIZE, now: now), AttributeChanges(size: 12345))
        XCTAssertEqual(try attributeChanges(st, toSet: FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME, now: now),
                       AttributeChanges(accessTime: Timestamp(seconds: 100, nanoseconds: 5),
                                        modificationTime: Timestamp(seconds: 200, nanoseconds: 6)))
        // touch: the kernel sets both the time bit and the NOW bit; NOW wins.
        let touch = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW
        XCTAssertEqual(try attributeChanges(st, toSet: touch, now: now), AttributeChanges(accessTime: now, modificationTime: now))
        XCTAssertEqual(try attributeChanges(st, toSet: FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME, now: now),
                       AttributeChanges(modificationTime: now))
        XCTAssertEqual(try attributeChanges(st, toSet: FUSE_SET_ATTR_CTIME, now: now), AttributeChanges())
        st.st_size = -1
        XCTAssertEqual(errno { try attributeChanges(st, toSet: FUSE_SET_ATTR_SIZE, now: now) }, EINVAL)
        XCTAssertGreaterThan(currentTime().seconds, 1_700_000_000)
    }

    func testSetAttributesReachTheFilesystemWithTheHandle() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, handle) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: O_RDWR)
        let changed = try dispatcher.doSetAttributes(file.node, handle: handle, AttributeChanges(mode: 0o755, size: 10))
        XCTAssertEqual(changed.mode, UInt32(Glibc.S_IFREG) | 0o755)
        XCTAssertEqual(changed.size, 10)
        XCTAssertEqual(errno { try dispatcher.doSetAttributes(file.node, handle: handle + 100, AttributeChanges()) }, EBADF)
    }

    func testOpenForWritingGoesToAWritableFilesystem() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, handle) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o644, flags: O_WRONLY)
        _ = try Array("abc".utf8).withUnsafeBytes { try dispatcher.doWrite(file.node, handle: handle, offset: 0, data: $0) }
        fs.release(file.node, handle: handle)
        let truncating = try dispatcher.doOpen(file.node, flags: O_WRONLY | O_TRUNC)
        XCTAssertEqual(try fs.attributes(of: file.node).size, 0, "O_TRUNC reached the filesystem")
        fs.release(file.node, handle: truncating)
    }

    func testDestroyCommitsOnceAndRecordsTheOutcome() {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        XCTAssertEqual(dispatcher.commitOutcome, .notRun)
        dispatcher.finishSession()
        dispatcher.finishSession()
        XCTAssertEqual(fs.commits, 1)
        XCTAssertEqual(dispatcher.commitOutcome, .committed)

        let failing = WritableMemoryFilesystem(failCommit: true)
        let failingDispatcher = makeDispatcher(failing)
        failingDispatcher.finishSession()
        XCTAssertEqual(failing.commits, 1)
        XCTAssertEqual(failingDispatcher.commitOutcome, .failed("the container changed on disk"))

        let readOnly = makeDispatcher(MemoryFilesystem.sample())
        readOnly.finishSession()
        XCTAssertEqual(readOnly.commitOutcome, .readOnly)
    }

    func testContainerPathAttributeOnTheRootOnly() throws {
        let dispatcher = makeDispatcher(WritableMemoryFilesystem())
        XCTAssertEqual(try dispatcher.doGetExtendedAttribute(1, name: containerPathAttribute, size: 100), .value(Array("/d/c.h5".utf8)))
        XCTAssertEqual(errno { try dispatcher.doGetExtendedAttribute(1, name: "user.other", size: 100) }, ENODATA)
        guard case .value(let listed) = try dispatcher.doListExtendedAttributes(1, size: 100) else { return XCTFail("names") }
        XCTAssertEqual(listed, [], "the hidden attributes are not listed")
    }

    func testWritableMountsUseShortTimeouts() {
        let configuration = BridgeConfiguration(readOnly: false)
        XCTAssertEqual(configuration.entryTimeout, 1)
        XCTAssertEqual(configuration.attributeTimeout, 1)
        XCTAssertEqual(BridgeConfiguration(readOnly: true).attributeTimeout, 3600)
        XCTAssertFalse(configuration.cachesContent)
    }

    func testFollowingASWMRWriterTrustsTheKernelForTheIntervalOnly() {
        var configuration = BridgeConfiguration(readOnly: true)
        XCTAssertTrue(configuration.cachesContent, "read-only: keep_cache, cache_readdir, negative entries")
        configuration.followWrites(interval: 0.5)
        XCTAssertEqual(configuration.entryTimeout, 0.5)
        XCTAssertEqual(configuration.attributeTimeout, 0.5)
        XCTAssertFalse(configuration.cachesContent, "a growing file's pages must not outlive an open")
    }
}
