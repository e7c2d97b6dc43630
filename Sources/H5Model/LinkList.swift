import Glibc

/// The links of one group, compact: a million links take about 25 bytes each plus their
/// names, where `[Link]` takes about 56 bytes each and a String per long name
/// (docs/hdf5-store.md, "Many links"). A collection of `Link` in name order, each made
/// when read.
///
/// Links are stored in the order they were appended (libhdf5's native order) and read
/// through `order`, so sorting them moves 4 bytes a link and no copy of the list is ever
/// made. Names sit in one byte arena; a hard link's payload is its object address, any other
/// link's payload indexes `targets`, where each distinct value is kept once (a million soft
/// links to one object share one target).
package struct LinkList: Sendable, RandomAccessCollection {
    /// Every name's bytes, one after the other, as stored.
    private var names: [UInt8] = []
    /// Where stored name `i` ends in `names` (it starts where name `i - 1` ends).
    private var ends: [UInt32] = []
    /// The address of a hard link, or the index in `targets` of any other link's target.
    private var payloads: [UInt64] = []
    /// Whether stored link `i` is a hard link, one bit each.
    private var hardBits: [UInt64] = []
    /// Stored index of each position.
    private var order: [UInt32] = []
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
        order.reserveCapacity(count)
    }

    package init<S: Sequence>(_ links: S) where S.Element == Link {
        for link in links { append(link) }
    }

    /// Appends a link at the end of the order.
    package mutating func append(_ link: Link) {
        append(name: link.name.utf8, target: link.target)
    }

    package mutating func append<C: Collection>(name: C, target: LinkTarget) where C.Element == UInt8 {
        if case .hard(let address) = target {
            appendStored(name: name, isHard: true, payload: address)
        } else {
            appendStored(name: name, isHard: false, payload: 0)
            setTarget(target, at: count - 1)
        }
    }

    /// Appends a link whose payload is the caller's until `setTarget` (a reader that learns
    /// a soft link's value after sorting keeps its value size there).
    package mutating func appendStored<C: Collection>(name: C, isHard: Bool, payload: UInt64) where C.Element == UInt8 {
        let stored = ends.count
        order.append(UInt32(truncatingIfNeeded: stored))
        names.append(contentsOf: name)
        ends.append(UInt32(truncatingIfNeeded: names.count))
        if stored % 64 == 0 { hardBits.append(0) }
        if isHard { hardBits[stored / 64] |= 1 << UInt64(stored % 64) }
        payloads.append(payload)
    }

    /// The payload of position `i` as appended (a hard link's address, or the caller's).
    package func storedPayload(at i: Int) -> UInt64 { payloads[Int(order[i])] }

    /// Sets the target of the link at position `i`, which is not a hard link.
    package mutating func setTarget(_ target: LinkTarget, at i: Int) {
        let stored = Int(order[i])
        if let known = targetIndex[target] {
            payloads[stored] = known
        } else {
            let known = UInt64(targets.count)
            targets.append(target)
            targetIndex[target] = known
            payloads[stored] = known
        }
    }

    /// Puts the links in byte order of their names (unsigned bytes, a prefix first, as
    /// strcmp), calling `progress` every `every` comparisons (a trial's heartbeat).
    package mutating func sortByName(every: Int = 1 << 16, progress: (() -> Void)? = nil) {
        var comparisons = 0
        let names = self.names, ends = self.ends
        order.sort { a, b in
            comparisons += 1
            if comparisons % every == 0 { progress?() }
            let x = names[(a == 0 ? 0 : Int(ends[Int(a) - 1])) ..< Int(ends[Int(a)])]
            let y = names[(b == 0 ? 0 : Int(ends[Int(b) - 1])) ..< Int(ends[Int(b)])]
            return LinkList.precedes(x, y)
        }
    }

    /// Drops what only building needed.
    package mutating func finish() {
        targetIndex = [:]
    }

    package var startIndex: Int { 0 }
    package var endIndex: Int { order.count }

    package subscript(position: Int) -> Link {
        Link(name: name(at: position), target: target(at: position))
    }

    /// The bytes of the name at position `i`, as stored.
    package func nameBytes(at i: Int) -> ArraySlice<UInt8> {
        let stored = Int(order[i])
        return names[(stored == 0 ? 0 : Int(ends[stored - 1])) ..< Int(ends[stored])]
    }

    /// The name as text; bytes that are not UTF-8 read as U+FFFD.
    package func name(at i: Int) -> String {
        String(decoding: nameBytes(at: i), as: UTF8.self)
    }

    package func isHard(_ i: Int) -> Bool {
        let stored = Int(order[i])
        return hardBits[stored / 64] & (1 << UInt64(stored % 64)) != 0
    }

    /// The object address of a hard link, nil for any other.
    package func address(at i: Int) -> UInt64? { isHard(i) ? payloads[Int(order[i])] : nil }

    /// The index in `targets` of a link that is not hard, nil for a hard link.
    package func targetNumber(at i: Int) -> Int? { isHard(i) ? nil : Int(payloads[Int(order[i])]) }

    package func target(at i: Int) -> LinkTarget {
        let payload = payloads[Int(order[i])]
        return isHard(i) ? .hard(address: payload) : targets[Int(payload)]
    }

    /// Whether names increase strictly in byte order and are all UTF-8, as a sorted listing's
    /// names do (then `index(named:)` finds each name a lookup can bring).
    package var isSearchable: Bool {
        for i in indices {
            guard String(validating: nameBytes(at: i), as: UTF8.self) != nil else { return false }
            if i > 0, !LinkList.precedes(nameBytes(at: i - 1), nameBytes(at: i)) { return false }
        }
        return true
    }

    /// The position of the link named `name`, by binary search; only for a searchable list.
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
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                let common = Swift.min(x.count, y.count)
                let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                return order != 0 ? order < 0 : x.count < y.count
            }
        }
    }

    /// Bytes held, for logs and tests.
    package var heldBytes: Int {
        names.capacity + ends.capacity * 4 + payloads.capacity * 8 + hardBits.capacity * 8 + order.capacity * 4
    }
}
