import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// The session lifecycle: lazy start, changes, files, commit, and what is left on disk.
final class WorkingCopyTests: StagingTestCase {
    let options = WorkingCopyOptions(compression: .standard, chunkSize: 4096, packThreads: 2)

    /// An h5py-made container with a group and a file, like a user's existing container.
    func makeOriginal(_ name: String = "data.h5") throws -> String {
        let container = path(name)
        try runPython("""
        import sys, h5py, numpy
        f = h5py.File(sys.argv[1], 'w')
        f.create_group('old')
        f.create_dataset('old/file', data=numpy.frombuffer(b'old content', dtype='u1'), compression='gzip')
        f.close()
        """, arguments: [container])
        return container
    }

    func contents(_ path: String) throws -> Data { try XCTUnwrap(FileManager.default.contents(atPath: path)) }

    /// Writes `bytes` as a new file at `path` through a spool, closed and packed.
    func writeFile(_ session: WorkingCopy, _ path: String, _ bytes: [UInt8]) throws {
        let spool = try session.makeSpool()
        try spool.write(bytes, at: 0)
        try session.closeFile(spool, at: .p(path))
        try session.packFile(spool)
    }

    func testNothingOnDiskUntilTheFirstChange() throws {
        let container = try makeOriginal()
        let before = try contents(container)
        let session = try WorkingCopy(container: container, options: options)
        XCTAssertFalse(session.isStarted)
        XCTAssertNil(session.workingPath)
        XCTAssertFalse(FileManager.default.fileExists(atPath: container + ".h5mount-work"))
        XCTAssertEqual(try session.commit().outcome, .unchanged)
        XCTAssertEqual(try contents(container), before)
    }

    func testChangesReachTheContainerOnlyAtCommit() throws {
        let container = try makeOriginal()
        chmod(container, 0o640)
        let before = try contents(container)
        let session = try WorkingCopy(container: container, options: options)
        try session.createGroup(at: .p("/new"))
        XCTAssertEqual(session.workingPath, container + ".h5mount-work/working.h5")
        try writeFile(session, "/new/small", Array("hello\n".utf8))
        try writeFile(session, "/new/big", sampleBytes(20_000))
        try writeFile(session, "/new/empty", [])
        try session.createSoftLink(at: .p("/new/link"), target: "small")
        try session.createHardLink(at: .p("/new/hard"), to: .p("/new/small"))
        try session.setAttribute(of: .p("/new/small"), name: "h5mount.mode", value: .int(0o100600))
        try session.moveLink(from: .p("/old/file"), to: .p("/new/moved"))
        try session.deleteLink(at: .p("/old"))
        // Overwriting a file: a new pack replaces the dataset at its path.
        try writeFile(session, "/new/big", sampleBytes(9_000, seed: 2))
        XCTAssertEqual(try contents(container), before, "the container is untouched while mounted")

        try session.sync()
        // Readers of the working copy open it after the writer and see every change.
        var reader: HDF5Container? = try HDF5Container.open(path: try XCTUnwrap(session.workingPath))
        XCTAssertEqual(try reader?.bytes("/new/big"), sampleBytes(9_000, seed: 2))
        assertStagingError(EBUSY) { try session.commit() }
        reader = nil

        let report = try session.commit()
        XCTAssertEqual(report.outcome, .committed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: container + ".h5mount-work"))
        var info = stat()
        XCTAssertEqual(stat(container, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o640, "the committed container keeps the original's mode")
        let committed = try HDF5Container.open(path: container)
        XCTAssertEqual(try committed.links(in: .root).map(\.name), ["new"])
        XCTAssertEqual(try committed.links(in: .p("/new")).map(\.name), ["big", "empty", "hard", "link", "moved", "small"])
        XCTAssertEqual(try committed.bytes("/new/small"), Array("hello\n".utf8))
        XCTAssertEqual(try committed.bytes("/new/big"), sampleBytes(9_000, seed: 2))
        XCTAssertEqual(try committed.bytes("/new/empty"), [])
        XCTAssertEqual(try committed.bytes("/new/moved"), Array("old content".utf8))
        XCTAssertEqual(try committed.object(at: .p("/new/hard")).referenceCount, 2)
        XCTAssertEqual(try committed.attributes(of: .p("/new/small")), [Attribute(name: "h5mount.mode", value: .int(0o100600))])
        assertStagingError(EROFS) { try session.createGroup(at: .p("/late")) }
    }

    func testCreatesAMissingContainerAtCommit() throws {
        let container = path("fresh.h5")
        let session = try WorkingCopy(container: container, options: options)
        try writeFile(session, "/a", [1, 2, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: container))
        try session.commit()
        XCTAssertEqual(try HDF5Container.open(path: container).bytes("/a"), [1, 2, 3])
    }

    func testCommitThroughASymbolicLinkReplacesItsTarget() throws {
        let container = try makeOriginal()
        try FileManager.default.createSymbolicLink(atPath: path("link.h5"), withDestinationPath: container)
        let session = try WorkingCopy(container: path("link.h5"), options: options)
        try writeFile(session, "/via-link", [8])
        XCTAssertTrue(FileManager.default.fileExists(atPath: container + ".h5mount-work"))
        try session.commit()
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.h5")), container)
        XCTAssertEqual(try HDF5Container.open(path: container).bytes("/via-link"), [8])
    }

    func testCommitPacksWaitingFilesAndDropsUnclosedOnes() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        let waiting = try session.makeSpool()
        try waiting.write(sampleBytes(10_000), at: 0)
        try session.closeFile(waiting, at: .p("/waiting"))
        try session.createGroup(at: .p("/dir"))
        let renamed = try session.makeSpool()
        try renamed.write([5], at: 0)
        try session.closeFile(renamed, at: .p("/dir/before"))
        try session.moveUnpacked(renamed, to: .p("/dir/after"))
        // Renaming the directory carries the unpacked file along.
        try session.moveLink(from: .p("/dir"), to: .p("/moved"))
        let dropped = try session.makeSpool()
        try dropped.write([6], at: 0)
        try session.closeFile(dropped, at: .p("/dropped"))
        try session.dropSpool(dropped)
        // Never closed, and seeded: its seed's reader of the working copy must not block the commit.
        let unclosed = try session.makeSpool(seed: try DatasetSeed(
            reader: try HDF5Container.open(path: try XCTUnwrap(session.workingPath)), path: .p("/old/file")))
        try unclosed.write([7], at: 0)
        let report = try session.commit()
        XCTAssertEqual(report.packedAtCommit, 2)
        XCTAssertEqual(report.discardedOpenFiles, 1)
        let committed = try HDF5Container.open(path: container)
        XCTAssertEqual(try committed.links(in: .root).map(\.name), ["moved", "old", "waiting"])
        XCTAssertEqual(try committed.bytes("/waiting"), sampleBytes(10_000))
        XCTAssertEqual(try committed.bytes("/moved/after"), [5])
    }

    func testSeededSpoolRewritesPartOfAnExistingFile() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try writeFile(session, "/f", sampleBytes(10_000, seed: 3))
        // Reopen without O_TRUNC: the spool starts from the packed file, read from the working copy.
        let reader = try HDF5Container.open(path: try XCTUnwrap(session.workingPath))
        let spool = try session.makeSpool(seed: try DatasetSeed(reader: reader, path: .p("/f")))
        try spool.write([0xEE, 0xEE], at: 5_000)
        try spool.write([0xDD], at: 10_000)
        try session.closeFile(spool, at: .p("/f"))
        try session.packFile(spool)
        var expected = sampleBytes(10_000, seed: 3)
        expected.replaceSubrange(5_000..<5_002, with: [0xEE, 0xEE])
        expected.append(0xDD)
        XCTAssertEqual(try reader.bytes("/f"), expected)
        assertStagingError(EINVAL) { try DatasetSeed(reader: reader, path: .p("/old")) }
    }

    func testRefusesACommitOverAContainerChangedBehindItsBack() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try session.createGroup(at: .p("/mine"))
        try runPython("import sys, h5py; f = h5py.File(sys.argv[1], 'a'); f.create_group('theirs'); f.close()",
                      arguments: [container])
        assertStagingError(ESTALE) { try session.commit() }
        XCTAssertNotNil(try HDF5Container.open(path: container).link(named: "theirs", in: .root))
        try session.commit(force: true)
        XCTAssertEqual(try HDF5Container.open(path: container).links(in: .root).map(\.name), ["mine", "old"])
    }

    func testLiveSessionIsReportedInUse() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        XCTAssertNil(WorkingCopy.leftover(container: container))
        try session.start()
        XCTAssertEqual(WorkingCopy.leftover(container: container)?.inUse, true)
        assertStagingError(EBUSY) { try WorkingCopy(container: container, options: options) }
        assertStagingError(EBUSY) { try WorkingCopy.recover(container: container) }
        assertStagingError(EBUSY) { try WorkingCopy.discard(container: container) }
        try session.commit()
        XCTAssertNil(WorkingCopy.leftover(container: container))
    }

    func testInplaceWritesTheContainerItself() throws {
        let container = try makeOriginal()
        var inplace = options
        inplace.inplace = true
        let session = try WorkingCopy(container: container, options: inplace)
        try writeFile(session, "/f", [1])
        XCTAssertEqual(session.workingPath, container)
        XCTAssertFalse(FileManager.default.fileExists(atPath: container + ".h5mount-work/working.h5"))
        XCTAssertEqual(try session.commit().outcome, .committedInPlace)
        XCTAssertEqual(try HDF5Container.open(path: container).bytes("/f"), [1])
    }

    func testJournalRecordsEveryChangeInOrder() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        try session.createGroup(at: .p("/g"))
        assertStagingError(EINVAL) { try session.createGroup(at: .p("/g")) }
        try session.setAttribute(of: .p("/g"), name: "n", value: .array([.double(2.0), .uint(UInt64.max)]))
        try writeFile(session, "/g/f", [1, 2])
        let records = try Journal.read(path: container + ".h5mount-work/journal").records
        guard case .start(let start)? = records.first else { return XCTFail("no start record") }
        XCTAssertEqual(start.container, container)
        XCTAssertEqual(start.compression, .standard)
        XCTAssertNotNil(start.original)
        XCTAssertEqual(Array(records.dropFirst().prefix(3)), [
            .createGroup(.p("/g")),
            .setAttribute(.p("/g"), name: "n", value: .array([.double(2.0), .uint(UInt64.max)])),
            .fileClosed(spool: 1, path: .p("/g/f"), size: 2),
        ], "a refused change is not recorded; values keep their exact JSON type")
        guard case .packBegin(let token, 1, let layout) = records[4] else { return XCTFail("\(records[4])") }
        XCTAssertEqual(layout.chunkSize, 2)
        guard case .packChunk(token, 0, _, _, _) = records[5] else { return XCTFail("\(records[5])") }
        XCTAssertEqual(records[6], .packLink(token: token, path: .p("/g/f"), replacing: true))
        try session.commit()
    }

    /// The attributes given at the close reach the dataset with its pack (one chunk or many),
    /// and the journal has them twice: with the close (for a recovery that packs the spool)
    /// and after the link (for one that replays the pack).
    func testAPackGivesTheAttributesTheFileWasClosedWith() throws {
        let container = try makeOriginal()
        let session = try WorkingCopy(container: container, options: options)
        let stat = NamedValue(name: "h5mount.stat", value: .array([.int(0o100644), .int(0), .int(0), .int(1_700_000_000), .int(5)]))
        for (path, size) in [("/one", 1_000), ("/many", 3 * 4096 + 10)] {
            let spool = try session.makeSpool()
            try spool.write(sampleBytes(size), at: 0)
            try session.closeFile(spool, at: .p(path), attributes: [stat])
            try session.packFile(spool)
        }
        let records = try Journal.read(path: container + ".h5mount-work/journal").records
        for path in ["/one", "/many"] {
            guard let closed = records.firstIndex(where: { if case .fileClosed(_, .p(path), _) = $0 { return true }; return false }),
                  case .fileClosed(let spool, _, _) = records[closed] else { return XCTFail("no fileClosed for \(path)") }
            XCTAssertEqual(records[closed + 1], .fileAttribute(spool: spool, name: stat.name, value: stat.value), path)
            guard let linked = records.firstIndex(where: { if case .packLink(_, .p(path), _) = $0 { return true }; return false })
            else { return XCTFail("no packLink for \(path)") }
            XCTAssertEqual(records[linked + 1], .setAttribute(.p(path), name: stat.name, value: stat.value), path)
        }
        try session.commit()
        let reader = try HDF5Container.open(path: container)
        for (path, size) in [("/one", 1_000), ("/many", 3 * 4096 + 10)] {
            XCTAssertEqual(try reader.bytes(path), sampleBytes(size), path)
            XCTAssertEqual(try reader.attributes(of: .p(path)).map { NamedValue(name: $0.name, value: $0.value) }, [stat], path)
        }
    }
}
