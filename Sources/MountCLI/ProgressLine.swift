import Staging

/// The text of one progress line of a commit or a recovery, e.g.
/// `committing data.h5: 412 MiB / 1.2 GiB written to disk, 180 MiB/s, 0:05 left`.
/// Pure: the caller measures (`RateEstimator`) and decides when and where to print
/// (`ProgressDisplay`).
package struct ProgressLine: Sendable, Hashable {
    /// "committing" or "recovering".
    package var verb: String
    /// What is committed, as the user named it (the container's file name).
    package var name: String

    package init(verb: String, name: String) {
        self.verb = verb
        self.name = name
    }

    /// The line for `progress`, with the rate (units of `progress.done` per second) and the
    /// time left when known; `elapsed` is shown for phases that have nothing to count.
    /// At most `width` characters (a terminal's columns; the end is cut).
    package func render(_ progress: CommitProgress?, rate: Double?, secondsLeft: Double?, elapsed: Double,
                        width: Int = .max) -> String {
        var parts: [String] = []
        guard let progress else {
            return fitted("\(verb) \(name)... \(formatDuration(elapsed))", width)
        }
        // The files the commit makes the container's, where the phase itself counts none.
        let stored = progress.filesStored > 0 ? [counted(progress.filesStored, "file")] : []
        switch progress.phase {
        case .packing:
            parts.append("\(amount(progress)) packed")
            parts.append("\(progress.files) / \(progress.filesTotal) files")
        case .copying:
            parts.append("\(amount(progress)) copied")
        case .syncing:
            parts += ["\(amount(progress)) written to disk"] + stored
        case .replaying:
            parts.append("\(progress.done) / \(progress.total) journal records replayed")
            parts.append(counted(progress.files, "file") + " restored")
        case .closing:
            parts += ["closing the working copy"] + stored + [formatDuration(elapsed)]
        case .replacing:
            parts += ["replacing the container"] + stored
        }
        if progress.total > 0, progress.phase != .closing, progress.phase != .replacing {
            if let rate, rate > 0, progress.countsBytes { parts.append("\(formatBytes(UInt64(rate)))/s") }
            if let secondsLeft, progress.done < progress.total { parts.append("\(formatDuration(secondsLeft)) left") }
        }
        return fitted("\(verb) \(name): " + parts.joined(separator: ", "), width)
    }

    private func amount(_ progress: CommitProgress) -> String {
        "\(formatBytes(progress.done)) / \(formatBytes(progress.total))"
    }

    private func fitted(_ line: String, _ width: Int) -> String {
        line.count <= width ? line : String(line.prefix(max(width, 0)))
    }
}

/// Binary units as ls -h and du -h show them: "512 B", "4.0 KiB", "412 MiB", "1.2 GiB" (one
/// decimal below 10 of a unit, none above).
package func formatBytes(_ bytes: UInt64) -> String {
    if bytes < 1024 { return "\(bytes) B" }
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes) / 1024
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if value < 10 {
        let tenths = Int((value * 10).rounded())
        // 9.96 rounds to 10.0: print it as the whole number it has become.
        return tenths < 100 ? "\(tenths / 10).\(tenths % 10) \(units[unit])" : "10 \(units[unit])"
    }
    return "\(Int(value.rounded())) \(units[unit])"
}

/// "0:05", "12:34", "1:02:03" (whole seconds, rounded up so the last second shows "0:01").
package func formatDuration(_ seconds: Double) -> String {
    let total = seconds.isFinite ? max(Int(seconds.rounded(.up)), 0) : 0
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
    let twoDigits = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
    return hours > 0 ? "\(hours):\(twoDigits(minutes)):\(twoDigits(secs))" : "\(minutes):\(twoDigits(secs))"
}
