/// A lock that one thread takes and another may give back: what a job handed to a
/// background thread needs when it must keep others out until it is done (a file packed
/// after its close keeps readers waiting until its dataset exists). `Synchronization.Mutex`
/// and pthread mutexes must be unlocked by the thread that locked them; this is a flag
/// under a `ConditionLock`, so any thread may release it.
///
/// Not reentrant: a holder that acquires again waits forever. Its internal lock is a leaf.
package final class HandoffLock: @unchecked Sendable {
    // @unchecked: `held` is only touched with `condition` locked.
    private let condition = ConditionLock()
    private var held = false

    package init() {}

    /// Waits until nobody holds the lock, then holds it.
    package func acquire() {
        condition.lock()
        while held { condition.wait() }
        held = true
        condition.unlock()
    }

    /// Gives the lock back (from any thread); one waiter gets it next.
    package func release() {
        condition.lock()
        precondition(held, "HandoffLock released while not held")
        held = false
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body` holding the lock.
    package func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer { release() }
        return try body()
    }
}
