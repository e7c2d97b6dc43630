import Dispatch
import Foundation
import H5Model
import HDF5
@testable import Staging
import XCTest

/// The working copy's two locks (WorkingCopy, "Locks"): a change holds `state` across its
/// libhdf5 call (a pack's link waits for the HDF5 gate there), and a file's create and
/// close, which change no HDF5 object, must not wait behind it.
final class WorkingCopyLockTests: StagingTestCase {
    let options = WorkingCopyOptions(compression: .standard, chunkSize: 4096, packThreads: 2)

    /// Holds the state lock on another thread, as a change stuck in libhdf5 would, until `release()`.
    final class HeldChange: @unchecked Sendable {
        private let held = DispatchSemaphore(value: 0)
        private let release = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        init(_ session: WorkingCopy) {
            DispatchQueue.global().async { [held, release, done] in
                session.state.withLock { _ in
                    held.signal()
                    release.wait()
                }
                done.signal()
            }
            held.wait()
        }

        func end() {
            release.signal()
            done.wait()
        }
    }

    func test_a_files_create_and_close_do_not_wait_for_a_change_in_progress() throws {
        let container = path("c.h5")
        let session = try WorkingCopy(container: container, options: options)
        try session.createGroup(at: .p("/d"))
        let bytes = sampleBytes(3000)
        let change = HeldChange(session)
        final class Outcome: @unchecked Sendable { var spool: Spool?; var failure: (any Error)? }
        let outcome = Outcome()
        let closed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do {
                let spool = try session.makeSpool()
                try spool.write(bytes, at: 0)
                try session.closeFile(spool, at: .p("/d/f"))
                outcome.spool = spool
            } catch {
                outcome.failure = error
            }
            closed.signal()
        }
        let waited = closed.wait(timeout: .now() + 10)
        change.end()
        if waited == .timedOut { _ = closed.wait(timeout: .now() + 30) }
        XCTAssertEqual(waited, .success, "create, write and close went on while a change held the state lock")
        XCTAssertNil(outcome.failure)
        try session.packFile(try XCTUnwrap(outcome.spool))
        try session.commit()
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.bytes("/d/f"), bytes)
    }

    /// Closes of files in a directory racing a rename of that directory: the close's
    /// record and the rename's (which moves closed, unpacked files) are each appended with
    /// the table change they describe, so whatever the interleaving, a recovery from the
    /// journal packs exactly the files the live session had moved, at their new paths.
    func test_closes_racing_a_rename_of_their_directory_land_where_recovery_puts_them() throws {
        let container = path("c.h5")
        let count = 60
        let contents = (0..<count).map { sampleBytes(100 + $0, seed: UInt64($0 + 1)) }
        func live() throws -> ([H5Path], [String: Data]) {
            let session = try WorkingCopy(container: container, options: options)
            try session.createGroup(at: .p("/a"))
            let spools = try contents.map { bytes -> Spool in
                let spool = try session.makeSpool()
                try spool.write(bytes, at: 0)
                return spool
            }
            let start = DispatchSemaphore(value: 0)
            let closesDone = DispatchSemaphore(value: 0)
            final class Failures: @unchecked Sendable { var messages: [String] = [] }
            let failures = Failures()
            DispatchQueue.global().async {
                start.wait()
                for (index, spool) in spools.enumerated() {
                    do { try session.closeFile(spool, at: .p("/a/f\(index)")) } catch { failures.messages.append("\(error)") }
                }
                closesDone.signal()
            }
            start.signal()
            usleep(200)
            try session.moveLink(from: .p("/a"), to: .p("/b"))
            XCTAssertEqual(closesDone.wait(timeout: .now() + 30), .success)
            XCTAssertEqual(failures.messages, [])
            let paths = try spools.map { spool in try XCTUnwrap(session.files.withLock { $0.closedSpools[spool.id]?.path }) }
            return (paths, try snapshot(container + ".h5mount-work"))
        }
        let (livePaths, work) = try live()
        // A file closed after the rename keeps its stale /a path, where neither the live
        // session nor recovery can pack it (no /a any more); one closed before moved to /b.
        let moved = livePaths.indices.filter { livePaths[$0].components.first == "b" }
        XCTAssertEqual(Set(livePaths.indices.filter { !moved.contains($0) }.map { livePaths[$0] }),
                       Set(livePaths.indices.filter { !moved.contains($0) }.map { H5Path.p("/a/f\($0)") }))
        try restore(work, to: container + ".h5mount-work")
        let report = try WorkingCopy.recover(container: container, threads: 2)
        XCTAssertEqual(report.filesFromSpools, moved.count)
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(Set(try reader.links(in: .p("/b")).map(\.name)), Set(moved.map { "f\($0)" }))
        for index in moved {
            XCTAssertEqual(try reader.bytes("/b/f\(index)"), contents[index])
        }
    }
}
