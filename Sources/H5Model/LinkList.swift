/// The links of one group, compact: a million links take about 13 bytes each plus their
/// names, where `[Link]` takes about 56 bytes each and a String per long name
/// (docs/hdf5-store.md, "Many links"). A collection of `Link`, made one at a time when read.
///
/// Names sit in one byte arena; a hard link's payload is its object address, any other
/// link's payload indexes `targets`, where each distinct value is kept once (a million soft
/// links to one object share one target). Immutable once built.
package struct LinkList: Sendable, RandomAccessCollection {
    /// Every name's UTF-8 bytes, one after the other.
    private var names: [UInt8] = []
    /// Where name `i` ends in `names` (it starts where name `i - 1` ends).
    private var ends: [UInt32] = []
    /// The address of a hard link, or the index in `targets` of any other link's target.
    private var payloads: [UInt64] = []
    /// Whether link `i` is a hard link, one bit each.
    private var hardBits: [UInt64] = []
    /// The distinct targets of links that are not hard, by first appearance.
    package private(set) var targets: [LinkTarget] = []
    private var targetIndex: [LinkTarget: UInt64] = [:]

    package init() {}

    /// An empty list with room for `count` links of `nameBytes` bytes of names in all, so a
    /// list built from a known count holds no spare capacity.
    package init(reservingCapacity count: Int, nameBytes: Int) {
        names.reserveCapacity(nameBytes)
        ends.reserveCapacity(count)
        payloads.reserveCapacity(count)
        hardBits.reserveCapacity((count + 63) / 64)
    }

    package init<S: Sequence>(_ links: S) where S.Element == Link {
        for link in links { append(link) }
    }

    /// Appends a link; a list past 2^32 bytes of names is refused by the caller first
    /// (a group holds at most 2^24 links of at most 64 KiB names in HDF5 practice).
    package mutating func append(_ link: Link) {
        append(name: Array(link.name.utf8), target: link.target)
    }

    package mutating func append<C: Collection>(name: C, target: LinkTarget) where C.Element == UInt8 {
        names.append(contentsOf: name)
        ends.append(UInt32(truncatingIfNeeded: names.count))
        let index = ends.count - 1
        if index % 64 == 0 { hardBits.append(0) }
        switch target {
        case .hard(let address):
            payloads.append(address)
            hardBits[index / 64] |= 1 << UInt64(index % 64)
        default:
            if let known = targetIndex[target] {
                payloads.append(known)
            } else {
                let known = UInt64(targets.count)
                targets.append(target)
                targetIndex[target] = known
                payloads.append(known)
            }
        }
    }

    /// Drops what only building needed.
    package mutating func finish() {
        targetIndex = [:]
    }

    package var startIndex: Int { 0 }
    package var endIndex: Int { ends.count }

    package subscript(position: Int) -> Link {
        Link(name: name(at: position), target: target(at: position))
    }

    /// The bytes of name `i`, as stored.
    package func nameBytes(at i: Int) -> ArraySlice<UInt8> {
        names[start(of: i) ..< Int(ends[i])]
    }

    package func name(at i: Int) -> String {
        String(decoding: nameBytes(at: i), as: UTF8.self)
    }

    package func isHard(_ i: Int) -> Bool { hardBits[i / 64] & (1 << UInt64(i % 64)) != 0 }

    /// The object address of a hard link, nil for any other.
    package func address(at i: Int) -> UInt64? { isHard(i) ? payloads[i] : nil }

    /// The index in `targets` of a link that is not hard, nil for a hard link.
    package func targetNumber(at i: Int) -> Int? { isHard(i) ? nil : Int(payloads[i]) }

    package func target(at i: Int) -> LinkTarget {
        isHard(i) ? .hard(address: payloads[i]) : targets[Int(payloads[i])]
    }

    private func start(of i: Int) -> Int { i == 0 ? 0 : Int(ends[i - 1]) }

    /// Whether names increase strictly in byte order, as a sorted listing's do (then
    /// `index(named:)` can search them).
    package var isStrictlySorted: Bool {
        guard count > 1 else { return true }
        for i in 1 ..< count where !LinkList.precedes(nameBytes(at: i - 1), nameBytes(at: i)) { return false }
        return true
    }

    /// The index of the link named `name`, by binary search; only for a strictly sorted list.
    package func index(named name: String) -> Int? {
        let wanted = Array(name.utf8)
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            let here = nameBytes(at: mid)
            if LinkList.precedes(here, wanted[...]) {
                low = mid + 1
            } else if LinkList.precedes(wanted[...], here) {
                high = mid
            } else {
                return mid
            }
        }
        return nil
    }

    /// Byte order (unsigned bytes, a prefix first), as strcmp orders names.
    package static func precedes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        a.lexicographicallyPrecedes(b)
    }

    /// Bytes held, for logs and tests.
    package var heldBytes: Int {
        names.capacity + ends.capacity * 4 + payloads.capacity * 8 + hardBits.capacity * 8
    }
}
