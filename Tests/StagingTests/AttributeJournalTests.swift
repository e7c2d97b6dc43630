import Foundation
import H5Model
import HDF5
import Staging
import XCTest

/// Attribute edits (a sidecar's, or a file's xattrs set before it was stored) are one
/// journal record each, applied all or nothing, and replayed by recovery.
extension RecoveryTests {
    func testAttributeEditsAreOneRecordAndAreReplayedAfterACrash() throws {
        let container = try makeOriginal()
        try crash(container) { session in
            try session.setAttribute(of: .p("/keep"), name: "old", value: .int(1))
            try session.changeAttributes(of: .p("/keep"), [
                .remove(name: "old"), .set(name: "units", value: .string("m")),
                .set(name: "scale", value: .array([.double(0.5), .string("NaN")])),
            ])
            // Refused as a whole (a name changed twice): nothing of it applies, nothing is recorded.
            assertStagingError(EINVAL) {
                try session.changeAttributes(of: .p("/keep"), [.set(name: "x", value: .int(1)), .remove(name: "x")])
            }
            assertStagingError(ENOENT) { try session.changeAttributes(of: .p("/keep"), [.remove(name: "absent")]) }
            let records = try Journal.read(path: container + ".h5mount-work/journal").records
            XCTAssertEqual(records.last, .changeAttributes(.p("/keep"), [
                .remove(name: "old"), .set(name: "units", value: .string("m")),
                .set(name: "scale", value: .array([.double(0.5), .string("NaN")])),
            ]))
        }
        XCTAssertEqual(try XCTUnwrap(WorkingCopy.leftover(container: container)).changes, 2)
        XCTAssertEqual(try WorkingCopy.recover(container: container, threads: 2).outcome, .committed)
        XCTAssertEqual(try HDF5Container.open(path: container).attributes(of: .p("/keep")), [
            Attribute(name: "scale", value: .array([.double(0.5), .double(.nan)])),
            Attribute(name: "units", value: .string("m")),
        ])
    }
}
