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
    /// A new spool in the work directory (starting the session if needed).
    package func makeSpool(seed: (any SpoolSeed)? = nil) throws(StagingError) -> Spool {
        try state.withLock { (state) throws(StagingError) -> Spool in
            _ = try startedLocked(&state)
            let id = state.nextSpool
            state.nextSpool += 1
            let spool = try Spool(path: directory.spoolPath(id), id: id, seed: seed, reserve: spoolFiles)
            state.openSpools[id] = spool
            return spool
        }
    }

    /// The file at `path` was closed (or fsync'ed): seals the spool and records it, so a
    /// crash from now on cannot lose it. Pack it next (now or later); the dataset gets
    /// `attributes` then (recorded now too, so a recovery that packs it keeps them).
    package func closeFile(_ spool: Spool, at path: H5Path, attributes: [NamedValue] = []) throws(StagingError) {
        try spool.seal()
        try state.withLock { (state) throws(StagingError) in
            let session = try startedLocked(&state)
            let records: [JournalRecord] = [.fileClosed(spool: spool.id, path: path, size: spool.size)]
                + attributes.map { .fileAttribute(spool: spool.id, name: $0.name, value: $0.value) }
            try appendRecords(records, session, &state)
            state.openSpools[spool.id] = nil
            state.closedSpools[spool.id] = (spool, path, attributes)
        }
    }

    /// A closed, unpacked file was renamed to `path` (its spool goes with it).
    package func moveUnpacked(_ spool: Spool, to path: H5Path) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            let session = try startedLocked(&state)
            guard state.closedSpools[spool.id] != nil else {
                throw StagingError(EINVAL, "spool \(spool.id) is not a closed, unpacked file")
            }
            try appendRecords([.spoolMoved(spool: spool.id, to: path)], session, &state)
            state.closedSpools[spool.id]?.path = path
        }
    }

    /// The file's content will never be packed (deleted, or truncated away on a new open):
    /// forgets and deletes the spool.
    package func dropSpool(_ spool: Spool) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            if state.closedSpools[spool.id] != nil, let session = state.session {
                try appendRecords([.spoolDropped(spool: spool.id)], session, &state)
            }
            state.closedSpools[spool.id] = nil
            state.openSpools[spool.id] = nil
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
        let (session, token, target, attributes) = try state.withLock {
            (state) throws(StagingError) -> (Session, UInt64, H5Path, [NamedValue]) in
            let session = try startedLocked(&state)
            guard let entry = state.closedSpools[spool.id] else {
                throw StagingError(EINVAL, "spool \(spool.id) is not a closed, unpacked file")
            }
            let token = state.nextToken
            state.nextToken += 1
            state.activePacks += 1
            return (session, token, path ?? entry.path, entry.attributes)
        }
        defer { state.withLock { $0.activePacks -= 1 } }
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
    /// only); then link and record under the state lock. The lock is held only for the link,
    /// so the writer's next create and close (which need it) wait as little as they can.
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
            try linkPack(pending, of: spool, token: token, at: path, attributes, session, after: records)
        } catch {
            writer.abandon(pending)
            try? session.journal.append([.packAbandon(token: token)])
            throw error
        }
        return PackResult(layout: layout, chunksWritten: chunks.count, storedBytes: UInt64(packed?.chunk.bytes.count ?? 0))
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
            try linkPack(pending, of: spool, token: token, at: path, attributes, session)
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
                          after earlier: [JournalRecord] = []) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            if let failure = state.journalFailure { throw failure }
            try store { () throws(StoreError) in
                try session.writer.link(pending, at: path, replacing: true, attributes: attributes)
            }
            try appendRecords(earlier + [.packLink(token: token, path: path, replacing: true)]
                              + Self.attributeRecords(attributes, at: path), session, &state)
            state.closedSpools[spool.id] = nil
            state.filesStored += 1
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
        let waiting = state.withLock { state in state.closedSpools.values.map(\.spool).sorted { $0.id < $1.id } }
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
