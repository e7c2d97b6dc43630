import H5Model

/// Options that shape what the filesystem shows and how it reads and writes.
/// The CLI fills this from `-o` options; FUSE-only options never reach here.
package struct MountOptions: Sendable, Hashable {
    /// Every mutation answers EROFS (`-o ro`, or a container that is not writable).
    package var readOnly: Bool = true
    /// Byte budget of the decoded-chunk cache (`-o cache_size=`, default 256 MiB).
    package var cacheBytes: Int = 256 << 20
    /// Owner shown for every node (the mounting user unless `-o uid=`/`gid=`).
    package var uid: UInt32 = 0
    package var gid: UInt32 = 0
    /// How written files are stored (`-o compression=gzip[:LEVEL]|lz4|bslz4|none`, default gzip:6).
    package var compression: Compression = .standard
    /// Chunk size of written files (`-o chunk_size=`, default 1 MiB).
    package var chunkSize: Int = 1 << 20
    /// `-o inplace`: change the container itself, without a working copy (no crash safety).
    package var inplace: Bool = false
    /// Seconds one libhdf5 request may take in its trial child before its object answers EIO
    /// (`-o hdf5_timeout=`, default 10); nil (`hdf5_timeout=0`): libhdf5 runs unguarded in
    /// the daemon (docs/hdf5-store.md, "Containment").
    package var hdf5TimeLimit: Double? = 10
    /// Which files external links may lead to (`-o external=dir|any|none`).
    package var external: ExternalLinkPolicy = .directory
    /// `-o swmr`: follow a SWMR writer (read-only; datasets re-described at most once per
    /// `swmrInterval` seconds, `-o swmr_interval=`, default 1). docs/mounting.md.
    package var swmr: Bool = false
    package var swmrInterval: Double = 1
    /// `-o frames`: `NAME.frames/` beside each typed dataset of rank 3 or more (docs/mapping.md, "Views").
    package var frames: Bool = false
    /// `-o npy`: `NAME.npy` beside each typed dataset (and frame), a NumPy file of its raw array.
    package var npy: Bool = false
    /// Links from which a group of a read-only mount (without `-o swmr`) is listed once into
    /// a `LinkBlock` kept for the mount's life, its symbolic links without a node each
    /// (docs/hdf5-store.md, "Many links"). Not a `-o` option: tests lower it.
    package var linkBlockMinimum: Int = 4096
    package init(readOnly: Bool = true, cacheBytes: Int = 256 << 20, uid: UInt32 = 0, gid: UInt32 = 0,
                 compression: Compression = .standard, chunkSize: Int = 1 << 20, inplace: Bool = false) {
        self.readOnly = readOnly; self.cacheBytes = cacheBytes; self.uid = uid; self.gid = gid
        self.compression = compression; self.chunkSize = chunkSize; self.inplace = inplace
    }
}
