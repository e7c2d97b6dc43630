import Synchronization
import Threads

/// Folds repeats of one error line: the kernel often asks twice for what a user asked once
/// (a read(2) of a broken file is a read-ahead READ and then the READ of the page itself,
/// both answered EIO), and a program retrying in a loop would flood syslog. A line
/// (object and cause) is logged the first time, and again only once `interval` seconds
/// have passed since it was last logged; so every EIO a user meets has its one line.
package final class RepeatedLineFilter: Sendable {
    private let interval: Double
    private let clock: @Sendable () -> Double
    /// When each line was last logged; pruned as it grows.
    private let lastLogged = Mutex<[String: Double]>([:])
    private static let limit = 1024

    package init(interval: Double = 2, clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.interval = interval
        self.clock = clock
    }

    /// Whether `line` is to be logged now (and, if so, remembers that it was).
    package func admits(_ line: String) -> Bool {
        let now = clock()
        return lastLogged.withLock { seen in
            if let last = seen[line], now - last < interval { return false }
            if seen.count >= Self.limit { seen = seen.filter { now - $0.value < interval } }
            seen[line] = now
            return true
        }
    }
}
