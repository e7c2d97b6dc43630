import Glibc
import Staging

/// Shows a commit's progress on stderr, where progress goes in Unix tools (dd, pv, curl),
/// while the results (`committing X...`, `committed X`) stay on stdout:
/// - a terminal: one line redrawn in place (`\r`, erase to end of line), at most every
///   `redrawInterval`, first after `terminalDelay` (a quick commit shows no bar at all),
///   cut to the terminal's width, and erased at the end so the result line follows;
/// - not a terminal (a pipe, a log file): a plain line every `plainInterval`, nothing for
///   a commit shorter than that;
/// - `-q`: nothing.
/// Times are the caller's (monotonic seconds), so the whole thing runs in tests.
package struct ProgressDisplay {
    package enum Mode: Sendable, Equatable {
        case terminal(width: Int)
        case plain
        case silent
    }

    package let mode: Mode
    package let line: ProgressLine
    package var terminalDelay = 0.3
    package var redrawInterval = 0.2
    package var plainInterval = 5.0
    private let started: Double
    private let write: (String) -> Void
    private var estimator = RateEstimator()
    private var lastShown: Double
    private var drawn = false
    /// The last record seen: shown on when the record is gone (the commit has removed the
    /// work directory and the daemon is on its way out).
    private var latest: CommitProgress?

    package init(mode: Mode, line: ProgressLine, started: Double, write: @escaping (String) -> Void) {
        self.mode = mode
        self.line = line
        self.started = started
        self.write = write
        lastShown = started
    }

    /// The mode for this process: terminal when stderr is one, silent with `quiet`.
    package static func mode(quiet: Bool) -> Mode {
        if quiet { return .silent }
        guard isatty(STDERR_FILENO) == 1 else { return .plain }
        var size = winsize()
        let columns = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
        return .terminal(width: columns)
    }

    /// What the commit recorded at `now` (nil: no record yet, or none any more).
    package mutating func update(_ record: CommitProgress?, at now: Double) {
        if let record, record != latest {
            estimator.add(record, at: now)
            latest = record
        }
        let progress = latest
        switch mode {
        case .silent:
            return
        case .terminal(let width):
            guard now - started >= terminalDelay, !drawn || now - lastShown >= redrawInterval else { return }
            // One column spare: a line that fills the last column makes some terminals wrap.
            write("\r" + text(progress, now, width: width - 1) + "\u{1B}[K")
            drawn = true
            lastShown = now
        case .plain:
            guard now - lastShown >= plainInterval else { return }
            write("h5mount: " + text(progress, now) + "\n")
            lastShown = now
        }
    }

    /// The commit is over: erase the bar (the result line comes next).
    package mutating func finish() {
        if case .terminal = mode, drawn { write("\r\u{1B}[K") }
        drawn = false
    }

    private func text(_ progress: CommitProgress?, _ now: Double, width: Int = .max) -> String {
        let total = progress?.total ?? 0
        let elapsed = progress == nil ? now - started : now - estimator.phaseStarted
        return line.render(progress, rate: estimator.rate, secondsLeft: estimator.secondsLeft(total: total),
                           elapsed: elapsed, width: width)
    }
}

/// Raw text to stderr (no newline added: the bar redraws itself with `\r`).
package func writeError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// The last component of a path ("data.h5" of "/data/run/data.h5").
package func fileName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
