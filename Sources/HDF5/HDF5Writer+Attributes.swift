import CHDF5
import H5Model

/// Attributes of any object: user attributes from sidecars and xattrs, and the reserved
/// `h5mount.*` ones (mode, owner, times). Values are JSON (see `AttributeEncoding`).
extension HDF5Writer {
    /// Sets attribute `name` of the object at `path` to `value`, replacing any old one
    /// (whatever its type).
    package func setAttribute(of path: H5Path, name: String, value: JSONValue) throws(StoreError) {
        guard !name.isEmpty else { throw StoreError(.invalidArgument, "\(path): empty attribute name") }
        let plan = try AttributeEncoding.plan(value)
        try withFile { (file) throws(StoreError) in
            let object = try LinkPaths.bytePath(path, in: file)
            let present = H5Aexists_by_name(file, object, name, h5m_p_default())
            try check(present, .invalidArgument, "\(path): attribute \(name)")
            if present > 0 {
                try check(H5Adelete_by_name(file, object, name, h5m_p_default()), .invalidArgument,
                          "\(path): replace attribute \(name)")
            }
            try Self.createAttribute(file, object, name, plan, "\(path)")
        }
    }

    /// Removes attribute `name`; `.notFound` when the object has none of that name.
    package func deleteAttribute(of path: H5Path, name: String) throws(StoreError) {
        try withFile { (file) throws(StoreError) in
            let object = try LinkPaths.bytePath(path, in: file)
            let present = H5Aexists_by_name(file, object, name, h5m_p_default())
            try check(present, .invalidArgument, "\(path): attribute \(name)")
            guard present > 0 else { throw StoreError(.notFound, "\(path): no attribute \(name)") }
            try check(H5Adelete_by_name(file, object, name, h5m_p_default()), .invalidArgument,
                      "\(path): delete attribute \(name)")
        }
    }

    /// The attributes of a dataset just created (it has none yet): no lookup by path and no
    /// existence probe, what a packed file's `h5mount.stat` costs. Caller holds the gate.
    static func createAttributes(_ attributes: [NamedValue], on object: hid_t, _ what: String) throws(StoreError) {
        let here: [CChar] = [CChar(UInt8(ascii: ".")), 0]
        for attribute in attributes {
            guard !attribute.name.isEmpty else { throw StoreError(.invalidArgument, "\(what): empty attribute name") }
            try createAttribute(object, here, attribute.name, try AttributeEncoding.plan(attribute.value), what)
        }
    }

    /// Creates attribute `name` (which must not exist) of the object `object` names from
    /// `location`, and writes its value. Caller holds the gate.
    private static func createAttribute(_ location: hid_t, _ object: [CChar], _ name: String,
                                        _ plan: AttributeEncoding.Plan, _ what: String) throws(StoreError) {
        let type = try AttributeEncoding.datatype(plan.leaf)
        let space = try AttributeEncoding.dataspace(plan.shape)
        let creation = try Handle(H5Pcreate(h5m_p_attribute_create()), H5Pclose, "attribute creation list")
        try check(H5Pset_char_encoding(creation.id, H5T_CSET_UTF8), .invalidArgument, "attribute name encoding")
        let attribute = try Handle(H5Acreate_by_name(location, object, name, type.id, space.id, creation.id,
                                                     h5m_p_default(), h5m_p_default()),
                                   H5Aclose, "\(what): create attribute \(name)", kind: .invalidArgument)
        guard plan.shape != nil, !plan.values.isEmpty else { return }
        let status = AttributeEncoding.withBuffer(plan) { H5Awrite(attribute.id, type.id, $0) }
        try check(status, .invalidArgument, "\(what): write attribute \(name)")
    }
}

/// An attribute to give an object: its name and JSON value.
package struct NamedValue: Sendable, Hashable {
    package var name: String
    package var value: JSONValue
    package init(name: String, value: JSONValue) { self.name = name; self.value = value }
}
