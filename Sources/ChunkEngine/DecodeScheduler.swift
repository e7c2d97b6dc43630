/// Where cache-filling tile loads run: the seam for parallel decode and read-ahead.
///
/// A read that touches several tiles hands the loads of all but its first to a concurrent
/// scheduler and then assembles in order; the cache's in-flight table makes it wait for a
/// tile a worker is still loading instead of loading it twice. `RawArrayDataset.prefetch`
/// (read-ahead) hands its loads here too. Loads never hold a lock while they decode.
package protocol DecodeScheduler: Sendable {
    /// Whether `schedule` runs jobs concurrently with its caller. A read only hands loads
    /// to a concurrent scheduler; with an inline one it loads each tile when it needs it.
    var isConcurrent: Bool { get }
    /// Runs each job, now or later, on this thread or others. Jobs report nothing: a
    /// failed load is seen again, as an error, by the read that needs the tile.
    func schedule(_ jobs: [@Sendable () -> Void])
}

/// Runs jobs on the caller's thread before returning. The default until a worker pool exists.
package struct InlineDecodeScheduler: DecodeScheduler {
    package init() {}
    package var isConcurrent: Bool { false }
    package func schedule(_ jobs: [@Sendable () -> Void]) {
        for job in jobs { job() }
    }
}
