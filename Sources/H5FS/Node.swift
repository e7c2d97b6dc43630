import ChunkEngine
import H5Model

/// Index of a mounted file: 0 is the container, others are externally linked files.
typealias FileIndex = Int

/// What makes two paths one node (docs/architecture.md, "Identity").
/// An object is its header address in its file, so hard links share a node; a
/// sidecar belongs to its object; a symbolic link (or an unreadable entry) is
/// its name in its parent group.
enum NodeKey: Hashable, Sendable {
    case object(file: FileIndex, address: UInt64)
    case sidecar(file: FileIndex, address: UInt64)
    case link(file: FileIndex, parent: UInt64, name: String)
    case externalRoot
    /// A view of a dataset (`-o npy`, `-o frames`, docs/mapping.md "Views"): the dataset's node
    /// and the view's role. Frame files have no key: their ids are arithmetic in the block of
    /// ids their `FramesDirectory` reserved.
    case view(dataset: NodeID, role: ViewRole)
}

/// What a node is, with everything needed to serve it. Immutable once made:
/// the mount is read-only, so metadata never changes under a node.
enum NodeKind: Sendable {
    /// A group served as a directory. `address` identifies it for its children's keys.
    case directory(file: FileIndex, path: H5Path, address: UInt64, referenceCount: Int)
    /// `/.external/`: one entry per externally linked file that could be opened.
    case externalRoot
    /// A dataset's file; `content` serves its bytes.
    case dataset(file: FileIndex, path: H5Path, content: NodeContent, description: DatasetDescription)
    /// A sidecar (`NAME.attrs` or `.attrs`): rendered JSON.
    case sidecar(file: FileIndex, objectPath: H5Path, content: NodeContent)
    case symlink(target: String)
    /// An object libhdf5 could not describe: it lists, and answers EIO when opened.
    case unreadable(path: H5Path, reason: String)
    /// `NAME.frames/` (`-o frames`): one file per index of the dataset's first dimension.
    case frames(FramesDirectory)
    /// A read-only file showing a dataset another way: `NAME.npy`, a frame file, a frames sidecar.
    case view(DatasetView)
}

/// The bytes of a regular file node.
enum NodeContent: Sendable {
    /// Rendered in memory (text, JSON lines, sidecars).
    case rendered([UInt8])
    /// Served by the chunk engine (byte datasets and raw arrays).
    case rawArray(RawArrayDataset)
    /// A byte dataset without a sidecar: described in full only when first read.
    case lazyRawArray(LazyRawArray)

    var size: UInt64 {
        switch self {
        case .rendered(let bytes): return UInt64(bytes.count)
        case .rawArray(let dataset): return dataset.byteCount
        case .lazyRawArray(let lazy): return lazy.byteCount
        }
    }
}

final class Node: Sendable {
    let id: NodeID
    let kind: NodeKind
    let attributes: NodeAttributes

    init(id: NodeID, kind: NodeKind, attributes: NodeAttributes) {
        self.id = id; self.kind = kind; self.attributes = attributes
    }

    var isDirectory: Bool {
        switch kind {
        case .directory, .externalRoot, .frames: return true
        default: return false
        }
    }
}

/// What a dataset's sidecar and xattrs are made of.
struct DatasetDescription: Sendable {
    /// Read when the node is made, except for byte datasets without attributes, which
    /// have no sidecar to show it (their content reads it on first use).
    var info: DatasetInfo?
    var rendering: DatasetRendering
    /// User-visible attributes (reserved `h5mount.*` ones removed), in name order.
    var attributes: [Attribute]

    /// Typed datasets always have a sidecar; byte and text datasets only when they carry attributes.
    var hasSidecar: Bool {
        switch rendering {
        case .rawArray, .jsonLines: return true
        case .bytes, .text: return !attributes.isEmpty
        }
    }
}
