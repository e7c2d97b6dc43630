import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// What a commit and a recovery report while they run, and the record `h5mount -u` reads.
final class CommitProgressTests: StagingTestCase {
    let options = WorkingCopyOptions(compression: .none, chunkSize: 4096, packThreads: 2)

    func makeOriginal() throws -> String {
        let container = path("data.h5")
        try runPython("""
        import sys, h5py, numpy
        with h5py.File(sys.argv[1], 'w') as f:
            f.create_dataset('old', data=numpy.frombuffer(b'old content', dtype='u1'))
        """, arguments: [container])
        return container
    }

    /// Closes files without packing them: they wait for the commit.
    func closeWaiting(_ session: WorkingCopy, _ sizes: [Int], cheap: Bool = false) throws {
        for (index, size) in sizes.enumerated() {
            let spool = try session.makeSpool()
            let bytes = cheap ? [UInt8](repeating: 7, count: size) : sampleBytes(size, seed: UInt64(index + 1), noisy: true)
            try spool.write(bytes, at: 0)
            try session.closeFile(spool, at: .p("/waiting-\(index)"))
        }
    }

    func testRecordTextRoundTripsAndRejectsAnythingElse() {
        let progress = CommitProgress(.packing, done: 412 << 20, total: 1 << 30, files: 37, filesTotal: 120, filesStored: 5)
        XCTAssertEqual(progress.recordText, "h5mount-progress-1 packing 432013312 1073741824 37 120 5\n")
        XCTAssertEqual(CommitProgress(recordText: progress.recordText), progress)
        for phase in CommitProgress.Phase.allCases {
            let value = CommitProgress(phase, done: 1, total: 2)
            XCTAssertEqual(CommitProgress(recordText: value.recordText), value)
        }
        XCTAssertNil(CommitProgress(recordText: "h5mount-progress-1 packing 4320"))           // torn
        XCTAssertNil(CommitProgress(recordText: "h5mount-progress-2 packing 1 2 3 4 5\n"))    // another version
        XCTAssertNil(CommitProgress(recordText: "h5mount-progress-1 packing 1 2 3 4\n"))      // a field short
        XCTAssertNil(CommitProgress(recordText: "h5mount-progress-1 resting 1 2 3 4 5\n"))
        XCTAssertNil(CommitProgress(recordText: "h5mount-progress-1 syncing -1 2 3 4 5\n"))
        XCTAssertNil(CommitProgress(recordText: "h5mount-progress-1 syncing 1 2 3 4 -5\n"))
        XCTAssertNil(CommitProgress(recordText: ""))
    }

    func testCommitReportsPackingClosingSyncingAndReplacingInOrder() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        let sizes = [10_000, 30_000, 5]
        try closeWaiting(session, sizes)
        let working = try XCTUnwrap(session.workingPath)
        var seen: [CommitProgress] = []
        let report = try session.commit { seen.append($0) }
        XCTAssertEqual(report.packedAtCommit, 3)

        // Phases in order, each once.
        var phases: [CommitProgress.Phase] = []
        for progress in seen where phases.last != progress.phase { phases.append(progress.phase) }
        XCTAssertEqual(phases, [.packing, .closing, .syncing, .replacing])

        let packing = seen.filter { $0.phase == .packing }
        XCTAssertEqual(packing.map(\.files), [0, 1, 2, 3])
        XCTAssertEqual(packing.map(\.done), [0, 10_000, 40_000, 40_005])
        XCTAssertTrue(packing.allSatisfy { $0.total == 40_005 && $0.filesTotal == 3 })

        let syncing = seen.filter { $0.phase == .syncing }
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: container)[.size] as? UInt64)
        XCTAssertEqual(syncing.last, CommitProgress(.syncing, done: size, total: size, filesStored: 3),
                       "the whole working copy, and the files stored")
        XCTAssertTrue(seen.filter { $0.phase != .packing }.allSatisfy { $0.filesStored == 3 })
        XCTAssertEqual(syncing.map(\.done), syncing.map(\.done).sorted())
        XCTAssertFalse(FileManager.default.fileExists(atPath: working))
    }

    func testNothingWaitingMeansNoPackingPhase() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try session.createGroup(at: .p("/g"))
        for index in 0..<2 {  // stored while mounted (at close): counted, not packed again
            let spool = try session.makeSpool()
            try spool.write([UInt8(index + 1)], at: 0)
            try session.packFile(spool, at: .p("/g/f\(index)"))
        }
        var seen: [CommitProgress] = []
        try session.commit { seen.append($0) }
        var phases: [CommitProgress.Phase] = []
        for progress in seen where phases.last != progress.phase { phases.append(progress.phase) }
        XCTAssertEqual(phases, [.closing, .syncing, .replacing])
        XCTAssertTrue(seen.allSatisfy { $0.filesStored == 2 }, "\(seen)")
    }

    func testTheDefaultSinkIsTheWorkDirectorysRecordAndGoesWithIt() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try closeWaiting(session, [2000])
        let directory = WorkDirectory(container: container)
        XCTAssertNil(ProgressRecord.read(container: container), "no record before the commit")
        try session.commit()
        XCTAssertFalse(directory.exists, "the record went with the work directory")
        XCTAssertNil(ProgressRecord.read(container: container))
    }

    func testAFailedCommitLeavesTheWorkButNoRecord() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try closeWaiting(session, [3000])
        // Someone else changes the container: the commit refuses (ESTALE) after packing and closing.
        try runPython("import sys, h5py; f = h5py.File(sys.argv[1], 'a'); f.create_group('theirs'); f.close()",
                      arguments: [container])
        assertStagingError(ESTALE) { try session.commit() }
        let directory = WorkDirectory(container: container)
        XCTAssertTrue(directory.exists, "the work stays for --recover")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.progressPath))
        XCTAssertNil(ProgressRecord.read(container: container))
    }

    func testRecordIsThrottledWithinAPhaseButNotAcrossPhases() throws {
        let container = path("c.h5")
        let directory = WorkDirectory(container: container)
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: false)
        let record = ProgressRecord(directory: directory, interval: 60)
        record.record(CommitProgress(.packing, done: 1, total: 10))
        XCTAssertEqual(ProgressRecord.read(container: container), CommitProgress(.packing, done: 1, total: 10))
        record.record(CommitProgress(.packing, done: 5, total: 10))
        XCTAssertEqual(ProgressRecord.read(container: container)?.done, 1, "same phase within the interval: skipped")
        record.record(CommitProgress(.syncing, done: 0, total: 99))
        XCTAssertEqual(ProgressRecord.read(container: container), CommitProgress(.syncing, done: 0, total: 99))
        let eager = ProgressRecord(directory: directory, interval: 0)
        eager.record(CommitProgress(.syncing, done: 50, total: 99))
        XCTAssertEqual(ProgressRecord.read(container: container)?.done, 50)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.progressPath + ".new"))
    }

    func testACrashedCommitsRecordIsRemovedByDiscard() throws {
        let container = try makeOriginal()
        let directory = WorkDirectory(container: container)
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: false)
        ProgressRecord(directory: directory).record(CommitProgress(.syncing, done: 1, total: 2))
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.progressPath + ".new", contents: Data("torn".utf8)))
        try WorkingCopy.discard(container: container)
        XCTAssertFalse(directory.exists)
    }

    func testRecoveryReportsCopyingReplayingAndSyncing() throws {
        let container = try makeOriginal()
        // A session that packed two files and left one waiting, then "crashed" (dropped).
        do {
            let session = try WorkingCopy(container: container, options: options)
            for (index, size) in [3000, 9000].enumerated() {
                let spool = try session.makeSpool()
                try spool.write(sampleBytes(size, seed: UInt64(index)), at: 0)
                try session.packFile(spool, at: .p("/packed-\(index)"))
            }
            try closeWaiting(session, [700])
        }
        var seen: [CommitProgress] = []
        let report = try WorkingCopy.recover(container: container, threads: 2) { seen.append($0) }
        XCTAssertEqual(report.filesFromJournal + report.filesFromSpools, 3)
        var phases: [CommitProgress.Phase] = []
        for progress in seen where phases.last != progress.phase { phases.append(progress.phase) }
        XCTAssertEqual(phases, [.copying, .replaying, .closing, .syncing, .replacing])
        let copying = try XCTUnwrap(seen.last { $0.phase == .copying })
        XCTAssertEqual(copying.done, copying.total)
        XCTAssertGreaterThan(copying.total, 0)
        let replaying = seen.filter { $0.phase == .replaying }
        XCTAssertEqual(replaying.map(\.done), Array(1...UInt64(replaying.count)), "one step per journal record")
        XCTAssertEqual(replaying.last?.total, UInt64(replaying.count))
        XCTAssertEqual(replaying.last?.files, 3)
        XCTAssertTrue(seen.filter { $0.phase == .syncing }.allSatisfy { $0.filesStored == 3 }, "the files it commits")
    }

    func testTestOnlyThrottleSlowsTheSyncToTheGivenRate() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container,
                                      options: WorkingCopyOptions(compression: .none, chunkSize: 1 << 20, packThreads: 2))
        try closeWaiting(session, [16 << 20], cheap: true)
        setenv("H5MOUNT_TEST_SYNC_BYTES_PER_SECOND", "\(40 << 20)", 1)
        defer { unsetenv("H5MOUNT_TEST_SYNC_BYTES_PER_SECOND") }
        var syncSteps = 0
        var syncStarted: Date?
        try session.commit { progress in
            guard progress.phase == .syncing else { return }
            syncStarted = syncStarted ?? Date()
            syncSteps += 1
        }
        let seconds = Date().timeIntervalSince(try XCTUnwrap(syncStarted))
        XCTAssertGreaterThanOrEqual(seconds, 0.35, "16 MiB at 40 MiB/s")
        XCTAssertGreaterThanOrEqual(syncSteps, 4, "start, one per 8 MiB step, end")
    }
}
