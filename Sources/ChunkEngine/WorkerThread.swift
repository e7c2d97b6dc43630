import Glibc
import Synchronization

/// Counts live worker threads, for tests and diagnostics: up when a worker starts, down
/// just before its thread returns.
package final class WorkerCensus: Sendable {
    private let count = Atomic<Int>(0)
    package init() {}
    package var live: Int { count.load(ordering: .acquiring) }
    func arrive() { count.wrappingAdd(1, ordering: .releasing) }
    func leave() { count.wrappingSubtract(1, ordering: .releasing) }
}

/// Starting a detached pthread that runs a job queue's worker loop.
enum WorkerThread {
    /// What the C entry point receives: retained by `start`, released by the thread.
    private final class Start {
        let queue: JobQueue
        let census: WorkerCensus?
        init(queue: JobQueue, census: WorkerCensus?) {
            self.queue = queue; self.census = census
        }
    }

    /// Starts one worker; false when the system refuses a thread.
    static func start(queue: JobQueue, census: WorkerCensus?) -> Bool {
        let start = Start(queue: queue, census: census)
        census?.arrive()
        let argument = Unmanaged.passRetained(start).toOpaque()
        var thread = pthread_t()
        // The entry point captures nothing: everything comes through `argument`.
        let status = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
            WorkerThread.nameCurrentThread()
            start.queue.runWorker()
            start.census?.leave()
            return nil
        }, argument)
        guard status == 0 else {
            Unmanaged<Start>.fromOpaque(argument).release()
            census?.leave()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// Names the calling thread "h5m-decode", so that per-thread CPU (/proc/PID/task/*/comm,
    /// bench/stream_cpu.py) tells decoding apart from the FUSE threads. Through
    /// /proc/thread-self/comm: Glibc does not expose pthread_setname_np to Swift. Best effort.
    static func nameCurrentThread() {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let name = Array("h5m-decode".utf8)
        _ = name.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Cores online (Glibc does not expose sched_getaffinity to Swift without _GNU_SOURCE).
    static var onlineCores: Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
