import Glibc

/// Runs a piece of libhdf5 work once in a forked child, to learn whether it crashes or hangs
/// before the daemon runs it itself (docs/hdf5-store.md, "Containment").
///
/// The child reports each step it starts over a pipe (a length-prefixed key), and a final
/// empty record when every step returned. So when the child dies or stops answering, the
/// parent knows which step it was in: the steps reported before it returned, that one did not.
/// A step that is long but moving (listing a group of a million links) sends heartbeats,
/// which restart the clock without starting a step.
///
/// Fork rules that make this safe in a multithreaded daemon:
/// - the caller holds the HDF5 gate, so no other thread is inside libhdf5 and its state
///   (metadata cache, error stacks, its own lock) is consistent in the child;
/// - only the forking thread exists in the child; it runs libhdf5 and plain value code,
///   allocates with glibc's malloc (usable after fork), and never takes a lock another
///   thread might have held: no HDF5 gate (it is already inside it), no logging;
/// - the child ends with `_exit`, so no atexit handler (libhdf5's `H5close`) flushes or
///   closes anything of the parent's files; crash handlers are reset to the default action
///   and core dumps are off, so a crash is quick and leaves nothing behind.
enum ForkedTrial {
    /// How the child ended.
    enum Ending: Equatable {
        /// Every step returned (with an answer or an error: errors are not crashes).
        case finished
        /// Killed by a signal (SIGSEGV, SIGABRT from heap corruption, SIGFPE, ...).
        case crashed(signal: Int32)
        /// Exited without finishing (an abort handler calling exit, `_exit` inside a library).
        case exited(status: Int32)
        /// No step report within the time limit; the child was killed.
        case timedOut
        /// fork or pipe failed: nothing was learnt.
        case notRun(errno: Int32)
    }

    struct Report {
        var ending: Ending
        /// Keys of the steps the child started, in order. When it did not finish, the last
        /// one is the step it was in.
        var started: [[UInt8]]
    }

    /// What the child's body uses to announce its steps.
    struct Steps {
        fileprivate let descriptor: Int32
        /// Announces a step, then runs it.
        @discardableResult
        func run<T>(_ key: [UInt8], _ body: () -> T) -> T {
            Self.send(descriptor, key)
            return body()
        }

        /// Tells the parent a long step is still moving: its clock starts again. Only for
        /// steps whose work is finite by construction (a loop over a list already read), so
        /// a heartbeat never keeps an endless loop alive.
        func stillWorking() {
            Self.send(descriptor, ForkedTrial.heartbeat)
        }

        fileprivate static func send(_ descriptor: Int32, _ key: [UInt8]) {
            var record = withUnsafeBytes(of: UInt32(key.count).littleEndian) { Array($0) }
            record += key
            record.withUnsafeBytes { writeAll(descriptor, $0) }
        }
    }

    /// The heartbeat record: no key is one byte 0xFF (a key starts with its operation, 1...8).
    static let heartbeat: [UInt8] = [0xFF]

    /// Forks, runs `body` in the child, and waits; `timeLimit` seconds per step.
    /// Caller holds the HDF5 gate.
    static func run(timeLimit: Double, _ body: (Steps) -> Void) -> Report {
        var ends: [Int32] = [-1, -1]
        // Close-on-exec: a program another thread starts (fusermount3) must not hold the write end.
        guard pipe(&ends) == 0 else { return Report(ending: .notRun(errno: errno), started: []) }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let child = fork()
        if child < 0 {
            let code = errno
            close(ends[0]); close(ends[1])
            return Report(ending: .notRun(errno: code), started: [])
        }
        if child == 0 {
            close(ends[0])
            prepareChild()
            body(Steps(descriptor: ends[1]))
            Steps.send(ends[1], [])
            _exit(0)
        }
        close(ends[1])
        defer { close(ends[0]) }
        var reader = RecordReader()
        let finished = reader.follow(ends[0], timeLimit: timeLimit)
        if finished == nil { kill(child, SIGKILL) }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let ending: Ending
        switch finished {
        case nil: ending = .timedOut
        case true?: ending = .finished
        case false?:
            // The low 7 bits are the signal of a killed child, 0 for a normal exit.
            let signal = status & 0x7f
            ending = signal != 0 ? .crashed(signal: signal) : .exited(status: (status >> 8) & 0xff)
        }
        return Report(ending: ending, started: reader.keys)
    }

    /// CLOCK_MONOTONIC seconds (no Threads dependency for one call).
    static func now() -> Double {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    }

    /// Default crash actions (the Swift runtime's backtracer would be slow and chatty)
    /// and no core files.
    private static func prepareChild() {
        for signal in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS] {
            Glibc.signal(signal, SIG_DFL)
        }
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
        var done = 0
        while done < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            done += n
        }
    }
}

/// The parent's side of the step pipe: length-prefixed keys, an empty one at the end.
struct RecordReader {
    private(set) var keys: [[UInt8]] = []
    private var pending: [UInt8] = []
    private var finished = false
    /// Whether a heartbeat came since the last look.
    private var moved = false

    /// Reads until end of file. true: the final record came; false: the child went away
    /// without it; nil: no record for `timeLimit` seconds (the clock restarts at each step).
    mutating func follow(_ descriptor: Int32, timeLimit: Double) -> Bool? {
        var deadline = ForkedTrial.now() + timeLimit
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let left = deadline - ForkedTrial.now()
            guard left > 0 else { return nil }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left * 1000, Double(Int32.max)).rounded(.up)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { if ready == 0 { continue } else { return false } }
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return finished }
            let before = keys.count
            moved = false
            consume(buffer[..<n])
            if keys.count > before || finished || moved { deadline = ForkedTrial.now() + timeLimit }
        }
    }

    /// Splits bytes into records; an empty record marks the end.
    mutating func consume(_ bytes: ArraySlice<UInt8>) {
        pending += bytes
        var start = 0
        while pending.count - start >= 4 {
            let length = pending[start ..< start + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
            guard pending.count - start - 4 >= length else { break }
            let record = pending[start + 4 ..< start + 4 + length]
            if length == 0 {
                finished = true
            } else if record.elementsEqual(ForkedTrial.heartbeat) {
                moved = true
            } else {
                keys.append(Array(record))
            }
            start += 4 + length
        }
        pending.removeFirst(start)
    }
}
