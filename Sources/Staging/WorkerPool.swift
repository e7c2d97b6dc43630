import Glibc

/// A fixed set of threads running submitted jobs in order of submission: where the packer
/// compresses chunks. Built on pthreads (no Foundation, no Dispatch in the daemon).
///
/// The threads hold the queue, not the pool, so dropping the last reference to the pool
/// stops them (after the jobs already queued have run).
package final class WorkerPool: Sendable {
    package let threadCount: Int
    private let queue: JobQueue

    /// `threads` workers; default one per online core.
    package init(threads: Int = WorkerPool.onlineCores) {
        threadCount = max(1, threads)
        queue = JobQueue()
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
    // @unchecked: `jobs`, `head` and `stopping` are only touched with `mutex` held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var stopping = false

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func push(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    func shutDown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func runWorker() {
        while let job = next() { job() }
    }

    /// The next job, or nil once shut down and drained.
    private func next() -> (@Sendable () -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == jobs.count {
            if stopping { return nil }
            pthread_cond_wait(condition, mutex)
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
    // @unchecked: `value` is only touched with `mutex` held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value?

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func fulfill(_ newValue: Value) {
        pthread_mutex_lock(mutex)
        value = newValue
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func wait() -> Value {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let value { return value }
            pthread_cond_wait(condition, mutex)
        }
    }
}
