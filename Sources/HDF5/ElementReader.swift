import CHDF5
import H5Model

/// Reads every element of a dataset or attribute and decodes it to JSON, freeing
/// whatever libhdf5 allocated for variable-length data. Caller holds the gate.
enum ElementReader {
    /// Elements are decoded into values in one piece; beyond this the caller is asking
    /// for something no sidecar or JSON-lines file should hold.
    static let maximumBytes = 1 << 30

    /// `type` is the memory type to read with (the id from `H5Dget_type`/`H5Aget_type`),
    /// `space` the dataspace of the whole object, `location` any id in the file (references),
    /// `read` the actual `H5Dread`/`H5Aread` into the given buffer.
    static func readAll(type: hid_t, space: hid_t, location: hid_t, what: String,
                        read: (UnsafeMutableRawPointer) -> herr_t) throws(StoreError) -> [JSONValue] {
        let count = try Dataspace.elementCount(space)
        let decoder = try ElementDecoder.checked(type: type, location: location, what: what)
        guard count > 0 else { return [] }
        let (total, overflow) = count.multipliedReportingOverflow(by: decoder.size)
        guard !overflow, total <= maximumBytes else {
            throw StoreError(.unsupported, "\(what): \(count) elements are too many to render as values")
        }
        let scratch = ScratchBuffer(count: total)
        try check(read(scratch.pointer), .unreadable, "\(what): read")
        let values = decoder.decodeAll(UnsafeRawBufferPointer(scratch.bytes), count: count)
        if ElementDecoder.hasVariableParts(decoder.type) {
            _ = H5Dvlen_reclaim(type, space, h5m_p_default(), scratch.pointer)
        }
        return values
    }
}

/// Zeroed scratch memory for one read, freed when it goes out of scope.
struct ScratchBuffer: ~Copyable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: pointer, count: count) }

    init(count: Int) {
        self.count = count
        pointer = .allocate(byteCount: max(count, 1), alignment: 16)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}
