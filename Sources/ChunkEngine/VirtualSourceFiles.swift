import H5Model

/// What the engine asks the layer above for when it reads a virtual dataset natively
/// (ChunkEngine+Virtual.swift): the files its mappings name, opened under the mount's rules
/// (where relative names resolve, which files `-o external=` lets it open, containment),
/// and a place to say how each virtual dataset is read.
package protocol VirtualSourceFiles: Sendable {
    /// The reader of the source file a mapping names (`"."`: the virtual dataset's own
    /// file), nil when the file is not read: it does not exist, cannot be opened, or the
    /// mount's policy refuses it. Its elements then read as the virtual dataset's fill value.
    func reader(forSourceFile name: String, of virtualFile: any ContainerReader) -> (any ContainerReader)?
    /// One line for the log: how a virtual dataset is read (natively, or through libhdf5 and why).
    func note(_ message: String)
}
