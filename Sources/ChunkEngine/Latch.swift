import Glibc
import Threads

/// A one-shot result that any number of threads can wait for: how a second reader of a
/// tile waits for the first reader's load instead of loading it again.
///
/// Built on `ConditionLock` because `Synchronization.Mutex` has no condition. Its lock is a leaf: nothing else is locked while it is held.
final class Latch: @unchecked Sendable {
    // @unchecked: `result` is only touched with `lock` held.
    private let lock = ConditionLock()
    private var result: Result<Tile, ChunkReadError>?

    func fulfill(_ value: Result<Tile, ChunkReadError>) {
        lock.lock()
        result = value
        lock.broadcast()
        lock.unlock()
    }

    func wait() -> Result<Tile, ChunkReadError> {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let result { return result }
            lock.wait()
        }
    }
}
