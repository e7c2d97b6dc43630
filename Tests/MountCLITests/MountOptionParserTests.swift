import H5FS
import XCTest
@testable import MountCLI

final class MountOptionParserTests: XCTestCase {
    private func parse(_ groups: String...) throws -> ParsedMountOptions {
        try parseMountOptions(groups, uid: 1000, gid: 100)
    }

    private func usageError(_ groups: String...) -> String? {
        do {
            _ = try parseMountOptions(groups, uid: 0, gid: 0)
            return nil
        } catch {
            XCTAssertEqual(error.status, .usage)
            return error.message
        }
    }

    func testDefaultsAreReadOnlyAndTheMountingUser() throws {
        let parsed = try parse()
        XCTAssertEqual(parsed.filesystem, MountOptions(readOnly: true, cacheBytes: 256 << 20, uid: 1000, gid: 100))
        XCTAssertEqual(parsed.fuseOptions, [])
        XCTAssertEqual(parsed.warnings, [])
        XCTAssertEqual(parsed.sessionOptions(container: "/data/a.h5"),
                       ["ro", "fsname=/data/a.h5", "subtype=h5mount", "max_read=1048576"])
    }

    func testOwnOptionsAcrossSeveralGroups() throws {
        let parsed = try parse("ro,cache_size=64M", "uid=5,gid=6")
        XCTAssertEqual(parsed.filesystem.cacheBytes, 64 << 20)
        XCTAssertEqual(parsed.filesystem.uid, 5)
        XCTAssertEqual(parsed.filesystem.gid, 6)
        XCTAssertTrue(parsed.filesystem.readOnly)
        XCTAssertEqual(parsed.fuseOptions, [])
    }

    func testReadWriteIsAcceptedWithAWarningAndStaysReadOnly() throws {
        let parsed = try parse("rw")
        XCTAssertTrue(parsed.filesystem.readOnly)
        XCTAssertEqual(parsed.warnings, ["h5mount: the write path is not available yet; mounting read-only"])
        XCTAssertEqual(parsed.sessionOptions(container: "/a.h5").first, "ro")
    }

    func testFUSEOptionsPassThroughAndReplaceDefaults() throws {
        let parsed = try parse("allow_other,default_permissions", "fsname=mydata,subtype=x,max_read=128K,noatime")
        XCTAssertEqual(parsed.fuseOptions,
                       ["allow_other", "default_permissions", "fsname=mydata", "subtype=x", "max_read=131072", "noatime"])
        XCTAssertEqual(parsed.maxRead, 131072)
        XCTAssertEqual(parsed.sessionOptions(container: "/a.h5"),
                       ["ro", "allow_other", "default_permissions", "fsname=mydata", "subtype=x", "max_read=131072", "noatime"])
    }

    func testCommasInTheContainerPathAreEscapedForLibfuse() throws {
        XCTAssertEqual(try parse().sessionOptions(container: "/d/a,b\\c.h5")[1], "fsname=/d/a\\,b\\\\c.h5")
        XCTAssertEqual(splitOptionList("fsname=a\\,b,ro"), ["fsname=a\\,b", "ro"])
        XCTAssertEqual(try parse("fsname=a\\,b,ro").fuseOptions, ["fsname=a\\,b"])
    }

    func testEmptyItemsAreIgnored() throws {
        XCTAssertEqual(try parse("ro,,allow_other,").fuseOptions, ["allow_other"])
    }

    func testUnknownAndMalformedOptionsAreUsageErrors() {
        XCTAssertEqual(usageError("bogus"), "h5mount: unknown mount option 'bogus' (see h5mount --help)")
        XCTAssertEqual(usageError("ro=1"), "h5mount: unknown mount option 'ro=1' (see h5mount --help)")
        XCTAssertEqual(usageError("cache_size"), "h5mount: mount option 'cache_size' needs a value (cache_size=...)")
        XCTAssertNotNil(usageError("cache_size=lots"))
        XCTAssertNotNil(usageError("uid=-1"))
        XCTAssertNotNil(usageError("gid=abc"))
        XCTAssertNotNil(usageError("max_read=100"))
        XCTAssertNotNil(usageError("fsname="))
        XCTAssertNotNil(usageError("allow_other,allow_root"))
        XCTAssertNotNil(usageError("debug"))
    }
}
