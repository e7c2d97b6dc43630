import Glibc
import H5Model
import Staging
import Threads

/// `h5mount --recover CONTAINER`: commits what a crashed session left next to
/// the container (Staging's `WorkingCopy.recover`, docs/write-path.md) and says
/// what it did. Exit 0 when the container is now complete (or there was
/// nothing to do), 7 when the commit failed (the work stays for another try).
/// Meanwhile its progress goes to stderr as `-u` shows it (`ProgressDisplay`).
/// `quiet` (-q): no progress, and of the report only what went wrong (files
/// lost or damaged, records not replayed), on stderr.
package func recoverContainer(_ container: String, force: Bool, quiet: Bool = false,
                              output: (String) -> Void = printLine, errors: (String) -> Void = printError,
                              display mode: ProgressDisplay.Mode? = nil) -> ExitStatus {
    let report: RecoveryReport
    var display = ProgressDisplay(mode: mode ?? ProgressDisplay.mode(quiet: quiet),
                                  line: ProgressLine(verb: "recovering", name: fileName(container)),
                                  started: monotonicSeconds(), write: writeError)
    do {
        report = try WorkingCopy.recover(container: container, force: force) { progress in
            display.update(progress, at: monotonicSeconds())
        }
    } catch {
        display.finish()
        errors(recoveryFailure(error, container: container))
        return .commitFailed
    }
    display.finish()
    let lines = recoveryLines(report, container: container)
    if quiet { lines.dropFirst().forEach(errors) } else { lines.forEach(output) }
    return .success
}

/// What the report says, one line each: the outcome first, then what was lost.
package func recoveryLines(_ report: RecoveryReport, container: String) -> [String] {
    let restored = report.filesFromJournal + report.filesFromSpools
    var lines: [String]
    switch report.outcome {
    case .nothingToRecover:
        return ["\(container): nothing to recover"]
    case .alreadyCommitted:
        return ["\(container): the last commit had finished; cleaned up"]
    case .committed, .committedInPlace:
        lines = ["recovered \(container): \(counted(restored, "file")) restored, \(report.lostFiles.count) lost, "
                 + "\(counted(report.changes, "change")) replayed; committed" + (report.outcome == .committedInPlace ? " in place" : "")]
    }
    for path in report.lostFiles { lines.append("lost (its bytes were never written down): \(path)") }
    for path in report.damagedFiles { lines.append("damaged (a chunk failed its checksum): \(path)") }
    for failure in report.failures { lines.append("not replayed: \(failure)") }
    if report.journalDamagedTail {
        lines.append("the journal ended in a torn record (a change that was never acknowledged); ignored")
    }
    return lines
}

private func recoveryFailure(_ error: StagingError, container: String) -> String {
    let name = shellQuoted(container)
    var line = "h5mount: \(container): recovery failed: \(error.message)"
    if error.code == EBUSY {
        line += " (is it still mounted? unmount it first)"
    } else if error.code == ESTALE {
        line += "\n  to commit the session's work over the container as it is now:  h5mount --recover \(name) --force"
            + "\n  or throw the work away:                                          h5mount --discard \(name)"
    }
    return line
}

/// `h5mount --discard CONTAINER`: throws the unfinished work away; the container stays as it is.
package func discardWork(_ container: String, output: (String) -> Void = printLine,
                         errors: (String) -> Void = printError) -> ExitStatus {
    guard let work = WorkingCopy.leftover(container: container) else {
        output("\(container): no unfinished work to discard")
        return .success
    }
    do {
        try WorkingCopy.discard(container: container)
    } catch {
        errors("h5mount: \(container): cannot discard \(work.workDirectory): \(error.message)")
        return .runtime
    }
    output("\(container): discarded the unfinished work in \(work.workDirectory); the container is as it was")
    return .success
}
