import Glibc
import Threads

/// fsync of a big file in steps, so its progress can be shown: the commit's fsync of the
/// working copy is where its time goes when much was written shortly before the unmount
/// (the kernel still holds those pages dirty). One `sync_file_range(WRITE)` of the whole
/// file starts the writeback of every dirty page at once (the device gets as deep a queue
/// as fsync would give it), then `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)` waits
/// for one range at a time, which is what is counted (clean ranges cost a lookup of the
/// page cache's dirty tags, nothing more); the closing `fsync` then has only the file's
/// metadata and the device cache flush left, and is what makes it durable. Measured on
/// 1 GiB just written (this VM's ext4): 0.26-0.28 s, against 0.31-0.45 s for one fsync.
enum SteppedSync {
    static let step: UInt64 = 8 << 20

    /// `sync_file_range(2)` is declared only under _GNU_SOURCE; found at run time.
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    /// SYNC_FILE_RANGE_WAIT_BEFORE, WRITE, WAIT_AFTER (linux/fs.h: 1, 2, 4).
    private static let startWrite: UInt32 = 2
    private static let waitWriteWait: UInt32 = 1 | 2 | 4

    /// TEST ONLY: `H5MOUNT_TEST_SYNC_BYTES_PER_SECOND=N` makes the sync pretend the disk
    /// writes at most N bytes per second (it sleeps between steps), so the integration tests
    /// can watch a long commit on a fast disk. Never set it otherwise.
    static let testThrottleVariable = "H5MOUNT_TEST_SYNC_BYTES_PER_SECOND"

    /// Makes `path` durable, reporting `.syncing` with bytes walked out of the file's size.
    static func sync(_ path: String, phase: CommitProgress.Phase = .syncing,
                     progress: CommitProgressSink) throws(StagingError) {
        let descriptor = try SystemCalls.open(path, O_RDONLY)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .system(path) }
        let size = UInt64(max(info.st_size, 0))
        let rangeSync = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range")
            .map { unsafeBitCast($0, to: SyncFileRange.self) }
        let throttle = getenv(testThrottleVariable).flatMap { Double(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil }
        let started = monotonicSeconds()
        var done: UInt64 = 0
        progress(CommitProgress(phase, done: 0, total: size))
        // Length 0: to the end of the file. A failure here only loses the head start.
        if let rangeSync, size > 0 { _ = rangeSync(descriptor, 0, 0, startWrite) }
        while done < size, let rangeSync {
            let length = min(step, size - done)
            while rangeSync(descriptor, Int64(done), Int64(length), waitWriteWait) != 0 {
                if errno != EINTR { throw .system("\(path): sync") }
            }
            done += length
            if let throttle {
                let due = started + Double(done) / throttle - monotonicSeconds()
                if due > 0 { usleep(UInt32(min(due, 10) * 1e6)) }
            }
            progress(CommitProgress(phase, done: done, total: size))
        }
        try SystemCalls.fsync(descriptor, path)
        progress(CommitProgress(phase, done: size, total: size))
    }
}
