import CHDF5
import H5Model

/// Turns libhdf5's error stack into a `StoreError` (call right after a failed call,
/// under the gate: the stack is per thread and the next API call clears it).
enum ErrorStack {
    /// One entry of the stack, innermost (where the error was detected) first.
    struct Entry {
        var function: String
        var description: String
        var major: hid_t
        var minor: hid_t
    }

    /// The current thread's error stack, innermost first; the stack is cleared.
    static func read() -> [Entry] {
        var entries: [Entry] = []
        withUnsafeMutablePointer(to: &entries) { pointer in
            // The callback captures nothing; it finds the array through client_data.
            _ = H5Ewalk2(h5m_e_default(), H5E_WALK_UPWARD, { _, error, client in
                guard let error, let client else { return 0 }
                let entries = client.assumingMemoryBound(to: [Entry].self)
                let e = error.pointee
                entries.pointee.append(Entry(
                    function: e.func_name.map { String(cString: $0) } ?? "",
                    description: e.desc.map { String(cString: $0) } ?? "",
                    major: e.maj_num, minor: e.min_num))
                return 0
            }, pointer)
        }
        _ = H5Eclear2(h5m_e_default())
        return entries
    }

    /// A `StoreError` for a failed call: `what` says what we tried, the stack says why.
    /// The kind is `fallback` unless the stack says something more precise
    /// (a missing object is `.notFound`, a missing filter `.unsupported`).
    /// `entries`: the stack when the caller has read it already.
    static func error(_ fallback: StoreError.Kind, _ what: String, entries: [Entry]? = nil) -> StoreError {
        let entries = entries ?? read()
        var kind = fallback
        if entries.contains(where: { $0.major == h5m_e_pline() || $0.major == h5m_e_plugin() }) {
            kind = .unsupported
        } else if entries.contains(where: { $0.minor == h5m_e_notfound() }) {
            kind = .notFound
        }
        // The innermost few descriptions carry the cause; the outer ones repeat "can't open".
        var seen: Set<String> = []
        let causes = entries.map { condensed($0.description) }.filter { !$0.isEmpty && seen.insert($0).inserted }.prefix(3)
        var message = causes.isEmpty ? what : what + ": " + causes.joined(separator: "; ")
        if kind == .unsupported && fallback != .unsupported {
            message += " (a filter of this dataset is not available to libhdf5; see HDF5_PLUGIN_PATH)"
        }
        return StoreError(kind, message)
    }

    /// One line for the log. The sec2 driver describes a failed read or write over two lines
    /// with its time, descriptor, buffer address and byte counts ("file write failed: time =
    /// ...\n, filename = '...', file descriptor = 7, errno = 28, error message = 'No space left
    /// on device', buf = 0x..."): of that, what it tried and the system's message are kept
    /// ("file write failed: No space left on device"; StagingError finds ENOSPC by that text).
    static func condensed(_ description: String) -> String {
        let marker = "error message = '"
        if let time = description.firstRange(of: ": time = "),
           let start = description[time.upperBound...].firstRange(of: marker),
           let end = description[start.upperBound...].firstIndex(of: "'") {
            return description[..<time.lowerBound] + ": " + description[start.upperBound..<end]
        }
        return description.split(whereSeparator: \.isNewline).map { $0.trimmingPrefix(" ") }.joined(separator: " ")
    }
}
