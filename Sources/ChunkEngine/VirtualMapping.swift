import H5Model

/// A box of a virtual dataset read from a box of the same shape of one source dataset.
struct VirtualPiece: Sendable, Hashable {
    /// Which mapping (index into the dataset's `virtualSources`).
    var mapping: Int
    /// First element of the box in the virtual space and in the source's.
    var destination: [Int]
    var source: [Int]
    /// The box's extent (the same in both spaces).
    var count: [Int]
}

/// Why a virtual dataset is left to libhdf5 (logged once per dataset).
struct VirtualPlanRefusal: Error, Sendable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The hyperslab arithmetic of a virtual dataset's mappings: each mapping (a selection of
/// the virtual space paired with a selection of the source dataset's space) cut into
/// pieces, boxes contiguous in both spaces.
///
/// HDF5 pairs the k-th selected element of the destination with the k-th of the source,
/// both in C order of their selections. A regular hyperslab (or "all") selects a cartesian
/// product of one index set per dimension, so when both selections select the same number
/// of positions along every dimension, dimension d of one pairs with dimension d of the
/// other, position by position. Position p of a regular selection along a dimension lies at
/// start + (p / block) * stride + p % block; cutting the positions at every block boundary of
/// either side gives stretches contiguous on both, and the pieces are their products.
/// Anything else (points, irregular hyperslabs, unlimited counts, sizes that pair
/// otherwise) is refused: the dataset is read through libhdf5.
enum VirtualMapping {
    /// Most pieces a dataset may cut into before it is left to libhdf5 (an interleave of
    /// single elements would make one piece per element).
    static let pieceLimit = 1 << 16

    /// One dimension of a regular selection: `count` blocks of `block` elements, `stride` apart.
    struct Axis: Hashable {
        var start: Int
        var stride: Int
        var count: Int
        var block: Int
        var positions: Int { count * block }
        func coordinate(ofPosition p: Int) -> Int { start + (p / block) * stride + p % block }
    }

    /// A selection of a space of `shape`, one axis per dimension; nil when it selects nothing.
    static func axes(_ selection: Selection, shape: [Int]) throws(VirtualPlanRefusal) -> [Axis]? {
        switch selection {
        case .none:
            return nil
        case .all:
            guard !shape.contains(0) else { return nil }
            return shape.map { Axis(start: 0, stride: $0, count: 1, block: $0) }
        case .other(let text):
            throw VirtualPlanRefusal("selection \(text) is not a regular hyperslab")
        case .regular(let start, let stride, let count, let block):
            guard [start.count, stride.count, count.count, block.count].allSatisfy({ $0 == shape.count }) else {
                throw VirtualPlanRefusal("selection of rank \(start.count) in a space of rank \(shape.count)")
            }
            var axes: [Axis] = []
            for d in shape.indices {
                // H5S_UNLIMITED is UInt64.max: unlimited mappings stay with libhdf5.
                let limit = UInt64(Int32.max)
                guard count[d] < limit, block[d] < limit, stride[d] < limit, start[d] < limit else {
                    throw VirtualPlanRefusal("selection is unlimited (or too large) along dimension \(d)")
                }
                var axis = Axis(start: Int(start[d]), stride: Int(stride[d]), count: Int(count[d]), block: Int(block[d]))
                guard axis.count > 0, axis.block > 0 else { return nil }
                guard axis.count == 1 || axis.stride >= axis.block else {
                    throw VirtualPlanRefusal("selection's blocks overlap along dimension \(d)")
                }
                // Blocks that touch are one block (the C API's default block of 1 with a
                // stride of 1 selects a plain range this way).
                if axis.count > 1 && axis.stride == axis.block {
                    axis = Axis(start: axis.start, stride: axis.positions, count: 1, block: axis.positions)
                }
                // Every block edge is a cut: more blocks than pieces allowed is libhdf5's job
                // (and must not cost memory before it is refused).
                guard axis.count <= pieceLimit else {
                    throw VirtualPlanRefusal("selection has more than \(pieceLimit) blocks along dimension \(d)")
                }
                guard axis.coordinate(ofPosition: axis.positions - 1) < shape[d] else {
                    throw VirtualPlanRefusal("selection reaches past the space along dimension \(d)")
                }
                axes.append(axis)
            }
            return axes
        }
    }

    /// Stretches of positions `0 ..< a.positions` contiguous along both axes (which select
    /// the same number of positions): (first position, length), in order.
    static func stretches(_ a: Axis, _ b: Axis) -> [(position: Int, length: Int)] {
        var cuts: Set<Int> = [0, a.positions]
        for i in stride(from: 1, to: a.count, by: 1) { cuts.insert(i * a.block) }
        for i in stride(from: 1, to: b.count, by: 1) { cuts.insert(i * b.block) }
        let sorted = cuts.sorted()
        return zip(sorted, sorted.dropFirst()).map { (position: $0, length: $1 - $0) }
    }

    /// The pieces of one mapping (`mapping` is its index): [] when it selects nothing;
    /// refused past `limit` pieces.
    static func pieces(mapping: Int, destination: Selection, source: Selection, virtualShape: [Int],
                       sourceShape: [Int], limit: Int = pieceLimit) throws(VirtualPlanRefusal) -> [VirtualPiece] {
        guard virtualShape.count == sourceShape.count else {
            throw VirtualPlanRefusal("mapping \(mapping): source of rank \(sourceShape.count), virtual \(virtualShape.count)")
        }
        guard let virtualAxes = try axes(destination, shape: virtualShape),
              let sourceAxes = try axes(source, shape: sourceShape) else { return [] }
        guard virtualAxes.map(\.positions) == sourceAxes.map(\.positions) else {
            throw VirtualPlanRefusal("mapping \(mapping): destination selects \(virtualAxes.map(\.positions)) "
                                     + "positions per dimension, source \(sourceAxes.map(\.positions))")
        }
        let perDim = virtualAxes.indices.map { stretches(virtualAxes[$0], sourceAxes[$0]) }
        var total = 1
        for stretches in perDim {
            total = total.multipliedReportingOverflow(by: stretches.count).partialValue
            guard total <= limit else {
                throw VirtualPlanRefusal("mapping \(mapping) cuts into more than \(pieceLimit) pieces")
            }
        }
        var pieces: [VirtualPiece] = []
        pieces.reserveCapacity(total)
        var pick = [Int](repeating: 0, count: perDim.count)
        while true {
            var piece = VirtualPiece(mapping: mapping, destination: [], source: [], count: [])
            for d in perDim.indices {
                let stretch = perDim[d][pick[d]]
                piece.destination.append(virtualAxes[d].coordinate(ofPosition: stretch.position))
                piece.source.append(sourceAxes[d].coordinate(ofPosition: stretch.position))
                piece.count.append(stretch.length)
            }
            pieces.append(piece)
            // The next combination, last dimension fastest.
            var d = perDim.count - 1
            while d >= 0 {
                pick[d] += 1
                if pick[d] < perDim[d].count { break }
                pick[d] = 0
                d -= 1
            }
            if d < 0 { return pieces }
        }
    }

    /// The part of `piece` inside the box `origin ..< origin+extent` of the virtual space,
    /// its source box moved along; nil when they do not meet.
    static func clip(_ piece: VirtualPiece, toBox origin: [Int], extent: [Int]) -> VirtualPiece? {
        var clipped = piece
        for d in origin.indices {
            let low = max(piece.destination[d], origin[d])
            let high = min(piece.destination[d] + piece.count[d], origin[d] + extent[d])
            guard low < high else { return nil }
            clipped.destination[d] = low
            clipped.source[d] = piece.source[d] + (low - piece.destination[d])
            clipped.count[d] = high - low
        }
        return clipped
    }
}
