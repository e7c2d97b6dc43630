import Foundation
import XCTest
@testable import MountCLI

final class MountTableTests: XCTestCase {
    let sample = """
        22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
        29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        61 29 0:52 / /mnt/my\\040data rw,nosuid,nodev,relatime shared:33 master:1 - fuse.h5mount /srv/a\\040b.h5 rw,user_id=0,group_id=0
        62 29 0:53 / /mnt/other rw,relatime - fuse.sshfs host:/x rw
        garbage line
        63 29 0:54 / /mnt/other rw,relatime - tmpfs tmpfs rw
        """

    func testParsesFieldsOptionalFieldsAndOctalEscapes() {
        let entries = parseMountInfo(sample)
        XCTAssertEqual(entries.count, 5)
        let h5 = entries[2]
        XCTAssertEqual(h5.mountID, 61)
        XCTAssertEqual(h5.parentID, 29)
        XCTAssertEqual(h5.major, 0)
        XCTAssertEqual(h5.minor, 52)
        XCTAssertEqual(h5.mountPoint, "/mnt/my data")
        XCTAssertEqual(h5.fileSystemType, "fuse.h5mount")
        XCTAssertEqual(h5.source, "/srv/a b.h5")
        XCTAssertEqual(entries[0].fileSystemType, "proc")
    }

    func testStackedMountsAnswerTheTopOne() {
        let entries = parseMountInfo(sample)
        XCTAssertEqual(mountEntry(at: "/mnt/other", in: entries)?.fileSystemType, "tmpfs")
        XCTAssertNil(mountEntry(at: "/mnt", in: entries))
        XCTAssertEqual(mountEntry(at: "/", in: entries)?.source, "/dev/sda1")
    }

    func testUnescapeLeavesOtherBackslashesAlone() {
        XCTAssertEqual(unescapeMountField("a\\134b\\011c\\012"), "a\\b\tc\n")
        XCTAssertEqual(unescapeMountField("a\\9x\\"), "a\\9x\\")
        XCTAssertEqual(unescapeMountField("end\\04"), "end\\04")
    }

    func testTheRealTableHasARoot() {
        XCTAssertNotNil(mountEntry(at: "/", in: currentMounts()))
    }
}
