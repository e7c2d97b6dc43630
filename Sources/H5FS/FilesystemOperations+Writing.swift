import H5Model

/// What `setattr` asks to change; nil fields stay as they are. `UTIME_NOW` is
/// resolved by the adapter into the current time before it gets here.
package struct AttributeChanges: Sendable, Hashable {
    package var mode: UInt32?
    package var uid: UInt32?
    package var gid: UInt32?
    package var size: UInt64?
    package var accessTime: Timestamp?
    package var modificationTime: Timestamp?
    package init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil,
                 accessTime: Timestamp? = nil, modificationTime: Timestamp? = nil) {
        self.mode = mode; self.uid = uid; self.gid = gid; self.size = size
        self.accessTime = accessTime; self.modificationTime = modificationTime
    }
}

/// Flags of rename(2) the adapter passes through (RENAME_NOREPLACE, RENAME_EXCHANGE).
package struct RenameFlags: OptionSet, Sendable, Hashable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }
    package static let noReplace = RenameFlags(rawValue: 1)
    package static let exchange = RenameFlags(rawValue: 2)
}

/// Flags of setxattr(2): XATTR_CREATE (EEXIST if present), XATTR_REPLACE (ENODATA if absent).
package struct ExtendedAttributeFlags: OptionSet, Sendable, Hashable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }
    package static let create = ExtendedAttributeFlags(rawValue: 1)
    package static let replace = ExtendedAttributeFlags(rawValue: 2)
}

/// The write path (DESIGN.md §2). On a read-only mount every one of these answers EROFS.
/// Calls that hand a node to the kernel (create, mkdir, symlink, link) count one lookup,
/// like `lookup`.
package protocol WritableFilesystemOperations: FilesystemOperations {
    func makeDirectory(parent: NodeID, name: String, mode: UInt32) throws(FSError) -> NodeAttributes
    func removeDirectory(parent: NodeID, name: String) throws(FSError)
    func unlink(parent: NodeID, name: String) throws(FSError)
    func rename(parent: NodeID, name: String, newParent: NodeID, newName: String, flags: RenameFlags) throws(FSError)
    func symlink(parent: NodeID, name: String, target: String) throws(FSError) -> NodeAttributes
    func link(_ node: NodeID, newParent: NodeID, newName: String) throws(FSError) -> NodeAttributes
    /// Creates and opens a regular file; returns its attributes and a handle.
    func create(parent: NodeID, name: String, mode: UInt32, flags: Int32) throws(FSError) -> (NodeAttributes, UInt64)
    /// Writes at `offset`; returns the number of bytes written (all of them, or an error).
    func write(_ node: NodeID, handle: UInt64, offset: UInt64, data: UnsafeRawBufferPointer) throws(FSError) -> Int
    /// chmod, chown, truncate, utimens. `handle` is set for ftruncate/futimens on an open file.
    func setAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges) throws(FSError) -> NodeAttributes
    /// close(2) of one handle (FUSE flush): the last writer's close stores the file, and
    /// its errors (ENOSPC, EIO) are the close's.
    func flush(_ node: NodeID, handle: UInt64) throws(FSError)
    /// fsync(2) / fdatasync(2): the file's bytes so far are durable (packed or in a synced spool).
    func synchronize(_ node: NodeID, handle: UInt64) throws(FSError)
    /// setxattr(2) of `user.NAME`: sets the HDF5 attribute NAME (docs/writing.md, "Attributes").
    func setExtendedAttribute(_ node: NodeID, name: String, value: [UInt8], flags: ExtendedAttributeFlags) throws(FSError)
    /// removexattr(2) of `user.NAME`: deletes the HDF5 attribute NAME (ENODATA when absent).
    func removeExtendedAttribute(_ node: NodeID, name: String) throws(FSError)
    /// Unmount: pack what is still open or waiting, and commit the working copy over the
    /// container (atomic rename). Called once, from the adapter's `destroy`.
    func commit() throws(FSError)
}
