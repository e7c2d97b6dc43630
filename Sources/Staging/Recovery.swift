import Codecs
import Glibc
import H5Model
import HDF5

/// What `recover` did.
package struct RecoveryReport: Sendable, Hashable {
    package enum Outcome: String, Sendable {
        /// No work directory, or one from a session that never recorded anything.
        case nothingToRecover
        /// The crash came after the commit's rename: only cleanup was left.
        case alreadyCommitted
        case committed
        case committedInPlace
    }
    package var outcome: Outcome
    /// Namespace and attribute changes replayed.
    package var changes = 0
    /// Packed files rebuilt from the chunks the journal points at.
    package var filesFromJournal = 0
    /// Closed files packed from their spools.
    package var filesFromSpools = 0
    /// Closed files whose spool was missing: their content is lost.
    package var lostFiles: [H5Path] = []
    /// Files some chunk of which failed its checksum and that still exist after replay.
    package var damagedFiles: [H5Path] = []
    /// Records that could not be replayed, with the reason.
    package var failures: [String] = []
    package var journalDamagedTail = false
}

extension WorkingCopy {
    /// Commits what an interrupted session left (DESIGN.md §2: `h5mount --recover`):
    /// 1. takes the session lock (EBUSY while a live session holds it);
    /// 2. no journal or start record: removes the work directory;
    /// 3. the journal says a commit was renaming and the container is that working copy:
    ///    removes the work directory;
    /// 4. checks the container is the file the session began from (ESTALE unless `force`);
    /// 5. keeps the crashed working copy as `crashed.h5` (read only for chunk bytes: its
    ///    HDF5 structures after a crash are not trusted), makes a fresh copy of the
    ///    container, and replays the journal onto it: changes are applied again, packed
    ///    files rebuilt from their chunks (checked against the journal's CRC-32), closed
    ///    files not yet packed packed from their spools, at the point they were closed;
    /// 6. commits as `commit` does.
    /// Running it again after a crash during recovery starts over from step 1 and gives
    /// the same result. With -o inplace sessions nothing can be replayed: closed files
    /// still waiting are packed into the container where they stand.
    /// `progress` hears where it stands: copying, replaying (records), closing, syncing, replacing.
    @discardableResult
    package static func recover(container: String, force: Bool = false, threads: Int = WorkerPool.onlineCores,
                                progress: @escaping CommitProgressSink = { _ in }) throws(StagingError) -> RecoveryReport {
        let directory = WorkDirectory(container: container)
        guard directory.exists else { return RecoveryReport(outcome: .nothingToRecover) }
        let lock = try directory.acquireLock()
        defer { close(lock) }
        guard let contents = try? Journal.read(path: directory.journalPath),
              case .start(let start)? = contents.records.first else {
            try directory.remove()
            return RecoveryReport(outcome: .nothingToRecover)
        }
        let summary = JournalSummary(contents.records)
        var report = RecoveryReport(outcome: .committed)
        report.journalDamagedTail = contents.damagedTail
        if summary.alreadyCommitted(try SystemCalls.identity(directory.container)) {
            try directory.remove()
            report.outcome = .alreadyCommitted
            return report
        }
        let packer = Packer(compression: start.compression, chunkSize: start.chunkSize,
                            pool: WorkerPool(threads: threads))
        if start.inplace {
            try recoverInPlace(directory, contents.records, summary, packer, &report, progress)
            try directory.remove()
            report.outcome = .committedInPlace
            return report
        }
        if !force, try SystemCalls.identity(directory.container) != start.original {
            throw StagingError(ESTALE, "\(directory.container) changed on disk since the interrupted session began; "
                               + "recover with force to overwrite it, or discard the work in \(directory.path)")
        }
        let writer = try freshWorkingCopy(directory, start, progress)
        do {
            var replay = Replay(directory: directory, writer: writer, packer: packer, summary: summary)
            defer { replay.finish() }
            let records = UInt64(contents.records.count)
            for (index, record) in contents.records.enumerated() {
                replay.apply(record, &report)
                progress(CommitProgress(.replaying, done: UInt64(index + 1), total: records,
                                        files: report.filesFromJournal + report.filesFromSpools))
            }
            report.damagedFiles = replay.damagedStillLinked()
        }
        let progress = countingFilesStored(report.filesFromJournal + report.filesFromSpools, progress)
        progress(CommitProgress(.closing))
        try store { () throws(StoreError) in try writer.close() }
        let journal = try Journal.reopen(path: directory.journalPath)
        defer { journal.close() }
        try replaceContainer(directory, journal: journal, original: start.original, force: force, progress: progress)
        try directory.remove()
        return report
    }

    /// Keeps the crashed working copy for its chunks, and copies the container afresh.
    private static func freshWorkingCopy(_ directory: WorkDirectory, _ start: SessionStart,
                                         _ progress: CommitProgressSink) throws(StagingError) -> HDF5Writer {
        // A previous recovery may have renamed it already; its working.h5 is then a partial replay.
        if try SystemCalls.identity(directory.crashedPath) == nil,
           try SystemCalls.identity(directory.workingPath) != nil {
            if rename(directory.workingPath, directory.crashedPath) != 0 { throw .system("keep \(directory.workingPath)") }
        }
        try SystemCalls.removeFile(directory.workingPath)
        if start.original != nil {
            try FileCopy.copy(from: directory.container, to: directory.workingPath) { done, total in
                progress(CommitProgress(.copying, done: done, total: total))
            }
            return try store { () throws(StoreError) -> HDF5Writer in try HDF5Writer.open(path: directory.workingPath) }
        }
        return try store { () throws(StoreError) -> HDF5Writer in try HDF5Writer.create(path: directory.workingPath) }
    }

    /// -o inplace: the container holds whatever the crash left; pack the closed files still
    /// waiting at the paths they ended up at.
    private static func recoverInPlace(_ directory: WorkDirectory, _ records: [JournalRecord], _ summary: JournalSummary,
                                       _ packer: Packer, _ report: inout RecoveryReport,
                                       _ progress: CommitProgressSink) throws(StagingError) {
        var paths: [UInt64: H5Path] = [:]
        for record in records {
            switch record {
            case .fileClosed(let spool, let path, _) where summary.waitingSpools.contains(spool): paths[spool] = path
            case .spoolMoved(let spool, let path) where paths[spool] != nil: paths[spool] = path
            case .moveLink(let from, let to):
                for (spool, path) in paths { if let moved = path.replacingPrefix(from, with: to) { paths[spool] = moved } }
            default: break
            }
        }
        guard !paths.isEmpty else { return }
        let writer = try store { () throws(StoreError) -> HDF5Writer in try HDF5Writer.open(path: directory.container) }
        var packing = CommitProgress(.packing, filesTotal: paths.count)
        for (spool, path) in paths.sorted(by: { $0.key < $1.key }) {
            do throws(StagingError) {
                let source = try Spool(sealedAt: directory.spoolPath(spool), id: spool)
                try packer.pack(source, into: writer, at: path, replacing: true)
                report.filesFromSpools += 1
                packing.done += source.size
            } catch {
                report.lostFiles.append(path)
                report.failures.append("\(path): \(error.message)")
            }
            packing.files += 1
            progress(packing)
        }
        progress(CommitProgress(.closing))
        try store { () throws(StoreError) in try writer.close() }
        try SteppedSync.sync(directory.container, progress: progress)
    }
}

/// Replays a journal onto a fresh working copy (see `WorkingCopy.recover`).
private struct Replay {
    let directory: WorkDirectory
    let writer: HDF5Writer
    let packer: Packer
    let summary: JournalSummary
    /// The crashed working copy, where recorded chunks are read from.
    let chunkStore: Int32
    var pending: [UInt64: (dataset: PendingDataset, damaged: Bool)] = [:]
    /// Spools this replay packed, by their current path (for later `spoolMoved` records).
    var packedHere: [UInt64: H5Path] = [:]
    /// Paths of files rebuilt with a chunk that failed its checksum, kept up to date as later
    /// records replace, delete or move them (a chunk of a file the session later replaced
    /// may be overwritten in the crashed copy by then, which is harmless).
    var damaged: Set<H5Path> = []

    init(directory: WorkDirectory, writer: HDF5Writer, packer: Packer, summary: JournalSummary) {
        self.directory = directory
        self.writer = writer
        self.packer = packer
        self.summary = summary
        chunkStore = open(directory.crashedPath, O_RDONLY | O_CLOEXEC)
    }

    mutating func finish() {
        for entry in pending.values { writer.abandon(entry.dataset) }
        pending = [:]
        if chunkStore >= 0 { close(chunkStore) }
    }

    mutating func apply(_ record: JournalRecord, _ report: inout RecoveryReport) {
        do throws(StagingError) {
            try applyThrowing(record, &report)
        } catch {
            report.failures.append("\(record): \(error.message)")
        }
    }

    private mutating func applyThrowing(_ record: JournalRecord, _ report: inout RecoveryReport) throws(StagingError) {
        let writer = self.writer
        switch record {
        case .start, .committing, .spoolDropped:
            return
        case .createGroup(let path):
            try store { () throws(StoreError) in try writer.createGroup(at: path) }
        case .deleteLink(let path):
            try store { () throws(StoreError) in try writer.deleteLink(at: path) }
            forgetDamaged(under: path)
        case .moveLink(let from, let to):
            try store { () throws(StoreError) in try writer.moveLink(from: from, to: to) }
            for (spool, path) in packedHere {
                if let moved = path.replacingPrefix(from, with: to) { packedHere[spool] = moved }
            }
            if from != to {
                forgetDamaged(under: to)
                damaged = Set(damaged.map { $0.replacingPrefix(from, with: to) ?? $0 })
            }
        case .softLink(let path, let target):
            try store { () throws(StoreError) in try writer.createSoftLink(at: path, target: target) }
        case .hardLink(let path, let existing):
            try store { () throws(StoreError) in try writer.createHardLink(at: path, to: existing) }
            if damaged.contains(existing) { damaged.insert(path) }
        case .setAttribute(let path, let name, let value):
            try store { () throws(StoreError) in try writer.setAttribute(of: path, name: name, value: value) }
        case .deleteAttribute(let path, let name):
            try store { () throws(StoreError) in try writer.deleteAttribute(of: path, name: name) }
        case .changeAttributes(let path, let edits):
            try store { () throws(StoreError) in try writer.changeAttributes(of: path, edits) }
        case .fileClosed(let spool, let path, let size):
            guard !summary.resolvedSpools.contains(spool) else { return }
            try packSpool(spool, at: path, size: size, &report)
            return
        case .fileAttribute(let spool, let name, let value):
            // Packed live, the attribute came with the pack (a setAttribute after its packLink).
            guard let current = packedHere[spool] else { return }
            try store { () throws(StoreError) in try writer.setAttribute(of: current, name: name, value: value) }
            return
        case .spoolMoved(let spool, let path):
            guard let current = packedHere[spool] else { return }
            try store { () throws(StoreError) in try writer.moveLink(from: current, to: path) }
            packedHere[spool] = path
            forgetDamaged(under: path)
            return
        case .packBegin(let token, _, let layout):
            let dataset = try store { () throws(StoreError) -> PendingDataset in try writer.beginByteDataset(layout: layout) }
            pending[token] = (dataset, false)
            return
        case .packChunk(let token, let index, let offset, let size, let checksum):
            guard let entry = pending[token] else { return }
            guard let bytes = readChunk(offset: offset, size: size), Checksum.crc32(bytes) == checksum else {
                pending[token]?.damaged = true
                return
            }
            try store { () throws(StoreError) in
                try writer.writeChunks([EncodedChunk(index: index, bytes: bytes)], to: entry.dataset)
            }
            return
        case .packLink(let token, let path, let replacing):
            guard let entry = pending.removeValue(forKey: token) else { return }
            try store { () throws(StoreError) in try writer.link(entry.dataset, at: path, replacing: replacing) }
            forgetDamaged(under: path)
            if entry.damaged { damaged.insert(path) }
            report.filesFromJournal += 1
            return
        case .packAbandon(let token):
            if let entry = pending.removeValue(forKey: token) { writer.abandon(entry.dataset) }
            return
        case .rawArrayWrite(let change):
            try replayRawArrayWrite(change)
        }
        report.changes += 1
    }

    /// A closed file never packed: pack it from its spool, here, at the path it was closed at.
    private mutating func packSpool(_ spool: UInt64, at path: H5Path, size: UInt64,
                                    _ report: inout RecoveryReport) throws(StagingError) {
        let source: Spool
        do throws(StagingError) {
            source = try Spool(sealedAt: directory.spoolPath(spool), id: spool)
        } catch {
            report.lostFiles.append(path)
            throw error
        }
        guard source.size == size else {
            report.lostFiles.append(path)
            throw StagingError(EIO, "spool \(spool) has \(source.size) bytes, the journal says \(size)")
        }
        try packer.pack(source, into: writer, at: path, replacing: true)
        packedHere[spool] = path
        forgetDamaged(under: path)
        report.filesFromSpools += 1
    }

    /// A typed dataset's write, from the spool kept for it.
    private func replayRawArrayWrite(_ change: RawArrayWrite) throws(StagingError) {
        let source = change.spool == 0 ? nil : try Spool(sealedAt: directory.spoolPath(change.spool), id: change.spool)
        let begun = try RawArrayApply.begin(change, writer)
        try RawArrayApply.fill(change, begun, source: source, writer)
    }

    /// Bytes of the crashed working copy; nil when they cannot be read.
    private func readChunk(offset: UInt64, size: UInt64) -> [UInt8]? {
        guard chunkStore >= 0, size > 0, size <= UInt64(ByteDatasetLayout.chunkSizeLimit) * 2 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let got = bytes.withUnsafeMutableBytes { buffer in
            (try? SystemCalls.preadAll(chunkStore, buffer, at: offset, "chunk")) ?? -1
        }
        return got == Int(size) ? bytes : nil
    }

    /// `path` and everything below it no longer name what they named.
    private mutating func forgetDamaged(under path: H5Path) {
        damaged = damaged.filter { $0.replacingPrefix(path, with: path) == nil }
    }

    /// Paths of damaged files that the rest of the journal did not replace or delete.
    func damagedStillLinked() -> [H5Path] {
        damaged.filter { (try? writer.linkExists(at: $0)) == true }.sorted { $0.description < $1.description }
    }
}
