import H5FS
import XCTest
@testable import MountCLI

/// `-o external=dir|any|none`: which files external links may lead to (default dir).
final class ExternalOptionTests: XCTestCase {
    func testDefaultIsTheContainersDirectory() throws {
        XCTAssertEqual(try parseMountOptions([], uid: 0, gid: 0).filesystem.external, .directory)
    }

    func testEachPolicyParsesAndTheLastOneWins() throws {
        XCTAssertEqual(try parseMountOptions(["external=any"], uid: 0, gid: 0).filesystem.external, .any)
        XCTAssertEqual(try parseMountOptions(["external=none"], uid: 0, gid: 0).filesystem.external, .none)
        XCTAssertEqual(try parseMountOptions(["external=none", "ro,external=dir"], uid: 0, gid: 0).filesystem.external,
                       .directory)
        XCTAssertEqual(try parseMountOptions(["external=any"], uid: 0, gid: 0).fuseOptions, [],
                       "h5mount's own option: not handed to libfuse")
    }

    func testBadOrMissingValuesAreUsageErrors() {
        for bad in ["external=all", "external=", "external"] {
            XCTAssertThrowsError(try parseMountOptions([bad], uid: 0, gid: 0), bad) { error in
                XCTAssertEqual((error as? CLIError)?.status, .usage, bad)
                XCTAssertTrue((error as? CLIError)?.message.contains("external") ?? false, bad)
            }
        }
    }
}
