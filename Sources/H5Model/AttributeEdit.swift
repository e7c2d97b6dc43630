/// One change to an object's attributes: what setxattr, removexattr and a sidecar edit ask
/// for, what `HDF5Writer.changeAttributes` applies (all or nothing) and the journal records.
package enum AttributeEdit: Sendable, Hashable {
    case set(name: String, value: JSONValue)
    case remove(name: String)

    package var name: String {
        switch self {
        case .set(let name, _), .remove(let name): return name
        }
    }
}
