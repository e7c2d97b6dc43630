import H5Model

/// Kernel node id. 1 is the root (FUSE_ROOT_ID). h5mount also uses it as
/// `st_ino`: one node per object identity (see docs/architecture.md, "Identity"),
/// so the hard links of a dataset share a node, and ids stay stable while mounted.
package typealias NodeID = UInt64

package struct Timestamp: Sendable, Hashable {
    package var seconds: Int64
    package var nanoseconds: Int32
    package init(seconds: Int64, nanoseconds: Int32 = 0) { self.seconds = seconds; self.nanoseconds = nanoseconds }
}

/// What `stat` shows for a node.
package struct NodeAttributes: Sendable, Hashable {
    package var node: NodeID
    /// File type bits and permissions, as in `st_mode` (S_IFDIR | 0o755, S_IFREG | 0o644, S_IFLNK | 0o777).
    package var mode: UInt32
    package var linkCount: UInt32
    package var size: UInt64
    package var uid: UInt32
    package var gid: UInt32
    package var accessTime: Timestamp
    package var modificationTime: Timestamp
    package var changeTime: Timestamp
    package init(node: NodeID, mode: UInt32, linkCount: UInt32, size: UInt64, uid: UInt32, gid: UInt32,
                 accessTime: Timestamp, modificationTime: Timestamp, changeTime: Timestamp) {
        self.node = node; self.mode = mode; self.linkCount = linkCount; self.size = size
        self.uid = uid; self.gid = gid; self.accessTime = accessTime
        self.modificationTime = modificationTime; self.changeTime = changeTime
    }
}

package struct DirectoryEntry: Sendable, Hashable {
    package var name: String
    package var attributes: NodeAttributes
    package init(name: String, attributes: NodeAttributes) { self.name = name; self.attributes = attributes }
}

package struct FilesystemStatistics: Sendable, Hashable {
    package var blockSize: UInt64
    package var totalBlocks: UInt64
    package var freeBlocks: UInt64
    package var availableBlocks: UInt64
    package var totalFiles: UInt64
    package var freeFiles: UInt64
    package var maxNameLength: UInt64
    package init(blockSize: UInt64, totalBlocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64,
                 totalFiles: UInt64, freeFiles: UInt64, maxNameLength: UInt64) {
        self.blockSize = blockSize; self.totalBlocks = totalBlocks; self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks; self.totalFiles = totalFiles; self.freeFiles = freeFiles
        self.maxNameLength = maxNameLength
    }
}

/// The filesystem layer's one error type: an errno the kernel will see, and
/// the cause for the log. The FUSE adapter turns it into a reply in one place.
package struct FSError: Error, Sendable, CustomStringConvertible {
    package var errno: Int32
    package var message: String
    package init(_ errno: Int32, _ message: String) { self.errno = errno; self.message = message }
    package var description: String { message }
}

/// Everything the FUSE adapter asks of the filesystem. Speaks in node ids,
/// names and byte ranges; knows nothing of libfuse. Every call may come from
/// any thread of the session loop at the same time.
package protocol FilesystemOperations: Sendable {
    /// Whether every mutation must answer EROFS.
    var isReadOnly: Bool { get }
    /// Resolves `name` in directory `parent`. Counts one kernel lookup of the node.
    func lookup(parent: NodeID, name: String) throws(FSError) -> NodeAttributes
    /// The kernel dropped `count` lookups of `node`.
    func forget(node: NodeID, count: UInt64)
    func attributes(of node: NodeID) throws(FSError) -> NodeAttributes
    func readLink(_ node: NodeID) throws(FSError) -> String
    /// The entries of a directory, without "." and "..", in a stable order.
    /// Each entry counts as one lookup only when the adapter hands it to the kernel
    /// with readdirplus; the adapter then calls `countLookup`.
    func listDirectory(_ node: NodeID) throws(FSError) -> [DirectoryEntry]
    /// `listDirectory` as the adapter keeps it for an open directory: a large group's links
    /// by slot, shared and never copied (LinkBlock.swift). A default implementation wraps
    /// `listDirectory`.
    func listing(_ node: NodeID) throws(FSError) -> DirectoryListing
    /// Records one kernel lookup of a node handed out by `listDirectory` (readdirplus).
    func countLookup(_ node: NodeID)
    /// Opens a regular file; returns a handle for `read` and `release`.
    func open(_ node: NodeID, flags: Int32) throws(FSError) -> UInt64
    func read(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int) throws(FSError) -> [UInt8]
    /// The same read into the caller's buffer (its size is the read's size); returns the byte
    /// count. The adapter reuses one buffer per thread: no allocation, one copy less.
    func read(_ node: NodeID, handle: UInt64, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int
    /// The same read as pieces of the filesystem's own memory, valid only during `body`, so
    /// the adapter replies without copying; nil when it cannot (then `read(into:)`).
    /// FilesystemOperations+Segments.swift.
    func withReadSegments<Result>(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int,
                                  _ body: ([UnsafeRawBufferPointer]) -> Result) throws(FSError) -> Result?
    func release(_ node: NodeID, handle: UInt64)
    /// Value of an extended attribute ("user.NAME"); ENODATA when absent.
    func extendedAttribute(_ node: NodeID, name: String) throws(FSError) -> [UInt8]
    func extendedAttributeNames(_ node: NodeID) throws(FSError) -> [String]
    func statistics() -> FilesystemStatistics
    /// Whether `node`'s bytes are generated text whose length can change while the kernel
    /// still holds the old size (sidecars after an attribute change or a SWMR refresh). The
    /// adapter opens such files with `direct_io`: the kernel clips a cached read at the size
    /// it knows, which would cut the JSON short.
    func isGeneratedText(_ node: NodeID) -> Bool
    /// Whether the thread answering a request should keep to the first core now (the
    /// adapter asks at every request; `ThreadPlacement.keepToFirstCore`).
    var keepsRequestsOnTheFirstCore: Bool { get }
}

extension FilesystemOperations {
    package func listing(_ node: NodeID) throws(FSError) -> DirectoryListing {
        DirectoryListing(entries: try listDirectory(node))
    }

    /// Test doubles serve fixed bytes.
    package func isGeneratedText(_ node: NodeID) -> Bool { false }

    /// Test doubles pack nothing in the background.
    package var keepsRequestsOnTheFirstCore: Bool { false }

    /// For filesystems that only produce arrays (test doubles): read, then copy.
    package func read(_ node: NodeID, handle: UInt64, offset: UInt64,
                      into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        let bytes = try read(node, handle: handle, offset: offset, size: buffer.count)
        let count = min(bytes.count, buffer.count)
        bytes.withUnsafeBytes { source in
            if count > 0 { buffer.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: count) }
        }
        return count
    }
}
