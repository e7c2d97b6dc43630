/// Kernel-facing settings of one mount, fixed at mount time.
package struct BridgeConfiguration: Sendable, Hashable {
    /// How long the kernel may trust a name -> node answer and a node's attributes.
    /// Long on read-only mounts: nothing changes behind the kernel's back.
    package var entryTimeout: Double
    package var attributeTimeout: Double
    /// Whether the kernel may keep file pages across opens (`keep_cache`), directory
    /// listings (`cache_readdir`) and "no such name" answers: read-only mounts only.
    package var cachesContent: Bool
    /// Must equal the `max_read=` mount option handed to fuse_session_new
    /// (libfuse refuses INIT otherwise).
    package var maxRead: UInt32
    package var maxWrite: UInt32
    /// Asked of the kernel; it takes the minimum of this and the device's
    /// read-ahead (128 KiB unless raised in /sys/class/bdi).
    package var maxReadahead: UInt32

    /// The container's absolute path: named in the log, and answered as the
    /// hidden attribute `user.h5mount.container` of the root (for `h5mount -u`).
    package var containerPath: String

    package static let defaultMaxRead: UInt32 = 1 << 20

    /// Writable mounts use 1 s timeouts: the tree changes, and a name the
    /// kernel still trusts may have gone (renamed over, or removed through a
    /// hard link). Negative entries are cached only on read-only mounts.
    package init(readOnly: Bool, maxRead: UInt32 = defaultMaxRead, containerPath: String = "") {
        entryTimeout = readOnly ? 3600 : 1
        attributeTimeout = readOnly ? 3600 : 1
        cachesContent = readOnly
        self.maxRead = maxRead
        maxWrite = 1 << 20
        maxReadahead = 1 << 20
        self.containerPath = containerPath
    }

    /// `-o swmr`: the container grows under the mount, so the kernel trusts a size or a
    /// name for `interval` seconds only (the filesystem re-describes a dataset as often),
    /// and drops a file's pages at each open; a size change drops them too (the kernel
    /// does that itself when a getattr answers a new size).
    package mutating func followWrites(interval: Double) {
        entryTimeout = interval
        attributeTimeout = interval
        cachesContent = false
    }
}
