/// Where cache-filling tile loads run: parallel decode and read-ahead.
///
/// A read that touches several tiles hands the loads of the next few to a concurrent
/// scheduler (`.urgent`) while it copies the current one; a sequential reader's read-ahead
/// hands over the loads of the tiles after its position (`.readAhead`). Every such load is
/// first registered in the cache's in-flight table, so a reader that arrives for a tile
/// whose job has not started runs the load itself (the job then does nothing), and one
/// arriving while a worker loads it waits: a tile is never loaded twice at once, and a
/// reader never waits behind a queue. Loads never hold a lock while they decode.
package protocol DecodeScheduler: Sendable {
    /// Whether `schedule` runs jobs concurrently with its caller. Reads hand loads (and
    /// sequential readers start read-ahead) only with a concurrent scheduler; with an
    /// inline one each tile is loaded when a read needs it.
    var isConcurrent: Bool { get }
    /// Threads that run jobs at once: sizes read-ahead (about 2 tiles per worker ahead).
    var workerCount: Int { get }
    /// Runs each job, now or later, on this thread or others. Jobs report nothing: a
    /// failed load is seen again, as an error, by the read that needs the tile.
    func schedule(_ jobs: [@Sendable () -> Void], priority: JobPriority)
}

extension DecodeScheduler {
    package func schedule(_ jobs: [@Sendable () -> Void]) { schedule(jobs, priority: .readAhead) }
}

/// Runs jobs on the caller's thread before returning. For tests that want every load on
/// the reading thread, in order.
package struct InlineDecodeScheduler: DecodeScheduler {
    package init() {}
    package var isConcurrent: Bool { false }
    package var workerCount: Int { 1 }
    package func schedule(_ jobs: [@Sendable () -> Void], priority: JobPriority) {
        for job in jobs { job() }
    }
}

/// A fixed pool of worker threads, one per core by default, owned by one engine (the
/// engine's default scheduler).
///
/// Lifetime: the threads hold the job queue, not the scheduler. When the scheduler goes
/// (its engine and every dataset and queued job referring to it are gone), `deinit` tells
/// the queue to stop and the workers leave as soon as it is empty; they are detached, so
/// nothing joins them (the last reference may even be dropped on a worker thread).
package final class PoolDecodeScheduler: DecodeScheduler {
    private let queue = JobQueue()
    package let workerCount: Int

    /// `workers` threads (default: the online cores, at least 1). `census`, when given,
    /// counts the live worker threads (tests check that they all leave).
    package init(workers: Int = PoolDecodeScheduler.onlineCores, census: WorkerCensus? = nil) {
        var started = 0
        for _ in 0..<max(1, workers) where WorkerThread.start(queue: queue, census: census) {
            started += 1
        }
        workerCount = started
    }

    deinit { queue.stop() }

    /// With no thread started (the system refused), jobs run inline.
    package var isConcurrent: Bool { workerCount > 0 }

    package func schedule(_ jobs: [@Sendable () -> Void], priority: JobPriority) {
        if workerCount == 0 {
            for job in jobs { job() }
        } else {
            queue.push(jobs, priority: priority)
        }
    }

    /// Jobs not yet taken by a worker.
    package var waitingJobs: Int { queue.waiting }

    package static var onlineCores: Int { WorkerThread.onlineCores }
}
