import Glibc
import Synchronization
import Threads

/// The channel from the daemon's commit to `h5mount -u`, which is another process: the
/// commit runs in the daemon after the kernel has let go of the mount, so the only
/// thing the two share is the disk. The daemon keeps one line (`CommitProgress.recordText`)
/// in `<container>.h5mount-work/progress`, replaced atomically (written to `progress.new`,
/// renamed over), at most every `interval` and at every change of phase; `-u` reads it
/// while it waits for the daemon to exit. The file goes with the work directory at the
/// end of the commit; one left by a crash is removed by `--recover`/`--discard`.
package final class ProgressRecord: Sendable {
    package let path: String
    private let temporaryPath: String
    private let interval: Double
    /// The last phase written and when (monotonic seconds).
    private let last = Mutex<(phase: CommitProgress.Phase?, at: Double)>((nil, 0))

    package init(directory: WorkDirectory, interval: Double = 0.1) {
        path = directory.progressPath
        temporaryPath = directory.progressPath + ".new"
        self.interval = interval
    }

    /// The sink to hand to `commit`: records `progress` unless the last record is younger
    /// than `interval` and of the same phase. Failures are ignored: progress is a courtesy,
    /// it must never fail a commit.
    package var sink: CommitProgressSink { { [self] progress in record(progress) } }

    package func record(_ progress: CommitProgress) {
        let now = monotonicSeconds()
        let due = last.withLock { last -> Bool in
            guard last.phase != progress.phase || now - last.at >= interval else { return false }
            last = (progress.phase, now)
            return true
        }
        if due { write(progress.recordText) }
    }

    /// Removes the record (a failed commit: the work directory stays, the record must not).
    package func remove() {
        unlink(temporaryPath)
        unlink(path)
    }

    private func write(_ text: String) {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if written == bytes.count { rename(temporaryPath, path) } else { unlink(temporaryPath) }
    }

    /// What the commit of `container` last recorded; nil when there is no record (no commit
    /// running, not started yet, or finished) or it cannot be read.
    package static func read(container: String) -> CommitProgress? {
        let descriptor = open(WorkDirectory(container: container).progressPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return CommitProgress(recordText: String(decoding: buffer.prefix(count), as: UTF8.self))
    }
}
