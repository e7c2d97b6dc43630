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
    func iterateLinks(_ group: [CChar], stillWorking: (() -> Void)? = nil) throws(StoreError) -> LinkList {
        try LinkPaths.iterateLinks(group, in: fileID, stillWorking: stillWorking)
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
        let links = try iterateLinks(group, in: fileID)
        return links.indices.map { Array(links.nameBytes(at: $0)) }
    }

    /// Name, class and cheap payload (address or value size) of every link of a group,
    /// in name order (byte order). Opens no link target. `stillWorking` is called every
    /// `linksPerHeartbeat` links (a forked trial's heartbeat: libhdf5 1.10.8 takes longer
    /// than one trial step's time limit to iterate a million links). A group of more than
    /// `maximumLinks` links is refused: a crafted index that yields links without end
    /// would otherwise keep a trial alive with heartbeats and fill memory.
    static func iterateLinks(_ group: [CChar], in fileID: hid_t,
                             stillWorking: (() -> Void)? = nil) throws(StoreError) -> LinkList {
        let iteration = LinkIteration(stillWorking: stillWorking)
        // Room for every link at once: grown by doubling, a million links' arrays held up
        // to twice their size, and each growth both copies for a moment.
        var info = H5G_info_t()
        if H5Gget_info_by_name(fileID, group, &info, h5m_p_default()) >= 0 {
            let count = Int(min(info.nlinks, hsize_t(maximumLinks)))
            iteration.found = LinkList(reservingCapacity: count, nameBytes: count * 8)
        } else {
            _ = ErrorStack.read()
        }
        var index: hsize_t = 0
        // Native order, sorted here: asked for increasing name order, libhdf5 1.10.8 first
        // builds and sorts a table of a dense group's links without calling back, so a
        // million-link group sent no heartbeat for longer than a trial step's time limit.
        let status = H5Literate_by_name(fileID, group, H5_INDEX_NAME, H5_ITER_NATIVE, &index, { _, name, info, client in
            guard let name, let info, let client else { return -1 }
            let iteration = Unmanaged<LinkIteration>.fromOpaque(client).takeUnretainedValue()
            guard iteration.found.count < LinkPaths.maximumLinks else { return 1 }
            let length = strlen(name)
            let i = info.pointee
            let isHard = i.type == H5L_TYPE_HARD
            name.withMemoryRebound(to: UInt8.self, capacity: length) {
                iteration.found.appendStored(name: UnsafeBufferPointer(start: $0, count: length), isHard: isHard,
                                             payload: isHard ? UInt64(i.u.address) : RawLink.pending(i.type, valueSize: i.u.val_size))
            }
            if iteration.found.count % LinkPaths.linksPerHeartbeat == 0 { iteration.stillWorking?() }
            return 0
        }, Unmanaged.passUnretained(iteration).toOpaque(), h5m_p_default())
        withExtendedLifetime(iteration) {}
        try check(status, .unreadable, "list links of \(group.pathText)")
        guard status == 0 else {
            throw StoreError(.unreadable, "\(group.pathText): more than \(maximumLinks) links (h5mount's limit per group)")
        }
        // Name order (strcmp's, unsigned bytes), as H5_ITER_INC gives it; a million names
        // take seconds to sort in a debug build, so the sort beats the heartbeat too.
        iteration.found.sortByName(every: LinkPaths.linksPerHeartbeat * 16, progress: stillWorking)
        return iteration.found
    }

    /// Links per group h5mount lists at most (2^24: "millions of links" list, an endless index does not).
    static let maximumLinks = 1 << 24
    /// Links between two heartbeats of a trial.
    static let linksPerHeartbeat = 4096
}

/// The state of one `iterateLinks` call, handed to libhdf5's callback. One thread.
private final class LinkIteration {
    /// Soft and external links hold `RawLink.pending` until their values are read.
    var found = LinkList()
    let stillWorking: (() -> Void)?
    init(stillWorking: (() -> Void)?) { self.stillWorking = stillWorking }
}

/// A link as the iteration reports it, before soft and external values are read.
struct RawLink {
    var name: [UInt8]
    var type: H5L_type_t
    var address: haddr_t
    var valueSize: Int

    /// What a listing keeps of a link that is not hard until its value is read: its class
    /// above bit 48, its value size below (a link value is far under 2^48 bytes).
    static func pending(_ type: H5L_type_t, valueSize: Int) -> UInt64 {
        UInt64(UInt16(truncatingIfNeeded: type.rawValue)) << 48 | UInt64(min(valueSize, 1 << 48 - 1))
    }
}

extension RawLink {
    /// The link at `position` of a listing whose payloads are still `pending`.
    init(pendingAt position: Int, of links: LinkList) {
        let payload = links.storedPayload(at: position)
        name = Array(links.nameBytes(at: position))
        type = H5L_type_t(rawValue: Int32(Int16(truncatingIfNeeded: payload >> 48)))
        address = 0
        valueSize = Int(payload & (1 << 48 - 1))
    }
}

extension Array where Element == CChar {
    /// A NUL-terminated byte path as text for messages.
    var pathText: String {
        let bytes = prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
