/// A JSON value with ordered object keys, so sidecars print in a stable order.
///
/// Integers keep their full 64-bit range (HDF5 attributes are often uint64);
/// non-finite floats, which JSON cannot spell, are written as the strings
/// "NaN", "Infinity" and "-Infinity" (what h5py users see from json.dumps).
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// Convenience for building objects from literal pairs.
    package static func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
        .object(pairs.map { JSONMember(key: $0.0, value: $0.1) })
    }

    /// The value of `key` in an object, nil otherwise.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }
}

package struct JSONMember: Sendable, Hashable {
    package var key: String
    package var value: JSONValue
    package init(key: String, value: JSONValue) { self.key = key; self.value = value }
}
