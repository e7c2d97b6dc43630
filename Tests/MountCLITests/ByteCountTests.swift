import XCTest
@testable import MountCLI

final class ByteCountTests: XCTestCase {
    func testPlainAndSuffixed() {
        XCTAssertEqual(parseByteCount("0"), 0)
        XCTAssertEqual(parseByteCount("4096"), 4096)
        XCTAssertEqual(parseByteCount("512K"), 512 << 10)
        XCTAssertEqual(parseByteCount("256m"), 256 << 20)
        XCTAssertEqual(parseByteCount("2G"), 2 << 30)
        XCTAssertEqual(parseByteCount("1T"), 1 << 40)
        XCTAssertEqual(parseByteCount("64MiB"), 64 << 20)
        XCTAssertEqual(parseByteCount("10KB"), 10 << 10)
        XCTAssertEqual(parseByteCount("7B"), 7)
    }

    func testRejectsGarbageAndOverflow() {
        XCTAssertNil(parseByteCount(""))
        XCTAssertNil(parseByteCount("M"))
        XCTAssertNil(parseByteCount("-1"))
        XCTAssertNil(parseByteCount("1.5G"))
        XCTAssertNil(parseByteCount("12X"))
        XCTAssertNil(parseByteCount("1 G"))
        XCTAssertNil(parseByteCount("99999999999999999999"))
        XCTAssertNil(parseByteCount("9000000000000T"))
    }
}
