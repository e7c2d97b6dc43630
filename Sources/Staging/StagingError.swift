import Glibc
import H5Model

/// The Staging module's one error type: an errno a Unix user recognises (what the
/// filesystem layer answers with) and the cause for the log.
package struct StagingError: Error, Sendable, CustomStringConvertible {
    package var code: Int32
    package var message: String
    package init(_ code: Int32, _ message: String) { self.code = code; self.message = message }
    package var description: String { message }

    /// A failed system call: `errno` as it is now, and what we tried.
    static func system(_ what: String, code: Int32 = errno) -> StagingError {
        StagingError(code, "\(what): " + String(cString: strerror(code)))
    }

    /// A storage-layer failure, with the errno the filesystem layer gives the same kind.
    init(_ error: StoreError) {
        let code: Int32
        switch error.kind {
        case .notFound: code = ENOENT
        case .accessDenied: code = EACCES
        case .invalidArgument: code = EINVAL
        case .busy: code = EBUSY
        case .notHDF5, .unreadable, .unsupported:
            // libhdf5 reports a full disk only as text on its error stack ("... errno = 28,
            // error message = 'No space left on device'"); the writer must see ENOSPC.
            let full = String(cString: strerror(ENOSPC))
            code = error.message.contains(full) || error.message.contains("errno = \(ENOSPC)") ? ENOSPC : EIO
        }
        self.init(code, error.message)
    }
}

/// Runs a libhdf5-facing call, turning its `StoreError` into a `StagingError`.
@discardableResult
func store<R>(_ body: () throws(StoreError) -> R) throws(StagingError) -> R {
    do {
        return try body()
    } catch {
        throw StagingError(error)
    }
}
