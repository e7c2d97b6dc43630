import Glibc
import Threads

/// Runs a piece of work once: the first caller runs it, callers arriving meanwhile wait
/// for it to finish, later ones return at once. The work runs with no lock held; the
/// gate's own lock is a leaf held only to change or read its state.
final class OnceGate: @unchecked Sendable {
    // @unchecked: `state` is only touched with `lock` held.
    private let lock = ConditionLock()
    private enum State { case idle, running, done }
    private var state = State.idle

    func run(_ work: () -> Void) {
        lock.lock()
        switch state {
        case .done:
            lock.unlock()
        case .running:
            while state != .done { lock.wait() }
            lock.unlock()
        case .idle:
            state = .running
            lock.unlock()
            work()
            lock.lock()
            state = .done
            lock.broadcast()
            lock.unlock()
        }
    }
}
