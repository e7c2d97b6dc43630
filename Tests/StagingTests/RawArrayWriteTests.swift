import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// Writes into typed datasets below the filesystem: the byte-range set, which elements a
/// change rewrites, the working copy applying and journaling a change, and recovery
/// replaying it from the spool kept for it.
final class RawArrayWriteTests: StagingTestCase {
    func test_byte_ranges_merge_clip_and_report_gaps() {
        var ranges = ByteRanges([10..<20, 30..<40])
        ranges.insert(20..<25)                        // touches: merged
        ranges.insert(50..<60)
        ranges.insert(35..<52)                        // bridges two
        XCTAssertEqual(ranges.ranges, [10..<25, 30..<60])
        XCTAssertEqual(ranges.intersecting(0..<12), [10..<12])
        XCTAssertEqual(ranges.intersecting(25..<30), [])
        XCTAssertEqual(ranges.gaps(in: 0..<70), [0..<10, 25..<30, 60..<70])
        ranges.clip(to: 33)
        XCTAssertEqual(ranges.ranges, [10..<25, 30..<33])
        XCTAssertEqual(ranges.byteCount, 18)
        ranges.insert(0..<100)
        XCTAssertEqual(ranges.ranges, [0..<100])
    }

    /// A container with a 4-byte-element dataset `/g` of 2 rows of 3 (unlimited) and `/f` fixed.
    private func makeContainer() throws -> String {
        let container = path("c.h5")
        try runPython("""
        import sys, h5py, numpy as np
        with h5py.File(sys.argv[1], 'w') as f:
            f.create_dataset('g', data=np.arange(6, dtype='<i4').reshape(2, 3), maxshape=(None, 3), chunks=(1, 3),
                             compression='gzip', fillvalue=-1)
            f.create_dataset('f', data=np.arange(6, dtype='<i4').reshape(2, 3))
        """, arguments: [container])
        return container
    }

    private func values(_ container: String, _ dataset: String) throws -> String {
        try runPython("""
        import sys, h5py
        print(h5py.File(sys.argv[1], 'r')[sys.argv[2]][()].ravel().tolist())
        """, arguments: [container, dataset]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Bytes 5..<9 (the high bytes of element 1, the low bytes of element 2) as 0xFF, and
    /// the file grown to 4 rows with the last element written: elements 1 and 2 change in
    /// part, rows 2 and 3 are new (fill), element 11 is written.
    private func apply(_ session: WorkingCopy) throws {
        let spool = try session.makeSpool()
        try spool.write([0xff, 0xff, 0xff, 0xff], at: 5)
        try spool.write([7, 0, 0, 0], at: 44)
        try session.writeRawArray(RawArrayWrite(spool: spool.id, path: .p("/g"), keptBytes: 24, size: 48,
                                                written: [5..<9, 44..<48]), from: spool)
    }

    private let expected = "[0, -255, 255, 3, 4, 5, -1, -1, -1, -1, -1, 7]"

    func test_the_working_copy_applies_a_change_with_partial_elements_and_growth() throws {
        let container = try makeContainer()
        let session = try WorkingCopy(container: container)
        try apply(session)
        // A truncation while open dropped everything past row 1: those bytes become the fill value.
        try session.writeRawArray(RawArrayWrite(spool: 0, path: .p("/f"), keptBytes: 12, size: 24, written: []), from: nil)
        XCTAssertThrowsError(try session.writeRawArray(RawArrayWrite(spool: 0, path: .p("/f"), keptBytes: 0, size: 36,
                                                                     written: []), from: nil))
        try session.commit()
        XCTAssertEqual(try values(container, "g"), expected)
        XCTAssertEqual(try values(container, "f"), "[0, 1, 2, 0, 0, 0]")
    }

    func test_recovery_replays_a_closed_raw_write_from_its_spool() throws {
        let container = try makeContainer()
        let work = container + ".h5mount-work"
        func live() throws -> [String: Data] {
            let session = try WorkingCopy(container: container)
            try apply(session)
            try session.moveLink(from: .p("/g"), to: .p("/moved"))
            return try snapshot(work)
        }
        let files = try live()
        try restore(files, to: work)
        XCTAssertEqual(WorkingCopy.leftover(container: container)?.changes, 2)
        let report = try WorkingCopy.recover(container: container)
        XCTAssertEqual(report.outcome, .committed)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(try values(container, "moved"), expected)
    }

    func test_changed_runs_cover_partial_elements_and_dropped_bytes() {
        let change = RawArrayWrite(spool: 1, path: .p("/x"), keptBytes: 8, size: 40, written: [1..<2, 30..<33])
        let runs = RawArrayApply.changedRuns(change, elementSize: 4, storedBytes: 24)
        // element 0 (partly written), 8..<24 (dropped by a truncation: fill), 28..<36 (written in part)
        XCTAssertEqual(runs.ranges, [0..<4, 8..<24, 28..<36])
        XCTAssertEqual(RawArrayApply.pieceBytes(slabBytes: 3 << 20, elementSize: 6), 6 << 20, "whole slabs, at least 4 MiB")
        XCTAssertEqual(RawArrayApply.pieceBytes(slabBytes: 100 << 20, elementSize: 6), (32 << 20) / 6 * 6, "at most 32 MiB")
    }
}
