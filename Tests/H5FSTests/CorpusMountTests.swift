import Foundation
import H5Model
import HDF5
@testable import H5FS
import TestSupport
import XCTest

/// The filesystem over real files written by h5py (integration/corpus.py):
/// the raw-array promise for every fixed-size dataset, sidecars that parse,
/// listings that never fail.
final class CorpusMountTests: XCTestCase {
    func mount(_ name: String) throws -> ContainerFilesystem {
        try ContainerFilesystem(containerPath: try Corpus.path(name), options: MountOptions(cacheBytes: 8 << 20))
    }

    func test_every_fixed_size_dataset_reads_as_numpy_wrote_it() throws {
        for file in ["types.h5", "bytes.h5"] {
            let fs = try mount(file)
            var checked = 0
            let reader = try HDF5Container.open(path: try Corpus.path(file))
            for (path, facts) in try Corpus.facts(file: file) where facts.expectedBin {
                // String datasets are text files; their numpy bytes are not what the file shows.
                let type = try reader.dataset(at: H5Path(parsing: path)).type
                if case .text = type.rendering(rank: 1) { continue }
                let expected = try Corpus.expectedBytes(file: file, dataset: path)
                let node = try resolve(fs, path)
                XCTAssertEqual(node.size, UInt64(expected.count), "\(file)\(path) size")
                XCTAssertEqual(try readAll(fs, node, step: 4093), expected, "\(file)\(path) content")
                checked += 1
            }
            XCTAssertGreaterThan(checked, file == "types.h5" ? 20 : 3, file)
        }
    }

    func test_every_sidecar_is_json_with_the_contract_keys() throws {
        let fs = try mount("types.h5")
        var sidecars = 0
        for (path, attributes) in try walk(fs, 1, prefix: "") where path.hasSuffix(".attrs") && attributes.mode & S_IFMT == S_IFREG {
            let text = try readAll(fs, attributes, step: 1 << 20)
            guard let value = try? JSONValue.parse(text) else {
                // A real object named like a sidecar (/shadow) is not JSON; anything else is a failure.
                XCTAssertTrue(path.hasPrefix("/shadow/"), "\(path) is not JSON")
                continue
            }
            guard case .object(let members) = value else { XCTFail("\(path) is not an object"); continue }
            let keys = members.map(\.key)
            if keys.first == "kind", value["kind"] == .string("dataset") {
                let expected = ["kind", "dtype", "enum", "encoding", "shape", "maxshape", "chunks", "filters",
                                "fillvalue", "layout", "storage", "virtual_sources", "attributes"]
                XCTAssertEqual(keys, expected.filter(keys.contains), path)
                sidecars += 1
            }
        }
        XCTAssertGreaterThan(sidecars, 30)
    }

    func test_tree_container_reads_like_its_source_tree() throws {
        let fs = try mount("tree.h5")
        let source = URL(fileURLWithPath: try Corpus.directory()).appendingPathComponent("tree_src")
        var files = 0
        for (path, attributes) in try walk(fs, 1, prefix: "") where attributes.mode & S_IFMT == S_IFREG {
            let data = try Data(contentsOf: source.appendingPathComponent(String(path.dropFirst())))
            XCTAssertEqual(try readAll(fs, attributes, step: 65536), [UInt8](data), path)
            files += 1
        }
        XCTAssertGreaterThan(files, 3)
    }

    func test_links_file_maps_hard_soft_external_and_virtual() throws {
        let fs = try mount("links.h5")
        let entries = try walk(fs, 1, prefix: "")
        // "/alias_group" and "/group" are one group; byte order makes /alias_group the directory.
        XCTAssertTrue(entries.contains { $0.0 == "/alias_group/sub/loop" && $0.1.mode & S_IFMT == S_IFLNK })
        XCTAssertEqual(try fs.readLink(try resolve(fs, "/alias_group/sub/loop").node), "..")
        XCTAssertEqual(try fs.readLink(try resolve(fs, "/group").node), "alias_group")
        XCTAssertEqual(try fs.readLink(try resolve(fs, "/soft_abs").node), "group/inner")
        XCTAssertEqual(try fs.readLink(try resolve(fs, "/ext").node), ".external/ext_target.h5/target_group")
        let hard = try resolve(fs, "/hard_data")
        XCTAssertEqual(hard.node, try resolve(fs, "/data").node)
        XCTAssertEqual(hard.linkCount, 2)
        let external = try resolve(fs, "/.external/ext_target.h5/target_data")
        XCTAssertEqual(external.mode & S_IFMT, S_IFREG)
        XCTAssertThrowsError(try resolve(fs, "/.external/no_such.h5"))
        let vds = try resolve(fs, "/vds")
        let bytes = try readAll(fs, vds, step: 1 << 20)
        XCTAssertEqual(bytes.count, 4 * 10 * 4)
        let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        XCTAssertEqual(Array(values[0..<10]), (0..<10).map { Int32($0) })
        XCTAssertEqual(Array(values[30..<40]), Array(repeating: -1, count: 10), "missing source reads as fill")
    }

    // MARK: helpers

    func resolve(_ fs: ContainerFilesystem, _ path: String) throws -> NodeAttributes {
        var node = try fs.attributes(of: 1)
        for name in path.split(separator: "/") { node = try fs.lookup(parent: node.node, name: String(name)) }
        return node
    }

    func readAll(_ fs: ContainerFilesystem, _ node: NodeAttributes, step: Int) throws -> [UInt8] {
        let handle = try fs.open(node.node, flags: O_RDONLY)
        defer { fs.release(node.node, handle: handle) }
        var out: [UInt8] = []
        while true {
            let chunk = try fs.read(node.node, handle: handle, offset: UInt64(out.count), size: step)
            if chunk.isEmpty { break }
            out += chunk
        }
        return out
    }

    func walk(_ fs: ContainerFilesystem, _ node: NodeID, prefix: String) throws -> [(String, NodeAttributes)] {
        var out: [(String, NodeAttributes)] = []
        for entry in try fs.listDirectory(node) {
            let path = prefix + "/" + entry.name
            out.append((path, entry.attributes))
            if entry.attributes.mode & S_IFMT == S_IFDIR {
                out += try walk(fs, entry.attributes.node, prefix: path)
            }
        }
        return out
    }
}
