/// Options that shape what the filesystem shows and how it reads.
/// The CLI fills this from `-o` options; FUSE-only options never reach here.
package struct MountOptions: Sendable, Hashable {
    /// Every mutation answers EROFS (`-o ro`; the only mode until the write path lands).
    package var readOnly: Bool = true
    /// Byte budget of the decoded-chunk cache (`-o cache_size=`, default 256 MiB).
    package var cacheBytes: Int = 256 << 20
    /// Owner shown for every node (the mounting user unless `-o uid=`/`gid=`).
    package var uid: UInt32 = 0
    package var gid: UInt32 = 0
    package init(readOnly: Bool = true, cacheBytes: Int = 256 << 20, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.readOnly = readOnly; self.cacheBytes = cacheBytes; self.uid = uid; self.gid = gid
    }
}
