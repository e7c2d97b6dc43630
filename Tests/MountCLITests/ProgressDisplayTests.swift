import Staging
import XCTest
@testable import MountCLI

/// The progress line of `-u` and `--recover`: its text, its rate and time left, and when
/// and how it is written (bar on a terminal, plain lines otherwise, nothing with -q).
final class ProgressDisplayTests: XCTestCase {
    let committing = ProgressLine(verb: "committing", name: "data.h5")

    func testBytesAndDurations() {
        XCTAssertEqual(formatBytes(0), "0 B")
        XCTAssertEqual(formatBytes(1023), "1023 B")
        XCTAssertEqual(formatBytes(1024), "1.0 KiB")
        XCTAssertEqual(formatBytes(412 << 20), "412 MiB")
        XCTAssertEqual(formatBytes(1_288_490_189), "1.2 GiB")
        XCTAssertEqual(formatBytes(10 * 1024 - 1), "10 KiB", "9.999 KiB rounds up to a whole 10")
        XCTAssertEqual(formatBytes(1023 << 20), "1023 MiB")
        XCTAssertEqual(formatBytes(UInt64.max), "16 EiB")
        XCTAssertEqual(formatDuration(0), "0:00")
        XCTAssertEqual(formatDuration(4.2), "0:05", "rounded up: the last second still shows")
        XCTAssertEqual(formatDuration(754), "12:34")
        XCTAssertEqual(formatDuration(3723), "1:02:03")
        XCTAssertEqual(formatDuration(.infinity), "0:00")
    }

    func testLineOfEachPhase() {
        let packing = CommitProgress(.packing, done: 412 << 20, total: 1_288_490_189, files: 37, filesTotal: 120)
        XCTAssertEqual(committing.render(packing, rate: Double(180 << 20), secondsLeft: 4.1, elapsed: 3),
                       "committing data.h5: 412 MiB / 1.2 GiB packed, 37 / 120 files, 180 MiB/s, 0:05 left")
        let syncing = CommitProgress(.syncing, done: 800 << 20, total: 1200 << 20)
        XCTAssertEqual(committing.render(syncing, rate: nil, secondsLeft: nil, elapsed: 1),
                       "committing data.h5: 800 MiB / 1.2 GiB written to disk", "no rate yet: none shown")
        let stored = CommitProgress(.syncing, done: 800 << 20, total: 1200 << 20, filesStored: 37)
        XCTAssertEqual(committing.render(stored, rate: Double(180 << 20), secondsLeft: 2.2, elapsed: 1),
                       "committing data.h5: 800 MiB / 1.2 GiB written to disk, 37 files, 180 MiB/s, 0:03 left")
        XCTAssertEqual(committing.render(CommitProgress(.closing), rate: nil, secondsLeft: nil, elapsed: 3),
                       "committing data.h5: closing the working copy, 0:03")
        XCTAssertEqual(committing.render(CommitProgress(.closing, filesStored: 1), rate: nil, secondsLeft: nil, elapsed: 3),
                       "committing data.h5: closing the working copy, 1 file, 0:03")
        XCTAssertEqual(committing.render(CommitProgress(.replacing), rate: 5, secondsLeft: 0, elapsed: 0),
                       "committing data.h5: replacing the container")
        XCTAssertEqual(committing.render(CommitProgress(.replacing, filesStored: 2), rate: 5, secondsLeft: 0, elapsed: 0),
                       "committing data.h5: replacing the container, 2 files")
        XCTAssertEqual(committing.render(nil, rate: nil, secondsLeft: nil, elapsed: 2),
                       "committing data.h5... 0:02", "before the daemon's first record")
        let recovering = ProgressLine(verb: "recovering", name: "run 1.h5")
        XCTAssertEqual(recovering.render(CommitProgress(.copying, done: 1 << 30, total: 2 << 30), rate: Double(1 << 30),
                                         secondsLeft: 1, elapsed: 1),
                       "recovering run 1.h5: 1.0 GiB / 2.0 GiB copied, 1.0 GiB/s, 0:01 left")
        XCTAssertEqual(recovering.render(CommitProgress(.replaying, done: 120, total: 800, files: 1), rate: 40,
                                         secondsLeft: 17, elapsed: 3),
                       "recovering run 1.h5: 120 / 800 journal records replayed, 1 file restored, 0:17 left",
                       "records have a time left but no byte rate")
        XCTAssertEqual(committing.render(CommitProgress(.syncing, done: 5, total: 5), rate: 100, secondsLeft: 0, elapsed: 1),
                       "committing data.h5: 5 B / 5 B written to disk, 100 B/s", "no time left once done")
    }

    func testLineIsCutToTheWidth() {
        let line = committing.render(CommitProgress(.syncing, done: 1, total: 2), rate: nil, secondsLeft: nil,
                                     elapsed: 0, width: 20)
        XCTAssertEqual(line, "committing data.h5: ")
        XCTAssertEqual(committing.render(nil, rate: nil, secondsLeft: nil, elapsed: 0, width: 0), "")
    }

    func testRateFollowsTheWindowAndRestartsWithEachPhase() {
        var estimator = RateEstimator(window: 5, minimumSpan: 0.5)
        estimator.add(CommitProgress(.syncing, done: 0, total: 1000), at: 10)
        XCTAssertNil(estimator.rate, "one sample says nothing")
        estimator.add(CommitProgress(.syncing, done: 10, total: 1000), at: 10.2)
        XCTAssertNil(estimator.rate, "too short a span")
        estimator.add(CommitProgress(.syncing, done: 100, total: 1000), at: 11)
        XCTAssertEqual(try XCTUnwrap(estimator.rate), 100, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(estimator.secondsLeft(total: 1000)), 9, accuracy: 1e-9)
        // The disk slows down: after the window, only the recent samples count.
        estimator.add(CommitProgress(.syncing, done: 200, total: 1000), at: 16)
        estimator.add(CommitProgress(.syncing, done: 210, total: 1000), at: 21)
        XCTAssertEqual(try XCTUnwrap(estimator.rate), 2, accuracy: 1e-9)
        // A new phase starts over.
        estimator.add(CommitProgress(.replacing), at: 22)
        XCTAssertNil(estimator.rate)
        XCTAssertEqual(estimator.phaseStarted, 22)
        XCTAssertNil(estimator.secondsLeft(total: 0))
    }

    /// Runs a display through `records` (time, record) and returns what it wrote.
    func written(_ mode: ProgressDisplay.Mode, _ records: [(Double, CommitProgress?)]) -> [String] {
        var out: [String] = []
        var display = ProgressDisplay(mode: mode, line: committing, started: 100) { out.append($0) }
        for (time, record) in records { display.update(record, at: time) }
        display.finish()
        return out
    }

    func syncing(_ done: UInt64) -> CommitProgress { CommitProgress(.syncing, done: done << 20, total: 100 << 20) }

    func testTerminalRedrawsOneLineInPlaceAndErasesItAtTheEnd() {
        let out = written(.terminal(width: 80), [(100.1, nil), (100.4, syncing(10)), (100.5, syncing(12)),
                                                 (100.7, syncing(20)), (101.4, syncing(60)), (101.45, nil)])
        XCTAssertEqual(out, [
            "\rcommitting data.h5: 10 MiB / 100 MiB written to disk\u{1B}[K",
            // 100.5: within 0.2 s of the last redraw, skipped.
            "\rcommitting data.h5: 20 MiB / 100 MiB written to disk\u{1B}[K",
            "\rcommitting data.h5: 60 MiB / 100 MiB written to disk, 50 MiB/s, 0:01 left\u{1B}[K",
            "\r\u{1B}[K",
        ])
        XCTAssertTrue(out.allSatisfy { !$0.contains("\n") })
    }

    func testTerminalShowsNothingForAQuickCommit() {
        XCTAssertEqual(written(.terminal(width: 80), [(100.1, syncing(50)), (100.2, CommitProgress(.replacing))]), [])
    }

    func testTerminalLineFitsTheWidthWithAColumnSpare() {
        let out = written(.terminal(width: 21), [(101, syncing(1))])
        XCTAssertEqual(out.first, "\rcommitting data.h5: \u{1B}[K")
    }

    func testPlainLinesAtMostEveryFiveSecondsAndTheLastRecordStays() {
        // 8 MiB/s for 11 s, then the record is gone (the work directory removed) for 1 s.
        let records: [(Double, CommitProgress?)] = (1...120).map { (tenth: Int) -> (Double, CommitProgress?) in
            let time = 100 + Double(tenth) / 10
            let record: CommitProgress? = tenth <= 110 ? syncing(UInt64(tenth * 8 / 10)) : nil
            return (time, record)
        }
        let out = written(.plain, records)
        XCTAssertEqual(out.count, 2, "\(out)")
        XCTAssertTrue(out.allSatisfy { $0.hasPrefix("h5mount: committing data.h5: ") && $0.hasSuffix("\n") }, "\(out)")
        XCTAssertTrue(out.allSatisfy { !$0.contains("\r") && !$0.contains("\u{1B}") })
        XCTAssertEqual(out[0], "h5mount: committing data.h5: 40 MiB / 100 MiB written to disk, 8.2 MiB/s, 0:08 left\n")
        XCTAssertTrue(out[1].hasPrefix("h5mount: committing data.h5: 80 MiB / 100 MiB"), out[1])
    }

    func testSilentWritesNothing() {
        XCTAssertEqual(written(.silent, [(101, syncing(1)), (110, syncing(90))]), [])
    }
}
