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
package final class DirectorySnapshot: Sendable {
    package let node: NodeID
    /// "." and ".." first, then the filesystem's entries in its order.
    /// An entry's readdir offset is its index + 1 (the offset of the next entry).
    package let entries: [ListedEntry]

    package init(node: NodeID, entries: [ListedEntry]) {
        self.node = node
        self.entries = entries
    }
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
