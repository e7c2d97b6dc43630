import H5FS
import Synchronization

/// Which directory each directory node was last found in, so readdir can
/// give ".." its real node id. H5FS shows a group as a directory at exactly
/// one path (its canonical one), so a directory has one parent.
/// The kernel always looks a directory up before reading it, so every
/// directory but the root is known here by the time it is listed.
package final class ParentDirectories: Sendable {
    private let parents = Mutex<[NodeID: NodeID]>([:])

    package init() {}

    package func record(_ child: NodeID, in parent: NodeID) {
        parents.withLock { $0[child] = parent }
    }

    /// The root is its own parent, as on every Unix filesystem.
    package func parent(of node: NodeID) -> NodeID {
        parents.withLock { $0[node] } ?? rootNode
    }
}

/// FUSE_ROOT_ID: the kernel's id for the mount's root directory.
package let rootNode: NodeID = 1
