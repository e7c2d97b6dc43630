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
