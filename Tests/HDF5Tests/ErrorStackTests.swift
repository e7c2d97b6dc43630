@testable import HDF5
import XCTest

/// What libhdf5's error descriptions become in a log line.
final class ErrorStackTests: XCTestCase {
    func testTheDriversTwoLineWriteFailureBecomesWhatWasTriedAndTheSystemsMessage() {
        let description = "file write failed: time = Thu Dec  3 06:34:56 2026\n, filename = '/x/working.h5', "
            + "file descriptor = 7, errno = 28, error message = 'No space left on device', buf = 0x7fe9347b1498, "
            + "total write size = 18632, bytes this sub-write = 18632, bytes actually written = "
            + "18446744073709551615, offset = 0"
        XCTAssertEqual(ErrorStack.condensed(description), "file write failed: No space left on device")
    }

    func testOtherDescriptionsOnlyLoseTheirLineBreaks() {
        XCTAssertEqual(ErrorStack.condensed("unable to open file"), "unable to open file")
        XCTAssertEqual(ErrorStack.condensed("first line\n second line\nthird"), "first line second line third")
        XCTAssertEqual(ErrorStack.condensed(""), "")
    }
}
