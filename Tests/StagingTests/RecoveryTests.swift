import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// Crashes, simulated faithfully: the work directory is copied while the session is live
/// (what a kill -9 at that moment leaves: every write(2) done so far, nothing libhdf5 still
/// holds in memory), the session is dropped, and the copy is put back.
final class RecoveryTests: StagingTestCase {
    let options = WorkingCopyOptions(compression: .standard, chunkSize: 4096, packThreads: 2)

    func makeOriginal() throws -> String {
        let container = path("data.h5")
        try runPython("""
        import sys, h5py, numpy
        f = h5py.File(sys.argv[1], 'w')
        f.create_dataset('keep', data=numpy.frombuffer(b'kept', dtype='u1'))
        f.create_dataset('gone', data=numpy.frombuffer(b'deleted later', dtype='u1'))
        f.close()
        """, arguments: [container])
        return container
    }

    func writeFile(_ session: WorkingCopy, _ path: String, _ bytes: [UInt8], pack: Bool = true) throws {
        let spool = try session.makeSpool()
        try spool.write(bytes, at: 0)
        try session.closeFile(spool, at: .p(path))
        if pack { try session.packFile(spool) }
    }

    /// Runs `body` on a live session, then "kills" it: returns the work directory as it was.
    @discardableResult
    func crash(_ container: String, _ body: (WorkingCopy) throws -> Void) throws -> [String: Data] {
        // The session lives only inside this function: gone (lock released) when it returns.
        func live() throws -> [String: Data] {
            let session = try WorkingCopy(container: container, options: options)
            try body(session)
            return try snapshot(container + ".h5mount-work")
        }
        let files = try live()
        try restore(files, to: container + ".h5mount-work")
        return files
    }

    func testRecoverReplaysEverythingClosedBeforeTheCrash() throws {
        let container = try makeOriginal()
        let before = try XCTUnwrap(FileManager.default.contents(atPath: container))
        let big = sampleBytes(50_000, seed: 7)
        try crash(container) { session in
            try session.createGroup(at: .p("/d"))
            try writeFile(session, "/d/small", Array("small\n".utf8))
            try writeFile(session, "/d/big", big)
            try writeFile(session, "/d/replaced", [1])
            try writeFile(session, "/d/replaced", [2, 2])
            try session.createSoftLink(at: .p("/d/soft"), target: "/keep")
            try session.createHardLink(at: .p("/d/hard"), to: .p("/keep"))
            try session.setAttribute(of: .p("/d"), name: "h5mount.mtime", value: .double(1.5))
            try session.deleteLink(at: .p("/gone"))
            try writeFile(session, "/d/temp", [9])
            try session.moveLink(from: .p("/d/temp"), to: .p("/d/renamed"))
            // Closed, not packed: only its spool has it.
            try writeFile(session, "/d/waiting", sampleBytes(9_000, seed: 8), pack: false)
            // Still open at the crash: lost, as on any filesystem.
            let open = try session.makeSpool()
            try open.write([3], at: 0)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: container), before, "the original is intact after the crash")
        let leftover = try XCTUnwrap(WorkingCopy.leftover(container: container))
        XCTAssertFalse(leftover.inUse)
        XCTAssertEqual(leftover.filesWaiting, 1)
        XCTAssertEqual(leftover.filesPacked, 5)
        XCTAssertEqual(leftover.changes, 6)
        XCTAssertTrue(leftover.summary.contains("--recover"), leftover.summary)
        assertStagingError(EBUSY) { try WorkingCopy(container: container, options: options) }

        let report = try WorkingCopy.recover(container: container, threads: 2)
        XCTAssertEqual(report.outcome, .committed)
        XCTAssertEqual(report.filesFromJournal, 5)
        XCTAssertEqual(report.filesFromSpools, 1)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.damagedFiles, [])
        XCTAssertNil(WorkingCopy.leftover(container: container))

        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.links(in: .root).map(\.name), ["d", "keep"])
        XCTAssertEqual(try reader.links(in: .p("/d")).map(\.name), ["big", "hard", "renamed", "replaced", "small", "soft", "waiting"])
        XCTAssertEqual(try reader.bytes("/d/small"), Array("small\n".utf8))
        XCTAssertEqual(try reader.bytes("/d/big"), big)
        XCTAssertEqual(try reader.bytes("/d/replaced"), [2, 2])
        XCTAssertEqual(try reader.bytes("/d/renamed"), [9])
        XCTAssertEqual(try reader.bytes("/d/waiting"), sampleBytes(9_000, seed: 8))
        XCTAssertEqual(try reader.link(named: "soft", in: .p("/d"))?.target, .soft("/keep"))
        XCTAssertEqual(try reader.object(at: .p("/keep")).referenceCount, 2)
        XCTAssertEqual(try reader.attributes(of: .p("/d")), [Attribute(name: "h5mount.mtime", value: .double(1.5))])
    }

    func testClosedButNotPackedIsPackedAtItsLatestName() throws {
        let container = try makeOriginal()
        try crash(container) { session in
            try session.createGroup(at: .p("/a"))
            let spool = try session.makeSpool()
            try spool.write(sampleBytes(12_345), at: 0)
            try session.closeFile(spool, at: .p("/a/f"))
            try session.moveUnpacked(spool, to: .p("/a/g"))
            try session.moveLink(from: .p("/a"), to: .p("/b"))
        }
        let report = try WorkingCopy.recover(container: container, threads: 2)
        XCTAssertEqual(report.filesFromSpools, 1)
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.links(in: .p("/b")).map(\.name), ["g"])
        XCTAssertEqual(try reader.bytes("/b/g"), sampleBytes(12_345))
    }

    /// A file closed with its metadata and not packed before the crash keeps it: the journal
    /// records the attributes with the close, and recovery gives them to the packed file.
    func testClosedButNotPackedKeepsTheAttributesItWasClosedWith() throws {
        let container = try makeOriginal()
        let stat = JSONValue.array([.int(0o100750), .int(1000), .int(100), .int(1_500_000_000), .int(7)])
        try crash(container) { session in
            let spool = try session.makeSpool()
            try spool.write(sampleBytes(3_000), at: 0)
            try session.closeFile(spool, at: .p("/small"), attributes: [NamedValue(name: "h5mount.stat", value: stat)])
            let packed = try session.makeSpool()
            try packed.write(sampleBytes(100), at: 0)
            try session.closeFile(packed, at: .p("/packed"), attributes: [NamedValue(name: "h5mount.stat", value: stat)])
            try session.packFile(packed)
        }
        let report = try WorkingCopy.recover(container: container, threads: 2)
        XCTAssertEqual(report.filesFromSpools, 1)
        XCTAssertEqual(report.filesFromJournal, 1)
        XCTAssertEqual(report.failures, [])
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.bytes("/small"), sampleBytes(3_000))
        for file in ["/small", "/packed"] {
            let attributes = try reader.attributes(of: .p(file))
            XCTAssertEqual(attributes.map(\.name), ["h5mount.stat"], file)
            XCTAssertEqual(attributes.first?.value, stat, file)
        }
    }

    func testHalfWrittenWorkingCopyLeavesTheOriginalIntact() throws {
        let container = try makeOriginal()
        let before = try XCTUnwrap(FileManager.default.contents(atPath: container))
        var files = try crash(container) { session in
            for index in 0..<20 { try writeFile(session, "/f\(index)", sampleBytes(3_000, seed: UInt64(index), noisy: true)) }
            try writeFile(session, "/waiting", [4, 5, 6], pack: false)
        }
        // The working copy lost its second half (a crash in the middle of copying or writing).
        let working = try XCTUnwrap(files["working.h5"])
        files["working.h5"] = working.prefix(working.count / 2)
        try restore(files, to: container + ".h5mount-work")
        XCTAssertEqual(FileManager.default.contents(atPath: container), before)
        XCTAssertEqual(try HDF5Container.open(path: container).bytes("/keep"), Array("kept".utf8))

        let report = try WorkingCopy.recover(container: container, threads: 2)
        // Chunks that were in the lost half fail their checksum; those files are reported,
        // everything else is whole.
        XCTAssertFalse(report.damagedFiles.isEmpty)
        XCTAssertEqual(report.filesFromSpools, 1)
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.bytes("/waiting"), [4, 5, 6])
        for index in 0..<20 where !report.damagedFiles.contains(.p("/f\(index)")) {
            XCTAssertEqual(try reader.bytes("/f\(index)"), sampleBytes(3_000, seed: UInt64(index), noisy: true))
        }
    }

    func testTornJournalTailIsIgnored() throws {
        let container = try makeOriginal()
        var files = try crash(container) { session in try writeFile(session, "/f", [1, 2, 3]) }
        files["journal"]?.append(contentsOf: [0x20, 0, 0, 0, 1, 2, 3, 4, 9])
        try restore(files, to: container + ".h5mount-work")
        XCTAssertEqual(WorkingCopy.leftover(container: container)?.damagedTail, true)
        let report = try WorkingCopy.recover(container: container, threads: 2)
        XCTAssertTrue(report.journalDamagedTail)
        XCTAssertEqual(try HDF5Container.open(path: container).bytes("/f"), [1, 2, 3])
    }

    func testCrashAfterTheRenameOnlyNeedsCleanup() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try writeFile(session, "/f", [1])
        try session.commit()
        // Put back a work directory as the commit left it just after its rename.
        let work = container + ".h5mount-work"
        try FileManager.default.createDirectory(atPath: work + "/spool", withIntermediateDirectories: true)
        var info = stat()
        XCTAssertEqual(stat(container, &info), 0)
        let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: UInt64(info.st_size),
                                    modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
        let journal = try Journal.create(path: work + "/journal", start: SessionStart(
            container: container, original: nil, inplace: false, compression: .standard, chunkSize: 4096))
        try journal.append([.committing(identity)])
        journal.close()
        XCTAssertEqual(WorkingCopy.leftover(container: container)?.committed, true)
        XCTAssertEqual(try WorkingCopy.recover(container: container).outcome, .alreadyCommitted)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work))
        XCTAssertEqual(try HDF5Container.open(path: container).bytes("/f"), [1])
    }

    func testRecoveryInterruptedAndRunAgain() throws {
        let container = try makeOriginal()
        var files = try crash(container) { session in
            try writeFile(session, "/f", sampleBytes(10_000))
            try writeFile(session, "/w", [7], pack: false)
        }
        // As if a first recovery got as far as keeping the crashed copy and half-replaying.
        files["crashed.h5"] = files.removeValue(forKey: "working.h5")
        files["working.h5"] = Data("a partial replay".utf8)
        try restore(files, to: container + ".h5mount-work")
        let report = try WorkingCopy.recover(container: container, threads: 2)
        XCTAssertEqual(report.damagedFiles, [])
        let reader = try HDF5Container.open(path: container)
        XCTAssertEqual(try reader.bytes("/f"), sampleBytes(10_000))
        XCTAssertEqual(try reader.bytes("/w"), [7])
    }

    func testRecoveryRefusesAContainerChangedSinceTheCrash() throws {
        let container = try makeOriginal()
        try crash(container) { session in try writeFile(session, "/f", [1]) }
        try runPython("import sys, h5py; f = h5py.File(sys.argv[1], 'a'); f['x'] = 1; f.close()", arguments: [container])
        assertStagingError(ESTALE) { try WorkingCopy.recover(container: container) }
        try WorkingCopy.discard(container: container)
        XCTAssertNil(WorkingCopy.leftover(container: container))
        XCTAssertNil(try HDF5Container.open(path: container).link(named: "f", in: .root))
    }

    func testEmptyWorkDirectoryIsCleanedUp() throws {
        let container = try makeOriginal()
        try FileManager.default.createDirectory(atPath: container + ".h5mount-work/spool", withIntermediateDirectories: true)
        XCTAssertEqual(WorkingCopy.leftover(container: container)?.empty, true)
        XCTAssertEqual(try WorkingCopy.recover(container: container).outcome, .nothingToRecover)
        XCTAssertNil(WorkingCopy.leftover(container: container))
    }
}
