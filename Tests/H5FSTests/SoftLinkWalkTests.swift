import Synchronization
import H5Model
@testable import H5FS
import XCTest

/// Rendering soft links walks them one link at a time (SoftLinkWalk): never through an external link.
final class SoftLinkWalkTests: XCTestCase {
    let u8 = DataType.integer(size: 1, signed: false, order: .notApplicable)

    func testSoftLinksThroughExternalLinksReadBackVerbatimAndOpenNothing() throws {
        let container = InMemoryContainer(filePath: "/data/master.h5")
        container.addGroup("/g")
        container.addDataset("/g/x", type: u8, shape: [1], bytes: [1])
        container.addLink("/ext", .external(file: "other.h5", object: "/"))
        container.addLink("/through_external", .soft("/ext/x"))
        container.addLink("/alias", .soft("/g"))
        container.addLink("/through_soft", .soft("/alias/x"))
        container.addLink("/relative_hop", .soft("g"))
        container.addLink("/via_relative", .soft("/relative_hop/x"))
        container.addLink("/loop_a", .soft("/loop_b/x"))
        container.addLink("/loop_b", .soft("/loop_a"))
        let opened = Mutex<[String]>([])
        let fs = try ContainerFilesystem(container: container, options: MountOptions(), opener: { path throws(StoreError) in
            opened.withLock { $0.append(path) }
            throw StoreError(.notFound, "no file \(path)")
        })
        func readLink(_ name: String) throws -> String { try fs.readLink(try fs.lookup(parent: 1, name: name).node) }
        XCTAssertEqual(try readLink("through_external"), "/ext/x")
        XCTAssertEqual(try readLink("through_soft"), "alias/x", "soft links in the middle still resolve")
        XCTAssertEqual(try readLink("via_relative"), "relative_hop/x")
        XCTAssertEqual(try readLink("loop_a"), "/loop_b/x", "a loop ends at the hop limit")
        XCTAssertEqual(SoftLinkWalk.target(of: "/alias/x", in: container), H5Path(parsing: "/g/x"))
        XCTAssertNil(SoftLinkWalk.target(of: "/ext/x", in: container))
        XCTAssertEqual(opened.withLock { $0 }, [], "no external file was opened")
    }

    func testADirectoryOfManySoftLinksToOneObjectWalksItsValueOncePerListingAndNotAgain() throws {
        let container = InMemoryContainer(filePath: "/data/many.h5")
        container.addGroup("/g")
        container.addDataset("/g/x", type: u8, shape: [1], bytes: [1])
        container.addGroup("/many")
        for index in 0 ..< 200 { container.addLink("/many/l\(index)", .soft("/g/x")) }
        let fs = try ContainerFilesystem(container: container, options: MountOptions(), opener: { path throws(StoreError) in
            throw StoreError(.notFound, "no file \(path)")
        })
        let many = try fs.lookup(parent: 1, name: "many").node
        let before = container.linkLookups
        let first = try fs.listDirectory(many)
        let walked = container.linkLookups - before
        XCTAssertEqual(first.count, 200)
        XCTAssertLessThanOrEqual(walked, 4, "one walk of /g/x (two names, and its check), not one per link")
        XCTAssertEqual(try fs.readLink(first[0].attributes.node), "../g/x")
        XCTAssertEqual(try fs.readLink(first[199].attributes.node), "../g/x")
        let again = container.linkLookups
        let second = try fs.listDirectory(many)
        XCTAssertEqual(container.linkLookups, again, "listing again walks nothing: every link has its node")
        XCTAssertEqual(second.map { $0.attributes.node }, first.map { $0.attributes.node }, "the same inodes")
    }
}
