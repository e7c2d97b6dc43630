import Glibc
import Synchronization
import H5Model
@testable import H5FS
import XCTest

/// External links under `-o external=dir|any|none` (ExternalLinkPolicy, ExternalFileLocation).
final class ExternalLinkPolicyTests: XCTestCase {
    let u8 = DataType.integer(size: 1, signed: false, order: .notApplicable)

    // MARK: - Where a link's file is, and whether it may be opened

    /// A fake file system: "/data" is the container's directory, "/data/link.h5" a symlink out of it.
    private func realPath(_ path: String) -> String? {
        let table = ["/data": "/data", "/data/raw/run.h5": "/data/raw/run.h5", "/data/link.h5": "/home/x/secret.h5",
                     "/data/../etc/a.h5": "/etc/a.h5", "/etc/a.h5": "/etc/a.h5", "/data/out": "/home/x",
                     "/data/sub": "/data/sub"]
        return table[path]
    }

    func testRelativeNamesInsideTheDirectoryResolve() throws {
        XCTAssertEqual(try ExternalFileLocation.resolve(name: "raw/run.h5", directory: "/data", policy: .directory,
                                                        realPath: realPath), "/data/raw/run.h5")
    }

    func testDotDotAbsolutePathsAndSymlinksOutOfTheDirectoryAreRefused() {
        for name in ["../etc/a.h5", "/etc/a.h5", "link.h5", "raw/../../etc/missing.h5", "/datadir/x.h5",
                     "out/missing.h5"] {
            XCTAssertThrowsError(try ExternalFileLocation.resolve(name: name, directory: "/data", policy: .directory,
                                                                  realPath: realPath), name) { error in
                XCTAssertEqual((error as? FSError)?.errno, EACCES, name)
                XCTAssertTrue((error as? FSError)?.message.contains("-o external=any") ?? false)
            }
        }
    }

    func testAnyFollowsEverythingButStillResolvesSymlinksOnce() throws {
        XCTAssertEqual(try ExternalFileLocation.resolve(name: "link.h5", directory: "/data", policy: .any,
                                                        realPath: realPath), "/home/x/secret.h5")
        XCTAssertEqual(try ExternalFileLocation.resolve(name: "/etc/a.h5", directory: "/data", policy: .any,
                                                        realPath: realPath), "/etc/a.h5")
    }

    func testMissingFilesKeepTheirNormalisedPath() throws {
        XCTAssertEqual(try ExternalFileLocation.resolve(name: "./sub//new.h5", directory: "/data", policy: .directory,
                                                        realPath: realPath), "/data/sub/new.h5")
        XCTAssertEqual(try ExternalFileLocation.resolve(name: "sub/new.h5", directory: "/data", policy: .directory,
                                                        realPath: realPath), "/data/sub/new.h5")
        XCTAssertEqual(ExternalFileLocation.lexicallyNormalized("/../a/./b/../c"), "/a/c")
        XCTAssertTrue(ExternalFileLocation.isInside("/x", directory: "/"))
        XCTAssertFalse(ExternalFileLocation.isInside("/data2/x", directory: "/data"))
    }

    func testNoneOpensNothing() {
        XCTAssertThrowsError(try ExternalFileLocation.resolve(name: "raw/run.h5", directory: "/data", policy: .none,
                                                              realPath: realPath)) { error in
            XCTAssertEqual((error as? FSError)?.errno, ENOENT)
        }
    }

    // MARK: - What the mount shows

    private func filesystem(_ policy: ExternalLinkPolicy, directory: String,
                            log: @escaping @Sendable (String) -> Void = { _ in }) throws -> ContainerFilesystem {
        let container = InMemoryContainer(filePath: directory + "/master.h5")
        container.addLink("/inside", .external(file: "raw.h5", object: "/d"))
        container.addLink("/outside", .external(file: "/etc/passwd.h5", object: "/d"))
        container.addDataset("/plain", type: u8, shape: [1], bytes: [7])
        let raw = InMemoryContainer(filePath: directory + "/raw.h5")
        raw.addDataset("/d", type: u8, shape: [2], bytes: [1, 2])
        let outside = InMemoryContainer(filePath: "/etc/passwd.h5")
        outside.addDataset("/d", type: u8, shape: [1], bytes: [9])
        let table = [directory + "/raw.h5": raw, "/etc/passwd.h5": outside]
        var options = MountOptions()
        options.external = policy
        return try ContainerFilesystem(container: container, options: options, opener: { path throws(StoreError) in
            guard let reader = table[path] else { throw StoreError(.notFound, "no file \(path)") }
            return reader
        }, log: log)
    }

    /// A real directory, so realpath(3) resolves the container's directory.
    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/h5fs-external-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw XCTSkip("mkdtemp failed") }
        let path = String(cString: made)
        addTeardownBlock { rmdir(path) }
        return path
    }

    func testDirectoryPolicyServesInsideAndRefusesOutsideWithOneLogLine() throws {
        let directory = try temporaryDirectory()
        let lines = Mutex<[String]>([])
        let fs = try filesystem(.directory, directory: directory, log: { line in lines.withLock { $0.append(line) } })
        XCTAssertEqual(try fs.listDirectory(1).map(\.name).sorted(), ["inside", "outside", "plain"],
                       "both links list, as symbolic links")
        let external = try fs.lookup(parent: 1, name: ".external")
        let raw = try fs.lookup(parent: external.node, name: "raw.h5")
        XCTAssertEqual(try fs.lookup(parent: raw.node, name: "d").size, 2)
        for _ in 0..<3 {
            XCTAssertThrowsError(try fs.lookup(parent: external.node, name: "%2Fetc%2Fpasswd.h5")) { error in
                XCTAssertEqual((error as? FSError)?.errno, EACCES)
            }
        }
        let refused = lines.withLock { $0.filter { $0.contains("/etc/passwd.h5") } }
        XCTAssertEqual(refused.count, 1, "\(refused)")
        XCTAssertTrue(refused.first?.contains("outside the container's directory") ?? false)
    }

    func testAnyPolicyFollowsLinksOutside() throws {
        let fs = try filesystem(.any, directory: try temporaryDirectory())
        let external = try fs.lookup(parent: 1, name: ".external")
        let outside = try fs.lookup(parent: external.node, name: "%2Fetc%2Fpasswd.h5")
        XCTAssertEqual(try fs.lookup(parent: outside.node, name: "d").size, 1)
    }

    func testNonePolicyHidesTheLinksAndTheExternalDirectory() throws {
        let fs = try filesystem(.none, directory: try temporaryDirectory())
        XCTAssertEqual(try fs.listDirectory(1).map(\.name), ["plain"])
        for name in ["inside", "outside", ".external"] {
            XCTAssertThrowsError(try fs.lookup(parent: 1, name: name), name) { error in
                XCTAssertEqual((error as? FSError)?.errno, ENOENT, name)
            }
        }
    }
}
