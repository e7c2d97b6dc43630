import Foundation
import Threads
import XCTest

/// `ThreadPlacement.leaveFirstCore` takes exactly the first allowed CPU away from the
/// calling thread (and only from it), and leaves a thread with one CPU alone.
final class ThreadPlacementTests: XCTestCase {
    final class Box<T>: @unchecked Sendable { var value: T? }

    /// Runs `body` on a fresh thread (its CPU mask is its own) and returns what it returned.
    func onNewThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { box.value = body(); done.signal() }
        thread.start()
        done.wait()
        return box.value!
    }

    func test_the_first_allowed_core_is_taken_away_from_the_calling_thread_only() throws {
        let before = ThreadPlacement.allowedCores()
        guard before.count >= 2 else { throw XCTSkip("one CPU: nothing to leave") }
        let (changed, after) = onNewThread { (ThreadPlacement.leaveFirstCore(), ThreadPlacement.allowedCores()) }
        XCTAssertTrue(changed)
        XCTAssertEqual(after.count, before.count - 1)
        XCTAssertGreaterThan(after.first, before.first)
        XCTAssertEqual(ThreadPlacement.allowedCores().count, before.count, "other threads keep every core")
    }

    func test_a_thread_with_one_core_keeps_it() throws {
        let result = onNewThread { () -> (Bool, Int, Int) in
            // Down to one core, then ask again: nothing to take.
            while ThreadPlacement.allowedCores().count > 1 { _ = ThreadPlacement.leaveFirstCore() }
            let left = ThreadPlacement.allowedCores()
            return (ThreadPlacement.leaveFirstCore(), left.count, ThreadPlacement.allowedCores().count)
        }
        XCTAssertFalse(result.0)
        XCTAssertEqual(result.1, 1)
        XCTAssertEqual(result.2, 1)
    }

    /// Kept to the first core and given its cores back: only the calling thread, and
    /// asking again for what it has changes nothing.
    func test_a_thread_is_kept_to_its_first_core_and_given_its_cores_back() throws {
        let before = ThreadPlacement.allowedCores()
        guard before.count >= 2 else { throw XCTSkip("one CPU: nothing to keep to") }
        let seen = onNewThread { () -> [Int] in
            var counts: [Int] = []
            ThreadPlacement.keepToFirstCore(true)
            counts.append(ThreadPlacement.allowedCores().count)
            ThreadPlacement.keepToFirstCore(true)
            counts.append(ThreadPlacement.allowedCores().count)
            counts.append(ThreadPlacement.allowedCores().first)
            ThreadPlacement.keepToFirstCore(false)
            counts.append(ThreadPlacement.allowedCores().count)
            return counts
        }
        XCTAssertEqual(seen, [1, 1, before.first, before.count])
        XCTAssertEqual(ThreadPlacement.allowedCores().count, before.count, "other threads keep every core")
    }
}
