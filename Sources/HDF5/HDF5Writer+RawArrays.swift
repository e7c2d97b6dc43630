import CHDF5
import H5Model

/// A typed dataset open for writing its raw-array file (DESIGN.md §2): elements are
/// written as stored bytes (the dataset's own file type is the memory type, so nothing is
/// converted: compound, enum, array, big-endian and float16 elements go in as they are).
/// The dataset stays open between calls, so libhdf5's chunk cache (sized at `begin` to
/// hold a slab of chunks) keeps partly written chunks until they are complete, and each
/// chunk goes through the filter pipeline about once per write, not once per piece.
package struct RawArrayTarget: Sendable, Hashable {
    package let token: UInt64
    package let path: H5Path
    package let elementSize: Int
    /// The current extent ([] for a scalar); `setRawExtent` changes the first dimension.
    package fileprivate(set) var shape: [UInt64]
    /// Same rank; nil entries are unlimited.
    package let maxShape: [UInt64?]
    /// One stored element of the fill value (zeros when the dataset has none).
    package let fillElement: [UInt8]
    /// Bytes of the chunks that one row of chunks along the first dimension spans (the
    /// chunk cache holds about two of them); the whole array for other layouts.
    package let slabBytes: UInt64

    package var elementCount: UInt64 { shape.reduce(1, *) }
}

/// Why a dataset's raw-array file cannot be written.
package enum RawWriteRefusal: Sendable, Hashable, CustomStringConvertible {
    case virtual
    case externalStorage
    case noFixedSize
    /// A filter of the pipeline that libhdf5 cannot encode with (plugin missing): the name.
    case filterUnavailable(String)

    package var description: String {
        switch self {
        case .virtual: return "a virtual dataset has no storage of its own"
        case .externalStorage: return "its data lives in external raw files"
        case .noFixedSize: return "its elements have no fixed-size raw form"
        case .filterUnavailable(let name):
            return "libhdf5 cannot apply its filter \(name) (load the filter plugin with HDF5_PLUGIN_PATH)"
        }
    }
}

extension HDF5Writer {
    /// Why the dataset at `path` cannot take raw writes; nil when it can.
    package func rawWriteRefusal(at path: H5Path) throws(StoreError) -> RawWriteRefusal? {
        try withFile { (file) throws(StoreError) -> RawWriteRefusal? in
            let dataset = try Self.openRawDataset(file, path, access: h5m_p_default())
            return try Self.refusal(dataset.id, path)
        }
    }

    /// Opens the dataset for raw writes (refused as `.unsupported` for the reasons of
    /// `rawWriteRefusal`). End with `finishRawWrite`.
    package func beginRawWrite(at path: H5Path) throws(StoreError) -> RawArrayTarget {
        try withFile { (file) throws(StoreError) -> RawArrayTarget in
            let probe = try Self.openRawDataset(file, path, access: h5m_p_default())
            if let refusal = try Self.refusal(probe.id, path) {
                throw StoreError(.unsupported, "\(path): cannot write: \(refusal)")
            }
            let type = try Handle(H5Dget_type(probe.id), H5Tclose, "\(path): datatype")
            let space = try Handle(H5Dget_space(probe.id), H5Sclose, "\(path): dataspace")
            let dcpl = try Handle(H5Dget_create_plist(probe.id), H5Pclose, "\(path): creation properties")
            let extent = try Dataspace.extent(space.id)
            guard let shape = extent.shape else { throw StoreError(.invalidArgument, "\(path): null dataspace") }
            let elementSize = H5Tget_size(type.id)
            var fill = [UInt8](repeating: 0, count: elementSize)
            var status = H5D_FILL_VALUE_ERROR
            if H5Pfill_value_defined(dcpl.id, &status) >= 0, status == H5D_FILL_VALUE_DEFAULT || status == H5D_FILL_VALUE_USER_DEFINED {
                // Into the file type itself: the fill value as stored bytes.
                if H5Pget_fill_value(dcpl.id, type.id, &fill) < 0 {
                    _ = ErrorStack.read()
                    fill = [UInt8](repeating: 0, count: elementSize)
                }
            }
            let slab = try Self.slabBytes(probe.id, dcpl.id, shape: shape, elementSize: elementSize)
            let access = try Handle(H5Pcreate(h5m_p_dataset_access()), H5Pclose, "dataset access list")
            // Two slabs plus a chunk: a sequential writer completes one row of chunks while
            // starting the next. w0 = 1: evict fully written chunks first.
            let cacheBytes = min(max(2 * slab, 1 << 20), 256 << 20)
            try check(H5Pset_chunk_cache(access.id, 100_003, Int(cacheBytes), 1.0), .invalidArgument,
                      "\(path): chunk cache")
            let dataset = try Self.openRawDataset(file, path, access: access.id).release()
            let token = state.withLock { state in
                let token = state.nextPending
                state.nextPending += 1
                state.rawArrays[token] = dataset
                return token
            }
            return RawArrayTarget(token: token, path: path, elementSize: elementSize, shape: shape,
                                  maxShape: extent.maxShape ?? shape.map { $0 }, fillElement: fill, slabBytes: slab)
        }
    }

    /// Sets the first dimension (grow or shrink; libhdf5 fills new elements with the fill value).
    package func setRawExtent(_ target: inout RawArrayTarget, firstDimension: UInt64) throws(StoreError) {
        var dims = target.shape
        guard !dims.isEmpty else {
            throw StoreError(.invalidArgument, "\(target.path): a scalar has no extent to change")
        }
        if let limit = target.maxShape[0], firstDimension > limit {
            throw StoreError(.invalidArgument, "\(target.path): \(firstDimension) rows exceed the maximum \(limit)")
        }
        dims[0] = firstDimension
        try withFile { (_) throws(StoreError) in
            let dataset = try rawDataset(target)
            try check(H5Dset_extent(dataset, dims), .invalidArgument, "\(target.path): set extent to \(dims)")
        }
        target.shape = dims
    }

    /// Writes stored bytes of elements `firstElement ..< firstElement + bytes.count / elementSize`.
    package func writeRaw(_ target: RawArrayTarget, firstElement: UInt64, bytes: UnsafeRawBufferPointer) throws(StoreError) {
        try transfer(target, firstElement: firstElement, byteCount: bytes.count, what: "write") { dataset, type, memory, file, offset in
            H5Dwrite(dataset, type, memory, file, h5m_p_default(), bytes.baseAddress! + offset)
        }
    }

    /// Reads stored bytes of elements `firstElement ..< firstElement + buffer.count / elementSize`.
    package func readRaw(_ target: RawArrayTarget, firstElement: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        try transfer(target, firstElement: firstElement, byteCount: buffer.count, what: "read") { dataset, type, memory, file, offset in
            H5Dread(dataset, type, memory, file, h5m_p_default(), buffer.baseAddress! + offset)
        }
    }

    /// Closes the dataset (its chunk cache is written out, through the filters) and writes
    /// the file's metadata to it, so a reader walking the chunk index in the file itself
    /// (the chunk engine's native index) finds the chunks where they are now.
    package func finishRawWrite(_ target: RawArrayTarget) throws(StoreError) {
        try withFile { (file) throws(StoreError) in
            guard let dataset = state.withLock({ $0.rawArrays.removeValue(forKey: target.token) }) else { return }
            try check(H5Dclose(dataset), .unreadable, "\(target.path): write chunks")
            try check(H5Fflush(file, H5F_SCOPE_LOCAL), .unreadable, "\(filePath): flush")
        }
    }

    /// One transfer (read or write) of a run of elements, block by block (`FlatRange`).
    private func transfer(_ target: RawArrayTarget, firstElement: UInt64, byteCount: Int, what: String,
                          _ move: (hid_t, hid_t, hid_t, hid_t, Int) -> herr_t) throws(StoreError) {
        guard byteCount > 0 else { return }
        guard byteCount % target.elementSize == 0 else {
            throw StoreError(.invalidArgument, "\(target.path): \(byteCount) bytes are not whole elements")
        }
        let count = UInt64(byteCount / target.elementSize)
        guard firstElement + count <= target.elementCount else {
            throw StoreError(.invalidArgument, "\(target.path): elements \(firstElement)+\(count) outside \(target.shape)")
        }
        try withFile { (_) throws(StoreError) in
            let dataset = try rawDataset(target)
            let type = try Handle(H5Dget_type(dataset), H5Tclose, "\(target.path): datatype")
            if target.shape.isEmpty {
                try check(move(dataset, type.id, h5m_s_all(), h5m_s_all(), 0), .unreadable, "\(target.path): \(what)")
                return
            }
            var offset = 0
            for block in FlatRange.blocks(shape: target.shape, first: firstElement, count: count) {
                let file = try Handle(H5Dget_space(dataset), H5Sclose, "\(target.path): dataspace")
                try check(H5Sselect_hyperslab(file.id, H5S_SELECT_SET, block.start, nil, block.count, nil),
                          .invalidArgument, "\(target.path): select \(block)")
                // The memory space has the block's own shape (same bytes as a flat run): with
                // the same shape on both sides libhdf5 maps the selection chunk by chunk, not
                // element by element (measured: the 1-D form spent most of a write there).
                let memory = try Handle(H5Screate_simple(Int32(block.count.count), block.count, nil), H5Sclose,
                                        "\(target.path): memory space")
                try check(move(dataset, type.id, memory.id, file.id, offset), .unreadable,
                          "\(target.path): \(what) \(block)")
                offset += Int(block.elementCount) * target.elementSize
            }
        }
    }

    /// The open dataset of a target. Caller holds the gate.
    private func rawDataset(_ target: RawArrayTarget) throws(StoreError) -> hid_t {
        guard let dataset = state.withLock({ $0.rawArrays[target.token] }) else {
            throw StoreError(.invalidArgument, "\(target.path): raw write \(target.token) is finished")
        }
        return dataset
    }

    /// Caller holds the gate.
    private static func openRawDataset(_ file: hid_t, _ path: H5Path, access: hid_t) throws(StoreError) -> Handle {
        let bytes = try LinkPaths.bytePath(path, in: file)
        var info = H5O_info_t()
        try check(H5Oget_info_by_name2(file, bytes, &info, UInt32(H5O_INFO_BASIC), h5m_p_default()), .notFound,
                  "\(path): dataset")
        guard info.type == H5O_TYPE_DATASET else { throw StoreError(.invalidArgument, "\(path): not a dataset") }
        return try Handle(H5Dopen2(file, bytes, access), H5Dclose, "\(path): open dataset")
    }

    /// Caller holds the gate.
    private static func refusal(_ dataset: hid_t, _ path: H5Path) throws(StoreError) -> RawWriteRefusal? {
        let dcpl = try Handle(H5Dget_create_plist(dataset), H5Pclose, "\(path): creation properties")
        let type = try Handle(H5Dget_type(dataset), H5Tclose, "\(path): datatype")
        if ElementDecoder.hasVariableParts(try TypeDescription.describe(type.id)) { return .noFixedSize }
        switch H5Pget_layout(dcpl.id) {
        case H5D_VIRTUAL: return .virtual
        case H5D_CONTIGUOUS where H5Pget_external_count(dcpl.id) > 0: return .externalStorage
        default: break
        }
        for filter in try CreationProperties.filters(dcpl.id) {
            var config: UInt32 = 0
            let available = H5Zfilter_avail(H5Z_filter_t(filter.id)) > 0
                && H5Zget_filter_info(H5Z_filter_t(filter.id), &config) >= 0
                && config & UInt32(H5Z_FILTER_CONFIG_ENCODE_ENABLED) != 0
            if !available {
                _ = ErrorStack.read()
                return .filterUnavailable("\(filter.name.isEmpty ? "filter" : filter.name) (\(filter.id))")
            }
        }
        return nil
    }

    /// See `RawArrayTarget.slabBytes`. Caller holds the gate.
    private static func slabBytes(_ dataset: hid_t, _ dcpl: hid_t, shape: [UInt64], elementSize: Int) throws(StoreError) -> UInt64 {
        let whole = shape.reduce(UInt64(elementSize), *)
        guard case .chunked(let chunk) = try CreationProperties.layout(dataset, dcpl), chunk.count == shape.count,
              !shape.isEmpty else { return whole }
        var bytes = UInt64(elementSize) * chunk[0]
        for axis in 1..<shape.count {
            bytes *= max(1, (shape[axis] + chunk[axis] - 1) / chunk[axis]) * chunk[axis]
        }
        return bytes
    }
}
