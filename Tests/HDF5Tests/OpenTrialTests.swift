import Glibc
import H5Model
@testable import HDF5
import TestSupport
import XCTest

/// Opening a file is tried in a forked child first (`OpenTrial`): a crash or hang inside
/// libhdf5's H5Fopen or H5Fclose refuses the file with the step, and costs the daemon nothing.
final class OpenTrialTests: XCTestCase {
    func testACrashWhileOpeningNamesTheOpening() {
        let failure = OpenTrial.run(timeLimit: 5, open: { () -> Int in _ = raise(SIGSEGV); return 0 }, close: { _ in })
        XCTAssertEqual(failure, .init(step: .opening, message: "libhdf5 crashed (SIGSEGV) while opening the file"))
    }

    func testAHangWhileClosingIsStoppedByTheTimeLimit() {
        let started = ForkedTrial.now()
        let failure = OpenTrial.run(timeLimit: 0.3, open: { 7 }, close: { _ in while true { pause() } })
        XCTAssertEqual(failure, .init(step: .closing, message: "libhdf5 did not answer within 0.3 s while closing the file"))
        XCTAssertLessThan(ForkedTrial.now() - started, 5, "the child was not killed at its time limit")
    }

    func testAnOpenThatReturnsAndClosesPasses() {
        // The child cannot report an XCTest failure: a wrong handle ends it with a status instead.
        XCTAssertNil(OpenTrial.run(timeLimit: 5, open: { 7 }, close: { if $0 != 7 { _exit(3) } }))
        XCTAssertEqual(OpenTrial.run(timeLimit: 5, open: { 8 }, close: { if $0 != 7 { _exit(3) } }),
                       .init(step: .closing, message: "libhdf5 exited the process (status 3) while closing the file"))
    }

    func testAContainedOpenTriesTheFileOnceAndAnUncontainedOneNever() throws {
        let containment = Containment(timeLimit: 10)
        let container = try HDF5Container.open(path: Corpus.path("types.h5"), containment: containment)
        XCTAssertEqual(containment.trials, 1, "opening the file is tried in a child")
        XCTAssertGreaterThan(try container.links(in: .root).count, 0)
        let refusing = Containment.refusing(failuresOf: containment)
        _ = try HDF5Container.open(path: Corpus.path("types.h5"), containment: refusing)
        XCTAssertEqual(refusing.trials, 0, "a containment that tries nothing does not fork to open")
    }

    func testAFileWhoseOpenFailsCleanlyInTheChildIsRefusedByTheParentsOwnOpen() throws {
        // An error (not a crash) inside H5Fopen passes the trial: the parent's open says why.
        let whole = try XCTUnwrap(FileManager.default.contents(atPath: Corpus.path("types.h5")))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("h5mount-open-trial-\(getpid()).h5").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: whole.prefix(40)))
        defer { unlink(path) }
        let containment = Containment(timeLimit: 10)
        let error = assertStoreError(.unreadable) { try HDF5Container.open(path: path, containment: containment) }
        XCTAssertEqual(containment.trials, 1)
        XCTAssertTrue(error?.message.contains("damaged HDF5 file") ?? false, error?.message ?? "")
        XCTAssertFalse(error?.message.contains("libhdf5 crashed") ?? true, error?.message ?? "")
    }
}

/// libhdf5's exit handler is never installed: at exit it closed files whose close had failed
/// (the working copy after ENOSPC during a commit) and crashed the daemon.
final class LibraryExitTests: XCTestCase {
    func testLibhdf5IsInitialisedWithoutItsExitHandler() {
        HDF5Library.initialise()
        XCTAssertTrue(HDF5Library.exitHandlerSkipped, "something called libhdf5 before the gate initialised it")
    }
}
