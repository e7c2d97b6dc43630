import Glibc
import H5FS
import Synchronization

/// An in-memory tree that can change, for driving the bridge's write path
/// without HDF5: POSIX rules for the namespace (ENOTEMPTY, EISDIR, rename over
/// a name, RENAME_NOREPLACE/EXCHANGE), files as byte arrays, unlinked files
/// readable while open. Counts kernel lookups, records the calls the tests
/// check (rename flags, commits), and can be told to fail its commit.
final class WritableMemoryFilesystem: WritableFilesystemOperations {
    enum Kind {
        case directory([String: NodeID])
        case file([UInt8])
        case symlink(String)
    }

    struct Node {
        var kind: Kind
        var mode: UInt32
        var uid: UInt32 = 1234
        var gid: UInt32 = 5678
        var accessTime = Timestamp(seconds: 1_700_000_000)
        var modificationTime = Timestamp(seconds: 1_700_000_000)
        var changeTime = Timestamp(seconds: 1_700_000_000)
        var links: UInt32 = 1
        /// Extended attributes (user.* only, as h5mount keeps them).
        var xattrs: [String: [UInt8]] = [:]
    }

    struct State {
        var nodes: [NodeID: Node] = [1: Node(kind: .directory([:]), mode: UInt32(S_IFDIR) | 0o755, links: 2)]
        var nextNode: NodeID = 2
        var lookups: [NodeID: Int64] = [:]
        var handles: [UInt64: NodeID] = [:]
        var nextHandle: UInt64 = 1
        var renameFlags: [RenameFlags] = []
        var createFlags: [Int32] = []
        var synchronized: [NodeID] = []
        var flushed: [NodeID] = []
        var commits = 0
    }

    let isReadOnly = false
    let failCommit: Bool
    let state = Mutex(State())

    init(failCommit: Bool = false) { self.failCommit = failCommit }

    // MARK: - What the tests look at

    func lookupCount(_ node: NodeID) -> Int64 { state.withLock { $0.lookups[node] ?? 0 } }
    var openHandleCount: Int { state.withLock { $0.handles.count } }
    var commits: Int { state.withLock { $0.commits } }
    var renameFlags: [RenameFlags] { state.withLock { $0.renameFlags } }
    var createFlags: [Int32] { state.withLock { $0.createFlags } }
    var synchronized: [NodeID] { state.withLock { $0.synchronized } }
    var flushed: [NodeID] { state.withLock { $0.flushed } }
    func node(_ id: NodeID) -> Node? { state.withLock { $0.nodes[id] } }
    /// Forgets a node entirely (its names stay), as a filesystem that dropped it would.
    func dropNode(_ id: NodeID) { _ = state.withLock { $0.nodes.removeValue(forKey: id) } }

    // MARK: - Reading

    private static func attributes(_ id: NodeID, _ state: State) throws(FSError) -> NodeAttributes {
        guard let node = state.nodes[id] else { throw FSError(ENOENT, "no node \(id)") }
        let size: UInt64 = switch node.kind {
        case .directory: 0
        case .file(let bytes): UInt64(bytes.count)
        case .symlink(let target): UInt64(target.utf8.count)
        }
        return NodeAttributes(node: id, mode: node.mode, linkCount: node.links, size: size, uid: node.uid, gid: node.gid,
                              accessTime: node.accessTime, modificationTime: node.modificationTime,
                              changeTime: node.changeTime)
    }

    private static func entries(_ id: NodeID, _ state: State) throws(FSError) -> [String: NodeID] {
        guard let node = state.nodes[id] else { throw FSError(ENOENT, "no node \(id)") }
        guard case .directory(let entries) = node.kind else { throw FSError(ENOTDIR, "not a directory") }
        return entries
    }

    func attributes(of node: NodeID) throws(FSError) -> NodeAttributes {
        try state.withLock { state throws(FSError) in try Self.attributes(node, state) }
    }

    func lookup(parent: NodeID, name: String) throws(FSError) -> NodeAttributes {
        try state.withLock { state throws(FSError) in
            guard let child = try Self.entries(parent, state)[name] else { throw FSError(ENOENT, "no \(name)") }
            state.lookups[child, default: 0] += 1
            return try Self.attributes(child, state)
        }
    }

    func forget(node: NodeID, count: UInt64) { state.withLock { $0.lookups[node, default: 0] -= Int64(count) } }
    func countLookup(_ node: NodeID) { state.withLock { $0.lookups[node, default: 0] += 1 } }

    func readLink(_ node: NodeID) throws(FSError) -> String {
        try state.withLock { state throws(FSError) in
            guard case .symlink(let target)? = state.nodes[node]?.kind else { throw FSError(EINVAL, "not a link") }
            return target
        }
    }

    func listDirectory(_ node: NodeID) throws(FSError) -> [DirectoryEntry] {
        try state.withLock { state throws(FSError) in
            var listing: [DirectoryEntry] = []
            for (name, child) in try Self.entries(node, state).sorted(by: { $0.key < $1.key }) {
                listing.append(DirectoryEntry(name: name, attributes: try Self.attributes(child, state)))
            }
            return listing
        }
    }

    func open(_ node: NodeID, flags: Int32) throws(FSError) -> UInt64 {
        try state.withLock { state throws(FSError) in
            guard case .file? = state.nodes[node]?.kind else { throw FSError(EISDIR, "not a file") }
            if flags & O_TRUNC != 0 { state.nodes[node]?.kind = .file([]) }
            return Self.newHandle(node, &state)
        }
    }

    private static func newHandle(_ node: NodeID, _ state: inout State) -> UInt64 {
        let handle = state.nextHandle
        state.nextHandle += 1
        state.handles[handle] = node
        return handle
    }

    func read(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int) throws(FSError) -> [UInt8] {
        try state.withLock { state throws(FSError) in
            guard state.handles[handle] == node else { throw FSError(EBADF, "bad handle") }
            guard case .file(let bytes)? = state.nodes[node]?.kind else { throw FSError(EISDIR, "not a file") }
            guard offset < UInt64(bytes.count) else { return [] }
            return Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + size)])
        }
    }

    func release(_ node: NodeID, handle: UInt64) { _ = state.withLock { $0.handles.removeValue(forKey: handle) } }

    func extendedAttribute(_ node: NodeID, name: String) throws(FSError) -> [UInt8] {
        try state.withLock { (s) throws(FSError) -> [UInt8] in
            guard let entry = s.nodes[node] else { throw FSError(ENOENT, "no node") }
            guard let value = entry.xattrs[name] else { throw FSError(ENODATA, "none") }
            return value
        }
    }

    func extendedAttributeNames(_ node: NodeID) throws(FSError) -> [String] {
        state.withLock { ($0.nodes[node]?.xattrs.keys).map { Array($0).sorted() } ?? [] }
    }

    func setExtendedAttribute(_ node: NodeID, name: String, value: [UInt8], flags: ExtendedAttributeFlags) throws(FSError) {
        guard name.hasPrefix("user.") else { throw FSError(EOPNOTSUPP, "only user.*") }
        try state.withLock { (s) throws(FSError) in
            guard let entry = s.nodes[node] else { throw FSError(ENOENT, "no node") }
            if flags.contains(.create), entry.xattrs[name] != nil { throw FSError(EEXIST, "exists") }
            if flags.contains(.replace), entry.xattrs[name] == nil { throw FSError(ENODATA, "absent") }
            s.nodes[node]?.xattrs[name] = value
        }
    }

    func removeExtendedAttribute(_ node: NodeID, name: String) throws(FSError) {
        try state.withLock { (s) throws(FSError) in
            guard s.nodes[node]?.xattrs.removeValue(forKey: name) != nil else { throw FSError(ENODATA, "absent") }
        }
    }

    func statistics() -> FilesystemStatistics {
        FilesystemStatistics(blockSize: 4096, totalBlocks: 1000, freeBlocks: 500, availableBlocks: 500,
                             totalFiles: 100, freeFiles: 50, maxNameLength: 255)
    }

    // MARK: - Writing

    /// Adds a new node named `name` in `parent`; counts one lookup.
    private static func add(_ node: Node, parent: NodeID, name: String, _ state: inout State) throws(FSError) -> NodeAttributes {
        var entries = try Self.entries(parent, state)
        guard entries[name] == nil else { throw FSError(EEXIST, "\(name) exists") }
        let id = state.nextNode
        state.nextNode += 1
        state.nodes[id] = node
        entries[name] = id
        state.nodes[parent]?.kind = .directory(entries)
        if case .directory = node.kind { state.nodes[parent]?.links += 1 }
        state.lookups[id, default: 0] += 1
        return try Self.attributes(id, state)
    }

    func makeDirectory(parent: NodeID, name: String, mode: UInt32) throws(FSError) -> NodeAttributes {
        try state.withLock { state throws(FSError) in
            try Self.add(Node(kind: .directory([:]), mode: UInt32(S_IFDIR) | mode, links: 2), parent: parent, name: name, &state)
        }
    }

    /// Removes the entry; a file's node stays (open handles keep reading it).
    private static func remove(parent: NodeID, name: String, directory: Bool, _ state: inout State) throws(FSError) {
        var entries = try Self.entries(parent, state)
        guard let child = entries[name], let node = state.nodes[child] else { throw FSError(ENOENT, "no \(name)") }
        if case .directory(let inside) = node.kind {
            guard directory else { throw FSError(EISDIR, "\(name) is a directory") }
            guard inside.isEmpty else { throw FSError(ENOTEMPTY, "\(name) is not empty") }
            state.nodes[parent]?.links -= 1
        } else if directory {
            throw FSError(ENOTDIR, "\(name) is not a directory")
        }
        entries[name] = nil
        state.nodes[parent]?.kind = .directory(entries)
        state.nodes[child]?.links -= 1
    }

    func removeDirectory(parent: NodeID, name: String) throws(FSError) {
        try state.withLock { state throws(FSError) in try Self.remove(parent: parent, name: name, directory: true, &state) }
    }

    func unlink(parent: NodeID, name: String) throws(FSError) {
        try state.withLock { state throws(FSError) in try Self.remove(parent: parent, name: name, directory: false, &state) }
    }

    func rename(parent: NodeID, name: String, newParent: NodeID, newName: String, flags: RenameFlags) throws(FSError) {
        try state.withLock { state throws(FSError) in
            state.renameFlags.append(flags)
            guard let moving = try Self.entries(parent, state)[name] else { throw FSError(ENOENT, "no \(name)") }
            let existing = try Self.entries(newParent, state)[newName]
            if flags.contains(.noReplace), existing != nil { throw FSError(EEXIST, "\(newName) exists") }
            if flags.contains(.exchange) {
                guard let existing else { throw FSError(ENOENT, "no \(newName)") }
                var source = try Self.entries(parent, state)
                source[name] = existing
                state.nodes[parent]?.kind = .directory(source)
                var destination = try Self.entries(newParent, state)
                destination[newName] = moving
                state.nodes[newParent]?.kind = .directory(destination)
                return
            }
            if existing == moving { return }
            if existing != nil {
                let isDirectory = if case .directory? = state.nodes[moving]?.kind { true } else { false }
                try Self.remove(parent: newParent, name: newName, directory: isDirectory, &state)
            }
            var source = try Self.entries(parent, state)
            source[name] = nil
            state.nodes[parent]?.kind = .directory(source)
            var destination = try Self.entries(newParent, state)
            destination[newName] = moving
            state.nodes[newParent]?.kind = .directory(destination)
        }
    }

    func symlink(parent: NodeID, name: String, target: String) throws(FSError) -> NodeAttributes {
        try state.withLock { state throws(FSError) in
            try Self.add(Node(kind: .symlink(target), mode: UInt32(S_IFLNK) | 0o777), parent: parent, name: name, &state)
        }
    }

    func link(_ node: NodeID, newParent: NodeID, newName: String) throws(FSError) -> NodeAttributes {
        try state.withLock { state throws(FSError) in
            guard let existing = state.nodes[node] else { throw FSError(ENOENT, "no node \(node)") }
            if case .directory = existing.kind { throw FSError(EPERM, "hard link to a directory") }
            var entries = try Self.entries(newParent, state)
            guard entries[newName] == nil else { throw FSError(EEXIST, "\(newName) exists") }
            entries[newName] = node
            state.nodes[newParent]?.kind = .directory(entries)
            state.nodes[node]?.links += 1
            state.lookups[node, default: 0] += 1
            return try Self.attributes(node, state)
        }
    }

    func create(parent: NodeID, name: String, mode: UInt32, flags: Int32) throws(FSError) -> (NodeAttributes, UInt64) {
        try state.withLock { state throws(FSError) in
            state.createFlags.append(flags)
            let attributes = try Self.add(Node(kind: .file([]), mode: UInt32(S_IFREG) | mode), parent: parent, name: name, &state)
            return (attributes, Self.newHandle(attributes.node, &state))
        }
    }

    func write(_ node: NodeID, handle: UInt64, offset: UInt64, data: UnsafeRawBufferPointer) throws(FSError) -> Int {
        try state.withLock { state throws(FSError) in
            guard state.handles[handle] == node else { throw FSError(EBADF, "bad handle") }
            guard case .file(var bytes)? = state.nodes[node]?.kind else { throw FSError(EISDIR, "not a file") }
            let end = Int(offset) + data.count
            if bytes.count < end { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
            bytes.replaceSubrange(Int(offset)..<end, with: data)
            state.nodes[node]?.kind = .file(bytes)
            return data.count
        }
    }

    func setAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges) throws(FSError) -> NodeAttributes {
        try state.withLock { state throws(FSError) in
            guard var current = state.nodes[node] else { throw FSError(ENOENT, "no node \(node)") }
            if let handle, state.handles[handle] != node { throw FSError(EBADF, "bad handle") }
            if let mode = changes.mode { current.mode = current.mode & UInt32(S_IFMT) | mode }
            if let uid = changes.uid { current.uid = uid }
            if let gid = changes.gid { current.gid = gid }
            if let size = changes.size {
                guard case .file(var bytes) = current.kind else { throw FSError(EISDIR, "not a file") }
                if bytes.count > Int(size) { bytes.removeLast(bytes.count - Int(size)) }
                bytes += [UInt8](repeating: 0, count: Int(size) - bytes.count)
                current.kind = .file(bytes)
            }
            if let time = changes.accessTime { current.accessTime = time }
            if let time = changes.modificationTime { current.modificationTime = time }
            state.nodes[node] = current
            return try Self.attributes(node, state)
        }
    }

    /// Files named "full" fail their close as a full disk would.
    func flush(_ node: NodeID, handle: UInt64) throws(FSError) {
        try state.withLock { state throws(FSError) in
            guard state.handles[handle] == node else { throw FSError(EBADF, "bad handle") }
            state.flushed.append(node)
            if try Self.entries(1, state)["full"] == node { throw FSError(ENOSPC, "no space left") }
        }
    }

    func synchronize(_ node: NodeID, handle: UInt64) throws(FSError) {
        state.withLock { $0.synchronized.append(node) }
    }

    func commit() throws(FSError) {
        state.withLock { $0.commits += 1 }
        if failCommit { throw FSError(ESTALE, "the container changed on disk") }
    }
}
