import Glibc
import Threads

/// How soon a scheduled job is wanted.
package enum JobPriority: Sendable {
    /// A tile the read in progress copies next: runs before any read-ahead.
    case urgent
    /// Read-ahead: tiles a sequential reader will want soon.
    case readAhead
}

/// Jobs waiting for the worker threads, in two FIFO lanes (urgent before read-ahead).
///
/// Built on `ConditionLock` because `Synchronization.Mutex` has no condition. Its lock is a leaf: nothing else is locked while it is held, and jobs run
/// (and are released) with it free, so a job may schedule more jobs or drop the last
/// reference to the scheduler that owns this queue.
final class JobQueue: @unchecked Sendable {
    typealias Job = @Sendable () -> Void

    // @unchecked: every stored property below the pointers is only touched with `lock` held.
    private let lock = ConditionLock()
    private var urgent = Lane()
    private var ahead = Lane()
    private var stopping = false

    /// A FIFO that pops from a moving head and compacts now and then. A popped slot is
    /// cleared at once: a job's closure holds tiles (through its loads' latches) that must
    /// not outlive it.
    private struct Lane {
        var jobs: [Job?] = []
        var head = 0
        mutating func push(_ job: @escaping Job) { jobs.append(job) }
        mutating func pop() -> Job? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            jobs[head] = nil
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    func push(_ jobs: [Job], priority: JobPriority) {
        guard !jobs.isEmpty else { return }
        lock.lock()
        for job in jobs {
            switch priority {
            case .urgent: urgent.push(job)
            case .readAhead: ahead.push(job)
            }
        }
        if jobs.count == 1 { lock.signal() } else { lock.broadcast() }
        lock.unlock()
    }

    /// Asks the workers to leave once the queue is empty.
    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
    }

    /// Jobs waiting (both lanes).
    var waiting: Int {
        lock.lock()
        defer { lock.unlock() }
        return (urgent.jobs.count - urgent.head) + (ahead.jobs.count - ahead.head)
    }

    /// A worker thread's life: run jobs until stopped and drained.
    func runWorker() {
        while let job = next() {
            job()
        }
    }

    /// The next job, waiting for one; nil once stopping and empty.
    private func next() -> Job? {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let job = urgent.pop() ?? ahead.pop() { return job }
            if stopping { return nil }
            lock.wait()
        }
    }
}
