import Dispatch
import Foundation
import Glibc
import H5Model
import HDF5
@testable import H5FS
import Staging
import Synchronization
import XCTest

/// Files of one chunk are stored after their close on a background thread
/// (`ContainerFilesystem+BackgroundStores`). What a user does right after a close must
/// still see the stored file, and a store that fails must lose nothing.
final class BackgroundStoreTests: XCTestCase {
    var directory: String = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5fs-background-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func mount() throws -> (ContainerFilesystem, WriteSession, String) {
        let path = directory + "/c.h5"
        let fs = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: false, uid: 1000, gid: 100,
                                                                                    chunkSize: 4096))
        return (fs, try XCTUnwrap(fs.writes), path)
    }

    /// create, write, close (flush + release), as cp does.
    @discardableResult
    func writeFile(_ fs: ContainerFilesystem, parent: NodeID, _ name: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws -> NodeID {
        let (node, handle) = try writeAndFlush(fs, parent: parent, name, bytes, mode: mode)
        fs.release(node, handle: handle)
        return node
    }

    /// create, write, flush, and not yet release: the node and its handle.
    func writeAndFlush(_ fs: ContainerFilesystem, parent: NodeID, _ name: String, _ bytes: [UInt8],
                       mode: UInt32 = 0o644) throws -> (NodeID, UInt64) {
        let (attributes, handle) = try fs.create(parent: parent, name: name, mode: mode, flags: O_WRONLY | O_CREAT)
        _ = try bytes.withUnsafeBytes { try fs.write(attributes.node, handle: handle, offset: 0, data: $0) }
        try fs.flush(attributes.node, handle: handle)
        return (attributes.node, handle)
    }

    static func readAll(_ fs: ContainerFilesystem, _ node: NodeID) throws -> [UInt8] {
        let handle = try fs.open(node, flags: O_RDONLY)
        defer { fs.release(node, handle: handle) }
        return try fs.read(node, handle: handle, offset: 0, size: 1 << 20)
    }

    /// Holds every background queue until `signal()`: stores queued meanwhile wait behind
    /// it, so a test can act while a store is surely not done.
    func holdQueue(_ writes: WriteSession) -> QueueHold {
        let blocker = DispatchSemaphore(value: 0)
        for key in 0..<writes.background.count { writes.background.submit(key: UInt64(key)) { blocker.wait() } }
        return QueueHold(blocker: blocker, queues: writes.background.count)
    }

    struct QueueHold {
        let blocker: DispatchSemaphore
        let queues: Int
        func signal() { for _ in 0..<queues { blocker.signal() } }
    }

    /// Waits (at most 30 s) until every queued store has run; fails the test if the queue is stuck.
    func drainQueue(_ writes: WriteSession, file: StaticString = #filePath, line: UInt = #line) {
        let drained = startElsewhere { writes.background.drain() }
        XCTAssertEqual(drained.wait(timeout: .now() + 30), .success, "the queue is not stuck", file: file, line: line)
    }

    /// Runs `body` on another thread; the semaphore is signalled when it is done.
    func startElsewhere(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { body(); done.signal() }
        return done
    }

    func test_lookup_read_and_chmod_right_after_the_close_wait_for_the_stored_dataset() throws {
        let (fs, writes, path) = try mount()
        let bytes = Array("stored after the close\n".utf8)
        let blocker = holdQueue(writes)
        let file = try writeFile(fs, parent: 1, "f", bytes, mode: 0o640)
        XCTAssertTrue(writes.isInFlight(file), "a file of one chunk is stored after its close, not during it")
        final class Seen: @unchecked Sendable { var size: UInt64?; var mode: UInt32?; var content: [UInt8]? }
        let seen = Seen()
        let done = startElsewhere {
            seen.size = try? fs.lookup(parent: 1, name: "f").size
            seen.content = try? Self.readAll(fs, file)
            seen.mode = try? fs.setAttributes(file, handle: nil, AttributeChanges(mode: 0o600)).mode
        }
        XCTAssertEqual(done.wait(timeout: .now() + 0.3), .timedOut, "they wait while the store is queued")
        blocker.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(seen.size, UInt64(bytes.count))
        XCTAssertEqual(seen.content, bytes)
        XCTAssertEqual(seen.mode, S_IFREG | 0o600)
        try fs.commit()
        let again = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: true, uid: 1000, gid: 100))
        let stored = try again.lookup(parent: 1, name: "f")
        XCTAssertEqual(stored.mode, S_IFREG | 0o600, "a chmod right after the close is kept")
        XCTAssertEqual(try Self.readAll(again, stored.node), bytes)
    }

    /// A pack builds the file's node from what it wrote (no read-back): that node must be
    /// the one reading the dataset back gives, metadata set while the file was open included.
    func test_a_stored_file_is_described_as_reading_it_back_describes_it() throws {
        let (fs, writes, _) = try mount()
        let bytes = Array("described without reading it back\n".utf8)
        let (attributes, handle) = try fs.create(parent: 1, name: "f", mode: 0o600, flags: O_WRONLY | O_CREAT)
        let file = attributes.node
        _ = try bytes.withUnsafeBytes { try fs.write(file, handle: handle, offset: 0, data: $0) }
        let stamp = Timestamp(seconds: 1_600_000_000, nanoseconds: 123_456_789)
        _ = try fs.setAttributes(file, handle: handle, AttributeChanges(mode: 0o751, uid: 4242, gid: 77,
                                                                         accessTime: stamp, modificationTime: stamp))
        try fs.flush(file, handle: handle)
        fs.release(file, handle: handle)
        drainQueue(writes)
        let packed = try fs.attributes(of: file)
        let packedContent = try Self.readAll(fs, file)
        try fs.refreshDataset(file, at: H5Path(parsing: "/f"))
        let readBack = try fs.attributes(of: file)
        XCTAssertEqual(packed, readBack)
        XCTAssertEqual(packed.mode, S_IFREG | 0o751)
        XCTAssertEqual(packed.uid, 4242)
        XCTAssertEqual(packed.size, UInt64(bytes.count))
        XCTAssertEqual(packedContent, bytes)
        XCTAssertEqual(try Self.readAll(fs, file), bytes)
    }

    func test_rename_and_unlink_right_after_the_close_wait_for_the_queue() throws {
        let (fs, writes, path) = try mount()
        let blocker = holdQueue(writes)
        try writeFile(fs, parent: 1, "moved", Array("one".utf8))
        try writeFile(fs, parent: 1, "deleted", Array("two".utf8))
        try writeFile(fs, parent: 1, "kept", Array("three".utf8))
        let done = startElsewhere {
            try? fs.rename(parent: 1, name: "moved", newParent: 1, newName: "renamed", flags: [])
            try? fs.unlink(parent: 1, name: "deleted")
        }
        XCTAssertEqual(done.wait(timeout: .now() + 0.3), .timedOut, "a rename waits until the queue is empty")
        blocker.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(try fs.listDirectory(1).map(\.name).sorted(), ["kept", "renamed"])
        try fs.commit()
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.links(in: .root).map(\.name).sorted(), ["kept", "renamed"])
        var bytes = [UInt8](repeating: 0, count: 3)
        try bytes.withUnsafeMutableBytes { try reader.readBlock(dataset: H5Path(parsing: "/renamed"), start: [0], count: [3], into: $0) }
        XCTAssertEqual(bytes, Array("one".utf8))
    }

    /// `cp -a` of a tree: a mkdir between closes of new files does not wait for their packs
    /// (they free nothing the new group could land on), and the packs then bind their own nodes.
    func test_mkdir_after_closes_of_new_files_does_not_wait_for_their_packs() throws {
        let (fs, writes, path) = try mount()
        let blocker = holdQueue(writes)
        let file = try writeFile(fs, parent: 1, "new", Array("fresh".utf8))
        let made = Mutex<NodeAttributes?>(nil)
        let done = startElsewhere { made.withLock { $0 = try? fs.makeDirectory(parent: 1, name: "d", mode: 0o755) } }
        let finished = done.wait(timeout: .now() + 10)
        blocker.signal()
        XCTAssertEqual(finished, .success, "mkdir waited for the pack of a new file")
        let directory = try XCTUnwrap(made.withLock { $0 })
        XCTAssertEqual(directory.mode & S_IFMT, S_IFDIR)
        try writeFile(fs, parent: directory.node, "inside", Array("x".utf8))
        drainQueue(writes)
        XCTAssertEqual(try fs.lookup(parent: 1, name: "new").node, file)
        XCTAssertEqual(try fs.lookup(parent: 1, name: "d").mode & S_IFMT, S_IFDIR)
        XCTAssertEqual(String(decoding: try Self.readAll(fs, file), as: UTF8.self), "fresh")
        try fs.commit()
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.links(in: .root).map(\.name).sorted(), ["d", "new"])
        XCTAssertEqual(try reader.links(in: H5Path(parsing: "/d")).map(\.name), ["inside"])
    }

    /// `write f; overwrite g; mkdir d`: g's queued pack replaces its dataset, whose freed
    /// object header the new group may get; mkdir waits for that pack, and d is a directory.
    func test_mkdir_waits_for_a_queued_pack_that_replaces_a_dataset() throws {
        let (fs, writes, _) = try mount()
        try writeFile(fs, parent: 1, "g", Array("old bytes".utf8))
        drainQueue(writes)
        let blocker = holdQueue(writes)
        let g = try fs.lookup(parent: 1, name: "g").node
        let handle = try fs.open(g, flags: O_WRONLY | O_TRUNC)
        _ = try Array("new".utf8).withUnsafeBytes { try fs.write(g, handle: handle, offset: 0, data: $0) }
        try fs.flush(g, handle: handle)
        fs.release(g, handle: handle)
        let made = Mutex<NodeAttributes?>(nil)
        let done = startElsewhere { made.withLock { $0 = try? fs.makeDirectory(parent: 1, name: "d", mode: 0o755) } }
        XCTAssertEqual(done.wait(timeout: .now() + 0.3), .timedOut, "mkdir waits for the replacing pack")
        blocker.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        let directory = try XCTUnwrap(made.withLock { $0 })
        XCTAssertEqual(directory.mode & S_IFMT, S_IFDIR)
        XCTAssertNotEqual(directory.node, g)
        XCTAssertEqual(String(decoding: try Self.readAll(fs, g), as: UTF8.self), "new")
        try fs.commit()
    }

    /// `echo a > f; echo b >> f`: the file is opened and closed again while its first store
    /// is still queued (and its release queued behind it). Both writes are stored, in order,
    /// and nothing waits forever (a queued job never waits for a gate a later job holds).
    func test_a_file_reopened_while_its_store_is_queued_gets_both_writes() throws {
        let (fs, writes, path) = try mount()
        let beforeFirstStore = holdQueue(writes)
        let (file, first) = try writeAndFlush(fs, parent: 1, "f", Array("first\n".utf8))
        // Queue: [hold, store 1, hold, release 1]: the second close queues its store while
        // the first release is still waiting.
        let beforeFirstRelease = holdQueue(writes)
        fs.release(file, handle: first)
        final class Outcome: @unchecked Sendable { var error: Error? }
        let outcome = Outcome()
        let done = startElsewhere {
            do {
                let handle = try fs.open(file, flags: O_WRONLY)
                _ = try Array("second\n".utf8).withUnsafeBytes { try fs.write(file, handle: handle, offset: 6, data: $0) }
                try fs.flush(file, handle: handle)
                fs.release(file, handle: handle)
            } catch {
                outcome.error = error
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 0.3), .timedOut, "the write waits for the first store")
        beforeFirstStore.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the second close is not stuck")
        XCTAssertNil(outcome.error)
        beforeFirstRelease.signal()
        drainQueue(writes)
        XCTAssertEqual(String(decoding: try Self.readAll(fs, file), as: UTF8.self), "first\nsecond\n")
        try fs.commit()
        let again = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: true, uid: 1000, gid: 100))
        XCTAssertEqual(String(decoding: try Self.readAll(again, try again.lookup(parent: 1, name: "f").node), as: UTF8.self),
                       "first\nsecond\n")
    }

    /// `cp f d/; truncate -s 5 d/f`: the truncate comes after the file's background store
    /// but before its last release was processed (queued behind the store). It is stored
    /// like a truncate of any closed file, not left in a spool the release then drops.
    /// (Found by `make check-sanitizers`: WritePathTests saw the old size 1 time in 7.)
    func test_a_truncate_between_the_store_and_the_queued_release_is_kept() throws {
        let (fs, writes, path) = try mount()
        let beforeStore = holdQueue(writes)
        let (file, handle) = try writeAndFlush(fs, parent: 1, "f", Array("hello world".utf8))
        // Queue: [hold, store, hold, release].
        let beforeRelease = holdQueue(writes)
        fs.release(file, handle: handle)
        beforeStore.signal()
        let stored = startElsewhere { try? fs.waitForStore(file) }
        XCTAssertEqual(stored.wait(timeout: .now() + 30), .success)
        XCTAssertNotNil(writes.active(file), "the release is still queued")
        XCTAssertEqual(try fs.setAttributes(file, handle: nil, AttributeChanges(size: 5)).size, 5)
        beforeRelease.signal()
        drainQueue(writes)
        XCTAssertEqual(try fs.attributes(of: file).size, 5)
        XCTAssertEqual(String(decoding: try Self.readAll(fs, file), as: UTF8.self), "hello")
        try fs.commit()
        let again = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: true, uid: 1000, gid: 100))
        XCTAssertEqual(String(decoding: try Self.readAll(again, try again.lookup(parent: 1, name: "f").node), as: UTF8.self),
                       "hello")
    }

    /// Many small files and the commit right after the last close: the commit drains the
    /// queue first, and every file is there in full, with its mode.
    func test_the_commit_stores_every_file_still_queued() throws {
        let (fs, _, path) = try mount()
        let dir = try fs.makeDirectory(parent: 1, name: "tree", mode: 0o755)
        let contents = (0..<300).map { index in (0..<(index * 13 % 4000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } }
        for (index, bytes) in contents.enumerated() {
            try writeFile(fs, parent: dir.node, "f\(index)", bytes, mode: index % 2 == 0 ? 0o644 : 0o755)
        }
        try fs.commit()
        let again = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: true, uid: 1000, gid: 100))
        let tree = try again.lookup(parent: 1, name: "tree")
        XCTAssertEqual(try again.listDirectory(tree.node).count, contents.count)
        for (index, bytes) in contents.enumerated() {
            let file = try again.lookup(parent: tree.node, name: "f\(index)")
            XCTAssertEqual(file.mode, S_IFREG | (index % 2 == 0 ? 0o644 : 0o755), "f\(index)")
            XCTAssertEqual(try Self.readAll(again, file.node), bytes, "f\(index)")
        }
    }

    /// A background store that fails (here: its directory was removed behind the
    /// filesystem's back, so the link fails) keeps the file's bytes in the work directory,
    /// makes every later change answer the error, and fails the commit with the container
    /// untouched: nothing is lost, `--recover` can still have it.
    func test_a_failed_background_store_refuses_later_changes_and_fails_the_commit() throws {
        let (fs, writes, path) = try mount()
        let dir = try fs.makeDirectory(parent: 1, name: "d", mode: 0o755)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let blocker = holdQueue(writes)
        try writeFile(fs, parent: dir.node, "f", Array("closed, never stored".utf8))
        try writes.workingCopy.deleteLink(at: H5Path(parsing: "/d"))
        blocker.signal()
        writes.background.drain()
        XCTAssertThrowsError(try writeFile(fs, parent: 1, "later", [1])) { error in
            XCTAssertTrue((error as? FSError)?.message.contains("/d/f") == true, "\(error)")
        }
        XCTAssertThrowsError(try fs.makeDirectory(parent: 1, name: "x", mode: 0o755))
        let spools = try FileManager.default.contentsOfDirectory(atPath: path + ".h5mount-work/spool")
        XCTAssertEqual(spools.count, 1, "the file's bytes wait in the work directory")
        XCTAssertThrowsError(try fs.commit(), "the commit tries the file again and cannot store it")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "the container is untouched")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + ".h5mount-work/journal"), "the work is kept")
    }
}
