import CHDF5
import H5Model

/// A byte dataset being filled chunk by chunk: created without a link (`H5Dcreate_anon`),
/// so it appears in the namespace whole, when `link` is called, and disappears without a
/// trace when abandoned (or when the writer closes first).
package struct PendingDataset: Sendable, Hashable {
    package let token: UInt64
    package let layout: ByteDatasetLayout
}

/// What `link` made: the dataset as `object(at:)` would now describe it, the attributes it
/// was given, and whether a link was replaced (the dataset then also carries the old
/// object's attributes; otherwise `attributes` are all it has).
package struct LinkedDataset: Sendable, Hashable {
    package var info: ObjectInfo
    package var attributes: [NamedValue]
    package var replaced: Bool
}

/// Regular files as 1-D uint8 chunked datasets (see `ByteDatasetLayout`), written with
/// direct chunk write: the chunks arrive already through the filter pipeline (the Staging
/// packer encodes them on all cores, outside the gate), filter mask 0. Chunks that are not
/// given are not allocated and read as the fill value, zeros: holes stay holes.
extension HDF5Writer {
    /// Creates the dataset for `layout`, writes `chunks` and links it at `path`, in one
    /// gated sequence: what the packer does for a file of one chunk. With `replacing`, a
    /// link already at `path` is removed once the new dataset is complete. Returns where
    /// each chunk landed in the file, in the order given. `attributes` are given to the new
    /// dataset before it is linked (no lookup by path, no existence probe).
    @discardableResult
    package func writeByteDataset(at path: H5Path, chunks: [EncodedChunk], layout: ByteDatasetLayout,
                                  replacing: Bool = false, attributes: [NamedValue] = []) throws(StoreError) -> [ChunkLocation] {
        try requireNotRoot(path, "write")
        try Self.validate(chunks, layout)
        return try withFile { (file) throws(StoreError) -> [ChunkLocation] in
            let bytes = try LinkPaths.bytePath(path, in: file)
            if !replacing { try refuseExisting(bytes, file, path) }
            let dataset = try Self.createDataset(file, layout, "\(path)")
            let locations = try Self.write(chunks, to: dataset.id, layout, "\(path)")
            try Self.createAttributes(attributes, on: dataset.id, "\(path)")
            try linkLocked(dataset.id, at: bytes, file, path, replacing: replacing)
            return locations
        }
    }

    /// Creates an unlinked dataset for `layout`; fill it with `writeChunks`, then `link` or `abandon` it.
    package func beginByteDataset(layout: ByteDatasetLayout) throws(StoreError) -> PendingDataset {
        try Self.validate([], layout)
        return try withFile { (file) throws(StoreError) -> PendingDataset in
            // The id now belongs to `state` (closed by link, abandon or close), not to a handle.
            let id = try Self.createDataset(file, layout, "new dataset").release()
            return state.withLock { state in
                let token = state.nextPending
                state.nextPending += 1
                state.pending[token] = PendingEntry(dataset: id, layout: layout)
                return PendingDataset(token: token, layout: layout)
            }
        }
    }

    /// `beginByteDataset` and `writeChunks` in one gated sequence: a pack of one chunk then
    /// needs the gate twice (this, then `link`), and holds nothing else meanwhile.
    package func beginByteDataset(layout: ByteDatasetLayout,
                                  writing chunks: [EncodedChunk]) throws(StoreError) -> (PendingDataset, [ChunkLocation]) {
        try Self.validate(chunks, layout)
        return try withFile { (file) throws(StoreError) -> (PendingDataset, [ChunkLocation]) in
            let dataset = try Self.createDataset(file, layout, "new dataset")
            let locations = try Self.write(chunks, to: dataset.id, layout, "new dataset")
            let id = dataset.release()
            let pending = state.withLock { state in
                let token = state.nextPending
                state.nextPending += 1
                state.pending[token] = PendingEntry(dataset: id, layout: layout)
                return PendingDataset(token: token, layout: layout)
            }
            return (pending, locations)
        }
    }

    /// Writes encoded chunks into a pending dataset (any order; a chunk written twice is
    /// replaced). Returns where each chunk landed in the file, in the order given.
    @discardableResult
    package func writeChunks(_ chunks: [EncodedChunk], to pending: PendingDataset) throws(StoreError) -> [ChunkLocation] {
        try Self.validate(chunks, pending.layout)
        return try withFile { (_) throws(StoreError) -> [ChunkLocation] in
            let dataset = try pendingDataset(pending)
            return try Self.write(chunks, to: dataset, pending.layout, "pending dataset \(pending.token)")
        }
    }

    /// Links a pending dataset at `path` (replacing what is there when `replacing`), giving it
    /// `attributes` first. The pending dataset is used up either way. Returns what was linked,
    /// read from the open dataset (no lookup by path), so a caller can describe it without
    /// reading it back.
    @discardableResult
    package func link(_ pending: PendingDataset, at path: H5Path, replacing: Bool = false,
                      attributes: [NamedValue] = []) throws(StoreError) -> LinkedDataset {
        try requireNotRoot(path, "write")
        return try withFile { (file) throws(StoreError) -> LinkedDataset in
            let id = try pendingDataset(pending)
            state.withLock { _ = $0.pending.removeValue(forKey: pending.token) }
            let dataset = try Handle(id, H5Dclose, "pending dataset")
            let bytes = try LinkPaths.bytePath(path, in: file)
            if !replacing { try refuseExisting(bytes, file, path) }
            try Self.createAttributes(attributes, on: dataset.id, "\(path)")
            let replaced = try linkLocked(dataset.id, at: bytes, file, path, replacing: replacing)
            var info = H5O_info_t()
            try check(H5Oget_info2(dataset.id, &info, ObjectInfo.fields), .unreadable, "\(path): linked dataset")
            return LinkedDataset(info: ObjectInfo(info), attributes: attributes, replaced: replaced)
        }
    }

    /// Drops a pending dataset; its space goes back to the file. Unknown tokens are ignored.
    package func abandon(_ pending: PendingDataset) {
        try? withFile { _ in
            if let entry = state.withLock({ $0.pending.removeValue(forKey: pending.token) }) {
                _ = H5Dclose(entry.dataset)
            }
        }
    }

    /// The dataset id of a pending dataset. Caller holds the gate.
    private func pendingDataset(_ pending: PendingDataset) throws(StoreError) -> hid_t {
        guard let entry = state.withLock({ $0.pending[pending.token] }) else {
            throw StoreError(.invalidArgument, "pending dataset \(pending.token) is unknown or already linked")
        }
        return entry.dataset
    }

    /// Links `dataset` at `bytes`, first removing an existing link when `replacing` (the new
    /// dataset takes over the old object's attributes: a rewritten file keeps them). Caller holds the gate.
    /// Returns whether a link was replaced.
    @discardableResult
    private func linkLocked(_ dataset: hid_t, at bytes: [CChar], _ file: hid_t, _ path: H5Path,
                            replacing: Bool) throws(StoreError) -> Bool {
        var replaced = false
        if replacing, try exists(bytes, file) {
            try AttributeCopy.carryOver(from: bytes, in: file, to: dataset, path)
            try check(H5Ldelete(file, bytes, h5m_p_default()), .invalidArgument, "\(path): replace")
            replaced = true
        }
        let links = try Self.linkCreationList()
        try check(H5Olink(dataset, file, bytes, links.id, h5m_p_default()), .invalidArgument, "\(path): link dataset")
        return replaced
    }

    /// Refuses chunks that do not fit the layout, before anything is written.
    private static func validate(_ chunks: [EncodedChunk], _ layout: ByteDatasetLayout) throws(StoreError) {
        guard layout.chunkSize >= 1, layout.chunkSize <= ByteDatasetLayout.chunkSizeLimit else {
            throw StoreError(.invalidArgument, "chunk size \(layout.chunkSize) out of range")
        }
        guard layout.extendable || layout.logicalSize >= UInt64(layout.chunkSize) else {
            throw StoreError(.invalidArgument, "a fixed-size dataset needs at least one whole chunk")
        }
        if case .gzip(let level) = layout.compression, !(0...9).contains(level) {
            throw StoreError(.invalidArgument, "gzip level \(level) out of range 0...9")
        }
        let count = layout.chunkCount
        for chunk in chunks {
            guard chunk.index >= 0, chunk.index < count else {
                throw StoreError(.invalidArgument, "chunk \(chunk.index) outside a dataset of \(count) chunks")
            }
            guard !chunk.bytes.isEmpty, chunk.bytes.count <= Int(UInt32.max) else {
                throw StoreError(.invalidArgument, "chunk \(chunk.index) has \(chunk.bytes.count) bytes")
            }
            if layout.compression == .none, chunk.bytes.count != layout.chunkSize {
                throw StoreError(.invalidArgument,
                                 "unfiltered chunk \(chunk.index) has \(chunk.bytes.count) bytes, not \(layout.chunkSize)")
            }
        }
    }

    /// An unlinked 1-D uint8 chunked dataset. Caller holds the gate.
    private static func createDataset(_ file: hid_t, _ layout: ByteDatasetLayout, _ what: String) throws(StoreError) -> Handle {
        let dims = [hsize_t(layout.logicalSize)]
        let maxDims = [layout.extendable ? h5m_s_unlimited() : hsize_t(layout.logicalSize)]
        let space = try Handle(H5Screate_simple(1, dims, maxDims), H5Sclose, "\(what): dataspace", kind: .invalidArgument)
        let creation = try creationList(layout, what)
        return try Handle(H5Dcreate_anon(file, h5m_t_std_u8le(), space.id, creation.id, h5m_p_default()),
                          H5Dclose, "\(what): create dataset", kind: .invalidArgument)
    }

    /// Chunk shape, filters, no times, and a header sized for what it holds. Caller holds the gate.
    private static func creationList(_ layout: ByteDatasetLayout, _ what: String) throws(StoreError) -> Handle {
        let creation = try Handle(H5Pcreate(h5m_p_dataset_create()), H5Pclose, "dataset creation list")
        var chunk = [hsize_t(layout.chunkSize)]
        try check(H5Pset_chunk(creation.id, 1, &chunk), .invalidArgument, "\(what): chunk shape")
        // Modification times cost header bytes and make a replayed journal differ; h5mount keeps
        // a file's times in its h5mount.* attributes. The no-attributes hint sizes the header
        // exactly (about 150 bytes less per small file); attributes added later still fit, in a
        // continuation block.
        try check(H5Pset_obj_track_times(creation.id, false), .invalidArgument, "\(what): times")
        try check(H5Pset_dset_no_attrs_hint(creation.id, true), .invalidArgument, "\(what): header hint")
        for spec in layout.compression.filters {
            var values = spec.clientData
            // With the bitshuffle plugin loaded, its set_local callback fills in the first three
            // values itself from the user form [block size, compression]; without it the stored
            // form goes in as is (the filter is optional, so libhdf5 does not insist on it).
            if spec.id == 32008, H5Zfilter_avail(H5Z_filter_t(spec.id)) > 0 {
                values = Array(spec.clientData.suffix(2))
            }
            try check(H5Pset_filter(creation.id, H5Z_filter_t(spec.id), spec.flags, values.count, values),
                      .unsupported, "\(what): filter \(spec.name)")
        }
        return creation
    }

    /// Direct chunk writes, filter mask 0 (every filter applied); then asks the index where
    /// each chunk went (the journal refers to chunks by place). Caller holds the gate.
    private static func write(_ chunks: [EncodedChunk], to dataset: hid_t, _ layout: ByteDatasetLayout,
                              _ what: String) throws(StoreError) -> [ChunkLocation] {
        var locations: [ChunkLocation] = []
        locations.reserveCapacity(chunks.count)
        for chunk in chunks {
            var origin = [hsize_t(UInt64(chunk.index) * UInt64(layout.chunkSize))]
            let status = chunk.bytes.withUnsafeBytes { bytes in
                H5Dwrite_chunk(dataset, h5m_p_default(), 0, &origin, bytes.count, bytes.baseAddress)
            }
            try check(status, .unreadable, "\(what): write chunk \(chunk.index)")
            var mask: UInt32 = 0
            var address: haddr_t = 0
            var size: hsize_t = 0
            try check(H5Dget_chunk_info_by_coord(dataset, &origin, &mask, &address, &size), .unreadable,
                      "\(what): locate chunk \(chunk.index)")
            locations.append(ChunkLocation(offset: UInt64(address), size: size, filterMask: mask))
        }
        return locations
    }
}
