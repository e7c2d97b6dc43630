import Glibc
import H5Model

/// The one place where storage errors become errno values the kernel answers with.
extension FSError {
    /// `context` names the object (e.g. its HDF5 path) so the log line says what failed.
    package init(_ error: StoreError, context: String) {
        let code: Int32
        switch error.kind {
        case .notFound: code = ENOENT
        case .accessDenied: code = EACCES
        case .invalidArgument: code = EINVAL
        case .busy: code = EBUSY
        case .notHDF5, .unreadable, .unsupported: code = EIO
        }
        self.init(code, "\(context): \(error.message)")
    }

    static func notFound(_ what: String) -> FSError { FSError(ENOENT, "\(what): no such entry") }
    static func readOnly(_ what: String) -> FSError { FSError(EROFS, "\(what): read-only file system") }
}
