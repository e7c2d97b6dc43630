import CHDF5
import H5Model

/// Attributes of any object: user attributes from sidecars and xattrs, and the reserved
/// `h5mount.*` ones (mode, owner, times). Values are JSON (see `AttributeEncoding`).
extension HDF5Writer {
    /// Sets attribute `name` of the object at `path` to `value`, replacing any old one. An
    /// old attribute's type is kept when the value fits it (`AttributeTypeFit`), else the
    /// value gets the type `AttributeEncoding` gives a new one.
    package func setAttribute(of path: H5Path, name: String, value: JSONValue) throws(StoreError) {
        try Self.checkAttributeName(name, path)
        let plan = try AttributeEncoding.plan(value)
        try withFile { (file) throws(StoreError) in
            let object = try LinkPaths.bytePath(path, in: file)
            let present = H5Aexists_by_name(file, object, name, h5m_p_default())
            try check(present, .invalidArgument, "\(path): attribute \(name)")
            // The old type, copied before the old attribute goes, when the value fits it.
            var kept: AttributeTypeFit.Kept? = nil
            var keptType: hid_t = -1
            defer { if keptType >= 0 { H5Tclose(keptType) } }
            if present > 0 {
                do {
                    let old = try Handle(H5Aopen_by_name(file, object, name, h5m_p_default(), h5m_p_default()), H5Aclose,
                                         "\(path): open attribute \(name)", kind: .invalidArgument)
                    let oldType = try Handle(H5Aget_type(old.id), H5Tclose, "\(path): attribute \(name) type")
                    kept = AttributeTypeFit.keeping(oldType.id, for: plan)
                    if kept != nil { keptType = try check(H5Tcopy(oldType.id), .invalidArgument, "attribute type") }
                }
                try check(H5Adelete_by_name(file, object, name, h5m_p_default()), .invalidArgument,
                          "\(path): replace attribute \(name)")
            }
            let fresh = try AttributeEncoding.datatype(plan.leaf)
            let type = keptType >= 0 ? keptType : fresh.id
            let space = try AttributeEncoding.dataspace(plan.shape)
            let creation = try Handle(H5Pcreate(h5m_p_attribute_create()), H5Pclose, "attribute creation list")
            try check(H5Pset_char_encoding(creation.id, H5T_CSET_UTF8), .invalidArgument, "attribute name encoding")
            let attribute = try Handle(H5Acreate_by_name(file, object, name, type, space.id, creation.id,
                                                         h5m_p_default(), h5m_p_default()),
                                       H5Aclose, "\(path): create attribute \(name)", kind: .invalidArgument)
            guard plan.shape != nil, !plan.values.isEmpty else { return }
            let status = if let kept { AttributeTypeFit.write(kept, to: attribute.id, fileType: type) }
                         else { AttributeEncoding.withBuffer(plan) { H5Awrite(attribute.id, type, $0) } }
            try check(status, .invalidArgument, "\(path): write attribute \(name)")
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

    /// Whether `setAttribute` can store `value` under `name`, checked without touching the
    /// file, so a sidecar edit is validated whole before any of it is written.
    package static func validateAttribute(name: String, value: JSONValue) throws(StoreError) {
        try checkAttributeName(name, nil)
        _ = try AttributeEncoding.plan(value)
    }

    private static func checkAttributeName(_ name: String, _ path: H5Path?) throws(StoreError) {
        let owner = path.map { "\($0): " } ?? ""
        guard !name.isEmpty else { throw StoreError(.invalidArgument, "\(owner)empty attribute name") }
        guard !name.utf8.contains(0) else { throw StoreError(.invalidArgument, "\(owner)attribute name with a NUL byte") }
    }
}
