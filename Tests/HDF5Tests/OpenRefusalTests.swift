@testable import HDF5
import XCTest

/// What a failed open of a file another process writes says (the stacks libhdf5 1.10.8 gives).
final class OpenRefusalTests: XCTestCase {
    private func entries(_ descriptions: String...) -> [ErrorStack.Entry] {
        descriptions.map { ErrorStack.Entry(function: "H5F_open", description: $0, major: 0, minor: 0) }
    }

    func testASWMRWritersMarkNamesTheOption() throws {
        let stack = entries("file is already open for write (may use <h5clear file> to clear file consistency flags)",
                            "unable to open file")
        let message = try XCTUnwrap(OpenRefusal.message(stack, path: "/d/a.h5", swmr: false))
        XCTAssertTrue(message.hasPrefix("/d/a.h5: open for writing by another process (a SWMR writer): mount with -o swmr"))
        XCTAssertTrue(message.contains("h5clear -s /d/a.h5"))
        let withSWMR = try XCTUnwrap(OpenRefusal.message(stack, path: "/d/a.h5", swmr: true))
        XCTAssertTrue(withSWMR.contains("not in SWMR mode"), withSWMR)
    }

    func testAWritersLockIsNotSomethingSWMRCanFollow() throws {
        let stack = entries("unable to lock file, errno = 11, error message = 'Resource temporarily unavailable'",
                            "driver lock request failed", "unable to lock the file", "unable to open file")
        let message = try XCTUnwrap(OpenRefusal.message(stack, path: "/d/a.h5", swmr: true))
        XCTAssertTrue(message.contains("holds its lock"), message)
    }

    func testOtherFailuresAreNotRefusals() {
        XCTAssertNil(OpenRefusal.message(entries("truncated file: eof = 96"), path: "/d/a.h5", swmr: false))
    }
}
