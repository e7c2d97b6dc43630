import Staging

/// What a mount says when an earlier session of the same container did not
/// finish (a crash, a kill -9, a failed commit): the container is as it was
/// before that session, and its changes wait in `<container>.h5mount-work/`.
/// A writable mount refuses to start a new session over them (Staging would
/// too); the user decides: `--recover` commits them, `--discard` drops them.
package func leftoverRefusal(_ work: LeftoverWork, container shown: String) -> CLIError {
    let name = shellQuoted(shown)
    if work.inUse {
        return CLIError(.runtime, "h5mount: \(shown): in use by another h5mount session (it holds \(work.workDirectory)); "
                        + "unmount that one first")
    }
    let what: String
    if work.committed {
        what = "its commit went through; only its work directory is left to clean up"
    } else if work.empty {
        what = "it stopped before recording any change; only its work directory is left to clean up"
    } else {
        what = "\(counted(work.changes, "change")), \(counted(work.filesPacked, "file")) packed, "
            + "\(counted(work.filesWaiting, "closed file")) not yet packed"
            + (work.damagedTail ? ", the journal's last record torn" : "")
            + (work.inplace ? "; it wrote in place (-o inplace), so the container may be damaged"
                            : "; the container itself is untouched")
    }
    return CLIError(.runtime, "h5mount: \(shown): an earlier session did not finish (\(what)).\n"
                    + "  commit its work:     h5mount --recover \(name)\n"
                    + "  or throw it away:    h5mount --discard \(name)")
}

/// The line a read-only mount prints instead of refusing: reading is safe, the
/// container is the one from before the unfinished session.
package func leftoverNote(_ work: LeftoverWork, container shown: String) -> String {
    "h5mount: note: \(shown) has unfinished work from an earlier session in \(work.workDirectory); "
        + "this read-only mount shows the container without it (h5mount --recover \(shellQuoted(shown)) commits it)"
}

/// `text` as one shell word: unchanged when it is plain, else in single quotes.
package func shellQuoted(_ text: String) -> String {
    let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "/._-+,:@%=".unicodeScalars.contains(scalar))
    }
    if plain { return text }
    var quoted = "'"
    for character in text { quoted += character == "'" ? "'\\''" : String(character) }
    return quoted + "'"
}

/// "1 change", "2 changes".
package func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)" + (count == 1 ? "" : "s")
}
