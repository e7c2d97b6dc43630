import H5Model

/// POSIX metadata h5mount records for itself (chmod, chown, utimens), so `cp -a`
/// round-trips: one reserved attribute `h5mount.stat` = [mode, uid, gid, mtime
/// seconds, mtime nanoseconds, atime seconds, atime nanoseconds] (one int64 array
/// costs about 110 bytes a file; separate scalar attributes would cost 240 and more).
/// Never shown in sidecars or xattrs. A 5-value record (no atime) reads too.
struct StoredMetadata: Sendable, Hashable {
    static let attributeName = "h5mount.stat"

    var permissions: UInt32
    var uid: UInt32
    var gid: UInt32
    var modificationTime: Timestamp
    var accessTime: Timestamp

    init(permissions: UInt32, uid: UInt32, gid: UInt32, modificationTime: Timestamp, accessTime: Timestamp? = nil) {
        self.permissions = permissions & 0o7777; self.uid = uid; self.gid = gid
        self.modificationTime = modificationTime
        self.accessTime = accessTime ?? modificationTime
    }

    /// The record among an object's attributes, if there is a well-formed one.
    init?(attributes: [Attribute]) {
        guard let attribute = attributes.first(where: { $0.name == Self.attributeName }),
              case .array(let items) = attribute.value, items.count == 5 || items.count == 7 else { return nil }
        var values: [Int64] = []
        for item in items {
            switch item {
            case .int(let v): values.append(v)
            case .uint(let v) where v <= UInt64(Int64.max): values.append(Int64(v))
            default: return nil
            }
        }
        guard values[0] >= 0, values[1] >= 0, values[2] >= 0, values[1] <= Int64(UInt32.max), values[2] <= Int64(UInt32.max),
              (0..<1_000_000_000).contains(values[4]) else { return nil }
        let modified = Timestamp(seconds: values[3], nanoseconds: Int32(values[4]))
        var accessed = modified
        if values.count == 7 {
            guard (0..<1_000_000_000).contains(values[6]) else { return nil }
            accessed = Timestamp(seconds: values[5], nanoseconds: Int32(values[6]))
        }
        self.init(permissions: UInt32(values[0] & 0o7777), uid: UInt32(values[1]), gid: UInt32(values[2]),
                  modificationTime: modified, accessTime: accessed)
    }

    /// What `stat` shows for the node: the recorded values over the defaults.
    init(_ attributes: NodeAttributes) {
        self.init(permissions: attributes.mode, uid: attributes.uid, gid: attributes.gid,
                  modificationTime: attributes.modificationTime, accessTime: attributes.accessTime)
    }

    var value: JSONValue {
        .array([.int(Int64(permissions)), .int(Int64(uid)), .int(Int64(gid)),
                .int(modificationTime.seconds), .int(Int64(modificationTime.nanoseconds)),
                .int(accessTime.seconds), .int(Int64(accessTime.nanoseconds))])
    }

    func apply(to attributes: inout NodeAttributes) {
        attributes.mode = (attributes.mode & ~UInt32(0o7777)) | permissions
        attributes.uid = uid
        attributes.gid = gid
        attributes.modificationTime = modificationTime
        attributes.changeTime = modificationTime
        attributes.accessTime = accessTime
    }
}
