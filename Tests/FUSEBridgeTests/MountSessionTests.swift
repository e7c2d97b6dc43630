import Foundation
import Glibc
import H5FS
import XCTest
@testable import FUSEBridge

/// Serves the in-memory tree through the kernel, in this process: the session
/// loop on a background thread, the checks with ordinary file calls.
/// Skipped where FUSE cannot be mounted (no /dev/fuse, no permission).
final class MountSessionTests: XCTestCase {
    func testServesAMemoryTreeThroughTheKernel() throws {
        try XCTSkipUnless(Glibc.access("/dev/fuse", R_OK | W_OK) == 0, "no usable /dev/fuse")
        try XCTSkipUnless(geteuid() == 0 || Glibc.access("/bin/fusermount3", X_OK) == 0, "no fusermount3")
        let mountPoint = FileManager.default.temporaryDirectory
            .appendingPathComponent("fusebridge-test-\(getpid())").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { rmdir(mountPoint) }

        let fs = MemoryFilesystem.sample(manyCount: 300, bigSize: 3 << 20 | 123)
        let dispatcher = Dispatcher(filesystem: fs, configuration: BridgeConfiguration(readOnly: true),
                                    log: Log(destination: .standardError, debug: false))
        let session = try MountSession(dispatcher: dispatcher,
                                       options: ["ro", "fsname=fusebridge-test", "subtype=h5mount", "max_read=1048576"])
        try session.mount(at: mountPoint)
        let running = RunningSession(session)
        Thread.detachNewThread {
            running.status = running.session.run()
            running.finished.signal()
        }
        var unmounted = false
        defer {
            if !unmounted {
                unmountTestMount(mountPoint)
                _ = running.finished.wait(timeout: .now() + 10)
            }
        }

        let files = FileManager.default
        XCTAssertEqual(try files.contentsOfDirectory(atPath: mountPoint).sorted(), ["data", "hello.txt", "many"])
        XCTAssertEqual(files.contents(atPath: mountPoint + "/hello.txt"), Data("hello world\n".utf8))
        XCTAssertEqual(files.contents(atPath: mountPoint + "/data/big.bin"), Data(pattern(count: 3 << 20 | 123)))
        XCTAssertEqual(try files.destinationOfSymbolicLink(atPath: mountPoint + "/data/link"), "../hello.txt")
        XCTAssertEqual(files.contents(atPath: mountPoint + "/data/link"), Data("hello world\n".utf8))
        XCTAssertEqual(try files.contentsOfDirectory(atPath: mountPoint + "/many").count, 300)

        var st = stat()
        XCTAssertEqual(stat(mountPoint + "/hello.txt", &st), 0)
        XCTAssertEqual(st.st_ino, 2)
        XCTAssertEqual(st.st_size, 12)
        XCTAssertEqual(st.st_mode, S_IFREG | 0o444)
        XCTAssertEqual(stat(mountPoint + "/nope", &st), -1)
        XCTAssertEqual(Glibc.errno, ENOENT)

        XCTAssertEqual(try pathExtendedAttribute(mountPoint + "/hello.txt", "user.units"), Array("m".utf8))
        XCTAssertThrowsError(try pathExtendedAttribute(mountPoint + "/hello.txt", "user.long", capacity: 64)) {
            XCTAssertEqual(($0 as? FSError)?.errno, ERANGE)
        }
        XCTAssertEqual(try pathExtendedAttribute(mountPoint + "/hello.txt", "user.long", capacity: 300).count, 300)
        XCTAssertEqual(try pathExtendedAttribute(mountPoint, daemonPIDAttribute), Array(String(getpid()).utf8))

        XCTAssertEqual(Glibc.open(mountPoint + "/hello.txt", O_WRONLY), -1)
        XCTAssertEqual(Glibc.errno, EROFS)
        XCTAssertEqual(mkdir(mountPoint + "/new", 0o755), -1)
        XCTAssertEqual(Glibc.errno, EROFS)

        var sv = statvfs()
        XCTAssertEqual(statvfs(mountPoint, &sv), 0)
        XCTAssertNotEqual(sv.f_flag & UInt(ST_RDONLY), 0)

        unmountTestMount(mountPoint)
        unmounted = true
        XCTAssertEqual(running.finished.wait(timeout: .now() + 10), .success, "the session loop should end on unmount")
        XCTAssertEqual(running.status, 0)
        XCTAssertEqual(fs.openHandleCount, 0, "every open file was released")
        XCTAssertEqual(dispatcher.directories.count, 0, "every open directory was released")
    }
}
