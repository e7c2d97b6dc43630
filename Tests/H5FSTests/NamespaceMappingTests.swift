import Glibc
import Synchronization
import H5Model
@testable import H5FS
import XCTest

final class NamespaceMappingTests: XCTestCase {
    let u16 = DataType.integer(size: 2, signed: false, order: .little)
    let u8 = DataType.integer(size: 1, signed: false, order: .notApplicable)

    func makeFilesystem(_ container: InMemoryContainer, others: [String: InMemoryContainer] = [:],
                        log: @escaping @Sendable (String) -> Void = { _ in }) throws -> ContainerFilesystem {
        let table = others
        return try ContainerFilesystem(container: container, options: MountOptions(uid: 1000, gid: 100), opener: { path throws(StoreError) in
            guard let reader = table[path] else { throw StoreError(.notFound, "no file \(path)") }
            return reader
        }, log: log)
    }

    func test_listing_shows_objects_sidecars_and_hides_reserved_attributes() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addGroup("/entry", attributes: [Attribute(name: "NX_class", value: .string("NXentry")),
                                          Attribute(name: "h5mount.mode", value: .int(0o644))])
        c.addDataset("/entry/image", type: u16, shape: [2, 2], bytes: [1, 0, 2, 0, 3, 0, 4, 0])
        c.addDataset("/entry/raw", type: u8, shape: [3], bytes: [7, 8, 9])
        c.addDataset("/entry/title", type: .variableString(charset: .utf8), shape: [], strings: ["Run 1"])
        let fs = try makeFilesystem(c)
        let entry = try fs.lookup(parent: 1, name: "entry")
        XCTAssertEqual(entry.mode, S_IFDIR | 0o755)
        XCTAssertEqual(entry.uid, 1000)
        XCTAssertEqual(entry.gid, 100)
        let names = try fs.listDirectory(entry.node).map(\.name)
        XCTAssertEqual(names, ["image", "raw", "title", "image.attrs", ".attrs"])
        XCTAssertEqual(try fs.extendedAttributeNames(entry.node), ["user.NX_class"])
        XCTAssertEqual(try fs.extendedAttribute(entry.node, name: "user.NX_class"), Array("NXentry".utf8))
        XCTAssertThrowsError(try fs.extendedAttribute(entry.node, name: "user.h5mount.mode")) { error in
            XCTAssertEqual((error as? FSError)?.errno, ENODATA)
        }
        let groupSidecar = try fs.lookup(parent: entry.node, name: ".attrs")
        XCTAssertEqual(try readAll(fs, groupSidecar), """
        {
          "kind": "group",
          "attributes": {
            "NX_class": "NXentry"
          }
        }

        """)
    }

    func test_typed_dataset_sidecar_has_keys_in_contract_order() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addDataset("/stack", type: u16, shape: [10, 4], attributes: [Attribute(name: "units", value: .string("counts"))],
                     layout: .chunked(chunkShape: [1, 4]),
                     filters: [FilterSpec(id: 1, name: "deflate", flags: 0, clientData: [4])],
                     maxShape: [nil, 4], fill: .int(0))
        let fs = try makeFilesystem(c)
        let sidecar = try fs.lookup(parent: 1, name: "stack.attrs")
        XCTAssertEqual(sidecar.mode, S_IFREG | 0o444)
        let text = try readAll(fs, sidecar)
        XCTAssertEqual(text, """
        {
          "kind": "dataset",
          "dtype": "<u2",
          "shape": [10, 4],
          "maxshape": [null, 4],
          "chunks": [1, 4],
          "filters": [
            {
              "id": 1,
              "name": "deflate",
              "options": [4]
            }
          ],
          "fillvalue": 0,
          "layout": "chunked",
          "storage": {
            "logical_bytes": 80,
            "allocated_bytes": 0,
            "ratio": null
          },
          "attributes": {
            "units": "counts"
          }
        }

        """)
        XCTAssertEqual(UInt64(text.utf8.count), sidecar.size)
    }

    func test_real_object_named_like_a_sidecar_wins() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addDataset("/x", type: u16, shape: [1], bytes: [5, 0])
        c.addDataset("/x.attrs", type: u8, shape: [2], bytes: [1, 2])
        let fs = try makeFilesystem(c)
        let listing = try fs.listDirectory(1)
        // The byte dataset "x.attrs" has no attributes, so it has no sidecar of its own.
        XCTAssertEqual(listing.map(\.name), ["x", "x.attrs"])
        let shadow = try fs.lookup(parent: 1, name: "x.attrs")
        XCTAssertEqual(shadow.size, 2, "the byte dataset, not the sidecar")
    }

    func test_string_and_json_datasets_render_one_element_per_line() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addDataset("/names", type: .variableString(charset: .utf8), shape: [3], strings: ["a", "größe", ""])
        c.addDataset("/ragged", type: .variableSequence(base: u16), shape: [2],
                     json: [.array([.int(1), .int(2)]), .array([])])
        let fs = try makeFilesystem(c)
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: 1, name: "names")), "a\ngröße\n\n")
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: 1, name: "ragged")), "[1,2]\n[]\n")
        let sidecar = try readAll(fs, try fs.lookup(parent: 1, name: "ragged.attrs"))
        XCTAssertTrue(sidecar.contains("\"dtype\": \"O\",\n  \"encoding\": \"json\""), sidecar)
        XCTAssertThrowsError(try fs.lookup(parent: 1, name: "names.attrs"), "strings without attributes have no sidecar")
    }

    func test_hard_linked_dataset_is_one_node_with_link_count() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        let address = c.addDataset("/a", type: u16, shape: [1], bytes: [1, 0])
        c.addLink("/b", .hard(address: address))
        let fs = try makeFilesystem(c)
        let a = try fs.lookup(parent: 1, name: "a")
        let b = try fs.lookup(parent: 1, name: "b")
        XCTAssertEqual(a.node, b.node)
        XCTAssertEqual(a.linkCount, 2)
    }

    func test_group_with_several_paths_is_a_directory_once_and_cycles_end() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        let g = c.addGroup("/g")
        c.addGroup("/g/sub")
        c.addLink("/g/sub/loop", .hard(address: g))
        c.addLink("/alias", .hard(address: g))
        let fs = try makeFilesystem(c)
        // Both paths have one component; byte order makes /alias canonical.
        let alias = try fs.lookup(parent: 1, name: "alias")
        XCTAssertEqual(alias.mode & S_IFMT, S_IFDIR)
        let g2 = try fs.lookup(parent: 1, name: "g")
        XCTAssertEqual(g2.mode & S_IFMT, S_IFLNK)
        XCTAssertEqual(try fs.readLink(g2.node), "alias")
        let sub = try fs.lookup(parent: alias.node, name: "sub")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: sub.node, name: "loop").node), "..")
        XCTAssertEqual(try walk(fs, 1).sorted(), ["/alias", "/alias/sub", "/alias/sub/loop", "/g"])
    }

    func test_canonical_group_path_prefers_fewest_components_then_byte_order() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        let g = c.addGroup("/z")
        c.addGroup("/z/sub")
        c.addLink("/z/sub/loop", .hard(address: g))
        c.addGroup("/a")
        c.addLink("/a/again", .hard(address: g))
        let fs = try makeFilesystem(c)
        let z = try fs.lookup(parent: 1, name: "z")
        XCTAssertEqual(z.mode & S_IFMT, S_IFDIR)
        let sub = try fs.lookup(parent: z.node, name: "sub")
        let loop = try fs.lookup(parent: sub.node, name: "loop")
        XCTAssertEqual(loop.mode & S_IFMT, S_IFLNK)
        XCTAssertEqual(try fs.readLink(loop.node), "..")
        let a = try fs.lookup(parent: 1, name: "a")
        let again = try fs.lookup(parent: a.node, name: "again")
        XCTAssertEqual(try fs.readLink(again.node), "../z")
        // A walk that follows directories only ends.
        XCTAssertEqual(try walk(fs, 1).sorted(), ["/a", "/a/again", "/z", "/z/sub", "/z/sub/loop"])
    }

    func test_soft_links_render_relative_when_they_resolve() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addGroup("/a")
        c.addGroup("/a/b")
        c.addDataset("/data", type: u16, shape: [1], bytes: [0, 0])
        c.addLink("/a/b/abs", .soft("/data"))
        c.addLink("/a/b/dangling", .soft("/nowhere"))
        c.addLink("/a/b/rel", .soft("x/y"))
        let fs = try makeFilesystem(c)
        let b = try fs.lookup(parent: try fs.lookup(parent: 1, name: "a").node, name: "b")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: b.node, name: "abs").node), "../../data")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: b.node, name: "dangling").node), "/nowhere")
        XCTAssertEqual(try fs.readLink(try fs.lookup(parent: b.node, name: "rel").node), "x/y")
        let abs = try fs.lookup(parent: b.node, name: "abs")
        XCTAssertEqual(abs.size, UInt64("../../data".utf8.count))
    }

    func test_external_links_point_into_the_hidden_external_directory() throws {
        let c = InMemoryContainer(filePath: "/data/master.h5")
        c.addGroup("/entry")
        c.addLink("/entry/data", .external(file: "raw/run_1.h5", object: "/entry/frames"))
        let other = InMemoryContainer(filePath: "/data/raw/run_1.h5")
        other.addGroup("/entry")
        other.addDataset("/entry/frames", type: u16, shape: [2], bytes: [1, 0, 2, 0])
        let fs = try makeFilesystem(c, others: ["/data/raw/run_1.h5": other])
        XCTAssertFalse(try fs.listDirectory(1).map(\.name).contains(".external"), "hidden from listings")
        let entry = try fs.lookup(parent: 1, name: "entry")
        let link = try fs.lookup(parent: entry.node, name: "data")
        XCTAssertEqual(try fs.readLink(link.node), "../.external/raw%2Frun_1.h5/entry/frames")
        let ext = try fs.lookup(parent: 1, name: ".external")
        let root = try fs.lookup(parent: ext.node, name: "raw%2Frun_1.h5")
        let extEntry = try fs.lookup(parent: root.node, name: "entry")
        XCTAssertEqual(try fs.lookup(parent: extEntry.node, name: "frames").size, 4)
        XCTAssertEqual(try fs.listDirectory(ext.node).map(\.name), ["raw%2Frun_1.h5"])
        XCTAssertThrowsError(try fs.lookup(parent: ext.node, name: "missing.h5")) { error in
            XCTAssertEqual((error as? FSError)?.errno, ENOENT)
        }
    }

    func test_invalid_names_are_left_out_and_logged_once() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        let long = String(repeating: "n", count: 300)
        c.addDataset("/" + long, type: u8, shape: [1], bytes: [1])
        c.addDataset("/ok", type: u8, shape: [1], bytes: [1])
        let messages = Mutex<[String]>([])
        let fs = try makeFilesystem(c, log: { m in messages.withLock { $0.append(m) } })
        XCTAssertEqual(try fs.listDirectory(1).map(\.name), ["ok"])
        XCTAssertEqual(try fs.listDirectory(1).map(\.name), ["ok"])
        XCTAssertEqual(messages.withLock { $0.filter { $0.contains("not a valid file name") }.count }, 1)
        XCTAssertThrowsError(try fs.lookup(parent: 1, name: long))
    }

    func test_unreadable_object_lists_and_answers_EIO_while_the_rest_browses() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addBroken("/bad")
        c.addDataset("/good", type: u8, shape: [2], bytes: [1, 2])
        let fs = try makeFilesystem(c)
        XCTAssertEqual(try fs.listDirectory(1).map(\.name), ["bad", "good"])
        let bad = try fs.lookup(parent: 1, name: "bad")
        XCTAssertThrowsError(try fs.open(bad.node, flags: O_RDONLY)) { error in
            XCTAssertEqual((error as? FSError)?.errno, EIO)
        }
        XCTAssertEqual(try fs.lookup(parent: 1, name: "good").size, 2)
    }

    func test_opening_for_write_is_refused_on_a_read_only_mount() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addDataset("/d", type: u8, shape: [2], bytes: [1, 2])
        let fs = try makeFilesystem(c)
        let d = try fs.lookup(parent: 1, name: "d")
        for flags in [O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC] {
            XCTAssertThrowsError(try fs.open(d.node, flags: flags)) { error in
                XCTAssertEqual((error as? FSError)?.errno, EROFS)
            }
        }
    }

    func test_listing_byte_datasets_reads_only_type_and_shape() throws {
        let c = InMemoryContainer(filePath: "/data/c.h5")
        c.addGroup("/tree")
        c.addDataset("/tree/a.txt", type: u8, shape: [3], bytes: Array("abc".utf8))
        c.addDataset("/tree/b.bin", type: u8, shape: [0])
        let fs = try makeFilesystem(c)
        let tree = try fs.lookup(parent: 1, name: "tree")
        XCTAssertEqual(try fs.listDirectory(tree.node).map { "\($0.name):\($0.attributes.size)" }, ["a.txt:3", "b.bin:0"])
        XCTAssertEqual(c.fullDescriptions, 0, "ls -l needs no creation properties")
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: tree.node, name: "a.txt")), "abc")
        XCTAssertEqual(c.fullDescriptions, 1, "described once, on first read")
        XCTAssertEqual(try readAll(fs, try fs.lookup(parent: tree.node, name: "a.txt")), "abc")
        XCTAssertEqual(c.fullDescriptions, 1)
    }

    // MARK: helpers

    func readAll(_ fs: ContainerFilesystem, _ attributes: NodeAttributes) throws -> String {
        let handle = try fs.open(attributes.node, flags: O_RDONLY)
        defer { fs.release(attributes.node, handle: handle) }
        var out: [UInt8] = []
        while true {
            let chunk = try fs.read(attributes.node, handle: handle, offset: UInt64(out.count), size: 7)
            if chunk.isEmpty { break }
            out += chunk
        }
        return String(decoding: out, as: UTF8.self)
    }

    func walk(_ fs: ContainerFilesystem, _ node: NodeID, prefix: String = "") throws -> [String] {
        var out: [String] = []
        for entry in try fs.listDirectory(node) {
            let path = prefix + "/" + entry.name
            out.append(path)
            if entry.attributes.mode & S_IFMT == S_IFDIR {
                out += try walk(fs, entry.attributes.node, prefix: path)
            }
        }
        return out
    }
}
