import Glibc

/// Thin loops over the POSIX calls the write path needs: they retry `EINTR`, finish short
/// transfers, and throw `StagingError` with errno (so `ENOSPC` reaches the user as such).
enum SystemCalls {
    /// Writes all of `bytes` at `offset`.
    static func pwriteAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64,
                          _ what: @autoclosure () -> String) throws(StagingError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                throw .system(what())
            }
            done += written
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; fewer only at end of file.
    static func preadAll(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64,
                         _ what: @autoclosure () -> String) throws(StagingError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(what())
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    /// Appends all of `bytes` (the descriptor is O_APPEND).
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer,
                         _ what: @autoclosure () -> String) throws(StagingError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written = write(descriptor, base + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw .system(what())
            }
            done += written
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws(StagingError) -> Int32 {
        while true {
            let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw .system(path) }
        }
    }

    static func truncate(_ descriptor: Int32, _ size: UInt64, _ what: @autoclosure () -> String) throws(StagingError) {
        while ftruncate(descriptor, off_t(size)) != 0 {
            if errno != EINTR { throw .system(what()) }
        }
    }

    static func fsync(_ descriptor: Int32, _ what: @autoclosure () -> String) throws(StagingError) {
        while Glibc.fsync(descriptor) != 0 {
            if errno != EINTR { throw .system(what()) }
        }
    }

    /// fsync of a directory, so a rename or unlink in it is durable.
    static func fsyncDirectory(_ path: String) throws(StagingError) {
        let descriptor = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try fsync(descriptor, path)
    }

    /// (device, inode, size, mtime seconds, mtime nanoseconds) of a path; nil when it does not exist.
    static func identity(_ path: String) throws(StagingError) -> FileIdentity? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw .system(path)
        }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: UInt64(info.st_size),
                            modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    /// Removes a file; a missing one is fine.
    static func removeFile(_ path: String) throws(StagingError) {
        if unlink(path) != 0 && errno != ENOENT { throw .system("remove \(path)") }
    }
}

/// Enough of `stat` to tell whether a file is still the one we saw.
package struct FileIdentity: Sendable, Hashable {
    package var device: UInt64
    package var inode: UInt64
    package var size: UInt64
    package var modifiedSeconds: Int64
    package var modifiedNanoseconds: Int64
    package init(device: UInt64, inode: UInt64, size: UInt64, modifiedSeconds: Int64, modifiedNanoseconds: Int64) {
        self.device = device; self.inode = inode; self.size = size
        self.modifiedSeconds = modifiedSeconds; self.modifiedNanoseconds = modifiedNanoseconds
    }
}
