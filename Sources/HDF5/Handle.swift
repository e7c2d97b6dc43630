import CHDF5
import H5Model

/// An open libhdf5 identifier that closes itself when it goes out of scope.
///
/// Noncopyable, so it is closed exactly once, and always created and
/// destroyed inside one `HDF5Library.locked` sequence (it never escapes one),
/// which keeps every close under the gate on every path, errors included.
struct Handle: ~Copyable {
    typealias Close = @convention(c) (hid_t) -> herr_t
    let id: hid_t
    private let close: Close

    /// Takes ownership of `id`; a negative id (the call failed) becomes a `StoreError`
    /// built from the error stack, with `kind` unless the stack says better.
    init(_ id: hid_t, _ close: Close, _ what: @autoclosure () -> String,
         kind: StoreError.Kind = .unreadable) throws(StoreError) {
        guard id >= 0 else { throw ErrorStack.error(kind, what()) }
        self.id = id
        self.close = close
    }

    deinit { _ = close(id) }

    /// Gives up ownership: the id stays open and the caller must close it (the writer keeps
    /// pending datasets open between gated sequences this way).
    consuming func release() -> hid_t {
        let id = self.id
        discard self
        return id
    }
}

/// Throws a `StoreError` from the error stack when a status (`herr_t`, `htri_t`,
/// `ssize_t`, ...) is negative; returns it otherwise.
@discardableResult
func check<T: BinaryInteger>(_ status: T, _ kind: StoreError.Kind = .unreadable,
                             _ what: @autoclosure () -> String) throws(StoreError) -> T {
    guard status >= 0 else { throw ErrorStack.error(kind, what()) }
    return status
}
