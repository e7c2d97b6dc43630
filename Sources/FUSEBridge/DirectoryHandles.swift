import Glibc
import H5FS
import Synchronization

/// One entry of an open directory as readdir hands it out. "." and ".."
/// carry only a node id and a type; they are never counted as lookups.
package struct ListedEntry: Sendable, Hashable {
    package var name: String
    package var attributes: NodeAttributes
    package var isDotEntry: Bool
}

/// The listing of a directory taken at opendir, so that a directory read in
/// several readdir calls is consistent and offsets stay meaningful.
///
/// A large group's links are not copied: the listing refers to its group's link block,
/// shared by every open handle (docs/hdf5-store.md, "Many links").
package final class DirectorySnapshot: Sendable {
    package let node: NodeID
    /// "." and "..".
    private let dots: [ListedEntry]
    /// The filesystem's entries in its order, after the dots.
    private let listing: DirectoryListing

    package init(node: NodeID, dots: [ListedEntry], listing: DirectoryListing) {
        self.node = node
        self.dots = dots
        self.listing = listing
    }

    /// "." and ".." first, then `entries`, as one list (tests).
    package convenience init(node: NodeID, entries: [ListedEntry]) {
        let dots = Array(entries.prefix { $0.isDotEntry })
        self.init(node: node, dots: dots, listing: DirectoryListing(entries: entries.dropFirst(dots.count).map {
            DirectoryEntry(name: $0.name, attributes: $0.attributes)
        }))
    }

    /// Slots: an entry's readdir offset is its slot + 1 (the offset of the next entry).
    package var count: Int { dots.count + listing.count }

    /// The entry in `slot`; nil for a slot with nothing to show (a link left out).
    package func entry(at slot: Int) -> ListedEntry? {
        if slot < dots.count { return dots[slot] }
        return listing.entry(at: slot - dots.count).map {
            ListedEntry(name: $0.name, attributes: $0.attributes, isDotEntry: false)
        }
    }

    /// Every entry, in order (tests).
    package var entries: [ListedEntry] { (0 ..< count).compactMap(entry(at:)) }
}

/// Open directory handles (the `fh` of opendir), created and dropped by the
/// kernel's opendir/releasedir. One lock; held only to insert, find or remove.
package final class DirectoryHandles: Sendable {
    private struct State {
        var next: UInt64 = 1
        var open: [UInt64: DirectorySnapshot] = [:]
    }
    private let state = Mutex(State())

    package init() {}

    package func insert(_ snapshot: DirectorySnapshot) -> UInt64 {
        state.withLock { state in
            let handle = state.next
            state.next += 1
            state.open[handle] = snapshot
            return handle
        }
    }

    package func snapshot(_ handle: UInt64) -> DirectorySnapshot? {
        state.withLock { $0.open[handle] }
    }

    @discardableResult
    package func remove(_ handle: UInt64) -> DirectorySnapshot? {
        state.withLock { $0.open.removeValue(forKey: handle) }
    }

    package var count: Int { state.withLock { $0.open.count } }
}
