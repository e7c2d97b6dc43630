import CHDF5
import H5Model

/// Data: chunk locations, raw blocks, strings and JSON elements.
extension HDF5Container {
    package func chunkLocations(dataset path: H5Path, chunks: [[UInt64]]) throws(StoreError) -> [ChunkLocation?] {
        try contained(.init(.read, path), remember: false) { () throws(StoreError) -> [ChunkLocation?] in
            // One open per call; each lookup walks the chunk index by coordinate (no O(N²) scan).
            let dataset = try openDataset(path)
            let dcpl = try Handle(H5Dget_create_plist(dataset.id), H5Pclose, "\(path): creation properties")
            guard case .chunked(let chunkShape) = try CreationProperties.layout(dataset.id, dcpl.id) else {
                throw StoreError(.invalidArgument, "\(path): not a chunked dataset")
            }
            // libhdf5 1.10 reports chunk addresses relative to the end of the user block;
            // callers pread the file, so make them absolute.
            let base = try userBlockSize()
            var locations: [ChunkLocation?] = []
            locations.reserveCapacity(chunks.count)
            for origin in chunks {
                guard origin.count == chunkShape.count else {
                    throw StoreError(.invalidArgument, "\(path): chunk origin \(origin) has the wrong rank")
                }
                var mask: UInt32 = 0
                var address: haddr_t = 0
                var size: hsize_t = 0
                try check(H5Dget_chunk_info_by_coord(dataset.id, origin, &mask, &address, &size),
                          .invalidArgument, "\(path): chunk at \(origin)")
                locations.append(address == h5m_haddr_undef() ? nil
                                 : ChunkLocation(offset: UInt64(address) + base, size: size, filterMask: mask))
            }
            return locations
        }
    }

    /// Size of the file's user block (0 for most files). Caller holds the gate.
    func userBlockSize() throws(StoreError) -> UInt64 {
        let creation = try Handle(H5Fget_create_plist(fileID), H5Pclose, "\(filePath): file creation properties")
        var size: hsize_t = 0
        try check(H5Pget_userblock(creation.id, &size), .unreadable, "\(filePath): user block")
        return UInt64(size)
    }

    package func readBlock(dataset path: H5Path, start: [UInt64], count: [UInt64],
                           into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        // The trial reads into memory of its own: the caller's buffer may be a tile mapping
        // the child does not have (BufferPool maps tiles MADV_DONTFORK).
        let trial = { () -> Void in
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, buffer.count), alignment: 64)
            _ = try? self.readBlockLocked(path, start: start, count: count,
                                          into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<buffer.count]))
        }
        try contained(.init(.read, path), remember: false, trial: trial) { () throws(StoreError) in
            try readBlockLocked(path, start: start, count: count, into: buffer)
        }
    }

    /// Caller holds the gate.
    private func readBlockLocked(_ path: H5Path, start: [UInt64], count: [UInt64],
                                 into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        let dataset = try openDataset(path)
        // H5Dget_type is a copy of the file type: bytes come back as stored
        // (same byte order, same compound offsets), no conversion.
        let type = try Handle(H5Dget_type(dataset.id), H5Tclose, "\(path): datatype")
        if ElementDecoder.hasVariableParts(try TypeDescription.describe(type.id)) {
            throw StoreError(.invalidArgument, "\(path): variable-length data has no raw form")
        }
        let space = try Handle(H5Dget_space(dataset.id), H5Sclose, "\(path): dataspace")
        guard let shape = try Dataspace.extent(space.id).shape else {
            guard start.isEmpty, count.isEmpty, buffer.isEmpty else {
                throw StoreError(.invalidArgument, "\(path): null dataspace has no elements")
            }
            return
        }
        let total = try blockSize(path, shape: shape, start: start, count: count,
                                  elementSize: H5Tget_size(type.id))
        guard buffer.count == total else {
            throw StoreError(.invalidArgument, "\(path): buffer holds \(buffer.count) bytes, block is \(total)")
        }
        guard total > 0, let destination = buffer.baseAddress else { return }
        try checkStoredInsideFile(dataset.id, path, start: shape.isEmpty ? nil : start, count: shape.isEmpty ? nil : count)
        if shape.isEmpty {
            try check(H5Dread(dataset.id, type.id, h5m_s_all(), h5m_s_all(), h5m_p_default(), destination),
                      .unreadable, "\(path): read")
            return
        }
        try check(H5Sselect_hyperslab(space.id, H5S_SELECT_SET, start, nil, count, nil),
                  .invalidArgument, "\(path): select block")
        let memory = try Handle(H5Screate_simple(Int32(count.count), count, nil), H5Sclose, "\(path): block")
        try check(H5Dread(dataset.id, type.id, memory.id, space.id, h5m_p_default(), destination),
                  .unreadable, "\(path): read block \(start) + \(count)")
    }

    /// Bytes of the block, after checking it lies inside the extent.
    private func blockSize(_ path: H5Path, shape: [UInt64], start: [UInt64], count: [UInt64],
                           elementSize: Int) throws(StoreError) -> Int {
        guard start.count == shape.count, count.count == shape.count else {
            throw StoreError(.invalidArgument, "\(path): block rank differs from rank \(shape.count)")
        }
        var total = UInt64(elementSize)
        for axis in shape.indices {
            let (end, overflow) = start[axis].addingReportingOverflow(count[axis])
            guard !overflow, end <= shape[axis] else {
                throw StoreError(.invalidArgument, "\(path): block \(start) + \(count) outside shape \(shape)")
            }
            let (product, tooBig) = total.multipliedReportingOverflow(by: count[axis])
            guard !tooBig, product <= UInt64(Int.max) else { throw StoreError(.invalidArgument, "\(path): block too large") }
            total = product
        }
        return Int(total)
    }

    package func readStrings(dataset path: H5Path) throws(StoreError) -> [String] {
        try contained(.init(.read, path)) { () throws(StoreError) -> [String] in try readStringsLocked(path) }
    }

    /// Caller holds the gate.
    func readStringsLocked(_ path: H5Path) throws(StoreError) -> [String] {
        let dataset = try openDataset(path)
        let type = try Handle(H5Dget_type(dataset.id), H5Tclose, "\(path): datatype")
        switch try TypeDescription.describe(type.id) {
        case .fixedString, .variableString: break
        default: throw StoreError(.invalidArgument, "\(path): not a string dataset")
        }
        return try readElements(dataset.id, type: type.id, path).map { value -> String in
            if case .string(let text) = value { return text }
            return ""
        }
    }

    package func readJSONElements(dataset path: H5Path) throws(StoreError) -> [JSONValue] {
        try contained(.init(.read, path)) { () throws(StoreError) -> [JSONValue] in try readJSONElementsLocked(path) }
    }

    /// Caller holds the gate.
    func readJSONElementsLocked(_ path: H5Path) throws(StoreError) -> [JSONValue] {
        let dataset = try openDataset(path)
        let type = try Handle(H5Dget_type(dataset.id), H5Tclose, "\(path): datatype")
        return try readElements(dataset.id, type: type.id, path)
    }

    /// Every element of a dataset, decoded. Caller holds the gate.
    private func readElements(_ dataset: hid_t, type: hid_t, _ path: H5Path) throws(StoreError) -> [JSONValue] {
        try checkStoredInsideFile(dataset, path)
        let space = try Handle(H5Dget_space(dataset), H5Sclose, "\(path): dataspace")
        return try ElementReader.readAll(type: type, space: space.id, location: dataset, what: "\(path)") {
            H5Dread(dataset, type, h5m_s_all(), h5m_s_all(), h5m_p_default(), $0)
        }
    }
}
