import CFUSE
import Foundation
import Glibc
import H5FS
import XCTest
@testable import FUSEBridge

/// The write path through the kernel: the writable in-memory tree mounted in
/// this process, changed with ordinary system calls. Checks that each call
/// reaches the filesystem with the right arguments and that the kernel gets
/// well-formed answers (entries, handles, attributes), and that the commit
/// runs once, when the session is closed after the unmount.
final class WritableMountSessionTests: XCTestCase {

    private func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    private func write(_ path: String, _ bytes: [UInt8], flags: Int32, offset: off_t = 0) -> Int {
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { return -Int(Glibc.errno) }
        defer { close(fd) }
        return bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
    }

    func testChangesThroughTheKernelReachTheFilesystemAndCommitAtTheEnd() throws {
        try XCTSkipUnless(Glibc.access("/dev/fuse", R_OK | W_OK) == 0, "no usable /dev/fuse")
        try XCTSkipUnless(geteuid() == 0 || Glibc.access("/bin/fusermount3", X_OK) == 0, "no fusermount3")
        let mnt = FileManager.default.temporaryDirectory.appendingPathComponent("fusebridge-rw-\(getpid())").path
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        defer { rmdir(mnt) }

        let fs = WritableMemoryFilesystem()
        let dispatcher = Dispatcher(filesystem: fs, configuration: BridgeConfiguration(readOnly: false, containerPath: "/x/c.h5"),
                                    log: Log(destination: .standardError, debug: false))
        let session = try MountSession(dispatcher: dispatcher,
                                       options: ["fsname=fusebridge-rw-test", "subtype=h5mount", "max_read=1048576"])
        try session.mount(at: mnt)
        let running = RunningSession(session)
        Thread.detachNewThread {
            running.status = running.session.run()
            running.finished.signal()
        }
        var unmounted = false
        defer {
            if !unmounted {
                unmountTestMount(mnt)
                _ = running.finished.wait(timeout: .now() + 10)
            }
        }

        // mkdir / rmdir
        XCTAssertEqual(mkdir(mnt + "/d", 0o750), 0)
        var st = stat()
        XCTAssertEqual(stat(mnt + "/d", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o750 & ~mode_t(currentUmask()))
        XCTAssertEqual(mkdir(mnt + "/d", 0o755), -1)
        XCTAssertEqual(Glibc.errno, EEXIST)

        // create, write, read back, append, sparse write, truncate
        let payload = Array("hello, world\n".utf8)
        XCTAssertEqual(write(mnt + "/d/f", payload, flags: O_WRONLY | O_CREAT | O_EXCL), payload.count)
        XCTAssertEqual(contents(mnt + "/d/f"), payload)
        XCTAssertEqual(write(mnt + "/d/f", Array("more".utf8), flags: O_WRONLY | O_APPEND, offset: 0), 4)
        XCTAssertEqual(contents(mnt + "/d/f"), payload + Array("more".utf8))
        XCTAssertEqual(write(mnt + "/d/sparse", [7], flags: O_WRONLY | O_CREAT, offset: 100_000), 1)
        let sparse = contents(mnt + "/d/sparse")
        XCTAssertEqual(sparse?.count, 100_001)
        XCTAssertEqual(sparse?.last, 7)
        XCTAssertEqual(sparse?.dropLast().allSatisfy { $0 == 0 }, true)
        XCTAssertEqual(truncate(mnt + "/d/sparse", 10), 0)
        XCTAssertEqual(contents(mnt + "/d/sparse"), [UInt8](repeating: 0, count: 10))
        XCTAssertEqual(write(mnt + "/d/f", Array("x".utf8), flags: O_WRONLY | O_TRUNC), 1)
        XCTAssertEqual(contents(mnt + "/d/f"), Array("x".utf8))

        // rmdir of a non-empty directory
        XCTAssertEqual(rmdir(mnt + "/d"), -1)
        XCTAssertEqual(Glibc.errno, ENOTEMPTY)

        // rename over an existing file and across directories
        XCTAssertEqual(mkdir(mnt + "/e", 0o755), 0)
        XCTAssertEqual(Glibc.rename(mnt + "/d/sparse", mnt + "/e/moved"), 0)
        XCTAssertEqual(Glibc.rename(mnt + "/e/moved", mnt + "/d/f"), 0)
        XCTAssertEqual(contents(mnt + "/d/f"), [UInt8](repeating: 0, count: 10))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mnt + "/e"), [])

        // symlink stored verbatim, hard link = same inode
        XCTAssertEqual(Glibc.symlink("../somewhere//odd", mnt + "/d/l"), 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: mnt + "/d/l"), "../somewhere//odd")
        XCTAssertEqual(Glibc.link(mnt + "/d/f", mnt + "/e/f2"), 0)
        var a = stat(), b = stat()
        XCTAssertEqual(stat(mnt + "/d/f", &a), 0)
        XCTAssertEqual(stat(mnt + "/e/f2", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino)
        XCTAssertEqual(b.st_nlink, 2)

        // chmod, chown to oneself, utimes (explicit and now)
        XCTAssertEqual(chmod(mnt + "/d/f", 0o741), 0)
        XCTAssertEqual(stat(mnt + "/d/f", &a), 0)
        XCTAssertEqual(a.st_mode, S_IFREG | 0o741)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 123), timespec(tv_sec: 1_100_000_000, tv_nsec: 456)]
        XCTAssertEqual(utimensat(AT_FDCWD, mnt + "/d/f", &times, 0), 0)
        XCTAssertEqual(fs.node(NodeID(a.st_ino))?.modificationTime, Timestamp(seconds: 1_100_000_000, nanoseconds: 456))
        XCTAssertEqual(fs.node(NodeID(a.st_ino))?.accessTime, Timestamp(seconds: 1_000_000_000, nanoseconds: 123))
        let before = currentTime().seconds
        XCTAssertEqual(utimensat(AT_FDCWD, mnt + "/d/f", nil, 0), 0)
        XCTAssertGreaterThanOrEqual(fs.node(NodeID(a.st_ino))?.modificationTime.seconds ?? 0, before)

        // unlink of an open file: still readable through its descriptor
        let fd = Glibc.open(mnt + "/e/f2", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(unlink(mnt + "/e/f2"), 0)
        XCTAssertEqual(unlink(mnt + "/d/f"), 0)
        var buffer = [UInt8](repeating: 1, count: 64)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }, 10)
        close(fd)

        // fsync reaches the filesystem; mknod of a FIFO: refused; xattrs reach the filesystem with their flags
        let synced = Glibc.open(mnt + "/d/synced", O_WRONLY | O_CREAT, 0o644)
        XCTAssertEqual(fsync(synced), 0)
        close(synced)
        XCTAssertEqual(fs.synchronized.count, 1)
        XCTAssertEqual(mkfifo(mnt + "/d/fifo", 0o644), -1)
        XCTAssertEqual(Glibc.errno, EPERM)
        XCTAssertEqual(setxattr(mnt + "/d/synced", "user.x", "12", 2, 0), 0)
        var value = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(getxattr(mnt + "/d/synced", "user.x", &value, value.count), 2)
        XCTAssertEqual(Array(value.prefix(2)), Array("12".utf8))
        XCTAssertEqual(setxattr(mnt + "/d/synced", "user.x", "3", 1, Int32(XATTR_CREATE)), -1)
        XCTAssertEqual(Glibc.errno, EEXIST)
        XCTAssertEqual(setxattr(mnt + "/d/synced", "user.y", "3", 1, Int32(XATTR_REPLACE)), -1)
        XCTAssertEqual(Glibc.errno, ENODATA)
        XCTAssertEqual(setxattr(mnt + "/d/synced", "security.x", "1", 1, 0), -1)
        XCTAssertEqual(Glibc.errno, EOPNOTSUPP)
        XCTAssertEqual(removexattr(mnt + "/d/synced", "user.x"), 0)
        XCTAssertEqual(removexattr(mnt + "/d/synced", "user.x"), -1)
        XCTAssertEqual(Glibc.errno, ENODATA)

        // close(2) reports what the filesystem's flush says (ENOSPC when a file cannot be stored).
        let full = Glibc.open(mnt + "/full", O_WRONLY | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(full, 0)
        XCTAssertEqual(close(full), -1)
        XCTAssertEqual(Glibc.errno, ENOSPC)

        var sv = statvfs()
        XCTAssertEqual(statvfs(mnt, &sv), 0)
        XCTAssertEqual(sv.f_flag & UInt(ST_RDONLY), 0)
        XCTAssertEqual(fs.commits, 0, "nothing commits while mounted")

        unmountTestMount(mnt)
        unmounted = true
        XCTAssertEqual(running.finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(running.status, 0)
        running.session.close()
        XCTAssertEqual(fs.commits, 1)
        XCTAssertEqual(dispatcher.commitOutcome, .committed)
        running.session.close()
        XCTAssertEqual(fs.commits, 1, "close is idempotent")
        XCTAssertEqual(fs.openHandleCount, 0)
    }
}

/// The process's umask (read by setting it and putting it back).
private func currentUmask() -> UInt32 {
    let mask = umask(0o022)
    umask(mask)
    return UInt32(mask)
}
