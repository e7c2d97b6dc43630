import Glibc
import H5Model
import Synchronization

/// The listing of one large group of a read-only mount, kept for the mount's life, and the
/// nodes of its soft and external links (docs/hdf5-store.md "Many links", docs/architecture.md
/// "Identity").
///
/// Identity: a soft or external link is (group, name), as `NodeKey.link`; in a block it is
/// the link's index in the group's sorted `LinkList`, and its node id is arithmetic in the
/// block of ids reserved when the block was made — `firstID + index` — like the frame files
/// of a `FramesDirectory`. Its node is rebuilt from the id when asked for, so a million
/// symbolic links the kernel holds cost the daemon their compact listing (about 25 bytes
/// each plus the name), not a million nodes. Hard links keep their object's node (one node
/// per object); their attributes are taken when the block is made (a read-only mount
/// without `-o swmr`: nothing changes).
///
/// Immutable: the mount is read-only, so the group's links never change.
package final class LinkBlock: Sendable {
    let file: FileIndex
    let group: UInt64
    let links: LinkList
    let firstID: NodeID
    /// What each of `links.targets` reads back as (readlink); nil for one that is not shown.
    let resolved: [String?]
    /// What `stat` shows for every symbolic link of the block, but the id and the size.
    let linkAttributes: NodeAttributes
    /// The shown hard links, by index: their node's attributes.
    let hard: [Int: NodeAttributes]
    /// Indices of links that are not shown (invalid names, named datatypes, ...).
    let hidden: Set<Int>
    /// Entries listed after the links: sidecars, views, the group's `.attrs`, not shadowed.
    let extras: [DirectoryEntry]

    init(file: FileIndex, group: UInt64, links: LinkList, firstID: NodeID, resolved: [String?],
         linkAttributes: NodeAttributes, hard: [Int: NodeAttributes], hidden: Set<Int>, extras: [DirectoryEntry]) {
        self.file = file; self.group = group; self.links = links; self.firstID = firstID
        self.resolved = resolved; self.linkAttributes = linkAttributes; self.hard = hard
        self.hidden = hidden; self.extras = extras
    }

    var count: Int { links.count }

    /// The entry at `index` of the links, nil when it is not shown.
    func entry(at index: Int) -> DirectoryEntry? {
        guard let attributes = attributes(at: index) else { return nil }
        return DirectoryEntry(name: links.name(at: index), attributes: attributes)
    }

    func attributes(at index: Int) -> NodeAttributes? {
        guard index >= 0, index < links.count, !hidden.contains(index) else { return nil }
        if links.isHard(index) { return hard[index] }
        guard let target = links.targetNumber(at: index).flatMap({ resolved[$0] }) else { return nil }
        var attributes = linkAttributes
        attributes.node = firstID + NodeID(index)
        attributes.size = UInt64(target.utf8.count)
        return attributes
    }

    /// The symbolic link node named `name`; nil for a name the block has not, a hard link
    /// (its object's node answers) or a link not shown.
    func linkNode(named name: String) -> Node? {
        guard let index = links.index(named: name), !links.isHard(index) else { return nil }
        return node(id: firstID + NodeID(index))
    }

    /// The node of an id of this block, made from the id alone.
    func node(id: NodeID) -> Node? {
        guard id >= firstID, id - firstID < NodeID(links.count) else { return nil }
        let index = Int(id - firstID)
        guard !links.isHard(index), let attributes = attributes(at: index),
              let target = links.targetNumber(at: index).flatMap({ resolved[$0] }) else { return nil }
        return Node(id: id, kind: .symlink(target: target), attributes: attributes)
    }
}

/// Every link block of a mount: by first id (the node of an id) and by group (a lookup).
final class LinkBlocks: Sendable {
    private struct GroupKey: Hashable {
        var file: FileIndex
        var group: UInt64
    }
    private struct State {
        /// Ordered by `firstID`.
        var byID: [LinkBlock] = []
        var byGroup: [GroupKey: LinkBlock] = [:]
    }
    private let state = Mutex(State())

    func block(file: FileIndex, group: UInt64) -> LinkBlock? {
        state.withLock { $0.byGroup[GroupKey(file: file, group: group)] }
    }

    /// Keeps `block` unless another thread made one for its group first: that one wins
    /// (the loser's ids are never handed out).
    func add(_ block: LinkBlock) -> LinkBlock {
        state.withLock { s in
            let key = GroupKey(file: block.file, group: block.group)
            if let winner = s.byGroup[key] { return winner }
            s.byGroup[key] = block
            var low = 0, high = s.byID.count
            while low < high {
                let mid = (low + high) / 2
                if s.byID[mid].firstID > block.firstID { high = mid } else { low = mid + 1 }
            }
            s.byID.insert(block, at: low)
            return block
        }
    }

    /// The block whose ids include `id`.
    func owner(of id: NodeID) -> LinkBlock? {
        state.withLock { s -> LinkBlock? in
            var low = 0, high = s.byID.count
            while low < high {
                let mid = (low + high) / 2
                if s.byID[mid].firstID > id { high = mid } else { low = mid + 1 }
            }
            guard low > 0 else { return nil }
            let block = s.byID[low - 1]
            return id - block.firstID < NodeID(block.count) ? block : nil
        }
    }

    func node(_ id: NodeID) -> Node? { owner(of: id)?.node(id: id) }
}

/// A directory's entries in readdir order: a link block's (one slot per link, hidden ones
/// empty) and then `entries`; without a block, `entries` alone. Slot numbers are stable for
/// the listing's life, so readdir offsets stay meaningful across calls.
package struct DirectoryListing: Sendable {
    let block: LinkBlock?
    package let entries: [DirectoryEntry]

    package init(entries: [DirectoryEntry]) {
        self.block = nil; self.entries = entries
    }

    init(block: LinkBlock) {
        self.block = block; self.entries = block.extras
    }

    /// Slots, empty ones included.
    package var count: Int { (block?.count ?? 0) + entries.count }

    /// The entry in slot `index`; nil for an empty slot (a link that is not shown).
    package func entry(at index: Int) -> DirectoryEntry? {
        let linkSlots = block?.count ?? 0
        if index < linkSlots { return block?.entry(at: index) }
        let rest = index - linkSlots
        return rest >= 0 && rest < entries.count ? entries[rest] : nil
    }

    /// Every entry shown, in order (for tests and small directories).
    package var shown: [DirectoryEntry] { (0 ..< count).compactMap(entry(at:)) }
}
