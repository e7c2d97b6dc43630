import ChunkEngine
import Synchronization

/// A "concurrent" scheduler whose jobs run only when the test says so: lets tests see
/// what a read scheduled, and check that readers never wait for a job nobody runs.
final class ManualScheduler: DecodeScheduler {
    private let queue = Mutex<[(priority: JobPriority, job: @Sendable () -> Void)]>([])
    let workerCount: Int
    var isConcurrent: Bool { true }

    init(workers: Int = 1) { workerCount = workers }

    func schedule(_ jobs: [@Sendable () -> Void], priority: JobPriority) {
        queue.withLock { $0 += jobs.map { (priority, $0) } }
    }

    var queued: Int { queue.withLock { $0.count } }
    var priorities: [JobPriority] { queue.withLock { $0.map(\.priority) } }

    /// Runs every queued job (and those they queue), in order, on this thread.
    func runAll() {
        while true {
            let jobs = queue.withLock { queue in
                defer { queue.removeAll() }
                return queue
            }
            if jobs.isEmpty { return }
            for entry in jobs { entry.job() }
        }
    }

    /// Forgets the queued jobs without running them.
    func dropAll() { queue.withLock { $0.removeAll() } }
}
