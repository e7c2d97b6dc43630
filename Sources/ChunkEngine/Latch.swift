import Glibc

/// A one-shot result that any number of threads can wait for: how a second reader of a
/// tile waits for the first reader's load instead of loading it again.
///
/// Built on a pthread mutex and condition variable because `Synchronization.Mutex` has no
/// condition. Its lock is a leaf: nothing else is locked while it is held.
final class Latch: @unchecked Sendable {
    // @unchecked: `result` is only touched with `mutex` held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var result: Result<Tile, ChunkReadError>?

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

    func fulfill(_ value: Result<Tile, ChunkReadError>) {
        pthread_mutex_lock(mutex)
        result = value
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    func wait() -> Result<Tile, ChunkReadError> {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result { return result }
            pthread_cond_wait(condition, mutex)
        }
    }
}
