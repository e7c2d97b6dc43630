/// A set of byte offsets kept as sorted, disjoint, non-adjacent ranges: which bytes of a
/// typed dataset's raw-array file were written since it was last stored.
package struct ByteRanges: Sendable, Hashable {
    package private(set) var ranges: [Range<UInt64>] = []

    package init(_ ranges: [Range<UInt64>] = []) {
        for range in ranges { insert(range) }
    }

    package var isEmpty: Bool { ranges.isEmpty }
    package var byteCount: UInt64 { ranges.reduce(0) { $0 + UInt64($1.count) } }

    /// Adds `range`, merging it with every range it overlaps or touches.
    package mutating func insert(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        let from = firstIndex(endingAtOrAfter: range.lowerBound)
        var to = from
        var merged = range
        while to < ranges.count, ranges[to].lowerBound <= merged.upperBound {
            merged = min(merged.lowerBound, ranges[to].lowerBound) ..< max(merged.upperBound, ranges[to].upperBound)
            to += 1
        }
        ranges.replaceSubrange(from..<to, with: [merged])
    }

    /// Drops every offset at or past `size`.
    package mutating func clip(to size: UInt64) {
        ranges = ranges.compactMap { $0.lowerBound < size ? $0.lowerBound ..< min($0.upperBound, size) : nil }
    }

    /// The parts of the set inside `window`, in order.
    package func intersecting(_ window: Range<UInt64>) -> [Range<UInt64>] {
        guard !window.isEmpty else { return [] }
        var result: [Range<UInt64>] = []
        var index = firstIndex(endingAtOrAfter: window.lowerBound + 1)
        while index < ranges.count, ranges[index].lowerBound < window.upperBound {
            let part = max(ranges[index].lowerBound, window.lowerBound) ..< min(ranges[index].upperBound, window.upperBound)
            if !part.isEmpty { result.append(part) }
            index += 1
        }
        return result
    }

    /// The parts of `window` not in the set, in order.
    package func gaps(in window: Range<UInt64>) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        var position = window.lowerBound
        for part in intersecting(window) {
            if part.lowerBound > position { result.append(position ..< part.lowerBound) }
            position = part.upperBound
        }
        if position < window.upperBound { result.append(position ..< window.upperBound) }
        return result
    }

    /// Index of the first range whose end is at or after `offset` (binary search).
    private func firstIndex(endingAtOrAfter offset: UInt64) -> Int {
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
