import CHDF5
import Glibc
import H5Model

/// Attributes of any object, in name order, values as JSON (`ElementDecoder` rules).
extension HDF5Container {
    package func attributes(of path: H5Path) throws(StoreError) -> [Attribute] {
        try contained(.init(.attributes, path)) { () throws(StoreError) -> [Attribute] in try attributesLocked(path) }
    }

    /// Caller holds the gate.
    func attributesLocked(_ path: H5Path) throws(StoreError) -> [Attribute] {
        let object = try Handle(H5Oopen(fileID, try bytePath(path), h5m_p_default()), H5Oclose,
                                "\(path): open object")
        var attributes: [Attribute] = []
        for name in try attributeNames(object.id, path) {
            let text = String(decoding: name.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let attribute = try Handle(H5Aopen(object.id, name, h5m_p_default()), H5Aclose,
                                       "\(path): attribute \(text)")
            attributes.append(Attribute(name: text, value: try value(of: attribute.id, in: object.id,
                                                                     what: "\(path): attribute \(text)")))
        }
        return attributes
    }

    /// NUL-terminated attribute names in name (byte) order. Caller holds the gate.
    private func attributeNames(_ object: hid_t, _ path: H5Path) throws(StoreError) -> [[CChar]] {
        var names: [[CChar]] = []
        var index: hsize_t = 0
        let status = withUnsafeMutablePointer(to: &names) { pointer in
            H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, client in
                guard let name, let client else { return -1 }
                let list = client.assumingMemoryBound(to: [[CChar]].self)
                list.pointee.append(Array(UnsafeBufferPointer(start: name, count: strlen(name) + 1)))
                return 0
            }, pointer)
        }
        try check(status, .unreadable, "\(path): list attributes")
        return names
    }

    /// An attribute's value: null for a null dataspace, the bare value for a scalar,
    /// nested arrays otherwise. Caller holds the gate.
    private func value(of attribute: hid_t, in object: hid_t, what: String) throws(StoreError) -> JSONValue {
        let type = try Handle(H5Aget_type(attribute), H5Tclose, "\(what): datatype")
        let space = try Handle(H5Aget_space(attribute), H5Sclose, "\(what): dataspace")
        guard let shape = try Dataspace.extent(space.id).shape else { return .null }
        let values = try ElementReader.readAll(type: type.id, space: space.id, location: object, what: what) {
            H5Aread(attribute, type.id, $0)
        }
        return ElementDecoder.nest(values[...], dims: shape.map { Int($0) })
    }
}
