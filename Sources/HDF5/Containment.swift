import Glibc
import H5Model
import Synchronization

/// What containment remembers about one container: which libhdf5 requests were tried in a
/// forked child and came back, and which crashed or hung there (those answer EIO for the
/// rest of the mount, with the cause). docs/hdf5-store.md, "Containment".
package final class Containment: Sendable {
    /// One kind of request about one object.
    struct Key: Hashable {
        enum Operation: UInt8 {
            case list = 1, lookup, object, summary, dataset, attributes, read
            /// `describeObjects`: the object opened by the address its link holds.
            case describe
            /// How the log line says it: "libhdf5 crashed (SIGSEGV) while listing /entry".
            var verb: String {
                switch self {
                case .list: "listing"
                case .lookup: "looking up"
                case .object: "reading the object header of"
                case .summary, .dataset, .describe: "describing"
                case .attributes: "reading the attributes of"
                case .read: "reading"
                }
            }
        }
        var operation: Operation
        var path: H5Path

        /// operation byte, then the path's components, NUL-separated (HDF5 names hold no NUL).
        var bytes: [UInt8] {
            var bytes = [operation.rawValue]
            for (index, component) in path.components.enumerated() {
                if index > 0 { bytes.append(0) }
                bytes += Array(component.utf8)
            }
            return bytes
        }

        init(_ operation: Operation, _ path: H5Path) { self.operation = operation; self.path = path }

        init?(bytes: [UInt8]) {
            guard let first = bytes.first, let operation = Operation(rawValue: first) else { return nil }
            let components = bytes.dropFirst().split(separator: 0, omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
            self.init(operation, H5Path(bytes.count == 1 ? [] : components))
        }
    }

    enum Verdict: Equatable {
        case unknown, passed
        case failed(String)
    }

    private struct State {
        /// Hashes of the keys whose trial came back (a hash, not the key: a group with a
        /// million links must not cost a million paths of memory). A collision only means
        /// one request runs without its own trial.
        var passed: Set<Int> = []
        var failed: [Key: String] = [:]
        var trials = 0
    }

    /// Seconds a trial step may take before the child is killed and the object marked.
    package let timeLimit: Double
    /// false: only known failures are refused, nothing new is tried (the working copy of a
    /// writable mount, which the writer shares in this process: a child must not flush it).
    package let tries: Bool
    /// Seconds a listing's trial goes on into the groups below it (`HDF5Container+Containment`):
    /// more covers more of a `find` per fork, and delays the first listing by up to that much.
    package let lookahead: Double
    /// Taken only while the HDF5 gate is held (here, or by the callers in
    /// HDF5Container+Containment): a child forked under the gate reads it, and must never
    /// find it held by a thread that does not exist in the child.
    private let state = Mutex(State())

    package init(timeLimit: Double, tries: Bool = true, lookahead: Double = 0.1) {
        self.timeLimit = timeLimit
        self.tries = tries
        self.lookahead = lookahead
    }

    /// A containment that refuses what `other` found bad, and tries nothing.
    package static func refusing(failuresOf other: Containment) -> Containment {
        let copy = Containment(timeLimit: other.timeLimit, tries: false)
        HDF5Library.locked {
            let failed = other.state.withLock { $0.failed }
            copy.state.withLock { $0.failed = failed }
        }
        return copy
    }

    /// "libhdf5 crashed (SIGSEGV) while listing /entry" for every object found bad, by path.
    package var failures: [String] {
        HDF5Library.locked { state.withLock { $0.failed.values.sorted() } }
    }

    /// How many children were forked so far (tests check what one trial covers).
    package var trials: Int { HDF5Library.locked { state.withLock { $0.trials } } }

    /// Counts a trial that teaches no key (`OpenTrial`: opening the file itself).
    func countTrial() { state.withLock { $0.trials += 1 } }

    func verdict(_ key: Key) -> Verdict {
        state.withLock { state in
            if let message = state.failed[key] { return .failed(message) }
            return state.passed.contains(key.hashValue) ? .passed : .unknown
        }
    }

    /// Whether a read of `path` (any block, any chunk) is refused.
    func readRefused(_ path: H5Path) -> String? {
        state.withLock { $0.failed[Key(.read, path)] }
    }

    /// Files what a trial learnt: the steps before the last passed; the last passed too if
    /// the child finished, else it failed with the cause. Returns that failure's message.
    @discardableResult
    func record(_ report: ForkedTrial.Report) -> String? {
        let keys = report.started.compactMap(Key.init(bytes:))
        state.withLock { $0.trials += 1 }
        guard let cause = Self.cause(of: report.ending, timeLimit: timeLimit) else {
            // A trial that could not run (fork failed) teaches nothing: the request runs unguarded.
            if case .finished = report.ending { state.withLock { s in keys.forEach { s.passed.insert($0.hashValue) } } }
            return nil
        }
        guard let last = keys.last else { return nil }
        let message = "\(cause) while \(last.operation.verb) \(last.path)"
        state.withLock { s in
            keys.dropLast().forEach { s.passed.insert($0.hashValue) }
            s.failed[last] = message
        }
        return message
    }

    /// Why a trial's child did not finish ("libhdf5 crashed (SIGSEGV)"); nil if it finished
    /// or never ran.
    static func cause(of ending: ForkedTrial.Ending, timeLimit: Double) -> String? {
        switch ending {
        case .finished, .notRun: nil
        case .crashed(let signal): "libhdf5 crashed (\(signalName(signal)))"
        case .exited(let status): "libhdf5 exited the process (status \(status))"
        case .timedOut: "libhdf5 did not answer within \(seconds(timeLimit))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGILL: "SIGILL"
        case SIGABRT: "SIGABRT"
        case SIGKILL: "SIGKILL"
        case SIGTRAP: "SIGTRAP"
        case SIGSYS: "SIGSYS"
        default: "signal \(signal)"
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
