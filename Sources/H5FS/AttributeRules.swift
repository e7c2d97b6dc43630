import Glibc
import H5Model
import HDF5

/// The rules shared by extended attributes and sidecars (docs/writing.md, "Attributes").
package enum AttributeRules {
    /// A user attribute name must be storable and not reserved: `h5mount.*` attributes hold
    /// h5mount's own bookkeeping (modes, times) and never show, so they cannot be written
    /// through the mount either (EPERM).
    package static func checkName(_ name: String) throws(FSError) {
        guard !name.isEmpty else { throw FSError(EINVAL, "empty attribute name") }
        guard !name.utf8.contains(0) else { throw FSError(EINVAL, "attribute name with a NUL byte") }
        guard NameRules.isVisibleAttribute(name) else {
            throw FSError(EPERM, "\(name): attributes named \(NameRules.reservedAttributePrefix)* are reserved for h5mount")
        }
    }

    /// Whether `value` can be stored as an attribute (EINVAL otherwise).
    package static func checkValue(_ value: JSONValue, name: String) throws(FSError) {
        do {
            try HDF5Writer.validateAttribute(name: name, value: value)
        } catch {
            throw FSError(EINVAL, "attribute \(name): \(error.message)")
        }
    }

    /// The attribute value an extended attribute's bytes stand for: the inverse of what
    /// getxattr shows (the text of a string attribute, compact JSON of anything else).
    /// - an existing string attribute stays a string: the bytes are its text;
    /// - text that is a JSON number, `true`/`false`, `null` or an array that can be stored
    ///   becomes that value ("NaN", "Infinity", "-Infinity" in quotes: that float);
    /// - any other text is a string.
    /// Whatever the result, the writer keeps an existing attribute's type when it fits.
    package static func value(ofExtendedAttribute bytes: [UInt8], existing: JSONValue?, name: String) throws(FSError) -> JSONValue {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FSError(EINVAL, "user.\(name): the value is not UTF-8 text")
        }
        if case .string = existing { return .string(text) }
        guard let parsed = try? JSONValue.parse(bytes) else { return .string(text) }
        switch parsed {
        case .string("NaN"): return .double(.nan)
        case .string("Infinity"): return .double(.infinity)
        case .string("-Infinity"): return .double(-.infinity)
        case .string, .object: return .string(text)
        case .array:
            return (try? checkValue(parsed, name: name)) == nil ? .string(text) : floatsRead(parsed)
        case .null, .bool, .int, .uint, .double:
            return parsed
        }
    }

    /// An array of numbers with "NaN", "Infinity" or "-Infinity" among them, as the floats
    /// they spell (how a float array renders them); anything else as it is.
    package static func floatsRead(_ value: JSONValue) -> JSONValue {
        var numbers = false, others = false
        func scan(_ v: JSONValue) {
            switch v {
            case .array(let items): items.forEach(scan)
            case .int, .uint, .double: numbers = true
            case .string("NaN"), .string("Infinity"), .string("-Infinity"): break
            default: others = true
            }
        }
        scan(value)
        guard numbers, !others else { return value }
        func convert(_ v: JSONValue) -> JSONValue {
            switch v {
            case .array(let items): return .array(items.map(convert))
            case .string("NaN"): return .double(.nan)
            case .string("Infinity"): return .double(.infinity)
            case .string("-Infinity"): return .double(-.infinity)
            default: return v
            }
        }
        return convert(value)
    }

    /// Equality of JSON values as numbers and text, not as Swift cases: 3, 3 as uint64 and
    /// 3.0 are one value, and a float NaN equals the text "NaN" it renders as (so does a
    /// string attribute "NaN": both show the same); object members compare by key, in any order. A sidecar's
    /// unchanged attributes and keys are recognised this way after a reader's round trip
    /// (Python reads 3 and writes 3; numbers keep their value).
    package static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { member in y.first(where: { $0.key == member.key }).map { same(member.value, $0.value) } ?? false }
        default:
            if let p = number(a), let q = number(b) { return p == q || (p.isNaN && q.isNaN) }
            if case .int(let i) = a, case .uint(let u) = b { return i >= 0 && UInt64(i) == u }
            if case .uint(let u) = a, case .int(let i) = b { return i >= 0 && UInt64(i) == u }
            return a == b
        }
    }

    /// Numbers that a double holds exactly compare as doubles (big integers compare exactly
    /// above); "NaN", "Infinity" and "-Infinity" are the floats they spell, as floats render.
    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i) where i.magnitude < (1 << 53): return Double(i)
        case .uint(let u) where u < (1 << 53): return Double(u)
        case .double(let d): return d
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: return nil
        }
    }
}

extension AttributeEdit {
    /// `attributes` after `edits`, in name order (what a file not stored yet will get).
    package static func applying(_ edits: [AttributeEdit], to attributes: [Attribute]) -> [Attribute] {
        var byName: [String: JSONValue] = [:]
        for attribute in attributes { byName[attribute.name] = attribute.value }
        for edit in edits {
            switch edit {
            case .set(let name, let value): byName[name] = value
            case .remove(let name): byName[name] = nil
            }
        }
        return byName.keys.sorted().map { Attribute(name: $0, value: byName[$0]!) }
    }
}
