import CHDF5
import H5Model

/// What a dataset creation property list says: layout, filters, fill value,
/// virtual mappings. Caller holds the gate.
enum CreationProperties {
    static func layout(_ dataset: hid_t, _ dcpl: hid_t) throws(StoreError) -> StorageLayout {
        switch H5Pget_layout(dcpl) {
        case H5D_COMPACT:
            return .compact
        case H5D_CONTIGUOUS:
            // External raw files: the data is not in this file at all.
            if H5Pget_external_count(dcpl) > 0 { return .contiguous(offset: nil) }
            let offset = H5Dget_offset(dataset)
            if offset == h5m_haddr_undef() { _ = ErrorStack.read() }
            return .contiguous(offset: offset == h5m_haddr_undef() ? nil : UInt64(offset))
        case H5D_CHUNKED:
            let rank = try check(H5Pget_chunk(dcpl, 0, nil), .unreadable, "chunk rank")
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            try check(H5Pget_chunk(dcpl, rank, &dims), .unreadable, "chunk shape")
            return .chunked(chunkShape: dims)
        case H5D_VIRTUAL:
            return .virtual
        default:
            throw ErrorStack.error(.unsupported, "unknown storage layout")
        }
    }

    static func filters(_ dcpl: hid_t) throws(StoreError) -> [FilterSpec] {
        let count = try check(H5Pget_nfilters(dcpl), .unreadable, "filter count")
        var filters: [FilterSpec] = []
        for index in 0..<UInt32(count) {
            var capacity = 16
            while true {
                var flags: UInt32 = 0, config: UInt32 = 0
                var elements = capacity
                var values = [UInt32](repeating: 0, count: capacity)
                var name = [CChar](repeating: 0, count: 257)
                let id = H5Pget_filter2(dcpl, index, &flags, &elements, &values, 256, &name, &config)
                try check(id, .unreadable, "filter \(index)")
                // libhdf5 reports how many values there are; ask again if they did not fit.
                if elements > capacity {
                    capacity = elements
                    continue
                }
                filters.append(FilterSpec(id: id, name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), flags: flags,
                                          clientData: Array(values.prefix(elements))))
                break
            }
        }
        return filters
    }

    /// The fill value as JSON and as stored bytes; (nil, nil) when undefined. `type` is
    /// the dataset's type id (memory form, see `TypeDescription`).
    static func fillValue(_ dcpl: hid_t, type: hid_t, location: hid_t) throws(StoreError) -> (JSONValue?, [UInt8]?) {
        var status = H5D_FILL_VALUE_ERROR
        try check(H5Pfill_value_defined(dcpl, &status), .unreadable, "fill value status")
        guard status == H5D_FILL_VALUE_DEFAULT || status == H5D_FILL_VALUE_USER_DEFINED else { return (nil, nil) }
        let decoder = try ElementDecoder.checked(type: type, location: location, what: "fill value")
        var buffer = [UInt8](repeating: 0, count: decoder.size)
        try check(H5Pget_fill_value(dcpl, type, &buffer), .unreadable, "fill value")
        let json = buffer.withUnsafeBytes { decoder.decodeAll($0, count: 1).first }
        if ElementDecoder.hasVariableParts(decoder.type) {
            let scalar = try Handle(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace")
            _ = H5Dvlen_reclaim(type, scalar.id, h5m_p_default(), &buffer)
        }
        // Pointers, heap ids and addresses are no fill value anyone can use.
        return (json, ElementDecoder.hasMeaningfulBytes(decoder.type) ? buffer : nil)
    }

    static func virtualSources(_ dcpl: hid_t) throws(StoreError) -> [VirtualSource] {
        var count = 0
        try check(H5Pget_virtual_count(dcpl, &count), .unreadable, "virtual mapping count")
        var sources: [VirtualSource] = []
        for index in 0..<count {
            let file = try text { H5Pget_virtual_filename(dcpl, index, $0, $1) }
            let dataset = try text { H5Pget_virtual_dsetname(dcpl, index, $0, $1) }
            let destination = try Handle(H5Pget_virtual_vspace(dcpl, index), H5Sclose, "virtual mapping \(index)")
            let source = try Handle(H5Pget_virtual_srcspace(dcpl, index), H5Sclose, "virtual source \(index)")
            sources.append(VirtualSource(file: file, dataset: dataset,
                                         destination: try Dataspace.selection(destination.id),
                                         source: try Dataspace.selection(source.id)))
        }
        return sources
    }

    /// A string from a libhdf5 getter that returns its length when given no buffer.
    private static func text(_ get: (UnsafeMutablePointer<CChar>?, Int) -> Int) throws(StoreError) -> String {
        let length = get(nil, 0)
        try check(length, .unreadable, "virtual mapping name")
        var buffer = [CChar](repeating: 0, count: length + 1)
        try check(get(&buffer, length + 1), .unreadable, "virtual mapping name")
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
