import H5FS

// What a readdirplus entry tells the kernel about its node.

extension Dispatcher {
    /// The attributes a readdirplus entry hands the kernel: the node's as of this reply, or
    /// nil to hand out the name and type alone.
    ///
    /// The kernel applies an entry's attributes to the inode it already holds, size
    /// included, unless a change of its own (a write's reply) came *after* it sent the
    /// READDIRPLUS (fs/fuse/readdir.c `fuse_direntplus_link` → fs/fuse/inode.c
    /// `fuse_change_attributes`, with the attr_version read when the request was sent). The
    /// snapshot's attributes were taken at opendir, possibly before writes the kernel has
    /// since seen answered, so handing them out later shrank the kernel's size of a file just
    /// written (`ls` in the directory while `cp` ran): a read right after its close came back
    /// short by whole writes, with no READ asked (docs/writing.md, "Sizes in listings").
    /// What the filesystem answers now includes every write already answered.
    ///
    /// Read-only mounts (nothing changes) hand out the snapshot as it is. A node that has
    /// gone since the opendir (or fails) goes out with node id 0: the kernel links nothing
    /// and looks the name up when it is used.
    func replyAttributes(of listed: ListedEntry) -> NodeAttributes? {
        if listed.isDotEntry || configuration.cachesContent { return listed.attributes }
        return try? filesystem.attributes(of: listed.attributes.node)
    }
}
