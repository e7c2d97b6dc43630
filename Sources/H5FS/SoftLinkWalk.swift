import H5Model

/// Whether an absolute soft-link value names an object of its own file, found by walking
/// the path one link at a time: hard links are followed, soft links are resolved here (at
/// most `hopLimit` of them, libhdf5's default), and an external link ends the walk. So
/// rendering a soft link never makes libhdf5 open another file on its own, as a lookup of
/// the whole path would (`/ext/x`, where `/ext` is an external link, opens that file
/// whatever `-o external=` says).
enum SoftLinkWalk {
    static let hopLimit = 16

    /// The hard-link path of the object `value` names, or nil when it does not name one of
    /// this file's objects through hard and soft links alone.
    static func target(of value: String, in reader: ContainerReader) -> H5Path? {
        var resolved: [String] = []
        var pending = H5Path(parsing: value).components[...]
        var hops = 0
        while let name = pending.first {
            pending = pending.dropFirst()
            if name == "." { continue }
            guard let link = try? reader.link(named: name, in: H5Path(resolved)) else { return nil }
            switch link.target {
            case .hard:
                resolved.append(name)
            case .soft(let next):
                hops += 1
                guard hops <= hopLimit else { return nil }
                // An absolute value starts again at the root; a relative one at the link's group.
                if next.hasPrefix("/") { resolved = [] }
                pending = (H5Path(parsing: next).components + pending)[...]
            case .external, .unknown:
                return nil
            }
        }
        // Every component is a hard link: looking the object up follows nothing else.
        guard (try? reader.object(at: H5Path(resolved))) != nil else { return nil }
        return H5Path(resolved)
    }
}
