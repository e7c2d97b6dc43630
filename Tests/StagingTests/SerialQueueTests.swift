import Dispatch
import Staging
import Synchronization
import XCTest

/// The background queue small files are packed on: order, the bound, draining.
final class SerialQueueTests: XCTestCase {
    func testJobsRunInSubmissionOrderOneAtATime() {
        let queue = SerialQueue(limit: 4)
        let log = Mutex<(order: [Int], inside: Int, most: Int)>(([], 0, 0))
        for index in 0..<200 {
            queue.waitForRoom()
            queue.submit {
                log.withLock { $0.inside += 1; $0.most = max($0.most, $0.inside) }
                if index % 50 == 0 { usleep(2_000) }
                log.withLock { $0.order.append(index); $0.inside -= 1 }
            }
        }
        queue.drain()
        XCTAssertEqual(queue.unfinished, 0)
        log.withLock { state in
            XCTAssertEqual(state.order, Array(0..<200))
            XCTAssertEqual(state.most, 1, "one job at a time")
        }
    }

    /// `waitForRoom` holds a producer back while `limit` jobs are unfinished, and lets it go
    /// as soon as one finishes; `drain` returns only after the last.
    func testTheBoundHoldsProducersBackAndDrainWaitsForTheLast() {
        let queue = SerialQueue(limit: 2)
        let gate = DispatchSemaphore(value: 0)
        queue.submit { gate.wait() }
        queue.submit { gate.wait() }
        XCTAssertEqual(queue.unfinished, 2)
        let admitted = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            queue.waitForRoom()
            admitted.signal()
        }
        XCTAssertEqual(admitted.wait(timeout: .now() + 0.2), .timedOut, "full: the producer waits")
        gate.signal()
        XCTAssertEqual(admitted.wait(timeout: .now() + 10), .success, "a job finished: room again")
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            queue.drain()
            drained.signal()
        }
        XCTAssertEqual(drained.wait(timeout: .now() + 0.2), .timedOut, "one job is still waiting")
        gate.signal()
        XCTAssertEqual(drained.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(queue.unfinished, 0)
    }
}
