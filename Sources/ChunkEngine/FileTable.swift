import Glibc
import Synchronization

/// One read-only descriptor on a container, shared by every dataset of that file.
/// Closed when the last holder lets go (the table, or a read still using it after the
/// table forgot the file).
/// An errno from a system call.
struct SystemError: Error {
    var code: Int32
    var text: String { String(cString: strerror(code)) }
}

final class OpenFile: Sendable {
    let path: String
    let descriptor: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Reads `buffer.count` bytes at `offset`, retrying on EINTR and short reads.
    /// Returns the bytes read: fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Result<Int, SystemError> {
        guard let base = buffer.baseAddress else { return .success(0) }
        var done = 0
        while done < buffer.count {
            let position = offset.addingReportingOverflow(UInt64(done))
            guard !position.overflow, position.partialValue <= UInt64(Int64.max) else { return .failure(SystemError(code: EINVAL)) }
            let n = pread(descriptor, base + done, buffer.count - done, off_t(position.partialValue))
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                return .failure(SystemError(code: errno))
            }
        }
        return .success(done)
    }

    /// Reads exactly `buffer.count` bytes at `offset`; `what` names the data for the message.
    func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64,
                   what: @autoclosure () -> String) throws(ChunkReadError) {
        switch read(into: buffer, at: offset) {
        case .success(let n) where n == buffer.count:
            return
        case .success:
            // A truncated file: the same line for every read of this data, so the log has one.
            var info = stat()
            let end = fstat(descriptor, &info) == 0 ? "at byte \(info.st_size)" : "early"
            throw ChunkReadError("\(what()): lies past the end of the file: \(path) is truncated (it ends \(end))")
        case .failure(let error):
            throw ChunkReadError("\(what()): pread of \(buffer.count) bytes at offset \(offset) of \(path) failed: \(error.text)")
        }
    }
}

/// The engine's descriptors, one per container path, opened on first use.
final class FileTable: Sendable {
    private let files = Mutex<[String: OpenFile]>([:])

    func file(at path: String) throws(ChunkReadError) -> OpenFile {
        try files.withLock { (files) throws(ChunkReadError) -> OpenFile in
            if let file = files[path] { return file }
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw ChunkReadError("cannot open \(path): \(String(cString: strerror(errno)))")
            }
            let file = OpenFile(path: path, descriptor: descriptor)
            files[path] = file
            return file
        }
    }

    /// Drops the table's descriptor of `path` (closed once no read uses it).
    func forget(path: String) {
        _ = files.withLock { $0.removeValue(forKey: path) }
    }
}
