import CHDF5
import H5Model

/// Attributes of any object: user attributes from sidecars and xattrs, and the reserved
/// `h5mount.*` ones (mode, owner, times). Values are JSON (see `AttributeEncoding`).
extension HDF5Writer {
    /// Sets attribute `name` of the object at `path` to `value`, replacing any old one (see
    /// `changeAttributes` for the type it gets).
    package func setAttribute(of path: H5Path, name: String, value: JSONValue) throws(StoreError) {
        try changeAttributes(of: path, [.set(name: name, value: value)])
    }

    /// Removes attribute `name`; `.notFound` when the object has none of that name.
    package func deleteAttribute(of path: H5Path, name: String) throws(StoreError) {
        try changeAttributes(of: path, [.remove(name: name)])
    }

    /// Applies `edits` (each name at most once) all or nothing: if libhdf5 refuses one (an
    /// attribute too large for an old-format object header, a full disk), the ones before it
    /// are undone and the object keeps the attributes it had. A set replaces any old
    /// attribute of that name, keeping its type when the value fits it (`AttributeTypeFit`),
    /// else with the type `AttributeEncoding` gives a new value. Removing a missing name is
    /// `.notFound`.
    package func changeAttributes(of path: H5Path, _ edits: [AttributeEdit]) throws(StoreError) {
        var plans: [AttributeEncoding.Plan?] = []
        var names = Set<String>()
        for edit in edits {
            try Self.checkAttributeName(edit.name, path)
            guard names.insert(edit.name).inserted else {
                throw StoreError(.invalidArgument, "\(path): attribute \(edit.name) changed twice in one edit")
            }
            if case .set(_, let value) = edit { plans.append(try AttributeEncoding.plan(value)) } else { plans.append(nil) }
        }
        try withFile { (file) throws(StoreError) in
            let object = try Handle(H5Oopen(file, try LinkPaths.bytePath(path, in: file), h5m_p_default()), H5Oclose,
                                    "\(path): open object", kind: .notFound)
            var journal = AttributeUndo(object: object.id)
            do throws(StoreError) {
                for (index, edit) in edits.enumerated() {
                    try journal.apply(edit, plan: plans[index], index: index, path)
                }
            } catch {
                journal.undo()
                throw error
            }
            journal.finish()
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

/// The undo side of `changeAttributes`, under the gate: a replaced or removed attribute is
/// first renamed to a reserved name (`h5mount.replaced.N`, never shown), and deleted only
/// once every edit succeeded; on failure the new attributes go and the old names come back.
private struct AttributeUndo {
    let object: hid_t
    var renamed: [(name: String, backup: String)] = []
    var created: [String] = []

    init(object: hid_t) { self.object = object }

    mutating func apply(_ edit: AttributeEdit, plan: AttributeEncoding.Plan?, index: Int, _ path: H5Path) throws(StoreError) {
        let name = edit.name
        let present = H5Aexists(object, name)
        try check(present, .invalidArgument, "\(path): attribute \(name)")
        var kept: AttributeTypeFit.Kept? = nil
        var keptType: hid_t = -1
        defer { if keptType >= 0 { H5Tclose(keptType) } }
        if present > 0 {
            if let plan {
                let old = try Handle(H5Aopen(object, name, h5m_p_default()), H5Aclose, "\(path): open attribute \(name)",
                                     kind: .invalidArgument)
                let oldType = try Handle(H5Aget_type(old.id), H5Tclose, "\(path): attribute \(name) type")
                kept = AttributeTypeFit.keeping(oldType.id, for: plan)
                if kept != nil { keptType = try check(H5Tcopy(oldType.id), .invalidArgument, "attribute type") }
            }
            let backup = "h5mount.replaced.\(index)"
            if H5Aexists(object, backup) > 0 { _ = H5Adelete(object, backup) }  // left by a crash with -o inplace
            try check(H5Arename(object, name, backup), .invalidArgument, "\(path): replace attribute \(name)")
            renamed.append((name, backup))
        } else if plan == nil {
            throw StoreError(.notFound, "\(path): no attribute \(name)")
        }
        guard let plan else { return }
        let fresh = try AttributeEncoding.datatype(plan.leaf)
        let type = keptType >= 0 ? keptType : fresh.id
        let space = try AttributeEncoding.dataspace(plan.shape)
        let creation = try Handle(H5Pcreate(h5m_p_attribute_create()), H5Pclose, "attribute creation list")
        try check(H5Pset_char_encoding(creation.id, H5T_CSET_UTF8), .invalidArgument, "attribute name encoding")
        let attribute = try Handle(H5Acreate2(object, name, type, space.id, creation.id, h5m_p_default()),
                                   H5Aclose, "\(path): create attribute \(name)", kind: .invalidArgument)
        created.append(name)
        guard plan.shape != nil, !plan.values.isEmpty else { return }
        let status = if let kept { AttributeTypeFit.write(kept, to: attribute.id, fileType: type) }
                     else { AttributeEncoding.withBuffer(plan) { H5Awrite(attribute.id, type, $0) } }
        try check(status, .invalidArgument, "\(path): write attribute \(name)")
    }

    /// Every edit went in: the old attributes go for good.
    func finish() {
        for entry in renamed { _ = H5Adelete(object, entry.backup) }
    }

    /// An edit failed: back to what the object had.
    func undo() {
        for name in created.reversed() { _ = H5Adelete(object, name) }
        for entry in renamed.reversed() { _ = H5Arename(object, entry.backup, entry.name) }
        _ = ErrorStack.read()
    }
}

extension HDF5Writer {
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
