import Synchronization

/// Several `SerialQueue`s, a job's key choosing its queue: jobs with the same key run one
/// at a time in the order they were submitted (as on one `SerialQueue`), jobs with
/// different keys may run at once on different threads.
///
/// Where the filesystem packs small files after their close, keyed by file: one file's
/// jobs (its pack, then its last release) keep their order, and two files are compressed
/// on two cores while the writer (cp) goes on. Nothing orders jobs of different keys, so
/// only use it where that order does not matter (H5FS drains every queue before a change
/// that names files by path). `waitForRoom(key:)` and `submit(key:)` apply the bound per
/// queue; `drain` waits for all of them.
package final class KeyedQueues: Sendable {
    private let queues: [SerialQueue]
    /// Jobs submitted and not finished, on all queues; read without a lock on every FUSE
    /// request (`hasWork`).
    private let queued = Atomic<Int>(0)

    /// `count` queues (at least one), each with its own thread and `limit`; with
    /// `leavingFirstCore`, the threads keep off the first core (`WorkerPool`).
    package init(count: Int, limit: Int, leavingFirstCore: Bool = false) {
        queues = (0..<max(1, count)).map { _ in SerialQueue(limit: limit, leavingFirstCore: leavingFirstCore) }
    }

    package var count: Int { queues.count }

    private func queue(_ key: UInt64) -> SerialQueue { queues[Int(key % UInt64(queues.count))] }

    /// Waits while the queue of `key` has `limit` or more unfinished jobs.
    package func waitForRoom(key: UInt64) { queue(key).waitForRoom() }

    /// Queues `job` behind every job submitted before it with a key of the same queue.
    package func submit(key: UInt64, _ job: @escaping @Sendable () -> Void) {
        queued.add(1, ordering: .relaxed)
        queue(key).submit { [self] in
            job()
            queued.subtract(1, ordering: .relaxed)
        }
    }

    /// Whether any job is waiting or running (a relaxed read: a hint, not a synchronization).
    package var hasWork: Bool { queued.load(ordering: .relaxed) > 0 }

    /// Waits until every job submitted so far, on every queue, has run. Never call it from a job.
    package func drain() { queues.forEach { $0.drain() } }

    /// Jobs submitted and not finished, on all queues.
    package var unfinished: Int { queues.reduce(0) { $0 + $1.unfinished } }
}
