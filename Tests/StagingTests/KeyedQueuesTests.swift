import Dispatch
import Staging
import Synchronization
import XCTest

/// Background packing on several threads: per-key order, keys in parallel, drain of all.
final class KeyedQueuesTests: XCTestCase {
    func testJobsOfOneKeyKeepTheirOrderAndRunOneAtATime() {
        let queues = KeyedQueues(count: 2, limit: 4)
        let log = Mutex<(order: [UInt64: [Int]], inside: [UInt64: Int], most: Int)>(([:], [:], 0))
        for index in 0..<300 {
            let key = UInt64(index % 3)   // keys 0 and 2 share a queue, 1 has the other
            queues.waitForRoom(key: key)
            queues.submit(key: key) {
                log.withLock { $0.inside[key, default: 0] += 1; $0.most = max($0.most, $0.inside[key]!) }
                if index % 40 == 0 { usleep(2_000) }
                log.withLock { $0.order[key, default: []].append(index); $0.inside[key]! -= 1 }
            }
        }
        queues.drain()
        XCTAssertEqual(queues.unfinished, 0)
        log.withLock { state in
            for key in UInt64(0)..<3 {
                XCTAssertEqual(state.order[key], Array(stride(from: Int(key), to: 300, by: 3)), "key \(key)")
            }
            XCTAssertEqual(state.most, 1, "one job of a key at a time")
        }
    }

    /// A job blocked on one queue does not hold back jobs of the other; drain waits for both.
    func testDifferentQueuesRunAtOnceAndDrainWaitsForAll() {
        let queues = KeyedQueues(count: 2, limit: 8)
        let gate = DispatchSemaphore(value: 0)
        let ran = DispatchSemaphore(value: 0)
        queues.submit(key: 0) { gate.wait() }
        queues.submit(key: 1) { ran.signal() }
        XCTAssertEqual(ran.wait(timeout: .now() + 10), .success, "key 1 runs while key 0 is blocked")
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            queues.drain()
            drained.signal()
        }
        XCTAssertEqual(drained.wait(timeout: .now() + 0.2), .timedOut, "key 0's job is still waiting")
        XCTAssertEqual(queues.unfinished, 1)
        gate.signal()
        XCTAssertEqual(drained.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(queues.unfinished, 0)
    }

    func testTheBoundIsPerQueue() {
        let queues = KeyedQueues(count: 2, limit: 1)
        let gate = DispatchSemaphore(value: 0)
        queues.submit(key: 0) { gate.wait() }
        let admitted = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            queues.waitForRoom(key: 1)   // the other queue is empty
            admitted.signal()
            queues.waitForRoom(key: 2)   // key 0's queue is full
            admitted.signal()
        }
        XCTAssertEqual(admitted.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(admitted.wait(timeout: .now() + 0.2), .timedOut, "full: the producer waits")
        gate.signal()
        XCTAssertEqual(admitted.wait(timeout: .now() + 10), .success)
        queues.drain()
    }

    /// `hasWork` (what keeps the FUSE threads on the first core) is true from a submit until
    /// the last job has run, whichever queue it is on.
    func testHasWorkFromTheFirstSubmitUntilTheLastJobHasRun() {
        let queues = KeyedQueues(count: 2, limit: 8)
        XCTAssertFalse(queues.hasWork)
        let gates = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        queues.submit(key: 0) { gates[0].wait() }
        queues.submit(key: 1) { gates[1].wait() }
        XCTAssertTrue(queues.hasWork)
        gates[1].signal()
        XCTAssertTrue(queues.hasWork, "key 0's job is still waiting")
        gates[0].signal()
        queues.drain()
        XCTAssertFalse(queues.hasWork)
    }
}
