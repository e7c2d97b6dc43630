import Glibc
import Threads

/// A fixed set of threads running submitted jobs in order of submission: where the packer
/// compresses chunks. Built on pthreads (no Foundation, no Dispatch in the daemon).
///
/// The threads hold the queue, not the pool, so dropping the last reference to the pool
/// stops them (after the jobs already queued have run).
package final class WorkerPool: Sendable {
    package let threadCount: Int
    private let queue: JobQueue

    /// `threads` workers; default one per online core. With `leavingFirstCore`, the workers
    /// keep off the first of the process's cores (`ThreadPlacement`) when it has several.
    package init(threads: Int = WorkerPool.onlineCores, leavingFirstCore: Bool = false) {
        threadCount = max(1, threads)
        queue = JobQueue(leavingFirstCore: leavingFirstCore)
        for _ in 0..<threadCount {
            let context = Unmanaged.passRetained(queue).toOpaque()
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { context in
                guard let context else { return nil }
                let queue = Unmanaged<JobQueue>.fromOpaque(context).takeRetainedValue()
                queue.runWorker()
                return nil
            }, context)
            if started == 0 {
                pthread_detach(thread)
            } else {
                // No thread took the reference; the pool still works with fewer threads.
                Unmanaged<JobQueue>.fromOpaque(context).release()
            }
        }
    }

    deinit { queue.shutDown() }

    package static var onlineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    package func submit(_ job: @escaping @Sendable () -> Void) {
        queue.push(job)
    }
}

/// The pool's FIFO; its lock is a leaf (jobs run without it).
private final class JobQueue: @unchecked Sendable {
    // @unchecked: `jobs`, `head` and `stopping` are only touched with `lock` held.
    private let lock = ConditionLock()
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var stopping = false
    private let leavingFirstCore: Bool

    init(leavingFirstCore: Bool) { self.leavingFirstCore = leavingFirstCore }

    func push(_ job: @escaping @Sendable () -> Void) {
        lock.lock()
        jobs.append(job)
        lock.signal()
        lock.unlock()
    }

    func shutDown() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
    }

    func runWorker() {
        if leavingFirstCore { ThreadPlacement.leaveFirstCore() }
        while let job = next() { job() }
    }

    /// The next job, or nil once shut down and drained.
    private func next() -> (@Sendable () -> Void)? {
        lock.lock()
        defer { lock.unlock() }
        while head == jobs.count {
            if stopping { return nil }
            lock.wait()
        }
        let job = jobs[head]
        jobs[head] = nil
        head += 1
        // Compact now and then so the array does not grow forever.
        if head > 1024 && head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}

/// A value one thread sets once and another waits for (pthread mutex + condition, because
/// `Synchronization.Mutex` has no condition). Its lock is a leaf.
final class OneShot<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only touched with `lock` held.
    private let lock = ConditionLock()
    private var value: Value?

    func fulfill(_ newValue: Value) {
        lock.lock()
        value = newValue
        lock.broadcast()
        lock.unlock()
    }

    func wait() -> Value {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let value { return value }
            lock.wait()
        }
    }
}
