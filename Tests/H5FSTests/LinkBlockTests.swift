import Glibc
import Synchronization
import H5Model
@testable import H5FS
import XCTest

/// Large groups of a read-only mount listed into a link block (LinkBlock.swift): the same
/// entries as an ordinary listing, symbolic links without a node each, ids from the block.
final class LinkBlockTests: XCTestCase {
    let u16 = DataType.integer(size: 2, signed: false, order: .little)
    let u8 = DataType.integer(size: 1, signed: false, order: .notApplicable)

    func makeFilesystem(_ container: InMemoryContainer, blockMinimum: Int, others: [String: InMemoryContainer] = [:],
                        log: @escaping @Sendable (String) -> Void = { _ in }) throws -> ContainerFilesystem {
        var options = MountOptions(uid: 1000, gid: 100)
        options.linkBlockMinimum = blockMinimum
        let table = others
        return try ContainerFilesystem(container: container, options: options, opener: { path throws(StoreError) in
            guard let reader = table[path] else { throw StoreError(.notFound, "no file \(path)") }
            return reader
        }, log: log)
    }

    /// A group with every kind of link a listing treats differently.
    func mixedContainer() -> InMemoryContainer {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addDataset("/target", type: u8, shape: [4], bytes: [0, 1, 2, 3])
        c.addGroup("/g", attributes: [Attribute(name: "NX_class", value: .string("NXentry"))])
        c.addDataset("/g/image", type: u16, shape: [2], bytes: [1, 0, 2, 0])
        c.addDataset("/g/bytes", type: u8, shape: [3], bytes: [7, 8, 9])
        c.addLink("/g/same_bytes", .hard(address: c.addDataset("/shared", type: u8, shape: [1], bytes: [5])))
        c.addLink("/g/shared", .soft("/shared"))
        c.addGroup("/g/sub")
        c.addBroken("/g/broken")
        for i in 0 ..< 40 { c.addLink("/g/l\(100 + i)", .soft(i % 2 == 0 ? "/target" : "/nowhere/\(i)")) }
        c.addLink("/g/rel", .soft("x/y"))
        c.addLink("/g/ext", .external(file: "raw.h5", object: "/entry"))
        c.addLink("/g/custom", .unknown)
        c.addLink("/g/" + String(repeating: "n", count: 300), .soft("/target"))
        // A real object named like a sidecar shadows it.
        c.addDataset("/g/image.attrs", type: u8, shape: [1], bytes: [1])
        return c
    }

    func summary(_ fs: ContainerFilesystem, _ entries: [DirectoryEntry]) throws -> [String] {
        try entries.map { entry in
            let a = entry.attributes
            let link = a.mode & S_IFMT == S_IFLNK ? " -> " + (try fs.readLink(a.node)) : ""
            return "\(entry.name) \(String(a.mode, radix: 8)) \(a.size) \(a.linkCount)\(link)"
        }
    }

    func test_a_block_lists_what_an_ordinary_listing_lists() throws {
        let ordinary = try makeFilesystem(mixedContainer(), blockMinimum: .max)
        let blocked = try makeFilesystem(mixedContainer(), blockMinimum: 1)
        let g1 = try ordinary.lookup(parent: 1, name: "g").node, g2 = try blocked.lookup(parent: 1, name: "g").node
        let expected = try summary(ordinary, try ordinary.listDirectory(g1))
        XCTAssertEqual(try summary(blocked, try blocked.listDirectory(g2)), expected)
        XCTAssertEqual(try summary(blocked, try blocked.listDirectory(g2)), expected, "listed again from the block")
        XCTAssertTrue(expected.contains("image.attrs 100444 1 1"), "the real object, not the sidecar")
        XCTAssertTrue(expected.contains { $0.hasPrefix(".attrs 100444 ") }, "the group's sidecar")
        XCTAssertFalse(expected.contains { $0.hasPrefix("custom") || $0.hasPrefix("nnn") })
        XCTAssertEqual(try blocked.listing(of: try blocked.existing(g2)).block?.count, 51, "every link has a slot, shown or not")
    }

    func test_symbolic_links_of_a_block_have_ids_from_the_block_and_no_node() throws {
        let c = mixedContainer()
        let fs = try makeFilesystem(c, blockMinimum: 1)
        let g = try fs.lookup(parent: 1, name: "g").node
        let before = fs.nodes.count
        let entries = try fs.listDirectory(g)
        let links = entries.filter { $0.attributes.mode & S_IFMT == S_IFLNK }
        XCTAssertEqual(links.count, 43)   // 40 + shared, rel, ext
        // Hard links made nodes (datasets, the group, the unreadable entry, sidecars); links did not.
        XCTAssertLessThan(fs.nodes.count - before, 12)
        let afterListing = fs.nodes.count
        let ids = links.map(\.attributes.node)
        XCTAssertEqual(Set(ids).count, ids.count)
        for link in links {
            XCTAssertNotNil(fs.linkBlocks.owner(of: link.attributes.node), link.name)
            // A lookup after the listing answers the listing's id, and the same attributes.
            XCTAssertEqual(try fs.lookup(parent: g, name: link.name), link.attributes)
            XCTAssertEqual(try fs.attributes(of: link.attributes.node), link.attributes)
        }
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: g, name: "l100").node), "../target")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: g, name: "l101").node), "/nowhere/1")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: g, name: "ext").node), "../.external/raw.h5/entry")
        XCTAssertEqual(fs.nodes.count, afterListing, "lookups and readlinks made no node")
        // A hard link keeps its object's node: one node per object, whichever name.
        XCTAssertEqual(try fs.lookup(parent: g, name: "same_bytes").node, try fs.lookup(parent: 1, name: "shared").node)
        XCTAssertNil(fs.linkBlocks.owner(of: try fs.lookup(parent: g, name: "sub").node))
        // Names the block leaves out are not found, and ids past the block lead nowhere.
        XCTAssertThrowsError(try fs.lookup(parent: g, name: "custom")) { XCTAssertEqual(($0 as? FSError)?.errno, ENOENT) }
        let block = try XCTUnwrap(fs.linkBlocks.block(file: 0, group: try XCTUnwrap(c.groupAddress("/g"))))
        XCTAssertThrowsError(try fs.attributes(of: block.firstID + NodeID(block.count) + 10_000))
    }

    func test_a_listed_block_asks_the_reader_nothing_again() throws {
        let c = mixedContainer()
        let fs = try makeFilesystem(c, blockMinimum: 1)
        let g = try fs.lookup(parent: 1, name: "g").node
        _ = try fs.listDirectory(g)
        let listings = c.listings, lookups = c.linkLookups
        _ = try fs.listDirectory(g)
        _ = try fs.lookup(parent: g, name: "l120")
        XCTAssertEqual(c.listings, listings)
        XCTAssertEqual(c.linkLookups, lookups, "a block's symbolic link is found in the block")
    }

    func test_small_groups_and_swmr_mounts_list_without_a_block() throws {
        let fs = try makeFilesystem(mixedContainer(), blockMinimum: 1000)
        let g = try fs.lookup(parent: 1, name: "g").node
        XCTAssertNil(try fs.listing(g).block)
        XCTAssertNil(fs.linkBlocks.owner(of: try fs.lookup(parent: g, name: "l100").node))
        var options = MountOptions()
        options.linkBlockMinimum = 1
        options.swmr = true
        let following = try ContainerFilesystem(container: mixedContainer(), options: options,
                                                opener: { path throws(StoreError) in throw StoreError(.notFound, path) })
        XCTAssertNil(try following.listing(try following.lookup(parent: 1, name: "g").node).block)
    }

    func test_a_group_whose_names_are_not_strictly_sorted_lists_without_a_block() throws {
        // Two names that differ only in bytes that are not UTF-8 both read as U+FFFD.
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addGroup("/g")
        c.addLink("/g/a\u{FFFD}", .soft("/x"))
        c.addLink("/g/a\u{FFFD}", .soft("/y"))
        let fs = try makeFilesystem(c, blockMinimum: 1)
        let g = try fs.lookup(parent: 1, name: "g").node
        XCTAssertNil(try fs.listing(g).block)
        XCTAssertEqual(try fs.listDirectory(g).count, 2)
    }
}
