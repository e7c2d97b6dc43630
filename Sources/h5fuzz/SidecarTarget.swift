import Glibc
import H5Model
import H5FS

/// What writing a sidecar or a `user.*` xattr asks for (H5FS SidecarEdit, AttributeRules),
/// without libhdf5. Input: [current sidecar JSON] NUL [written text].
/// - a written text is refused with EINVAL only, or gives edits that make the attribute set
///   exactly the written `attributes` (names, and values as AttributeRules compares them);
/// - writing back the current sidecar as shown (pretty or compact) asks for no edit;
/// - writing back an attribute's xattr value as getxattr shows it leaves it unchanged, and a
///   string attribute stays a string whatever is written.
let sidecarTarget = FuzzTarget(name: "sidecar", summary: "sidecar and xattr edits") { bytes in
    let all = Array(bytes)
    let split = all.firstIndex(of: 0) ?? all.count
    let written = Array(all[min(split + 1, all.count)...])
    var current = JSONValue.object([JSONMember(key: "kind", value: .string("dataset")),
                                    JSONMember(key: "attributes", value: .object([JSONMember]()))])
    if let parsed = try? JSONValue.parse(Array(all[..<split])), case .object = parsed { current = parsed }

    checkEdits(written: written, current: current)
    if hasUniqueKeys(current) {
        for shown in [current.prettyText, current.compactText] {
            switch editsOrError(written: Array(shown.utf8), current: current) {
            case .success(let edits): fuzzCheck(edits.isEmpty, "writing back the sidecar as shown asks for \(edits)")
            case .failure(let error): fuzzCheck(false, "writing back the sidecar as shown is refused: \(error.message)")
            }
        }
    }
    if case .object(let attributes)? = current["attributes"] {
        for attribute in attributes { checkExtendedAttribute(attribute, written: written) }
    }
}

private func editsOrError(written: [UInt8], current: JSONValue) -> Result<[AttributeEdit], FSError> {
    do { return .success(try SidecarEdit.edits(written: written, current: current)) } catch { return .failure(error) }
}

private func checkEdits(written: [UInt8], current: JSONValue) {
    let edits: [AttributeEdit]
    switch editsOrError(written: written, current: current) {
    case .failure(let error):
        fuzzCheck(error.errno == EINVAL, "a sidecar edit refused with errno \(error.errno): \(error.message)")
        return
    case .success(let list):
        edits = list
    }
    // Accepted: the text parses, and its `attributes` (if any) is the new attribute set.
    let wanted = (try? JSONValue.parse(written))?["attributes"]
    var before: [Attribute] = []
    if case .object(let shown)? = current["attributes"] {
        before = shown.map { Attribute(name: $0.key, value: $0.value) }
    }
    guard case .object(let members)? = wanted else {
        fuzzCheck(edits.isEmpty, "a sidecar without \"attributes\" asks for \(edits.count) edits")
        return
    }
    let after = AttributeEdit.applying(edits, to: before)
    fuzzCheck(after.map(\.name) == members.map(\.key).sorted(), "edits do not give the written attribute names")
    for member in members {
        let now = after.first { $0.name == member.key }!.value
        fuzzCheck(AttributeRules.same(now, AttributeRules.floatsRead(member.value)),
                  "attribute \(member.key) is not what was written")
    }
}

/// Writing back what getxattr shows changes nothing (the filesystem skips such writes).
private func checkExtendedAttribute(_ attribute: JSONMember, written: [UInt8]) {
    let name = attribute.key
    guard (try? AttributeRules.checkValue(attribute.value, name: name)) != nil else { return }
    let shown = TextRendering.extendedAttributeValue(attribute.value)
    if let back = try? AttributeRules.value(ofExtendedAttribute: shown, existing: attribute.value, name: name) {
        fuzzCheck(AttributeRules.same(back, attribute.value), "xattr \(name): writing back \(shown.count) bytes changes it")
    } else {
        fuzzCheck(false, "xattr \(name): writing back what getxattr shows is refused")
    }
    if case .string = attribute.value,
       let new = try? AttributeRules.value(ofExtendedAttribute: written, existing: attribute.value, name: name) {
        guard case .string = new else { return fuzzCheck(false, "xattr \(name): a string attribute became \(new)") }
    }
}

/// No object in it has a key twice (a sidecar h5mount shows never does), and `attributes`,
/// if present, is an object.
private func hasUniqueKeys(_ sidecar: JSONValue) -> Bool {
    func unique(_ value: JSONValue) -> Bool {
        switch value {
        case .object(let members):
            return Set(members.map(\.key)).count == members.count && members.allSatisfy { unique($0.value) }
        case .array(let items):
            return items.allSatisfy(unique)
        default:
            return true
        }
    }
    switch sidecar["attributes"] {
    case nil, .object?: return unique(sidecar)
    default: return false
    }
}
