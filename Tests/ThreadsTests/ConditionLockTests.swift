import Dispatch
import Glibc
import Threads
import XCTest

final class ConditionLockTests: XCTestCase {
    /// A consumer waiting on the condition sees every item a producer hands over, in order.
    func testWaitersWakeForEveryChange() {
        final class Box: @unchecked Sendable {
            let lock = ConditionLock()
            var items: [Int] = []
            var done = false
        }
        let box = Box()
        var received: [Int] = []
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for i in 0..<1000 {
                box.lock.lock()
                box.items.append(i)
                box.lock.signal()
                box.lock.unlock()
            }
            box.lock.lock()
            box.done = true
            box.lock.broadcast()
            box.lock.unlock()
        }
        box.lock.lock()
        while true {
            while box.items.isEmpty && !box.done { box.lock.wait() }
            received += box.items
            box.items.removeAll()
            if box.done { break }
        }
        box.lock.unlock()
        group.wait()
        XCTAssertEqual(received, Array(0..<1000))
    }
}

final class HandoffLockTests: XCTestCase {
    /// Taken on one thread and released on another: a waiter on a third gets in only after
    /// the release, and never while the holder's work is under way.
    func testReleasedByAnotherThreadLetsTheWaiterIn() {
        final class Box: @unchecked Sendable {
            let gate = HandoffLock()
            let log = ConditionLock()
            var events: [String] = []
            func note(_ event: String) { log.lock(); events.append(event); log.unlock() }
        }
        let box = Box()
        box.gate.acquire()   // this thread takes it ...
        let finished = DispatchSemaphore(value: 0)
        let waiterDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.gate.withLock { box.note("waiter in") }
            waiterDone.signal()
        }
        DispatchQueue.global().async {
            usleep(50_000)    // ... a worker finishes the job and gives it back
            box.note("job done")
            box.gate.release()
            finished.signal()
        }
        finished.wait()
        waiterDone.wait()
        XCTAssertEqual(box.events, ["job done", "waiter in"])
    }

    /// Many threads passing the lock: never two inside at once.
    func testMutualExclusion() {
        final class Counter: @unchecked Sendable {
            let gate = HandoffLock()
            var inside = 0
            var maximum = 0
            var total = 0
        }
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<200 {
                counter.gate.withLock {
                    counter.inside += 1
                    counter.maximum = max(counter.maximum, counter.inside)
                    counter.total += 1
                    counter.inside -= 1
                }
            }
        }
        XCTAssertEqual(counter.maximum, 1)
        XCTAssertEqual(counter.total, 1600)
    }
}
