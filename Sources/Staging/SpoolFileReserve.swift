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
/// A kept file is empty and still named after the spool it last held (`spool/<old id>`);
/// that spool was packed or dropped before it was given back, so nothing in the journal
/// reads it again, and a crash leaves it as an empty file that recovery and `--discard`
/// remove with the rest of `spool/`. At most `limit` are kept; `closeAll` closes and
/// deletes them (the work directory is going away).
package final class SpoolFileReserve: Sendable {
    private struct Kept {
        var descriptor: Int32
        var path: String
    }

    private let kept = Mutex<[Kept]>([])
    private let limit: Int

    package init(limit: Int = 32) {
        self.limit = max(0, limit)
    }

    /// Files kept now.
    package var count: Int { kept.withLock { $0.count } }

    /// An empty spool file renamed to `path` (which must not exist), open read-write; nil
    /// when none is kept (or the rename failed: that file is deleted, the caller makes one).
    func take(renamingTo path: String) -> Int32? {
        while let file = kept.withLock({ $0.popLast() }) {
            // Never over a file: spool ids are unique within a session, whose spool/ starts
            // empty (the session makes the directory), so `path` cannot exist.
            if rename(file.path, path) == 0 { return file.descriptor }
            close(file.descriptor)
            unlink(file.path)
        }
        return nil
    }

    /// Keeps `descriptor` (the spool file at `path`) for a later spool after emptying it;
    /// false when it was not kept (the reserve is full, or truncation failed): the caller
    /// closes and deletes it as before.
    func give(_ descriptor: Int32, at path: String) -> Bool {
        guard kept.withLock({ $0.count < limit }) else { return false }
        while ftruncate(descriptor, 0) != 0 {
            if errno != EINTR { return false }
        }
        return kept.withLock { kept in
            guard kept.count < limit else { return false }
            kept.append(Kept(descriptor: descriptor, path: path))
            return true
        }
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
