import Glibc
import Synchronization

/// Emptied spool files kept open for the next spool, so a copied-in tree does not make and
/// delete a file in the work directory per file it writes.
///
/// Why: on ext4 here, creating a file while many were just deleted costs about 100 µs
/// (inode allocation passes over recently freed inodes, `recently_deleted`), and with the
/// unlink and the inode's eviction it was a tenth of the daemon's CPU during `cp -a` of a
/// source tree, most of it on the FUSE thread answering CREATE. Emptying a packed spool
/// (`ftruncate` to 0) and renaming it to the next spool's name costs a fraction of that.
///
/// A kept file is empty and named after the spool it last held (`spool/<old id>`), or,
/// with `naming`, already renamed for the spool that will take it (`spool/<new id>`, an id
/// no journal record names yet): the rename then happens when the packed file's spool is
/// given back (on the packing thread), not when the next file is created (on the thread
/// answering its CREATE, which the writer waits for). Either way the old spool was packed
/// or dropped before it was given back, so nothing in the journal reads that file again,
/// and a crash leaves it as an empty file that recovery and `--discard` remove with the
/// rest of `spool/`. At most `limit` are kept; `closeAll` closes and deletes them (the
/// work directory is going away).
package final class SpoolFileReserve: Sendable {
    /// An emptied spool file, open read-write, and its name; with `naming`, also the id it
    /// is named for.
    private struct Kept {
        var descriptor: Int32
        var path: String
        var id: UInt64?
    }

    /// A kept file named for a spool id no record names yet (`takeNamed`).
    package struct NamedFile: Sendable {
        package var descriptor: Int32
        package var path: String
        package var id: UInt64
    }

    private let kept = Mutex<[Kept]>([])
    private let limit: Int
    /// The next spool's id and path (it allocates the id); nil: files keep their old name.
    private let naming: (@Sendable () -> (id: UInt64, path: String))?

    package init(limit: Int = 32, naming: (@Sendable () -> (id: UInt64, path: String))? = nil) {
        self.limit = max(0, limit)
        self.naming = naming
    }

    /// A kept file already named for its next spool (see `naming`); nil when none is kept.
    package func takeNamed() -> NamedFile? {
        kept.withLock { kept in
            guard let index = kept.lastIndex(where: { $0.id != nil }) else { return nil }
            let file = kept.remove(at: index)
            return file.id.map { NamedFile(descriptor: file.descriptor, path: file.path, id: $0) }
        }
    }

    /// Files kept now.
    package var count: Int { kept.withLock { $0.count } }

    /// An empty spool file renamed to `path` (which must not exist), open read-write; nil
    /// when none is kept (or the rename failed: that file is deleted, the caller makes one).
    func take(renamingTo path: String) -> Int32? {
        while let file = kept.withLock({ $0.popLast() }) {
            // Never over a file: spool ids are unique within a session, whose spool/ starts
            // empty (the session makes the directory), so `path` cannot exist. A file named
            // ahead for another id (`naming`) just leaves that id unused.
            if rename(file.path, path) == 0 { return file.descriptor }
            close(file.descriptor)
            unlink(file.path)
        }
        return nil
    }

    /// Keeps the spool file at `path` for a later spool after emptying it (and, with
    /// `naming`, renaming it for that spool). It keeps a descriptor of its own: once
    /// emptied, `descriptor` is closed and the file opened again, because ext4 flushes a file
    /// truncated to 0 when its descriptor is closed (`auto_da_alloc`), and the next spool's
    /// bytes would be written to disk when its waiting file is parked (`Spool.park`), about
    /// 28 µs and a disk write per file; opened again, its close costs about 1 µs and writes
    /// nothing. True: `descriptor` is the reserve's (kept, or closed and the file deleted);
    /// false: still the caller's (the reserve is full, or truncation or the rename failed),
    /// which closes and deletes it as before.
    func give(_ descriptor: Int32, at path: String) -> Bool {
        guard kept.withLock({ $0.count < limit }) else { return false }
        while ftruncate(descriptor, 0) != 0 {
            if errno != EINTR { return false }
        }
        var file = Kept(descriptor: -1, path: path, id: nil)
        if let naming {
            // Never over a file: the id is new, and its name was never made.
            let next = naming()
            guard rename(path, next.path) == 0 else { return false }
            file.path = next.path
            file.id = next.id
        }
        close(descriptor)
        guard let reopened = try? SystemCalls.open(file.path, O_RDWR) else {
            unlink(file.path)
            return true
        }
        file.descriptor = reopened
        let stored = kept.withLock { kept in
            guard kept.count < limit else { return false }
            kept.append(file)
            return true
        }
        if !stored {
            close(reopened)
            unlink(file.path)
        }
        return true
    }

    /// Closes and deletes every kept file.
    package func closeAll() {
        let files = kept.withLock { kept in
            defer { kept = [] }
            return kept
        }
        for file in files {
            close(file.descriptor)
            unlink(file.path)
        }
    }

    deinit {
        for file in kept.withLock({ $0 }) { close(file.descriptor) }
    }
}
