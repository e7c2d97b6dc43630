/// Where a commit (or a recovery) stands, in the terms its time goes to (measured, see
/// docs/write-path.md "Progress of a commit"): packing closed files that were still
/// waiting, closing the working copy (libhdf5 writes its metadata back), copying the
/// container (recovery, when there is no reflink), replaying the journal (recovery),
/// writing the working copy's dirty pages to disk (the fsync before the rename), and
/// the rename itself.
///
/// A plain value: the daemon writes it into the work directory for `h5mount -u`
/// (`ProgressRecord`), `h5mount --recover` gets it through a callback.
package struct CommitProgress: Sendable, Hashable {
    package enum Phase: String, Sendable, CaseIterable {
        case packing, closing, copying, replaying, syncing, replacing
    }

    package var phase: Phase
    /// Work done and to do in this phase: bytes (packing: raw bytes of the waiting files;
    /// copying: the container; syncing: the working copy), journal records (replaying),
    /// nothing (closing, replacing: both 0).
    package var done: UInt64
    package var total: UInt64
    /// Files stored so far in this phase and, for packing, how many are waiting
    /// (replaying: files restored so far, total unknown, so 0).
    package var files: Int
    package var filesTotal: Int
    /// Files the session stored, which this commit makes the container's (0: unknown, or
    /// a session of namespace changes only). Set from `closing` on.
    package var filesStored: Int

    package init(_ phase: Phase, done: UInt64 = 0, total: UInt64 = 0, files: Int = 0, filesTotal: Int = 0,
                 filesStored: Int = 0) {
        self.phase = phase
        self.done = done
        self.total = total
        self.files = files
        self.filesTotal = filesTotal
        self.filesStored = filesStored
    }

    /// Whether `done`/`total` count bytes (else records, or nothing).
    package var countsBytes: Bool { phase == .packing || phase == .copying || phase == .syncing }

    // MARK: the record's text

    private static let tag = "h5mount-progress-1"

    /// One line: `h5mount-progress-1 PHASE DONE TOTAL FILES FILES_TOTAL FILES_STORED`.
    package var recordText: String {
        "\(Self.tag) \(phase.rawValue) \(done) \(total) \(files) \(filesTotal) \(filesStored)\n"
    }

    /// Parses `recordText`; nil for anything else (a record of another version, a torn file).
    package init?(recordText text: String) {
        guard text.hasSuffix("\n") else { return nil }
        let fields = text.dropLast().split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 7, fields[0] == Self.tag, let phase = Phase(rawValue: String(fields[1])),
              let done = UInt64(fields[2]), let total = UInt64(fields[3]),
              let files = Int(fields[4]), let filesTotal = Int(fields[5]), let stored = Int(fields[6]),
              files >= 0, filesTotal >= 0, stored >= 0 else { return nil }
        self.init(phase, done: done, total: total, files: files, filesTotal: filesTotal, filesStored: stored)
    }
}

/// Who hears about a commit's progress: called on the committing thread only, often (per file,
/// per few MiB); a sink that does real work throttles itself (`ProgressRecord`).
package typealias CommitProgressSink = (CommitProgress) -> Void

/// `sink`, with every value saying that the commit makes `count` files the container's.
func countingFilesStored(_ count: Int, _ sink: @escaping CommitProgressSink) -> CommitProgressSink {
    { progress in
        var progress = progress
        progress.filesStored = count
        sink(progress)
    }
}
