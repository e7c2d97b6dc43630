import Synchronization

/// Every node handed to the kernel, by id and by identity key.
///
/// Nodes are never recycled while mounted (they are small), so an id always
/// means the same object; lookup counts are kept so that a later change can
/// free nodes the kernel has forgotten. One lock, held only for map updates:
/// nodes are built outside it, and the first insert of a key wins.
final class NodeTable: Sendable {
    private struct State {
        var byID: [NodeID: Node] = [:]
        var byKey: [NodeKey: NodeID] = [:]
        /// Reverse of `byKey`, so a node's old identities can be dropped when it gets a new one.
        var keysByID: [NodeID: Set<NodeKey>] = [:]
        var lookups: [NodeID: UInt64] = [:]
        var nextID: NodeID = 2  // 1 is the root (FUSE_ROOT_ID)
    }
    private let state = Mutex(State())

    func node(_ id: NodeID) -> Node? {
        state.withLock { $0.byID[id] }
    }

    func node(forKey key: NodeKey) -> Node? {
        state.withLock { s in s.byKey[key].flatMap { s.byID[$0] } }
    }

    /// Returns the node already known for `key`, or builds one with a fresh id.
    /// `make` runs outside the lock; if another thread inserted the key meanwhile, its node wins.
    func node(forKey key: NodeKey, make: (NodeID) throws(FSError) -> Node) throws(FSError) -> Node {
        if let existing = node(forKey: key) { return existing }
        let id = state.withLock { s -> NodeID in
            defer { s.nextID += 1 }
            return s.nextID
        }
        let made = try make(id)
        return state.withLock { s in
            if let winner = s.byKey[key], let node = s.byID[winner] { return node }
            s.byKey[key] = made.id
            s.keysByID[made.id, default: []].insert(key)
            s.byID[made.id] = made
            return made
        }
    }

    /// Installs the root node under id 1.
    func installRoot(_ root: Node, key: NodeKey) {
        state.withLock { s in
            s.byID[root.id] = root
            s.byKey[key] = root.id
            s.keysByID[root.id, default: []].insert(key)
        }
    }

    /// Puts `node` in place of the node with its id (the write path changes a node's
    /// kind or attributes; its id stays what the kernel knows).
    func replace(_ node: Node) {
        state.withLock { $0.byID[node.id] = node }
    }

    /// Makes `key` lead to node `id` (a repacked file has a new object address).
    func bind(_ key: NodeKey, to id: NodeID) {
        state.withLock { s in
            if let previous = s.byKey[key] { s.keysByID[previous]?.remove(key) }
            s.byKey[key] = id
            s.keysByID[id, default: []].insert(key)
        }
    }

    /// Forgets what `key` led to (a deleted object: its address may be reused).
    func unbind(_ key: NodeKey) {
        state.withLock { s in
            if let id = s.byKey.removeValue(forKey: key) { s.keysByID[id]?.remove(key) }
        }
    }

    /// Forgets every key that leads to `id` (its object was replaced by a new one).
    func unbindAll(_ id: NodeID) {
        state.withLock { s in
            for key in s.keysByID.removeValue(forKey: id) ?? [] where s.byKey[key] == id { s.byKey[key] = nil }
        }
    }

    /// A fresh id for a node that has no key yet (a file being created).
    func allocateID() -> NodeID {
        state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
    }

    /// `count` consecutive fresh ids, for nodes whose ids are arithmetic (the frame files of a
    /// `FramesDirectory`): they are never handed out to anything else.
    func reserveIDs(_ count: UInt64) -> NodeID {
        state.withLock { s in
            defer { s.nextID += count }
            return s.nextID
        }
    }

    /// Every node, for the rare walks that rewrite paths after a directory rename.
    var allNodes: [Node] { state.withLock { Array($0.byID.values) } }

    func countLookup(_ id: NodeID) {
        state.withLock { $0.lookups[id, default: 0] += 1 }
    }

    func forget(_ id: NodeID, count: UInt64) {
        state.withLock { s in
            let left = s.lookups[id, default: 0]
            s.lookups[id] = left > count ? left - count : nil
        }
    }

    var count: Int { state.withLock { $0.byID.count } }
}
