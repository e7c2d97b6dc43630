import Glibc

/// Copies a container into a new file: a reflink clone (`ioctl FICLONE`: instant, shares
/// blocks until written) where the filesystem has them (btrfs, XFS, bcachefs), else an
/// in-kernel copy (`copy_file_range`), else read and write.
package enum FileCopy {
    package enum Method: String, Sendable { case reflink, copyFileRange, readWrite }

    /// `_IOW(0x94, 9, int)` from linux/fs.h, which Swift cannot import.
    private static let ficlone: UInt = 0x4004_9409

    /// `copy_file_range` is declared only under _GNU_SOURCE; find it at run time.
    private typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32,
                                                      UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int

    /// Copies `source` to `destination` (created, must not exist) with the source's permission
    /// bits. On failure the partial destination is removed. `progress` hears (bytes copied,
    /// size) every few MiB.
    @discardableResult
    package static func copy(from source: String, to destination: String,
                             progress: (UInt64, UInt64) -> Void = { _, _ in }) throws(StagingError) -> Method {
        let input = try SystemCalls.open(source, O_RDONLY)
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw .system(source) }
        let output = try SystemCalls.open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        do throws(StagingError) {
            let method = try copyContents(input, output, size: UInt64(info.st_size), source, progress)
            // The working copy replaces the container at commit: keep its permission bits.
            if fchmod(output, info.st_mode & 0o7777) != 0 { throw .system("\(destination): chmod") }
            close(output)
            return method
        } catch {
            close(output)
            unlink(destination)
            throw error
        }
    }

    private static func copyContents(_ input: Int32, _ output: Int32, size: UInt64, _ source: String,
                                     _ progress: (UInt64, UInt64) -> Void) throws(StagingError) -> Method {
        progress(0, size)
        if ioctl(output, ficlone, input) == 0 {
            progress(size, size)
            return .reflink
        }
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") {
            let copyRange = unsafeBitCast(symbol, to: CopyFileRange.self)
            var copied: UInt64 = 0
            var usable = true
            while copied < size {
                // 64 MiB at a time: few calls, and progress to show on a slow device.
                let count = copyRange(input, nil, output, nil, Int(min(size - copied, 64 << 20)), 0)
                if count < 0 {
                    if errno == EINTR { continue }
                    // Not supported between these files: fall back, from where we are.
                    if copied == 0 && [ENOSYS, EXDEV, EINVAL, EOPNOTSUPP].contains(errno) { usable = false; break }
                    throw .system("\(source): copy")
                }
                if count == 0 { break }
                copied += UInt64(count)
                progress(copied, size)
            }
            if usable {
                guard copied == size else { throw StagingError(EIO, "\(source): changed size while being copied") }
                return .copyFileRange
            }
        }
        try readWrite(input, output, size: size, source, progress)
        return .readWrite
    }

    private static func readWrite(_ input: Int32, _ output: Int32, size: UInt64, _ source: String,
                                  _ progress: (UInt64, UInt64) -> Void) throws(StagingError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < size {
            let got = try SystemCalls.preadAll(input, buffer, at: offset, "\(source): read")
            if got == 0 { break }
            try SystemCalls.pwriteAll(output, UnsafeRawBufferPointer(rebasing: buffer[0..<got]), at: offset, "copy of \(source)")
            offset += UInt64(got)
            progress(offset, size)
        }
    }
}
