import FUSEBridge
import Foundation
import Glibc
import H5FS
import XCTest
@testable import MountCLI

final class PreflightTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "mountcli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func failure(_ body: () throws -> Void) -> CLIError? {
        do { try body(); return nil } catch let error as CLIError { return error } catch { return nil }
    }

    func testMissingContainer() {
        let error = failure { _ = try checkContainer(directory + "/none.h5") }
        XCTAssertEqual(error, CLIError(.containerUnavailable, "h5mount: \(directory)/none.h5: No such file or directory"))
    }

    func testDirectoryIsNotAContainer() {
        XCTAssertEqual(failure { _ = try checkContainer(directory) }?.status, .notHDF5)
    }

    func testUnreadableContainer() throws {
        try XCTSkipIf(geteuid() == 0, "root reads everything")
        let path = directory + "/locked.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1]), attributes: [.posixPermissions: 0]))
        XCTAssertEqual(failure { _ = try checkContainer(path) },
                       CLIError(.containerUnavailable, "h5mount: \(path): Permission denied"))
    }

    func testContainerPathBecomesAbsolute() throws {
        let path = directory + "/a.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1])))
        let previous = currentDirectory()
        defer { _ = chdir(previous) }
        XCTAssertEqual(chdir(directory), 0)
        XCTAssertEqual(try checkContainer("a.h5"), resolvedPath(path))
    }

    func testMountPointProblems() throws {
        XCTAssertEqual(failure { _ = try checkMountPoint(directory + "/none") },
                       CLIError(.mountPoint, "h5mount: \(directory)/none: No such file or directory"))
        let file = directory + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertEqual(failure { _ = try checkMountPoint(file) },
                       CLIError(.mountPoint, "h5mount: \(file): Not a directory"))
        let real = resolvedPath(directory) ?? directory
        let mounted = MountEntry(mountID: 9, parentID: 1, major: 0, minor: 99, root: "/", mountPoint: real,
                                 options: "rw", fileSystemType: "fuse.h5mount", source: "/x/a.h5")
        let error = failure { _ = try checkMountPoint(directory, mounts: [mounted]) }
        XCTAssertEqual(error?.status, .mountPoint)
        XCTAssertTrue(error?.message.contains("already a mount point (fuse.h5mount from /x/a.h5)") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.hasSuffix("h5mount -u \(directory)") ?? false)
        XCTAssertEqual(try checkMountPoint(directory, mounts: []), real)
    }

    func testDeadMountAdvice() {
        XCTAssertEqual(deadMount("m").message,
                       "h5mount: m: a dead FUSE mount is still attached here (Transport endpoint is not connected); "
                       + "remove it with: fusermount3 -u m")
    }

    func testMountPointPathDoesNotResolveTheLastComponent() throws {
        let real = resolvedPath(directory) ?? directory
        XCTAssertEqual(mountPointPath(directory + "/sub/"), real + "/sub")
        XCTAssertEqual(mountPointPath(directory + "/./sub"), real + "/sub")
        XCTAssertEqual(mountPointPath("/"), "/")
        try FileManager.default.createDirectory(atPath: directory + "/target", withIntermediateDirectories: true)
        XCTAssertEqual(symlink(directory + "/target", directory + "/link"), 0)
        XCTAssertEqual(mountPointPath(directory + "/link"), real + "/target")
        let previous = currentDirectory()
        defer { _ = chdir(previous) }
        XCTAssertEqual(chdir(directory), 0)
        XCTAssertEqual(mountPointPath("m"), real + "/m")
        XCTAssertEqual(mountPointPath("."), real)
    }

    func testContainerErrorsFromTheFilesystem() {
        XCTAssertEqual(containerError(FSError(EINVAL, "/abs/notes.txt: not an HDF5 file"), path: "/abs/notes.txt", shownAs: "notes.txt"),
                       CLIError(.notHDF5, "h5mount: notes.txt: not an HDF5 file"))
        XCTAssertEqual(containerError(FSError(ENOENT, "gone"), path: "/abs/a.h5", shownAs: "a.h5"),
                       CLIError(.containerUnavailable, "h5mount: a.h5: No such file or directory"))
        XCTAssertEqual(containerError(FSError(EACCES, ""), path: "/a.h5", shownAs: "a.h5").status, .containerUnavailable)
        XCTAssertEqual(containerError(FSError(EIO, "/a.h5: truncated superblock"), path: "/a.h5", shownAs: "a.h5"),
                       CLIError(.containerUnavailable, "h5mount: a.h5: truncated superblock"))
        // A file another process is writing (HDF5Container.open's message names -o swmr).
        XCTAssertEqual(containerError(FSError(EBUSY, "/a.h5: open for writing by another process"), path: "/a.h5", shownAs: "a.h5"),
                       CLIError(.containerUnavailable, "h5mount: a.h5: open for writing by another process"))
    }

    func testStartupOutcomeLines() {
        XCTAssertEqual(StartupReporter.parseOutcome("0\n"), .ready)
        XCTAssertEqual(StartupReporter.parseOutcome("3 h5mount: x: not an HDF5 file\n"),
                       .failed(CLIError(.notHDF5, "h5mount: x: not an HDF5 file")))
        XCTAssertEqual(StartupReporter.parseOutcome(""),
                       .failed(CLIError(.runtime, "h5mount: the daemon exited before the mount was ready")))
        XCTAssertEqual(StartupReporter.parseOutcome("99 odd"), .failed(CLIError(.runtime, "odd")))
    }

    func testProcessIsRunning() {
        XCTAssertTrue(processIsRunning(getpid()))
        XCTAssertFalse(processIsRunning(Int32.max - 1))
        // An exited child that nobody reaped yet is a zombie: not running.
        let child = fork()
        if child == 0 { _exit(0) }
        usleep(200_000)
        XCTAssertFalse(processIsRunning(child))
        var status: Int32 = 0
        waitpid(child, &status, 0)
    }

    func testRunProgramReportsExitStatus() {
        XCTAssertEqual(runProgram("true", []), 0)
        XCTAssertEqual(runProgram("false", []), 1)
        XCTAssertEqual(runProgram("no-such-program-h5mount", []), 127)
    }

    func testUnmountOfAPlainDirectoryIsAMountPointError() {
        let error = failure { try unmountAndWait(directory, progress: { _ in }) }
        XCTAssertEqual(error, CLIError(.mountPoint, "h5mount: \(directory): not a mount point"))
        XCTAssertEqual(failure { try unmountAndWait(directory + "/none", progress: { _ in }) },
                       CLIError(.mountPoint, "h5mount: \(directory)/none: No such file or directory"))
    }
}
