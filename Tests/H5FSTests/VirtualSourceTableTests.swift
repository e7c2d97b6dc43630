import Glibc
import Synchronization
import H5Model
@testable import H5FS
import XCTest

/// Where virtual datasets' source files are looked for, what the policy lets through, and
/// the sidecar's `"missing": true` (VirtualSourceTable, SidecarBuilder).
final class VirtualSourceTableTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/h5mount-vsources-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw XCTSkip("mkdtemp failed") }
        directory = String(cString: made)
        XCTAssertEqual(mkdir(directory + "/inside", 0o755), 0)
        XCTAssertEqual(mkdir(directory + "/outside", 0o755), 0)
        for name in ["inside/a.h5", "inside/b.h5", "outside/far.h5", "outside/a.h5"] {
            XCTAssertTrue(FileManagerFree.touch(directory + "/" + name), name)
        }
    }

    override func tearDown() {
        for name in ["inside/a.h5", "inside/b.h5", "outside/far.h5", "outside/a.h5"] { unlink(directory + "/" + name) }
        rmdir(directory + "/inside"); rmdir(directory + "/outside"); rmdir(directory)
    }

    /// A table over `inside/` whose opener records what it opens (and fails for b.h5).
    private final class Opened: Sendable {
        let paths = Mutex<[String]>([])
        func withLock<T>(_ body: (inout [String]) -> T) -> T { paths.withLock { body(&$0) } }
    }

    private func table(_ policy: ExternalLinkPolicy) -> (VirtualSourceTable, Opened) {
        let opened = Opened()
        let table = VirtualSourceTable(opener: { path throws(StoreError) in
            opened.withLock { $0.append(path) }
            if path.hasSuffix("/b.h5") { throw StoreError(.notHDF5, "\(path): not an HDF5 file") }
            return InMemoryContainer(filePath: path)
        }, containerDirectory: directory + "/inside", policy: policy, log: { _ in })
        return (table, opened)
    }

    func testNamesResolveAgainstTheVirtualDatasetsDirectoryAsLibhdf5Does() {
        XCTAssertEqual(VirtualSourceTable.candidates(for: "sub/x.h5", virtualDirectory: "/d"), ["/d/sub/x.h5"])
        // An absolute name that is not there is looked for by its last component beside the VDS.
        XCTAssertEqual(VirtualSourceTable.candidates(for: "/old/run/x.h5", virtualDirectory: "/d"),
                       ["/old/run/x.h5", "/d/x.h5"])
        XCTAssertEqual(VirtualSourceTable.directory(of: "/d/e/vds.h5"), "/d/e")
        XCTAssertEqual(VirtualSourceTable.directory(of: "/vds.h5"), "/")
    }

    func testDotIsTheVirtualDatasetsOwnFileAndIsNeverOpenedAgain() {
        let (table, opened) = table(.none)
        let vds = InMemoryContainer(filePath: directory + "/inside/vds.h5")
        XCTAssertTrue(table.reader(forSourceFile: ".", of: vds) === vds)
        XCTAssertFalse(table.isMissing(".", of: vds))
        XCTAssertEqual(opened.withLock { $0 }, [])
    }

    func testPresentMissingUnopenableAndRefusedSources() {
        let (table, opened) = table(.directory)
        let vds = InMemoryContainer(filePath: directory + "/inside/vds.h5")
        XCTAssertEqual(table.reader(forSourceFile: "a.h5", of: vds)?.filePath, directory + "/inside/a.h5")
        XCTAssertFalse(table.isMissing("a.h5", of: vds))
        XCTAssertTrue(table.isMissing("gone.h5", of: vds), "does not exist")
        XCTAssertTrue(table.isMissing("b.h5", of: vds), "exists but cannot be opened")
        XCTAssertTrue(table.isMissing("../outside/far.h5", of: vds), "outside the container's directory under dir")
        XCTAssertNil(table.reader(forSourceFile: directory + "/outside/far.h5", of: vds))
        // Absolute and refused, but its last component is beside the VDS: that file is read.
        XCTAssertEqual(table.reader(forSourceFile: directory + "/outside/a.h5", of: vds)?.filePath,
                       directory + "/inside/a.h5")
        // Each file is opened once, whatever is asked after; nothing outside was opened.
        XCTAssertEqual(opened.withLock { $0 }.sorted(), [directory + "/inside/a.h5", directory + "/inside/b.h5"])
    }

    func testAnyOpensFilesOutsideAndNoneOpensNoOtherFile() {
        let vds = InMemoryContainer(filePath: directory + "/inside/vds.h5")
        let (any, _) = table(.any)
        XCTAssertEqual(any.reader(forSourceFile: "../outside/far.h5", of: vds)?.filePath, directory + "/outside/far.h5")
        let (none, opened) = table(.none)
        XCTAssertTrue(none.isMissing("a.h5", of: vds))
        XCTAssertEqual(opened.withLock { $0 }, [])
    }

    func testSidecarMarksOnlyMissingSources() throws {
        let type = DataType.integer(size: 4, signed: true, order: .little)
        let sources = (0..<3).map { i in
            VirtualSource(file: "s\(i).h5", dataset: "/data",
                          destination: .regular(start: [UInt64(i)], stride: [1], count: [1], block: [1]), source: .all)
        }
        let info = DatasetInfo(type: type, shape: [3], maxShape: [3], layout: .virtual, filters: [],
                               fillValue: .int(-1), fillValueBytes: [255, 255, 255, 255], storageSize: 0,
                               virtualSources: sources)
        let json = SidecarBuilder.dataset(info, rendering: .rawArray, attributes: [], missingSources: [1])
        guard case .array(let entries)? = json["virtual_sources"] else { return XCTFail("no virtual_sources") }
        XCTAssertEqual(entries.map { $0["missing"] }, [nil, .bool(true), nil])
        XCTAssertEqual(entries[0]["file"], .string("s0.h5"))
        // Without missing sources the sidecar is what it always was.
        XCTAssertEqual(SidecarBuilder.dataset(info, rendering: .rawArray, attributes: []),
                       SidecarBuilder.dataset(info, rendering: .rawArray, attributes: [], missingSources: []))
    }
}

/// Creating an empty file without Foundation.
enum FileManagerFree {
    static func touch(_ path: String) -> Bool {
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}
