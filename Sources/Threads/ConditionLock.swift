import Glibc

/// A pthread mutex with its condition variable: what `Synchronization.Mutex` lacks
/// (waiting for a state change). Used by the chunk engine's job queue, latches and
/// once-gates, and by the packer's worker pool. Callers keep to the usual rules: the
/// lock is a leaf (nothing else is taken while it is held) and `wait()` runs in a loop
/// that rechecks its condition.
package final class ConditionLock: @unchecked Sendable {
    // @unchecked: the pointers never change; pthread serialises what they point to.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
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

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    /// Releases the lock until signalled, then holds it again. Caller holds the lock.
    package func wait() { pthread_cond_wait(condition, mutex) }
    package func signal() { pthread_cond_signal(condition) }
    package func broadcast() { pthread_cond_broadcast(condition) }
}
