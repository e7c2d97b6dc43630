import FUSEBridge
import Synchronization
import XCTest

/// One log line per EIO a user meets: repeats of a line within the interval are folded.
final class RepeatedLineFilterTests: XCTestCase {
    final class Clock: Sendable {
        let now = Mutex<Double>(100)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    func testRepeatsWithinTheIntervalAreFoldedAndLoggedAgainAfterIt() {
        let clock = Clock()
        let filter = RepeatedLineFilter(interval: 2) { clock.now.withLock { $0 } }
        XCTAssertTrue(filter.admits("/bad: filter not available"))
        XCTAssertFalse(filter.admits("/bad: filter not available"), "the kernel's retry of the same read")
        XCTAssertTrue(filter.admits("/other: filter not available"), "another object has its own line")
        clock.advance(1.9)
        XCTAssertFalse(filter.admits("/bad: filter not available"))
        clock.advance(0.1)
        XCTAssertTrue(filter.admits("/bad: filter not available"), "a later read gets its line again")
        XCTAssertFalse(filter.admits("/bad: filter not available"))
    }

    func testManyDistinctLinesAreAllLoggedAndTheMemoryStaysBounded() {
        let clock = Clock()
        let filter = RepeatedLineFilter(interval: 2) { clock.now.withLock { $0 } }
        for index in 0..<5000 {
            XCTAssertTrue(filter.admits("/file\(index): broken"))
            clock.advance(0.01)
        }
        XCTAssertFalse(filter.admits("/file4999: broken"), "the recent ones are still remembered")
    }
}
