import Glibc
import H5Model
import Staging

/// Storing small files after their close, off the FUSE thread (docs/writing.md, "When a
/// file is stored").
///
/// A copied-in tree is mostly small files, and storing one (compress, create the dataset,
/// link, journal) costs more than copying it. So at a close (FUSE flush) a file of one
/// chunk is only sealed and journaled, which is what makes it survive a crash of the daemon
/// (`--recover` packs it), and the rest is queued for two background threads, in close
/// order per file (`Staging.KeyedQueues`, keyed by node: two files compress at once); the
/// writer goes on meanwhile.
/// Files of several chunks are stored at the close as before: they use every core already,
/// and ENOSPC stays their close()'s error. So are typed datasets and files given xattrs
/// while open (whose refusal is the close's error).
///
/// What keeps this invisible: the file's gate is taken at the close and given back by the
/// background job, so a stat, read, write, truncate, chmod or fsync of that file waits for
/// its dataset; renames, unlinks, links and rmdir wait until the queue is empty
/// (`drainStores`), and so does the commit. A background store that fails (ENOSPC) keeps the
/// file's bytes in the work directory, and from then on every change, flush and fsync of the
/// mount answers that error; the commit at unmount tries the waiting files again and, if it
/// still cannot store them, fails (exit 7) with the container untouched and the work kept
/// for `h5mount --recover`.
///
/// Lock order: a file's gate, then (briefly) `WriteSession.state`; the queue's own lock is
/// a leaf. A flush waits for room in the queue before it takes the gate: a queued job may
/// need that gate (the file's last release), so waiting while holding it could deadlock.
extension ContainerFilesystem {
    func storeOnClose(_ node: NodeID, _ writes: WriteSession) throws(FSError) {
        // Stored at the close as before: typed datasets (written in place, TypedWrites), and
        // files with xattrs set while open (a refused attribute is that close's error).
        guard let active = writes.active(node), active.typed == nil, active.attributeEdits.isEmpty,
              let gate = writes.gate(node) else { return try store(node) }
        writes.background.waitForRoom(key: node)
        gate.acquire()
        var handedOver = false
        defer { if !handedOver { gate.release() } }
        let taken = takeForStore(node, writes)
        if let failure = writes.state.withLock({ $0.storeFailure }) {
            // After a failed store nothing more is packed, but what was written is kept:
            // sealed and journaled, it waits for the commit (or recovery) like the failed file.
            if let (open, spool) = taken {
                try sealForStore(node, open, spool, writes)
                writes.state.withLock { s in
                    let name = PendingName(directory: open.path.parent, name: open.path.name)
                    if s.pending[name] == node { s.pending[name] = nil }
                }
            }
            throw failure
        }
        guard let (open, spool) = taken else { return }
        try sealForStore(node, open, spool, writes)
        guard writes.workingCopy.packsInOneChunk(size: spool.size) else {
            return try packSealed(node, open, spool, writes, keepOnFailure: false)
        }
        // A file this session created has no dataset yet: its pack links a new one and frees
        // nothing. Any other file's pack replaces its dataset (takeForStore marks the file
        // as no longer new, so a second close of a new file counts as replacing).
        let replaces = !open.isNew
        writes.state.withLock { s in
            s.inFlight[node, default: 0] += 1
            if replaces { s.replacingStores += 1 }
        }
        handedOver = true
        // Waiting in the queue, the sealed spool keeps no descriptor (the pack opens it again).
        spool.park()
        writes.background.submit(key: node) { [self] in
            defer {
                writes.state.withLock { s in
                    let left = (s.inFlight[node] ?? 1) - 1
                    s.inFlight[node] = left > 0 ? left : nil
                    if replaces { s.replacingStores -= 1 }
                }
                gate.release()
            }
            do throws(FSError) {
                try packSealed(node, open, spool, writes, keepOnFailure: true)
            } catch {
                let failure = FSError(error.errno, "\(error.message); later changes are refused, and the "
                                      + "unmount tries this file again (its bytes are kept in the work directory)")
                writes.state.withLock { s in if s.storeFailure == nil { s.storeFailure = failure } }
            }
        }
    }

    /// Waits until a background store of `node` is done (nothing to wait for otherwise), so
    /// what the caller reads of the node next is the stored dataset.
    func waitForStore(_ node: NodeID) throws(FSError) {
        guard let writes, writes.isInFlight(node) else { return }
        try writes.passingGate(node) { () throws(FSError) in }
    }

    /// Waits until every background store queued so far is done: before changes that
    /// name files by path (rename, unlink, link, rmdir) and before the commit.
    func drainStores() {
        writes?.background.drain()
    }

    /// Waits until the queue is empty when a queued or running store frees an object (it
    /// replaces a file's dataset), else returns at once. For mkdir: the new group may get
    /// the freed object header's address, and until that pack has rebuilt its node
    /// (`refreshDataset`) the address still leads to the file's node id, which the new
    /// directory would then be answered with (the kernel turns the type change into EIO).
    /// Packs of files this session created free nothing, so `cp -a` of a tree, whose
    /// every mkdir comes between closes of new files, does not stop its packing at each one.
    func waitForStoresThatFreeObjects() {
        guard let writes, writes.state.withLock({ $0.replacingStores > 0 }) else { return }
        writes.background.drain()
    }
}
