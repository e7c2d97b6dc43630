/// Tiles in least-recently-used order with a byte total: a doubly linked list threaded
/// through an array of slots, so get, insert and evict are O(1). Not thread-safe: the
/// cache keeps it inside its mutex.
///
/// A tile loaded by read-ahead is "unread" until a reader first gets it; `unreadBytes`
/// is what read-ahead holds in the store, and evicting an unread tile counts as waste.
struct LRUStore {
    private struct Node {
        var key: TileKey
        var tile: Tile
        var unread: Bool
        var newer: Int
        var older: Int
    }

    private var nodes: [Node?] = []
    private var freeSlots: [Int] = []
    private var slotOf: [TileKey: Int] = [:]
    private var newest = -1
    private var oldest = -1
    private(set) var bytes = 0
    private(set) var unreadBytes = 0
    /// Unread tiles evicted or removed so far (read-ahead that was wasted).
    private(set) var unreadDropped = 0

    var count: Int { slotOf.count }

    /// The tile under `key`, marked most recently used and read.
    mutating func get(_ key: TileKey) -> Tile? {
        guard let slot = slotOf[key], let node = nodes[slot] else { return nil }
        if node.unread {
            nodes[slot]?.unread = false
            unreadBytes -= node.tile.count
        }
        unlink(slot)
        pushNewest(slot)
        return node.tile
    }

    func contains(_ key: TileKey) -> Bool { slotOf[key] != nil }

    /// Adds a tile (replacing any under the same key) as the most recently used.
    mutating func insert(_ key: TileKey, _ tile: Tile, unread: Bool = false) {
        remove(key)
        let node = Node(key: key, tile: tile, unread: unread, newer: -1, older: -1)
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            nodes[slot] = node
        } else {
            slot = nodes.count
            nodes.append(node)
        }
        slotOf[key] = slot
        pushNewest(slot)
        bytes += tile.count
        if unread { unreadBytes += tile.count }
    }

    /// Drops tiles until the total is at most `budget`: read tiles first, least recently
    /// used first (never the most recently used one in this pass), so that read-ahead no
    /// reader has reached yet is not wasted while older read tiles remain; then, if still
    /// over, whatever is least recently used.
    mutating func evict(toFit budget: Int) {
        var slot = oldest
        while bytes > budget, slot >= 0, slot != newest, let node = nodes[slot] {
            let next = node.newer
            if !node.unread { remove(node.key) }
            slot = next
        }
        while bytes > budget, oldest >= 0, let node = nodes[oldest] {
            remove(node.key)
        }
    }

    mutating func remove(_ key: TileKey) {
        guard let slot = slotOf.removeValue(forKey: key), let node = nodes[slot] else { return }
        unlink(slot)
        bytes -= node.tile.count
        if node.unread {
            unreadBytes -= node.tile.count
            unreadDropped += 1
        }
        nodes[slot] = nil
        freeSlots.append(slot)
    }

    /// Removes the tile under `key` if a reader has read it; whether it did.
    mutating func removeIfRead(_ key: TileKey) -> Bool {
        guard let slot = slotOf[key], let node = nodes[slot], !node.unread else { return false }
        remove(key)
        return true
    }

    mutating func removeAll(where shouldRemove: (TileKey) -> Bool) {
        for key in slotOf.keys where shouldRemove(key) { remove(key) }
    }

    private mutating func unlink(_ slot: Int) {
        guard let node = nodes[slot] else { return }
        if node.newer >= 0 { nodes[node.newer]?.older = node.older } else { newest = node.older }
        if node.older >= 0 { nodes[node.older]?.newer = node.newer } else { oldest = node.newer }
        nodes[slot]?.newer = -1
        nodes[slot]?.older = -1
    }

    private mutating func pushNewest(_ slot: Int) {
        nodes[slot]?.older = newest
        nodes[slot]?.newer = -1
        if newest >= 0 { nodes[newest]?.newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
