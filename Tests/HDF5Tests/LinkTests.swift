import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// Links and object identity in links.h5, names in types.h5, the packed tree in tree.h5.
final class LinkTests: XCTestCase {
    private var container: HDF5Container!

    override func setUpWithError() throws {
        container = try openCorpus("links.h5")
    }

    override func tearDown() {
        container = nil
    }

    func testRootLinksInByteOrderWithTargets() throws {
        let links = try container.links(in: .root)
        XCTAssertEqual(links.map(\.name), ["alias_group", "dangling", "data", "ext", "ext_ds", "ext_missing",
                                           "group", "hard_data", "soft_abs", "vds"])
        let byName = Dictionary(uniqueKeysWithValues: links.map { ($0.name, $0.target) })
        let data = try container.object(at: .p("/data"))
        let group = try container.object(at: .p("/group"))
        XCTAssertEqual(byName["data"], .hard(address: data.address))
        XCTAssertEqual(byName["hard_data"], .hard(address: data.address))
        XCTAssertEqual(byName["alias_group"], .hard(address: group.address))
        XCTAssertEqual(byName["soft_abs"], .soft("/group/inner"))
        XCTAssertEqual(byName["dangling"], .soft("/nope"))
        XCTAssertEqual(byName["ext"], .external(file: "ext_target.h5", object: "/target_group"))
        XCTAssertEqual(byName["ext_ds"], .external(file: "ext_target.h5", object: "/target_data"))
        XCTAssertEqual(byName["ext_missing"], .external(file: "no_such.h5", object: "/x"))
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    func testHardLinksShareIdentityAndCount() throws {
        let data = try container.object(at: .p("/data"))
        XCTAssertEqual(data.kind, .dataset)
        XCTAssertEqual(data.referenceCount, 2)
        XCTAssertEqual(try container.object(at: .p("/hard_data")), data)
        // /group is linked three times: /group, /alias_group and /group/sub/loop (a cycle).
        let group = try container.object(at: .p("/group"))
        XCTAssertEqual(group.kind, .group)
        XCTAssertEqual(group.referenceCount, 3)
        XCTAssertEqual(try container.object(at: .p("/group/sub/loop")).address, group.address)
        XCTAssertEqual(try container.object(at: .p("/group/sub/loop/sub/loop/inner")),
                       try container.object(at: .p("/group/inner")))
        XCTAssertEqual(try container.link(named: "loop", in: .p("/group/sub")),
                       Link(name: "loop", target: .hard(address: group.address)))
        // h5py does not track modification times.
        XCTAssertNil(data.modificationTime)
    }

    func testSoftLinksResolveOrDangle() throws {
        let inner = try container.object(at: .p("/group/inner"))
        XCTAssertEqual(try container.object(at: .p("/soft_abs")), inner)
        XCTAssertEqual(try container.object(at: .p("/group/soft_rel")), inner)
        XCTAssertEqual(try container.link(named: "soft_rel", in: .p("/group")),
                       Link(name: "soft_rel", target: .soft("inner")))
        assertStoreError(.notFound) { try self.container.object(at: .p("/dangling")) }
        XCTAssertEqual(try container.link(named: "dangling", in: .root), Link(name: "dangling", target: .soft("/nope")))
    }

    func testExternalLinksAreFollowedByObjectInfo() throws {
        XCTAssertEqual(try container.object(at: .p("/ext")).kind, .group)
        XCTAssertEqual(try container.object(at: .p("/ext_ds")).kind, .dataset)
        XCTAssertEqual(try container.dataset(at: .p("/ext/hello")).shape, [3])
        assertStoreError(.notFound) { try self.container.object(at: .p("/ext_missing")) }
        XCTAssertEqual(try container.link(named: "ext", in: .root),
                       Link(name: "ext", target: .external(file: "ext_target.h5", object: "/target_group")))
    }

    func testMissingAndWrongKinds() {
        XCTAssertNil(try container.link(named: "nope", in: .root))
        XCTAssertNil(try container.link(named: "a/b", in: .root))
        assertStoreError(.invalidArgument) { try self.container.link(named: "x", in: .p("/data")) }
        assertStoreError(.invalidArgument) { try self.container.links(in: .p("/data")) }
        assertStoreError(.notFound) { try self.container.links(in: .p("/nope")) }
        assertStoreError(.notFound) { try self.container.link(named: "x", in: .p("/nope")) }
        assertStoreError(.notFound) { try self.container.object(at: .p("/nope")) }
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    func testRootObject() throws {
        let root = try container.object(at: .root)
        XCTAssertEqual(root.kind, .group)
        XCTAssertEqual(root.referenceCount, 1)
    }

    func testOddNamesRoundTrip() throws {
        let types = try openCorpus("types.h5")
        let names = try types.links(in: .p("/names")).map(\.name)
        XCTAssertEqual(Set(names), ["with space", "new\nline", "ünïcødé ✓", "percent%2Fslash", "tab\there",
                                    String(repeating: "L", count: 300), "bad\u{FFFD}name"])
        // Every listed name opens again, the one with an invalid UTF-8 byte included.
        for name in names {
            let path = H5Path(["names", name])
            XCTAssertEqual(try types.object(at: path).kind, .dataset, name)
            XCTAssertNotNil(try types.link(named: name, in: .p("/names")), name)
        }
        XCTAssertEqual(try types.readAll("/names/bad\u{FFFD}name"), littleEndianBytes([Int32(0), 1, 2]))
        XCTAssertEqual(types.openObjectCount(), 0)
    }

    func testShadowingNamesAreOrdinaryLinks() throws {
        let types = try openCorpus("types.h5")
        XCTAssertEqual(try types.links(in: .p("/shadow")).map(\.name), [".attrs", "x", "x.attrs"])
        XCTAssertEqual(try types.object(at: .p("/shadow/.attrs")).kind, .group)
        XCTAssertEqual(try types.object(at: .p("/shadow/x.attrs")).kind, .dataset)
    }

    /// tree.h5 lists exactly like tree_src/, and every file's dataset holds its bytes.
    func testPackedTreeMatchesTheSourceTree() throws {
        let tree = try openCorpus("tree.h5")
        let source = try Corpus.path("tree_src")
        var checked = 0
        func walk(_ path: H5Path, _ directory: String) throws {
            let entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted {
                Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
            }
            XCTAssertEqual(try tree.links(in: path).map(\.name), entries, directory)
            for name in entries {
                let child = path.appending(name)
                var isDirectory: ObjCBool = false
                XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory))
                if isDirectory.boolValue {
                    XCTAssertEqual(try tree.object(at: child).kind, .group)
                    try walk(child, directory + "/" + name)
                } else {
                    let info = try tree.dataset(at: child)
                    XCTAssertEqual(info.type.rendering(rank: info.shape?.count), .bytes)
                    let contents = try XCTUnwrap(FileManager.default.contents(atPath: directory + "/" + name))
                    XCTAssertEqual(try tree.readAll(child.description), [UInt8](contents), child.description)
                    if !contents.isEmpty {
                        XCTAssertEqual(info.filters.map(\.id), [1])
                        XCTAssertEqual(info.filters.first?.clientData, [9])
                    }
                    checked += 1
                }
            }
        }
        try walk(.root, source)
        XCTAssertEqual(checked, 7)
    }
}
