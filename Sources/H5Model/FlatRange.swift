/// A run of consecutive elements of an N-d array in C order, as rectangular blocks.
///
/// Writing bytes at an arbitrary offset of a raw-array file touches elements
/// `[first, first + count)` of the flattened array; libhdf5 selects rectangles
/// (hyperslabs). Any such run is the union of at most `2·rank − 1` rectangles: the rest
/// of the first partial row (recursively, one rank down), the whole rows in between (one
/// block), and the start of the last partial row (recursively). The blocks come back in C
/// order, so the run's bytes are the blocks' bytes one after the other.
package enum FlatRange {
    package struct Block: Sendable, Hashable, CustomStringConvertible {
        package var start: [UInt64]
        package var count: [UInt64]
        package init(start: [UInt64], count: [UInt64]) { self.start = start; self.count = count }
        package var elementCount: UInt64 { count.reduce(1, *) }
        package var description: String { "\(start)+\(count)" }
    }

    /// The blocks of elements `[first, first + count)` of an array of `shape` (rank ≥ 1;
    /// the run must lie inside the array). Empty for `count == 0`.
    package static func blocks(shape: [UInt64], first: UInt64, count: UInt64) -> [Block] {
        guard count > 0, let rows = shape.first else { return [] }
        let inner = Array(shape.dropFirst())
        guard !inner.isEmpty else { return [Block(start: [first], count: [count])] }
        let rowLength = inner.reduce(1, *)
        precondition(rowLength > 0 && first + count <= rows * rowLength, "run \(first)+\(count) outside \(shape)")
        let end = first + count
        let (firstRow, firstOffset) = first.quotientAndRemainder(dividingBy: rowLength)
        let (lastRow, lastOffset) = end.quotientAndRemainder(dividingBy: rowLength)
        func within(_ row: UInt64, _ offset: UInt64, _ length: UInt64) -> [Block] {
            blocks(shape: inner, first: offset, count: length).map {
                Block(start: [row] + $0.start, count: [1] + $0.count)
            }
        }
        if firstRow == lastRow { return within(firstRow, firstOffset, count) }
        var result: [Block] = []
        var wholeFrom = firstRow
        if firstOffset != 0 {
            result += within(firstRow, firstOffset, rowLength - firstOffset)
            wholeFrom += 1
        }
        if lastRow > wholeFrom {
            result.append(Block(start: [wholeFrom] + inner.map { _ in 0 }, count: [lastRow - wholeFrom] + inner))
        }
        if lastOffset != 0 { result += within(lastRow, 0, lastOffset) }
        return result
    }
}
