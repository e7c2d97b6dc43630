/// The shape arithmetic of one raw-array file: elements in C order, cut into tiles.
///
/// A tile is what the engine fetches as a unit: a decoded HDF5 chunk, or a block read
/// through libhdf5. Its buffer is C-ordered too, either the full tile shape (decoded chunks:
/// HDF5 stores edge chunks at full size) or the tile clipped to the dataset's shape
/// (blocks). A byte range of the file is served as "runs": stretches of elements that are
/// contiguous both in the file and in one tile buffer, so each run is one memcpy.
struct TileGrid: Sendable {
    /// Dataset shape in elements, rank >= 1 (a scalar is `[1]`); every extent > 0.
    let shape: [Int]
    /// Tile shape, same rank, every extent > 0.
    let tileShape: [Int]
    let elementSize: Int
    let elementCount: Int
    /// Whether tile buffers have the full tile shape (true) or the clipped one (false).
    let fullTileBuffers: Bool

    /// Tiles along each dimension, and in all.
    let tileCounts: [Int]
    let tileCount: Int

    var rank: Int { shape.count }

    init(shape: [Int], tileShape: [Int], elementSize: Int, fullTileBuffers: Bool) {
        self.shape = shape
        self.tileShape = tileShape
        self.elementSize = elementSize
        self.elementCount = shape.reduce(1, *)
        self.fullTileBuffers = fullTileBuffers
        tileCounts = zip(shape, tileShape).map { ($0 + $1 - 1) / $1 }
        // Cannot overflow: there are no more tiles than elements.
        tileCount = tileCounts.reduce(1, *)
    }

    /// The largest tile buffer (an interior tile's): what read-ahead sizes itself by.
    var largestTileBytes: Int {
        (fullTileBuffers ? tileShape : zip(tileShape, shape).map { min($0, $1) }).reduce(elementSize, *)
    }

    /// Bytes of the shortest run through an interior tile: the tile's extent along the
    /// last dimension, times the trailing dimensions it covers whole.
    var shortestRunBytes: Int {
        var bytes = elementSize
        for d in stride(from: rank - 1, through: 0, by: -1) {
            bytes *= min(tileShape[d], shape[d])
            if tileShape[d] != shape[d] { break }   // as in forEachRun: padded or partial ends a run
        }
        return bytes
    }

    /// A tile's index in C order of the tile grid (the cache and the chunk index key by it).
    func linearIndex(of tile: [Int]) -> Int {
        var linear = 0
        for d in 0..<rank { linear = linear * tileCounts[d] + tile[d] }
        return linear
    }

    /// The tile coordinates of a linear index.
    func tile(atLinear linear: Int) -> [Int] {
        var tile = [Int](repeating: 0, count: rank)
        var rest = linear
        for d in stride(from: rank - 1, through: 0, by: -1) {
            tile[d] = rest % tileCounts[d]
            rest /= tileCounts[d]
        }
        return tile
    }

    /// Tiles of whole trailing dimensions of about `targetBytes`, for layouts with no chunks
    /// of their own: whole rows along dim 0 when a row fits, otherwise the longest suffix
    /// that fits (so a huge row is still cut into pieces).
    static func blockTileShape(shape: [Int], elementSize: Int, targetBytes: Int = 1 << 20) -> [Int] {
        let budget = max(1, targetBytes / max(1, elementSize))
        var tile = shape
        var inner = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[d] <= budget / inner {
                inner *= shape[d]
            } else {
                tile[d] = max(1, budget / inner)
                for e in 0..<d { tile[e] = 1 }
                break
            }
        }
        return tile
    }

    /// Element coordinates of a tile's first element.
    func origin(of tile: [Int]) -> [Int] {
        (0..<rank).map { tile[$0] * tileShape[$0] }
    }

    /// The tile's extent inside the dataset (edge tiles are clipped).
    func extent(of tile: [Int]) -> [Int] {
        (0..<rank).map { min(tileShape[$0], shape[$0] - tile[$0] * tileShape[$0]) }
    }

    /// The bytes of the file from a tile's first element to the end of its last one.
    func byteSpan(of tile: [Int]) -> Range<Int> {
        var first = 0
        var last = 0
        for d in 0..<rank {
            let start = tile[d] * tileShape[d]
            let end = min(start + tileShape[d], shape[d]) - 1
            first = first * shape[d] + start
            last = last * shape[d] + end
        }
        return (first * elementSize) ..< ((last + 1) * elementSize)
    }

    /// Bytes in a tile's buffer.
    func bufferBytes(of tile: [Int]) -> Int {
        (fullTileBuffers ? tileShape : extent(of: tile)).reduce(elementSize, *)
    }

    /// One run: `count` elements starting at C-order element `element` of the file, found
    /// at element `bufferElement` of tile `tile`'s buffer.
    struct Run {
        var tile: [Int]
        var bufferElement: Int
        var element: Int
        var count: Int
    }

    /// Calls `body` for the maximal runs covering `elements`, in file order.
    ///
    /// A run ends at the tile's edge along the last dimension, unless the tile spans whole
    /// trailing dimensions (e.g. chunk (1, 2048, 2048) of (200, 2048, 2048)): then rows
    /// follow each other in both the file and the buffer, and one run covers them all.
    func forEachRun<E: Error>(in elements: Range<Int>, _ body: (Run) throws(E) -> Void) throws(E) {
        var run = Run(tile: [Int](repeating: 0, count: rank), bufferElement: 0, element: 0, count: 0)
        var element = elements.lowerBound
        while element < elements.upperBound {
            // Walk the dimensions from the last: tile coordinates, offset in the tile buffer,
            // and how far the run reaches.
            var rest = element
            var bufferOffset = 0
            var bufferStride = 1
            var wholeSuffix = true      // dims after d are covered whole by this tile
            var inner = 1               // elements in those whole dims
            var linear = 0              // the element's offset within those whole dims
            var length = 0
            for d in stride(from: rank - 1, through: 0, by: -1) {
                let coordinate = rest % shape[d]
                rest /= shape[d]
                let t = coordinate / tileShape[d]
                let within = coordinate - t * tileShape[d]
                let extent = min(tileShape[d], shape[d] - t * tileShape[d])
                let bufferExtent = fullTileBuffers ? tileShape[d] : extent
                run.tile[d] = t
                bufferOffset += within * bufferStride
                bufferStride *= bufferExtent
                if wholeSuffix {
                    if extent == shape[d] && bufferExtent == shape[d] {
                        linear += coordinate * inner
                        inner *= shape[d]
                    } else {
                        length = (extent - within) * inner - linear
                        wholeSuffix = false
                    }
                }
            }
            if wholeSuffix { length = elementCount - element }   // one tile holds everything
            run.bufferElement = bufferOffset
            run.element = element
            run.count = min(length, elements.upperBound - element)
            try body(run)
            element += run.count
        }
    }

    /// The distinct tiles that `elements` touches, in order of first touch.
    func tiles(touching elements: Range<Int>) -> [[Int]] {
        var seen = Set<Int>()
        var ordered: [[Int]] = []
        var last: [Int] = []
        forEachRun(in: elements) { run in
            guard run.tile != last else { return }
            last = run.tile
            if seen.insert(linearIndex(of: run.tile)).inserted { ordered.append(run.tile) }
        }
        return ordered
    }
}

extension TileGrid {
    /// `-o swmr`: the first tile (linear index) that may differ from what was read when the
    /// dataset had `previousShape`. Growth along the first dimension keeps the linear index
    /// of every earlier tile (C order, first dimension slowest), and only the old edge row
    /// of tiles can have been partly written: that row and everything after it. Any other
    /// change (rank, trailing dimensions, no previous shape) renumbers tiles: all of them.
    func firstStaleTile(previousShape: [UInt64]) -> Int {
        guard previousShape.count == rank, rank > 0,
              zip(previousShape.dropFirst(), shape.dropFirst()).allSatisfy({ $0 == UInt64($1) }),
              let rows = Int(exactly: previousShape[0]), rows > 0 else { return 0 }
        let edgeRow = min(rows - 1, shape[0] - 1) / tileShape[0]
        return edgeRow * tileCounts.dropFirst().reduce(1, *)
    }
}
