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
    func iterateLinks(_ group: [CChar], stillWorking: (() -> Void)? = nil) throws(StoreError) -> RawLinks {
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
        try iterateLinks(group, in: fileID).map(\.name)
    }

    /// Name, class and cheap payload (address or value size) of every link of a group,
    /// in name order (byte order). Opens no link target. `stillWorking` is called every
    /// `linksPerHeartbeat` links (a forked trial's heartbeat: libhdf5 1.10.8 takes longer
    /// than one trial step's time limit to iterate a million links). A group of more than
    /// `maximumLinks` links is refused: a crafted index that yields links without end
    /// would otherwise keep a trial alive with heartbeats and fill memory.
    static func iterateLinks(_ group: [CChar], in fileID: hid_t,
                             stillWorking: (() -> Void)? = nil) throws(StoreError) -> RawLinks {
        let iteration = LinkIteration(stillWorking: stillWorking)
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
                iteration.found.append(name: UnsafeBufferPointer(start: $0, count: length), type: i.type,
                                       payload: isHard ? UInt64(i.u.address) : UInt64(i.u.val_size))
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
        iteration.found.sort(stillWorking: stillWorking)
        return iteration.found
    }

    /// Links per group h5mount lists at most (2^24: "millions of links" list, an endless index does not).
    static let maximumLinks = 1 << 24
    /// Links between two heartbeats of a trial.
    static let linksPerHeartbeat = 4096
}

/// The state of one `iterateLinks` call, handed to libhdf5's callback. One thread.
private final class LinkIteration {
    var found = RawLinks()
    let stillWorking: (() -> Void)?
    init(stillWorking: (() -> Void)?) { self.stillWorking = stillWorking }
}

/// A link as the iteration reports it, before soft and external values are read.
struct RawLink {
    var name: [UInt8]
    var type: H5L_type_t
    var address: haddr_t
    var valueSize: Int
}

/// What an iteration found, compact (about 25 bytes a link plus its name, where a
/// `RawLink` each took about 80): a million-link group is listed in bounded memory
/// (docs/hdf5-store.md, "Many links"). A collection of `RawLink` in `order`.
struct RawLinks: RandomAccessCollection {
    private var names: [UInt8] = []
    private var ends: [UInt32] = []
    private var types: [Int16] = []
    /// A hard link's address, any other link's value size.
    private var payloads: [UInt64] = []
    /// Positions in name order, once sorted; before, native order.
    private var order: [Int32] = []

    mutating func append(name: UnsafeBufferPointer<UInt8>, type: H5L_type_t, payload: UInt64) {
        order.append(Int32(ends.count))
        names.append(contentsOf: name)
        ends.append(UInt32(truncatingIfNeeded: names.count))
        types.append(Int16(truncatingIfNeeded: type.rawValue))
        payloads.append(payload)
    }

    var startIndex: Int { 0 }
    var endIndex: Int { order.count }
    /// Bytes of all names together.
    var nameBytes: Int { names.count }

    subscript(position: Int) -> RawLink {
        let at = Int(order[position])
        let type = H5L_type_t(rawValue: Int32(types[at]))
        let isHard = type == H5L_TYPE_HARD
        return RawLink(name: Array(name(ofStored: at)), type: type, address: isHard ? haddr_t(payloads[at]) : 0,
                       valueSize: isHard ? 0 : Int(payloads[at]))
    }

    /// The name of link `position` (in order), without copying.
    func name(at position: Int) -> ArraySlice<UInt8> { name(ofStored: Int(order[position])) }

    private func name(ofStored at: Int) -> ArraySlice<UInt8> {
        names[(at == 0 ? 0 : Int(ends[at - 1])) ..< Int(ends[at])]
    }

    /// Sorts `order` by name bytes, calling `stillWorking` now and then.
    mutating func sort(stillWorking: (() -> Void)?) {
        var comparisons = 0
        let names = self.names, ends = self.ends
        order.sort { a, b in
            comparisons += 1
            if comparisons % (LinkPaths.linksPerHeartbeat * 16) == 0 { stillWorking?() }
            let x = names[(a == 0 ? 0 : Int(ends[Int(a) - 1])) ..< Int(ends[Int(a)])]
            let y = names[(b == 0 ? 0 : Int(ends[Int(b) - 1])) ..< Int(ends[Int(b)])]
            return x.withUnsafeBytes { x in
                y.withUnsafeBytes { y in
                    let order = memcmp(x.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, y.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Swift.min(x.count, y.count))
                    return order != 0 ? order < 0 : x.count < y.count
                }
            }
        }
    }
}

extension Array where Element == CChar {
    /// A NUL-terminated byte path as text for messages.
    var pathText: String {
        let bytes = prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
