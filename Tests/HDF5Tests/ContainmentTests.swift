import Foundation
import Glibc
import H5Model
@testable import HDF5
import TestSupport
import XCTest

/// The forked trial (crash, hang, exit, finish), what a record learns from it, and
/// HDF5Container with containers that really crash or hang libhdf5 (integration/hostile.py).
final class ContainmentTests: XCTestCase {
    private func key(_ operation: Containment.Key.Operation, _ path: String) -> [UInt8] {
        Containment.Key(operation, .p(path)).bytes
    }

    func testRecordsSplitAcrossReadsAreReassembled() {
        var reader = RecordReader()
        let records: [[UInt8]] = [[1, 2, 3], [9], []]
        let stream = records.flatMap { record in
            withUnsafeBytes(of: UInt32(record.count).littleEndian) { Array($0) } + record
        }
        reader.consume(stream[0 ..< 5])
        reader.consume(stream[5 ..< 9])
        XCTAssertEqual(reader.keys, [[1, 2, 3]])
        reader.consume(stream[9...])
        XCTAssertEqual(reader.keys, [[1, 2, 3], [9]])
    }

    func testKeysSurviveTheirEncoding() {
        for path in ["/", "/a", "/a/b c/\u{FFFD}d"] {
            let key = Containment.Key(.attributes, .p(path))
            XCTAssertEqual(Containment.Key(bytes: key.bytes), key, path)
        }
        XCTAssertNil(Containment.Key(bytes: [0xEE]))
    }

    func testAFinishedTrialPassesEveryStep() {
        let report = ForkedTrial.run(timeLimit: 5) { steps in
            steps.run(self.key(.list, "/a")) {}
            steps.run(self.key(.object, "/a/b")) {}
        }
        XCTAssertEqual(report.ending, .finished)
        let containment = Containment(timeLimit: 5)
        XCTAssertNil(containment.record(report))
        XCTAssertEqual(containment.verdict(.init(.list, .p("/a"))), .passed)
        XCTAssertEqual(containment.verdict(.init(.object, .p("/a/b"))), .passed)
        XCTAssertEqual(containment.verdict(.init(.object, .p("/a/c"))), .unknown)
    }

    func testACrashFailsTheStepItHappenedInAndPassesTheOnesBefore() {
        let report = ForkedTrial.run(timeLimit: 5) { steps in
            steps.run(self.key(.list, "/a")) {}
            steps.run(self.key(.list, "/a/bad")) { _ = raise(SIGSEGV) }
            steps.run(self.key(.list, "/a/never")) {}
        }
        XCTAssertEqual(report.ending, .crashed(signal: SIGSEGV))
        let containment = Containment(timeLimit: 5)
        XCTAssertEqual(containment.record(report), "libhdf5 crashed (SIGSEGV) while listing /a/bad")
        XCTAssertEqual(containment.verdict(.init(.list, .p("/a"))), .passed)
        XCTAssertEqual(containment.verdict(.init(.list, .p("/a/bad"))),
                       .failed("libhdf5 crashed (SIGSEGV) while listing /a/bad"))
        XCTAssertEqual(containment.verdict(.init(.list, .p("/a/never"))), .unknown)
        XCTAssertEqual(containment.failures, ["libhdf5 crashed (SIGSEGV) while listing /a/bad"])
    }

    func testAnAbortIsACrashToo() {
        let report = ForkedTrial.run(timeLimit: 5) { steps in
            steps.run(self.key(.read, "/d")) { () -> Void in abort() }
        }
        XCTAssertEqual(report.ending, .crashed(signal: SIGABRT))
    }

    func testAStepThatDoesNotReturnIsKilledAtTheTimeLimit() {
        let start = Date()
        let report = ForkedTrial.run(timeLimit: 0.3) { steps in
            steps.run(self.key(.list, "/fast")) {}
            steps.run(self.key(.list, "/slow")) { while true { usleep(10_000) } }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(report.ending, .timedOut)
        XCTAssertLessThan(elapsed, 2.0)
        XCTAssertGreaterThanOrEqual(elapsed, 0.3)
        let containment = Containment(timeLimit: 0.3)
        XCTAssertEqual(containment.record(report), "libhdf5 did not answer within 0.3 s while listing /slow")
        XCTAssertEqual(containment.verdict(.init(.list, .p("/fast"))), .passed)
    }

    func testTheTimeLimitIsPerStep() {
        // Four steps of 0.2 s each: longer than the limit in all, never in one.
        let report = ForkedTrial.run(timeLimit: 0.5) { steps in
            for index in 0 ..< 4 { steps.run(self.key(.object, "/o\(index)")) { usleep(200_000) } }
        }
        XCTAssertEqual(report.ending, .finished)
    }

    func testHeartbeatsKeepALongButMovingStepAlive() {
        // One step of 4 x 0.2 s, longer than the limit, with a heartbeat between its parts.
        let report = ForkedTrial.run(timeLimit: 0.5) { steps in
            steps.run(self.key(.list, "/many")) {
                for _ in 0 ..< 4 { usleep(200_000); steps.stillWorking() }
            }
        }
        XCTAssertEqual(report.ending, .finished)
        // A heartbeat is no step: only the listing was started.
        XCTAssertEqual(report.started, [key(.list, "/many")])
    }

    func testTheSameLongStepWithoutHeartbeatsTimesOut() {
        let report = ForkedTrial.run(timeLimit: 0.5) { steps in
            steps.run(self.key(.list, "/many")) { for _ in 0 ..< 4 { usleep(200_000) } }
        }
        XCTAssertEqual(report.ending, .timedOut)
    }

    func testAHeartbeatRecordIsNoKey() {
        var reader = RecordReader()
        let records: [[UInt8]] = [[1, 2], ForkedTrial.heartbeat, [3], []]
        reader.consume(records.flatMap { withUnsafeBytes(of: UInt32($0.count).littleEndian) { Array($0) } + $0 }[...])
        XCTAssertEqual(reader.keys, [[1, 2], [3]])
        XCTAssertNil(Containment.Key(bytes: ForkedTrial.heartbeat), "a heartbeat must never read as a key")
    }

    func testAChildThatExitsWithoutFinishingFails() {
        let report = ForkedTrial.run(timeLimit: 5) { steps in
            steps.run(self.key(.dataset, "/d")) { () -> Void in _exit(3) }
        }
        XCTAssertEqual(report.ending, .exited(status: 3))
        XCTAssertEqual(Containment(timeLimit: 5).record(report), "libhdf5 exited the process (status 3) while describing /d")
    }

    func testARefusingCopyKnowsTheFailuresAndTriesNothing() {
        let original = Containment(timeLimit: 5)
        original.record(ForkedTrial.run(timeLimit: 5) { steps in
            steps.run(self.key(.list, "/bad")) { _ = raise(SIGFPE) }
        })
        let copy = Containment.refusing(failuresOf: original)
        XCTAssertFalse(copy.tries)
        XCTAssertEqual(copy.verdict(.init(.list, .p("/bad"))), .failed("libhdf5 crashed (SIGFPE) while listing /bad"))
        XCTAssertEqual(copy.trials, 0)
    }

    // MARK: - Real libhdf5 crashes and hangs

    private func hostile(_ kind: String) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../integration/hostile.py").standardized.path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("h5mount-hostile-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("\(kind).h5").path
        try Python.run("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                       arguments: [script, path, kind])
        return path
    }

    func testAGroupThatCrashesLibhdf5IsUnreadableAndTheRestAnswers() throws {
        let path = try hostile("crash")
        let containment = Containment(timeLimit: 10)
        let container = try HDF5Container.open(path: path, containment: containment)
        let error = assertStoreError(.unreadable) { try container.links(in: .p("/poison")) }
        XCTAssertEqual(error?.message, "libhdf5 crashed (SIGSEGV) while listing /poison")
        let names = try container.links(in: .p("/good1")).map(\.name)
        XCTAssertEqual(names, ["b0", "b1", "b2", "d0", "d1", "d2"])
        XCTAssertEqual(try container.readAll("/good2/d1"), (0 ..< 200).flatMap { value in
            withUnsafeBytes(of: Int32(value).littleEndian) { Array($0) }
        })
        // The poisoned group's own header and attributes are fine.
        XCTAssertEqual(try container.object(at: .p("/poison")).kind, .group)
        XCTAssertEqual(try container.attributes(of: .p("/poison")).map(\.value), [.string("poison")])
        // Known: refused again without a new child.
        let trials = containment.trials
        assertStoreError(.unreadable) { try container.links(in: .p("/poison")) }
        XCTAssertEqual(containment.trials, trials)
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    func testOneTrialOfAListingCoversWhatListingItAsks() throws {
        let path = try hostile("crash")
        let containment = Containment(timeLimit: 10)
        let container = try HDF5Container.open(path: path, containment: containment)
        _ = try container.links(in: .p("/good2"))
        let trials = containment.trials
        XCTAssertEqual(trials, 2, "the open, then the listing")
        for name in ["b0", "b1", "b2", "d0", "d1", "d2"] {
            let child = H5Path.p("/good2/\(name)")
            _ = try container.link(named: name, in: .p("/good2"))
            _ = try container.object(at: child)
            _ = try container.datasetSummary(at: child)
            // What the filesystem asks to show it: a byte dataset without attributes needs no description.
            if name.hasPrefix("d") { _ = try container.dataset(at: child) }
        }
        XCTAssertEqual(containment.trials, trials, "listing /good2 should have covered its datasets")
        _ = try container.dataset(at: .p("/good2/b0"))
        XCTAssertEqual(containment.trials, trials + 1, "not asked by the listing: tried on its own")
        // An object whose group was not listed yet: its group's listing is tried first.
        _ = try container.object(at: .p("/good1/d0"))
        XCTAssertEqual(containment.trials, trials + 2)
        _ = try container.links(in: .p("/good1"))
        XCTAssertEqual(containment.trials, trials + 2)
    }

    func testAListingTrialLooksAheadIntoTheGroupsBelowAndFindsTheBadOne() throws {
        let path = try hostile("crash")
        let containment = Containment(timeLimit: 10, lookahead: 5)
        let container = try HDF5Container.open(path: path, containment: containment)
        XCTAssertEqual(try container.links(in: .root).map(\.name), ["good1", "good2", "poison", "title"])
        XCTAssertEqual(containment.trials, 2, "the open, then the listing")
        // Byte order: good1, good2, then poison, where the child died.
        XCTAssertEqual(try container.links(in: .p("/good1")).count, 6)
        XCTAssertEqual(try container.links(in: .p("/good2")).count, 6)
        let error = assertStoreError(.unreadable) { try container.links(in: .p("/poison")) }
        XCTAssertEqual(error?.message, "libhdf5 crashed (SIGSEGV) while listing /poison")
        XCTAssertEqual(containment.trials, 2, "after the open, one child found all of it")
    }

    func testAGroupThatHangsLibhdf5IsUnreadableWithinTheTimeLimit() throws {
        let path = try hostile("hang")
        let container = try HDF5Container.open(path: path, containment: Containment(timeLimit: 0.5))
        let start = Date()
        let error = assertStoreError(.unreadable) { try container.links(in: .p("/poison")) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertEqual(error?.message, "libhdf5 did not answer within 0.5 s while listing /poison")
        XCTAssertEqual(try container.links(in: .p("/good1")).count, 6)
    }
}
