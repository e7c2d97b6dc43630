import Glibc

extension ContainerFilesystem {
    /// Logs why an operation failed, unless the failure is EIO: the FUSE bridge logs every
    /// EIO it answers (`Dispatcher.replyError`), and a user's EIO gets exactly one log line.
    /// Other errnos (ENOSPC) reach the bridge's log only with -d, so their cause is said here.
    func logFailure(_ what: String, _ failure: FSError) {
        if failure.errno != EIO { log("\(what): \(failure.message)") }
    }
}
