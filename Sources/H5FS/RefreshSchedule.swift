import Synchronization

/// `-o swmr`: when a node is re-described from the file. At most once per `interval` per
/// node, however many lookups, stats and reads arrive meanwhile — the same bound the
/// kernel's attribute timeout puts on how stale a size it shows may be (the bridge uses
/// `interval` as that timeout). The first caller after the interval claims the refresh
/// and does it; the others go on with the node as it is.
final class RefreshSchedule: Sendable {
    let interval: Double
    /// When each node was last claimed (monotonic seconds).
    private let claimed = Mutex<[NodeID: Double]>([:])

    init(interval: Double) { self.interval = interval }

    /// Whether the caller should refresh `node` now; true at most once per interval.
    func claim(_ node: NodeID, now: Double) -> Bool {
        claimed.withLock { claimed in
            if let last = claimed[node], now - last < interval { return false }
            claimed[node] = now
            return true
        }
    }
}
