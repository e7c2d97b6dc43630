import Threads

/// One background thread running jobs in the order they were submitted, with a bound on
/// how many may wait and a way to wait until all have run: where the filesystem packs
/// small files after their close, so the writer (cp) goes on while the last file is packed.
///
/// Order is the point: jobs for one file (its pack, then its last release) run in the order
/// they were submitted, and so do the journal records they write.
/// `waitForRoom` is separate from `submit` so a caller can wait for room before it takes
/// a lock the jobs may need, and submit while holding it.
package final class SerialQueue: Sendable {
    private let pool: WorkerPool
    private let counter = JobCounter()
    /// Jobs submitted and not finished at which `waitForRoom` waits.
    package let limit: Int

    /// With `leavingFirstCore`, the thread keeps off the first core (`WorkerPool`).
    package init(limit: Int = 32, leavingFirstCore: Bool = false) {
        self.limit = max(1, limit)
        pool = WorkerPool(threads: 1, leavingFirstCore: leavingFirstCore)
    }

    /// Waits while `limit` or more jobs are submitted and unfinished.
    package func waitForRoom() { counter.wait { $0 < limit } }

    /// Queues `job` behind every job submitted before it (never waits).
    package func submit(_ job: @escaping @Sendable () -> Void) {
        counter.add(1)
        let counter = self.counter
        pool.submit {
            job()
            counter.add(-1)
        }
    }

    /// Waits until every job submitted so far (and any they submitted) has run. Never call
    /// it from a job: it would wait for itself.
    package func drain() { counter.wait { $0 == 0 } }

    /// Jobs submitted and not finished.
    package var unfinished: Int { counter.value }
}

/// A count of unfinished jobs that threads can wait on. Its lock is a leaf.
private final class JobCounter: @unchecked Sendable {
    // @unchecked: `count` is only touched with `lock` held.
    private let lock = ConditionLock()
    private var count = 0

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    func add(_ delta: Int) {
        lock.lock()
        count += delta
        lock.broadcast()
        lock.unlock()
    }

    func wait(until condition: (Int) -> Bool) {
        lock.lock()
        while !condition(count) { lock.wait() }
        lock.unlock()
    }
}
