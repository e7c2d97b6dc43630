import Glibc
import H5Model
import HDF5

/// Files being written: spools, closing, packing.
///
/// A file's life: `makeSpool` (empty, or seeded with the file's current bytes when opened
/// without O_TRUNC) → writes, reads, truncates on the spool → `closeFile` (the spool is
/// sealed and the journal says which spool holds which path) → `packFile` (one dataset,
/// linked at the file's path, replacing what was there; the spool is deleted). A closed
/// file not yet packed has no link in the working copy: renaming it is `moveUnpacked`,
/// deleting it `dropSpool`; link it (hard link) or reopen it only after packing it.
extension WorkingCopy {
    /// A new spool in the work directory (starting the session if needed), in a file a
    /// packed spool left, already named for it, when there is one. Takes no lock a change
    /// holds: a file's create never waits for another file's pack.
    package func makeSpool(seed: (any SpoolSeed)? = nil) throws(StagingError) -> Spool {
        _ = try startedSession()
        let spool: Spool
        if let named = spoolFiles.takeNamed() {
            spool = try Spool(reusing: named, seed: seed, reserve: spoolFiles)
        } else {
            let id = spoolIDs.take()
            spool = try Spool(path: directory.spoolPath(id), id: id, seed: seed, reserve: spoolFiles)
        }
        let registered = files.withLock { (files) -> Bool in
            // A commit since the start dropped the open spools; this one would outlive it.
            guard files.session != nil else { return false }
            files.openSpools[spool.id] = spool
            return true
        }
        guard registered else {
            spool.remove()
            throw StagingError(EROFS, "\(directory.container): session already committed")
        }
        return spool
    }

    /// The file at `path` was closed (or fsync'ed): seals the spool and records it, so a
    /// crash from now on cannot lose it. Pack it next (now or later); the dataset gets
    /// `attributes` then (recorded now too, so a recovery that packs it keeps them).
    package func closeFile(_ spool: Spool, at path: H5Path, attributes: [NamedValue] = []) throws(StagingError) {
        try spool.seal()
        let session = try startedSession()
        let records: [JournalRecord] = [.fileClosed(spool: spool.id, path: path, size: spool.size)]
            + attributes.map { .fileAttribute(spool: spool.id, name: $0.name, value: $0.value) }
        try files.withLock { (files) throws(StagingError) in
            try requireCurrent(session, files)
            try appendRecords(records, session)
            files.openSpools[spool.id] = nil
            files.closedSpools[spool.id] = (spool, path, attributes)
        }
    }

    /// Throws unless `session` is still the one spool operations use (a commit since it was
    /// looked up has taken it away, so a record now would never be packed), and the journal
    /// still takes records. Caller holds `files`.
    private func requireCurrent(_ session: Session, _ files: Files) throws(StagingError) {
        guard files.session === session else {
            throw StagingError(EROFS, "\(directory.container): session already committed")
        }
        try requireJournal()
    }

    /// A closed, unpacked file was renamed to `path` (its spool goes with it).
    package func moveUnpacked(_ spool: Spool, to path: H5Path) throws(StagingError) {
        let session = try startedSession()
        try files.withLock { (files) throws(StagingError) in
            guard files.closedSpools[spool.id] != nil else {
                throw StagingError(EINVAL, "spool \(spool.id) is not a closed, unpacked file")
            }
            try requireCurrent(session, files)
            try appendRecords([.spoolMoved(spool: spool.id, to: path)], session)
            files.closedSpools[spool.id]?.path = path
        }
    }

    /// The file's content will never be packed (deleted, or truncated away on a new open):
    /// forgets and deletes the spool.
    package func dropSpool(_ spool: Spool) throws(StagingError) {
        try files.withLock { (files) throws(StagingError) in
            if files.closedSpools[spool.id] != nil, let session = files.session {
                try appendRecords([.spoolDropped(spool: spool.id)], session)
            }
            files.closedSpools[spool.id] = nil
            files.openSpools[spool.id] = nil
        }
        spool.remove()
    }

    /// Packs a closed file into a dataset linked at `path` (default: the path it was closed
    /// at, following renames since), replacing any link there; then deletes the spool.
    /// Closes the file first if `closeFile` was not called. Safe to call from several
    /// threads for different files at once.
    @discardableResult
    package func packFile(_ spool: Spool, at path: H5Path? = nil) throws(StagingError) -> PackResult {
        if !spool.isSealed {
            guard let path else { throw StagingError(EINVAL, "spool \(spool.id): close it at a path first") }
            try closeFile(spool, at: path)
        }
        let session = try startedSession()
        let (token, target, attributes) = try files.withLock {
            (files) throws(StagingError) -> (UInt64, H5Path, [NamedValue]) in
            guard let entry = files.closedSpools[spool.id] else {
                throw StagingError(EINVAL, "spool \(spool.id) is not a closed, unpacked file")
            }
            let token = files.nextToken
            files.nextToken += 1
            files.activePacks += 1
            return (token, path ?? entry.path, entry.attributes)
        }
        defer { files.withLock { $0.activePacks -= 1 } }
        let layout = packer.layout(forSize: spool.size)
        let result: PackResult
        if layout.chunkCount <= 1 {
            result = try packSingle(spool, layout, token, target, attributes, session)
        } else {
            result = try packStreaming(spool, layout, token, target, attributes, session)
        }
        spool.remove()
        return result
    }

    /// One chunk: encode here; create the unlinked dataset with its chunk (the HDF5 gate
    /// only); then link and record under the state lock, held only for the link (changes
    /// wait for it; the writer's next create and close do not).
    private func packSingle(_ spool: Spool, _ layout: ByteDatasetLayout, _ token: UInt64, _ path: H5Path,
                            _ attributes: [NamedValue], _ session: Session) throws(StagingError) -> PackResult {
        let packed = try packer.encodeSingle(spool, layout)
        let chunks = packed.map { [$0.chunk] } ?? []
        let writer = session.writer
        let (pending, locations) = try store { () throws(StoreError) -> (PendingDataset, [ChunkLocation]) in
            try writer.beginByteDataset(layout: layout, writing: chunks)
        }
        do throws(StagingError) {
            // The pack's records go into the journal in one append with its link: one write
            // per file. Until then the journal knows only the closed spool, which is what a
            // crash before the link needs (recovery packs the file from it).
            var records: [JournalRecord] = [.packBegin(token: token, spool: spool.id, layout: layout)]
            if let packed, let location = locations.first {
                records.append(.packChunk(token: token, index: 0, offset: location.offset, size: location.size,
                                          checksum: packed.checksum))
            }
            let linked = try linkPack(pending, of: spool, token: token, at: path, attributes, session, after: records)
            return PackResult(layout: layout, chunksWritten: chunks.count, storedBytes: UInt64(packed?.chunk.bytes.count ?? 0),
                              linked: linked)
        } catch {
            writer.abandon(pending)
            try? session.journal.append([.packAbandon(token: token)])
            throw error
        }
    }

    /// Many chunks: an unlinked dataset filled by the pipeline, linked at the end.
    private func packStreaming(_ spool: Spool, _ layout: ByteDatasetLayout, _ token: UInt64, _ path: H5Path,
                               _ attributes: [NamedValue], _ session: Session) throws(StagingError) -> PackResult {
        let writer = session.writer
        let pending = try store { () throws(StoreError) -> PendingDataset in try writer.beginByteDataset(layout: layout) }
        var result = PackResult(layout: layout, chunksWritten: 0, storedBytes: 0)
        do throws(StagingError) {
            // The dataset has no link yet: its records need not be ordered with other changes.
            try session.journal.append([.packBegin(token: token, spool: spool.id, layout: layout)])
            try packer.encodeChunks(of: spool, layout: layout) { (batch) throws(StagingError) in
                let locations = try store { () throws(StoreError) -> [ChunkLocation] in
                    try writer.writeChunks(batch.map(\.chunk), to: pending)
                }
                try session.journal.append(zip(batch, locations).map { packed, location in
                    .packChunk(token: token, index: packed.chunk.index, offset: location.offset, size: location.size,
                               checksum: packed.checksum)
                })
                result.chunksWritten += batch.count
                result.storedBytes += batch.reduce(0) { $0 + UInt64($1.chunk.bytes.count) }
            }
            result.linked = try linkPack(pending, of: spool, token: token, at: path, attributes, session)
            return result
        } catch {
            writer.abandon(pending)
            try? session.journal.append([.packAbandon(token: token)])
            throw error
        }
    }

    /// The one step of a pack ordered with other changes: links the filled dataset at `path`
    /// (with its attributes) and records it, under the state lock; the spool is then packed.
    /// `earlier` (the pack's own records not yet appended) goes into the same append.
    private func linkPack(_ pending: PendingDataset, of spool: Spool, token: UInt64, at path: H5Path,
                          _ attributes: [NamedValue], _ session: Session,
                          after earlier: [JournalRecord] = []) throws(StagingError) -> LinkedDataset {
        try state.withLock { (state) throws(StagingError) -> LinkedDataset in
            try requireJournal()
            let linked = try store { () throws(StoreError) -> LinkedDataset in
                try session.writer.link(pending, at: path, replacing: true, attributes: attributes)
            }
            try files.withLock { (files) throws(StagingError) in
                try appendRecords(earlier + [.packLink(token: token, path: path, replacing: true)]
                                  + Self.attributeRecords(attributes, at: path), session)
                files.closedSpools[spool.id] = nil
            }
            state.filesStored += 1
            return linked
        }
    }

    /// A pack's attributes as the journal replays them: set on the linked dataset.
    private static func attributeRecords(_ attributes: [NamedValue], at path: H5Path) -> [JournalRecord] {
        attributes.map { .setAttribute(path, name: $0.name, value: $0.value) }
    }

    /// Whether a file of `size` bytes is packed as one chunk (encoded on the calling thread).
    package func packsInOneChunk(size: UInt64) -> Bool { packer.layout(forSize: size).chunkCount <= 1 }

    /// Packs every closed file still waiting (commit does this first). Returns how many.
    /// `progress` hears `.packing` before the first and after each file.
    @discardableResult
    package func packAllClosed(reporting progress: CommitProgressSink = { _ in }) throws(StagingError) -> Int {
        let waiting = files.withLock { files in files.closedSpools.values.map(\.spool).sorted { $0.id < $1.id } }
        guard !waiting.isEmpty else { return 0 }
        var report = CommitProgress(.packing, total: waiting.reduce(0) { $0 + $1.size }, filesTotal: waiting.count)
        progress(report)
        for spool in waiting {
            try packFile(spool)
            report.done += spool.size
            report.files += 1
            progress(report)
        }
        return waiting.count
    }
}
