import H5Model

/// What a journal's records add up to: shared by `leftover` (the report at the next
/// mount) and `recover` (which replays them).
struct JournalSummary {
    var start: SessionStart?
    /// Namespace and attribute changes.
    var changes = 0
    /// Files whose pack was linked.
    var filesPacked = 0
    /// Spools that need no packing from their spool file: linked by a pack, or dropped.
    var resolvedSpools: Set<UInt64> = []
    /// Closed spools not resolved: their files must be packed from the spool.
    var waitingSpools: [UInt64] = []
    /// The identity of the working copy a commit was renaming, if it got that far.
    var committing: FileIdentity?

    init(_ records: [JournalRecord]) {
        var spoolOfToken: [UInt64: UInt64] = [:]
        var closed: [UInt64] = []
        for record in records {
            switch record {
            case .start(let value): start = value
            case .createGroup, .deleteLink, .moveLink, .softLink, .hardLink, .setAttribute, .deleteAttribute,
                 .changeAttributes, .rawArrayWrite:
                changes += 1
            case .fileClosed(let spool, _, _): closed.append(spool)
            case .spoolDropped(let spool): resolvedSpools.insert(spool)
            case .packBegin(let token, let spool, _): spoolOfToken[token] = spool
            case .packLink(let token, _, _):
                filesPacked += 1
                if let spool = spoolOfToken[token], spool != 0 { resolvedSpools.insert(spool) }
            case .committing(let identity): committing = identity
            case .spoolMoved, .packChunk, .packAbandon, .fileAttribute: break
            }
        }
        waitingSpools = closed.filter { !resolvedSpools.contains($0) }
    }

    /// Whether `current` (the container now) is the working copy the commit renamed.
    func alreadyCommitted(_ current: FileIdentity?) -> Bool {
        guard let committing, let current else { return false }
        return committing.device == current.device && committing.inode == current.inode
    }
}

/// Unfinished work found next to a container: what the next mount reports.
package struct LeftoverWork: Sendable, Hashable {
    package var workDirectory: String
    /// A live session holds it (another h5mount is using the container).
    package var inUse: Bool
    /// The journal is missing or unreadable: the session never got going; nothing to recover.
    package var empty: Bool
    package var inplace: Bool
    /// The commit's rename happened; only the work directory is left to remove.
    package var committed: Bool
    package var changes: Int
    package var filesPacked: Int
    /// Files closed before the crash whose content is still only in their spool.
    package var filesWaiting: Int
    /// The journal ends in a torn record (a crash mid-append; that change was never acknowledged).
    package var damagedTail: Bool

    /// One paragraph for the user.
    package var summary: String {
        if inUse { return "\(workDirectory): in use by another h5mount session" }
        if empty { return "\(workDirectory): an unfinished session left nothing to recover; run h5mount --recover to clean up" }
        if committed { return "\(workDirectory): the last commit finished; run h5mount --recover to clean up" }
        var text = "\(workDirectory): unfinished work from an earlier session (\(changes) changes, "
            + "\(filesPacked) files packed, \(filesWaiting) closed files not yet packed)"
        text += inplace ? "; it wrote in place (-o inplace), so the container may be damaged" : "; the container is untouched"
        return text + ". Run h5mount --recover CONTAINER to commit it, or discard it."
    }
}

extension WorkingCopy {
    /// What is left next to `container` from an earlier session; nil when nothing is.
    package static func leftover(container: String) -> LeftoverWork? {
        let directory = WorkDirectory(container: container)
        guard directory.exists else { return nil }
        var work = LeftoverWork(workDirectory: directory.path, inUse: directory.isLocked, empty: true, inplace: false,
                                committed: false, changes: 0, filesPacked: 0, filesWaiting: 0, damagedTail: false)
        guard !work.inUse, let contents = try? Journal.read(path: directory.journalPath) else { return work }
        let summary = JournalSummary(contents.records)
        guard let start = summary.start else { return work }
        work.empty = false
        work.inplace = start.inplace
        work.committed = summary.alreadyCommitted(try? SystemCalls.identity(directory.container))
        work.changes = summary.changes
        work.filesPacked = summary.filesPacked
        work.filesWaiting = summary.waitingSpools.count
        work.damagedTail = contents.damagedTail
        return work
    }
}
