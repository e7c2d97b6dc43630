// Why sanitizers/tsan.supp exists: on Linux, Synchronization.Mutex locks with futex system
// calls that ThreadSanitizer does not intercept, so TSan sees no order between two critical
// sections and reports every variable they share as a race. This program touches `value`
// only inside `withLock`, prints 400000 every time, and TSan reports "Swift access race":
//     swiftc -sanitize=thread sanitizers/tsan-mutex-false-positive.swift -o /tmp/m && /tmp/m
// (Swift 6.3.1, Debian 12.) pthread-based locks (Threads.ConditionLock) are seen correctly.
import Dispatch
import Synchronization

final class Box: @unchecked Sendable {
    var value = 0
    let mutex = Mutex(0)
}

let box = Box()
DispatchQueue.concurrentPerform(iterations: 4) { _ in
    for _ in 0..<100_000 { box.mutex.withLock { _ in box.value += 1 } }
}
print(box.value)
