import Glibc
import H5Model

/// What writing JSON into a sidecar asks for (DESIGN.md §2: "Writing a sidecar's attributes
/// sets, changes and removes attributes; its other keys are read-only (EINVAL if changed)").
///
/// The whole text is checked before anything is written, so every refusal changes nothing:
/// it must be a JSON object; each key other than `attributes` must be absent or equal to the
/// sidecar's current value (`AttributeRules.same`); `attributes`, when present, must be an
/// object of storable values, without duplicate or reserved names. It then becomes the
/// attribute set: names missing from it are removed, new ones created, changed ones set;
/// unchanged ones are left alone (so their HDF5 type stays whatever it was).
package enum SidecarEdit {
    /// The largest sidecar text accepted (EFBIG beyond): sidecars are held in memory.
    static let maximumSize = 16 << 20

    package static func edits(written: [UInt8], current: JSONValue) throws(FSError) -> [AttributeEdit] {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(written)
        } catch {
            throw FSError(EINVAL, "not valid JSON: \(error.description)")
        }
        guard case .object(let members) = parsed else { throw FSError(EINVAL, "a sidecar must be a JSON object") }
        try refuseDuplicates(members.map(\.key), what: "key")
        var wanted: [JSONMember]? = nil
        for member in members {
            if member.key == "attributes" {
                guard case .object(let attributes) = member.value else {
                    throw FSError(EINVAL, "\"attributes\" must be a JSON object")
                }
                wanted = attributes
                continue
            }
            guard let shown = current[member.key] else {
                throw FSError(EINVAL, "\"\(member.key)\" is not a key of this sidecar")
            }
            guard AttributeRules.same(member.value, shown) else {
                throw FSError(EINVAL, "\"\(member.key)\" is read-only (only \"attributes\" can change)")
            }
        }
        guard let wanted else { return [] }
        try refuseDuplicates(wanted.map(\.key), what: "attribute")
        var present: [String: JSONValue] = [:]
        if case .object(let shown)? = current["attributes"] {
            for member in shown { present[member.key] = member.value }
        }
        var edits: [AttributeEdit] = []
        let keep = Set(wanted.map(\.key))
        for name in present.keys.sorted() where !keep.contains(name) {
            edits.append(.remove(name: name))
        }
        for written in wanted {
            let member = JSONMember(key: written.key, value: AttributeRules.floatsRead(written.value))
            if let old = present[member.key], AttributeRules.same(old, member.value) { continue }
            // Content that cannot be stored is invalid content, reserved names included.
            do { try AttributeRules.checkName(member.key) } catch { throw FSError(EINVAL, error.message) }
            try AttributeRules.checkValue(member.value, name: member.key)
            edits.append(.set(name: member.key, value: member.value))
        }
        return edits
    }

    private static func refuseDuplicates(_ keys: [String], what: String) throws(FSError) {
        var seen = Set<String>()
        for key in keys where !seen.insert(key).inserted {
            throw FSError(EINVAL, "\(what) \"\(key)\" appears twice")
        }
    }
}
