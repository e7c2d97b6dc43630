import Foundation
import Glibc
import H5Model
import Staging
import XCTest
@testable import MountCLI

/// The CLI's side of the write path: the container preflight of a writable
/// mount, what a mount says about a crashed session's work, --recover and --discard.
final class WritePathCLITests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        let base = NSTemporaryDirectory() + "mountcli-rw-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        directory = resolvedPath(base) ?? base
    }

    override func tearDownWithError() throws {
        _ = chmod(directory, 0o755)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func failure(_ body: () throws -> Void) -> CLIError? {
        do { try body(); return nil } catch let error as CLIError { return error } catch { return nil }
    }

    // MARK: - Preflight

    func testAMissingContainerIsCreatedOnAWritableMountOnly() throws {
        let plan = try checkContainer(directory + "/new.h5", readOnly: false)
        XCTAssertEqual(plan, ContainerPlan(path: directory + "/new.h5", isNew: true, readOnly: false, note: nil))
        XCTAssertEqual(failure { _ = try checkContainer(self.directory + "/new.h5", readOnly: true) },
                       CLIError(.containerUnavailable, "h5mount: \(directory)/new.h5: No such file or directory"))
        XCTAssertEqual(failure { _ = try checkContainer(self.directory + "/nodir/new.h5", readOnly: false) },
                       CLIError(.containerUnavailable, "h5mount: \(directory)/nodir/new.h5: No such file or directory"))
        XCTAssertEqual(failure { _ = try checkContainer(self.directory + "/new/", readOnly: false) }?.status,
                       .containerUnavailable)
    }

    func testARelativeNewContainerBecomesAbsolute() throws {
        let previous = currentDirectory()
        defer { _ = chdir(previous) }
        XCTAssertEqual(chdir(directory), 0)
        XCTAssertEqual(try checkContainer("fresh.h5", readOnly: false).path, directory + "/fresh.h5")
    }

    func testAWritableContainerMountsWritable() throws {
        let path = directory + "/a.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1])))
        XCTAssertEqual(try checkContainer(path, readOnly: false), ContainerPlan(path: path, isNew: false, readOnly: false, note: nil))
        XCTAssertEqual(try checkContainer(path, readOnly: true), ContainerPlan(path: path, isNew: false, readOnly: true, note: nil))
        XCTAssertEqual(failure { _ = try checkContainer(self.directory, readOnly: false) }?.status, .notHDF5)
    }

    func testAContainerTheUserCannotWriteMountsReadOnlyWithANote() throws {
        try XCTSkipIf(geteuid() == 0, "root may write anything")
        let path = directory + "/locked.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1]), attributes: [.posixPermissions: 0o444]))
        XCTAssertEqual(try checkContainer(path, readOnly: false),
                       ContainerPlan(path: path, isNew: false, readOnly: true,
                                     note: "h5mount: \(path): it is not writable by you; mounting read-only"))
        XCTAssertEqual(chmod(path, 0o644), 0)
        XCTAssertEqual(chmod(directory, 0o555), 0)
        XCTAssertEqual(try checkContainer(path, readOnly: false).readOnly, true)
        XCTAssertEqual(failure { _ = try checkContainer(self.directory + "/new.h5", readOnly: false) }?.status,
                       .containerUnavailable)
    }

    func testCounted() {
        XCTAssertEqual(counted(1, "file"), "1 file")
        XCTAssertEqual(counted(0, "closed file"), "0 closed files")
    }

    func testParentDirectory() {
        XCTAssertEqual(parentDirectory("/a/b/c.h5"), "/a/b")
        XCTAssertEqual(parentDirectory("/c.h5"), "/")
    }

    func testShellQuoting() {
        XCTAssertEqual(shellQuoted("/data/run_1/a-b.h5"), "/data/run_1/a-b.h5")
        XCTAssertEqual(shellQuoted("/my data/it's.h5"), "'/my data/it'\\''s.h5'")
        XCTAssertEqual(shellQuoted(""), "''")
    }

    // MARK: - Leftover work, --recover, --discard

    /// A session that made one change and was dropped without committing: what a crash leaves.
    private func crashedSession(_ container: String) throws {
        let session = try WorkingCopy(container: container, options: WorkingCopyOptions(packThreads: 1))
        try session.createGroup(at: H5Path(parsing: "/made"))
    }

    func testAWritableMountRefusesCrashedWorkAndNamesRecoverAndDiscard() throws {
        let container = directory + "/c.h5"
        try crashedSession(container)
        let work = try XCTUnwrap(WorkingCopy.leftover(container: container))
        let refusal = leftoverRefusal(work, container: "c.h5")
        XCTAssertEqual(refusal.status, .runtime)
        XCTAssertTrue(refusal.message.hasPrefix("h5mount: c.h5: an earlier session did not finish (1 change, 0 files packed, "
                                                + "0 closed files not yet packed; the container itself is untouched)."),
                      refusal.message)
        XCTAssertTrue(refusal.message.contains("h5mount --recover c.h5"))
        XCTAssertTrue(refusal.message.contains("h5mount --discard c.h5"))
        XCTAssertTrue(leftoverNote(work, container: "c.h5").contains("h5mount --recover c.h5"))

        var lines: [String] = []
        var errors: [String] = []
        XCTAssertEqual(recoverContainer(container, force: false, output: { lines.append($0) }, errors: { errors.append($0) }),
                       .success)
        XCTAssertEqual(errors, [])
        XCTAssertEqual(lines, ["recovered \(container): 0 files restored, 0 lost, 1 change replayed; committed"])
        XCTAssertNil(WorkingCopy.leftover(container: container))
        XCTAssertTrue(FileManager.default.fileExists(atPath: container), "the recovered session created the container")

        lines = []
        XCTAssertEqual(recoverContainer(container, force: false, output: { lines.append($0) }), .success)
        XCTAssertEqual(lines, ["\(container): nothing to recover"])
    }

    func testQuietRecoveryPrintsNothingWhenNothingWentWrong() throws {
        let container = directory + "/q.h5"
        try crashedSession(container)
        var lines: [String] = []
        var errors: [String] = []
        XCTAssertEqual(recoverContainer(container, force: false, quiet: true, output: { lines.append($0) },
                                        errors: { errors.append($0) }), .success)
        XCTAssertEqual(lines, [])
        XCTAssertEqual(errors, [])
        XCTAssertNil(WorkingCopy.leftover(container: container), "it did recover")
    }

    func testDiscardThrowsTheWorkAwayAndLeavesTheContainer() throws {
        let container = directory + "/d.h5"
        try crashedSession(container)
        var lines: [String] = []
        XCTAssertEqual(discardWork(container, output: { lines.append($0) }), .success)
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasPrefix("\(container): discarded the unfinished work in \(container).h5mount-work"), lines[0])
        XCTAssertNil(WorkingCopy.leftover(container: container))
        XCTAssertFalse(FileManager.default.fileExists(atPath: container), "a container that never existed stays so")
        lines = []
        XCTAssertEqual(discardWork(container, output: { lines.append($0) }), .success)
        XCTAssertEqual(lines, ["\(container): no unfinished work to discard"])
    }

    func testALiveSessionIsInUseAndRecoveryFailsWithCommitFailed() throws {
        let container = directory + "/live.h5"
        let session = try WorkingCopy(container: container, options: WorkingCopyOptions(packThreads: 1))
        try session.createGroup(at: H5Path(parsing: "/g"))
        let work = try XCTUnwrap(WorkingCopy.leftover(container: container))
        XCTAssertTrue(work.inUse)
        XCTAssertTrue(leftoverRefusal(work, container: "live.h5").message.contains("in use by another h5mount session"))
        var errors: [String] = []
        XCTAssertEqual(recoverContainer(container, force: false, output: { _ in }, errors: { errors.append($0) }), .commitFailed)
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].contains("is it still mounted?"), errors[0])
        _ = try session.commit()
        XCTAssertNil(WorkingCopy.leftover(container: container))
    }
}
