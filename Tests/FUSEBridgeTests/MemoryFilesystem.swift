import Foundation
import Glibc
import H5FS
import Synchronization

/// A small in-memory tree for driving the bridge without HDF5.
/// Keeps the kernel lookup count of every node so tests can check balance.
final class MemoryFilesystem: FilesystemOperations {
    enum Content: Sendable {
        case directory([(String, NodeID)])
        case file([UInt8])
        case symlink(String)
    }

    struct Node: Sendable {
        var content: Content
        var xattrs: [String: [UInt8]] = [:]
    }

    let isReadOnly: Bool
    let nodes: [NodeID: Node]
    private let lookups = Mutex<[NodeID: Int64]>([:])
    private let openFiles = Mutex<[UInt64: NodeID]>([:])
    private let nextHandle = Mutex<UInt64>(100)

    init(readOnly: Bool = true, nodes: [NodeID: Node]) {
        self.isReadOnly = readOnly
        self.nodes = nodes
    }

    /// / (1): hello.txt (2), data/ (3) with big.bin (4) and link -> ../hello.txt (5),
    /// many/ (6) with `manyCount` small files (ids 1000...).
    static func sample(manyCount: Int = 300, bigSize: Int = 1 << 16, readOnly: Bool = true) -> MemoryFilesystem {
        var nodes: [NodeID: Node] = [:]
        nodes[1] = Node(content: .directory([("hello.txt", 2), ("data", 3), ("many", 6)]),
                        xattrs: ["user.title": Array("root group".utf8)])
        nodes[2] = Node(content: .file(Array("hello world\n".utf8)),
                        xattrs: ["user.units": Array("m".utf8), "user.long": [UInt8](repeating: 65, count: 300)])
        nodes[3] = Node(content: .directory([("big.bin", 4), ("link", 5)]))
        nodes[4] = Node(content: .file(pattern(count: bigSize)))
        nodes[5] = Node(content: .symlink("../hello.txt"))
        var many: [(String, NodeID)] = []
        for index in 0..<manyCount {
            let node = NodeID(1000 + index)
            many.append((String(format: "entry-with-a-longish-name-%04d.dat", index), node))
            nodes[node] = Node(content: .file(Array("file \(index)\n".utf8)))
        }
        nodes[6] = Node(content: .directory(many))
        return MemoryFilesystem(readOnly: readOnly, nodes: nodes)
    }

    func lookupCount(_ node: NodeID) -> Int64 { lookups.withLock { $0[node] ?? 0 } }
    var totalLookups: Int64 { lookups.withLock { $0.values.reduce(0, +) } }
    var openHandleCount: Int { openFiles.withLock { $0.count } }

    private func node(_ id: NodeID) throws(FSError) -> Node {
        guard let node = nodes[id] else { throw FSError(ENOENT, "no node \(id)") }
        return node
    }

    func attributes(of id: NodeID) throws(FSError) -> NodeAttributes {
        let node = try node(id)
        let time = Timestamp(seconds: 1_700_000_000)
        let (mode, size, links): (UInt32, UInt64, UInt32) = switch node.content {
        case .directory(let entries): (UInt32(S_IFDIR) | 0o755, 0, UInt32(2 + entries.count(where: { nodes[$0.1].map(\.isDirectory) ?? false })))
        case .file(let bytes): (UInt32(S_IFREG) | (isReadOnly ? 0o444 : 0o644), UInt64(bytes.count), 1)
        case .symlink(let target): (UInt32(S_IFLNK) | 0o777, UInt64(target.utf8.count), 1)
        }
        return NodeAttributes(node: id, mode: mode, linkCount: links, size: size, uid: 1234, gid: 5678,
                              accessTime: time, modificationTime: time, changeTime: time)
    }

    func lookup(parent: NodeID, name: String) throws(FSError) -> NodeAttributes {
        guard case .directory(let entries) = try node(parent).content else { throw FSError(ENOTDIR, "not a directory") }
        guard let child = entries.first(where: { $0.0 == name })?.1 else { throw FSError(ENOENT, "no \(name)") }
        let attributes = try attributes(of: child)
        countLookup(child)
        return attributes
    }

    func forget(node: NodeID, count: UInt64) {
        lookups.withLock { $0[node, default: 0] -= Int64(count) }
    }

    func countLookup(_ node: NodeID) {
        lookups.withLock { $0[node, default: 0] += 1 }
    }

    func readLink(_ id: NodeID) throws(FSError) -> String {
        guard case .symlink(let target) = try node(id).content else { throw FSError(EINVAL, "not a link") }
        return target
    }

    func listDirectory(_ id: NodeID) throws(FSError) -> [DirectoryEntry] {
        guard case .directory(let entries) = try node(id).content else { throw FSError(ENOTDIR, "not a directory") }
        var listing: [DirectoryEntry] = []
        for (name, child) in entries { listing.append(DirectoryEntry(name: name, attributes: try attributes(of: child))) }
        return listing
    }

    func open(_ id: NodeID, flags: Int32) throws(FSError) -> UInt64 {
        guard case .file = try node(id).content else { throw FSError(EISDIR, "not a file") }
        let handle = nextHandle.withLock { value in value += 1; return value }
        openFiles.withLock { $0[handle] = id }
        return handle
    }

    func read(_ id: NodeID, handle: UInt64, offset: UInt64, size: Int) throws(FSError) -> [UInt8] {
        guard openFiles.withLock({ $0[handle] }) == id else { throw FSError(EBADF, "bad handle") }
        guard case .file(let bytes) = try node(id).content else { throw FSError(EISDIR, "not a file") }
        guard offset < UInt64(bytes.count) else { return [] }
        let start = Int(offset)
        return Array(bytes[start..<min(bytes.count, start + size)])
    }

    func release(_ id: NodeID, handle: UInt64) {
        _ = openFiles.withLock { $0.removeValue(forKey: handle) }
    }

    func extendedAttribute(_ id: NodeID, name: String) throws(FSError) -> [UInt8] {
        guard let value = try node(id).xattrs[name] else { throw FSError(ENODATA, "no \(name)") }
        return value
    }

    func extendedAttributeNames(_ id: NodeID) throws(FSError) -> [String] {
        try node(id).xattrs.keys.sorted()
    }

    func statistics() -> FilesystemStatistics {
        FilesystemStatistics(blockSize: 4096, totalBlocks: 1000, freeBlocks: 0, availableBlocks: 0,
                             totalFiles: UInt64(nodes.count), freeFiles: 0, maxNameLength: 255)
    }
}

/// Bytes that differ from page to page, so misplaced reads show.
func pattern(count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: index &* 7 &+ index >> 11) }
        initialized = count
    }
}

extension MemoryFilesystem.Node {
    var isDirectory: Bool { if case .directory = content { true } else { false } }
}
