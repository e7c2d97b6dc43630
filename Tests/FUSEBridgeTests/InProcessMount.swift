import Foundation
import Glibc
@testable import FUSEBridge

/// Carries a mounted session to the loop thread; the test thread only unmounts.
final class RunningSession: @unchecked Sendable {
    let session: MountSession
    let finished = DispatchSemaphore(value: 0)
    var status: Int32 = 0
    init(_ session: MountSession) { self.session = session }
}

/// Unmounts a test mount: umount2 as root, fusermount3 otherwise.
func unmountTestMount(_ path: String) {
    if geteuid() == 0 {
        _ = umount2(path, 0)
    } else {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/fusermount3")
        process.arguments = ["-u", path]
        try? process.run()
        process.waitUntilExit()
    }
}
