import CHDF5
import Glibc
import H5Model

/// HDF5 paths as libhdf5 wants them: NUL-terminated bytes.
///
/// Link names are bytes in HDF5 but `String` in the model. Names that are not
/// valid UTF-8 come out of a listing with U+FFFD in place of the bad bytes;
/// when such a name comes back, the group is listed again and the link whose
/// repaired name matches supplies the real bytes, so every listed name opens.
extension HDF5Container {
    /// The byte path of `path` ("/" for the root). Caller holds the gate.
    func bytePath(_ path: H5Path) throws(StoreError) -> [CChar] {
        try LinkPaths.bytePath(path, in: fileID)
    }

    /// The raw names of the links of the group at a NUL-terminated byte path. Caller holds the gate.
    func rawLinkNames(_ group: [CChar]) throws(StoreError) -> [[UInt8]] {
        try LinkPaths.rawLinkNames(group, in: fileID)
    }

    /// Name, class and cheap payload of every link of a group, in name order. Caller holds the gate.
    func iterateLinks(_ group: [CChar]) throws(StoreError) -> [RawLink] {
        try LinkPaths.iterateLinks(group, in: fileID)
    }
}

/// The path helpers over any open file id, shared by `HDF5Container` and `HDF5Writer`.
/// Caller holds the gate.
enum LinkPaths {
    /// The byte path of `path` ("/" for the root) in the file `fileID`.
    static func bytePath(_ path: H5Path, in fileID: hid_t) throws(StoreError) -> [CChar] {
        var bytes: [CChar] = []
        for component in path.components {
            var name = Array(component.utf8)
            if component.unicodeScalars.contains("\u{FFFD}") {
                let parent = bytes.isEmpty ? [CChar(UInt8(ascii: "/")), 0] : bytes + [0]
                // A name not found stays as typed (a link about to be created).
                if let raw = try rawLinkNames(parent, in: fileID)
                    .first(where: { String(decoding: $0, as: UTF8.self) == component }) {
                    name = raw
                }
            }
            bytes.append(CChar(UInt8(ascii: "/")))
            bytes.append(contentsOf: name.map { CChar(bitPattern: $0) })
        }
        if bytes.isEmpty { bytes.append(CChar(UInt8(ascii: "/"))) }
        bytes.append(0)
        return bytes
    }

    /// The raw names of the links of the group at a NUL-terminated byte path.
    static func rawLinkNames(_ group: [CChar], in fileID: hid_t) throws(StoreError) -> [[UInt8]] {
        try iterateLinks(group, in: fileID).map(\.name)
    }

    /// Name, class and cheap payload (address or value size) of every link of a group,
    /// in name order. Opens no link target.
    static func iterateLinks(_ group: [CChar], in fileID: hid_t) throws(StoreError) -> [RawLink] {
        var found: [RawLink] = []
        var index: hsize_t = 0
        let status = withUnsafeMutablePointer(to: &found) { pointer in
            H5Literate_by_name(fileID, group, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, info, client in
                guard let name, let info, let client else { return -1 }
                let list = client.assumingMemoryBound(to: [RawLink].self)
                let length = strlen(name)
                let bytes = name.withMemoryRebound(to: UInt8.self, capacity: length) {
                    Array(UnsafeBufferPointer(start: $0, count: length))
                }
                let i = info.pointee
                let isHard = i.type == H5L_TYPE_HARD
                list.pointee.append(RawLink(name: bytes, type: i.type,
                                            address: isHard ? i.u.address : 0,
                                            valueSize: isHard ? 0 : i.u.val_size))
                return 0
            }, pointer, h5m_p_default())
        }
        try check(status, .unreadable, "list links of \(group.pathText)")
        return found
    }
}

/// A link as the iteration reports it, before soft and external values are read.
struct RawLink {
    var name: [UInt8]
    var type: H5L_type_t
    var address: haddr_t
    var valueSize: Int
}

extension Array where Element == CChar {
    /// A NUL-terminated byte path as text for messages.
    var pathText: String {
        let bytes = prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
