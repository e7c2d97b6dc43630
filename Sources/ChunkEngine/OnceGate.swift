import Glibc

/// Runs a piece of work once: the first caller runs it, callers arriving meanwhile wait
/// for it to finish, later ones return at once. The work runs with no lock held; the
/// gate's own lock is a leaf held only to change or read its state.
final class OnceGate: @unchecked Sendable {
    // @unchecked: `state` is only touched with `mutex` held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private enum State { case idle, running, done }
    private var state = State.idle

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

    func run(_ work: () -> Void) {
        pthread_mutex_lock(mutex)
        switch state {
        case .done:
            pthread_mutex_unlock(mutex)
        case .running:
            while state != .done { pthread_cond_wait(condition, mutex) }
            pthread_mutex_unlock(mutex)
        case .idle:
            state = .running
            pthread_mutex_unlock(mutex)
            work()
            pthread_mutex_lock(mutex)
            state = .done
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
    }
}
