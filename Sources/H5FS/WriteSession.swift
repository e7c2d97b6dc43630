import H5Model
import Staging
import Synchronization
import Threads

/// A regular file open for writing: its bytes live in a spool until a writer closes
/// it (FUSE flush); then they are packed into one dataset of the working copy, and a
/// later write starts a new spool from that dataset (a shell's `>` closes a dup of the
/// descriptor before writing to it).
struct ActiveFile: Sendable {
    /// nil while the file's bytes are all in its dataset (packed and unchanged since).
    var spool: Spool?
    /// Where the file will be packed (follows renames while open).
    var path: H5Path
    /// Handles open for writing.
    var writers: Int
    /// Bytes changed since opening (a file opened for writing and closed untouched is not repacked).
    var dirty: Bool
    /// Created by this session and never packed: it has no HDF5 link yet.
    var isNew: Bool
    /// Unlinked while open: dropped at the last close, as on a local disk.
    var unlinked = false
    /// chmod/chown/utimens while open, applied when packed; nil fields: defaults.
    var metadata: StoredMetadata
    /// mtime follows writes unless utimens set it explicitly.
    var explicitTime = false
    /// setxattr/removexattr of a file this session created and never stored (it has no
    /// dataset to hold them yet): applied right after it is packed.
    var attributeEdits: [AttributeEdit] = []
    /// A typed dataset written in place (then `spool` stays nil): its written bytes.
    var typed: TypedWrite? = nil
}

/// The write side of a mount: the working copy and the files open for writing.
///
/// Lock order: `state` is never held while libhdf5, the working copy or a spool is
/// called, nor while the node table is locked; each is taken alone.
final class WriteSession: Sendable {
    let workingCopy: WorkingCopy

    struct State {
        /// Whether the container is already served from the working copy.
        var switched = false
        /// Handle -> (node, opened for writing).
        var handles: [UInt64: (node: NodeID, writes: Bool)] = [:]
        var active: [NodeID: ActiveFile] = [:]
        /// Files created and not packed yet, by (directory path, name): listings show them.
        var pending: [PendingName: NodeID] = [:]
        /// Files unlinked while open, parked under the hidden group until their last close.
        var orphans: [NodeID: H5Path] = [:]
        /// Sidecars open for writing, by handle: the JSON written so far (see SidecarBuffer).
        var sidecarEdits: [UInt64: SidecarBuffer] = [:]
        /// Background stores queued or running, per file (see `ContainerFilesystem+BackgroundStores`).
        var inFlight: [NodeID: Int] = [:]
        /// Background stores queued or running whose file already had a dataset: its link is
        /// replaced, and the old dataset's object header freed (see `waitForStoresThatFreeObjects`).
        var replacingStores = 0
        /// The first background store that failed: every later change answers it.
        var storeFailure: FSError?
        /// Groups this session made (by object address, which renames keep): every name a
        /// link in them may have, because every link in them was made through this mount.
        /// A superset (names are added before their link is made and never removed), so a
        /// name missing here has no link, and a lookup answers ENOENT without libhdf5 (see
        /// `mayHaveLink`).
        var madeGroups: [UInt64: Set<String>] = [:]
    }
    let state = Mutex(State())
    /// One gate per file open for writing: a store (pack + node refresh) holds it, and
    /// reads and stats of that file pass through it, so nobody sees the file half stored.
    /// A background store holds it from the close that queued it until it is done.
    private let gates = Mutex<[NodeID: HandoffLock]>([:])
    /// Where files of one chunk are packed after their close: two threads (two files are
    /// compressed at once), each file's jobs in close order (keyed by node). They keep off
    /// the first core, which is then left to the writer and the FUSE threads answering it
    /// (docs/write-path.md, "Where `cp` waits").
    let background = KeyedQueues(count: 2, limit: WriteSession.queuedStoresPerThread, leavingFirstCore: true)
    /// How many closed files may wait on each packing thread before a close waits for room.
    /// A burst of small files (a directory of a hundred sources) fits, so `cp` goes on while
    /// the packers, off the first core, catch up. What a waiting file holds: its sealed spool
    /// on disk (at most a chunk; its file closed meanwhile, `Spool.park`, so waiting files
    /// cost no descriptors) and its gate, so a read right after its close waits for the packs
    /// ahead of it. 16 made `cp -a` of the bench tree wait for room (docs/write-path.md).
    static let queuedStoresPerThread = 256

    /// Whether the packing threads, kept off the first core, can fill every other core
    /// (two packers, two or three cores), so a FUSE thread answering the writer there would
    /// wait for a packer to be preempted. With more cores a woken FUSE thread finds an idle
    /// one, and nothing is kept. Decided once, from the cores the process may use.
    private let packersFillTheOtherCores: Bool

    init(workingCopy: WorkingCopy) {
        self.workingCopy = workingCopy
        let cores = ThreadPlacement.allowedCores().count
        packersFillTheOtherCores = cores >= 2 && cores - 1 <= background.count
    }

    /// Whether the threads answering requests keep to the first core now: while closed
    /// files wait to be packed, on a machine the packers fill but for that core. `cp -a`
    /// of a tree is a chain (a request, its answer, the next request); on two cores its
    /// answers waited about 250 ms in all for a packer to be preempted, and kept to the
    /// first core they do not (docs/write-path.md, "The writer's core").
    var keepsRequestsOnTheFirstCore: Bool { packersFillTheOtherCores && background.hasWork }

    /// Runs `body` while no store of `node` is under way (directly when the file is not
    /// open for writing).
    func passingGate<R>(_ node: NodeID, _ body: () throws(FSError) -> R) throws(FSError) -> R {
        guard let gate = gate(node) else { return try body() }
        return try gate.withLock { () throws(FSError) -> R in try body() }
    }

    func gate(_ node: NodeID) -> HandoffLock? { gates.withLock { $0[node] } }

    func openGate(_ node: NodeID) {
        gates.withLock { if $0[node] == nil { $0[node] = HandoffLock() } }
    }

    func closeGate(_ node: NodeID) {
        _ = gates.withLock { $0.removeValue(forKey: node) }
    }

    func active(_ node: NodeID) -> ActiveFile? { state.withLock { $0.active[node] } }

    /// Whether a background store of `node` is queued or running.
    func isInFlight(_ node: NodeID) -> Bool { state.withLock { $0.inFlight[node] != nil } }

    /// Refuses a change once a background store failed: the first failure, again (the files
    /// it could not store are still in the work directory; the commit tries them again).
    func refuseAfterFailure() throws(FSError) {
        if let failure = state.withLock({ $0.storeFailure }) { throw failure }
    }

    func pendingNode(in directory: H5Path, named name: String) -> NodeID? {
        state.withLock { $0.pending[PendingName(directory: directory, name: name)] }
    }

    func pendingNames(in directory: H5Path) -> [(String, NodeID)] {
        state.withLock { s in s.pending.filter { $0.key.directory == directory }.map { ($0.key.name, $0.value) } }
    }

    /// Whether the group at `address` may hold a link `name`: false only for a group this
    /// session made and a name no link in it was ever given. Why: `cp -a` looks up every
    /// name before creating it, twice (LOOKUP, then CREATE's own check), and asking libhdf5
    /// means waiting for its lock while a background pack holds it, once per request.
    func mayHaveLink(named name: String, inGroup address: UInt64) -> Bool {
        state.withLock { s in s.madeGroups[address]?.contains(name) ?? true }
    }

    /// A link `name` is about to be made in the group at `address` (call it before making it).
    func noteLink(named name: String, inGroup address: UInt64) {
        state.withLock { s in _ = s.madeGroups[address]?.insert(name) }
    }

    /// The group at `address` was just made by this session, empty.
    func noteGroupMade(at address: UInt64) {
        state.withLock { s in s.madeGroups[address] = [] }
    }

    /// The group at `address` was deleted (its address may be reused by any object).
    func forgetGroup(at address: UInt64) {
        _ = state.withLock { s in s.madeGroups.removeValue(forKey: address) }
    }

    func isOpen(_ node: NodeID) -> Bool {
        state.withLock { s in s.handles.values.contains { $0.node == node } }
    }

    func hasPending(under directory: H5Path) -> Bool {
        state.withLock { s in s.pending.keys.contains { $0.directory == directory } }
    }
}

struct PendingName: Hashable, Sendable {
    var directory: H5Path
    var name: String
}
