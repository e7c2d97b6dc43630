import Staging

/// Rate and time left of the current phase of a commit, from the progress records seen
/// so far and when they were seen (the watcher's own clock: the record carries no times,
/// so two processes' clocks never meet). The rate is taken over the last `window` seconds
/// of the phase, so it follows a disk that slows down; it is unknown until the phase has
/// run for `minimumSpan` seconds (the first samples say little).
package struct RateEstimator: Sendable {
    package let window: Double
    package let minimumSpan: Double
    private var samples: [(time: Double, done: UInt64)] = []
    private var phase: CommitProgress.Phase?
    /// When the current phase was first seen.
    package private(set) var phaseStarted: Double = 0

    package init(window: Double = 5, minimumSpan: Double = 0.5) {
        self.window = window
        self.minimumSpan = minimumSpan
    }

    package mutating func add(_ progress: CommitProgress, at time: Double) {
        if progress.phase != phase || samples.last.map({ progress.done < $0.done }) == true {
            phase = progress.phase
            samples = []
            phaseStarted = time
        }
        samples.append((time, progress.done))
        // Keep one sample at or before the window's start, so the span covers the window.
        while samples.count > 2 && samples[1].time <= time - window { samples.removeFirst() }
    }

    /// Units of `done` per second; nil until known.
    package var rate: Double? {
        guard let first = samples.first, let last = samples.last, last.time - first.time >= minimumSpan,
              last.done >= first.done else { return nil }
        return Double(last.done - first.done) / (last.time - first.time)
    }

    /// Seconds until `total` at the current rate; nil when the rate is unknown or zero.
    package func secondsLeft(total: UInt64) -> Double? {
        guard let rate, rate > 0, let last = samples.last else { return nil }
        return total > last.done ? Double(total - last.done) / rate : 0
    }
}
