import Foundation
import H5Model

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A file of chunks at known offsets, as HDF5 would lay them out (full-size edge chunks,
/// chunks in shuffled order with gaps), and the raw array a reader must see.
struct SyntheticChunkedFile {
    let shape: [Int]
    let chunkShape: [Int]
    let elementSize: Int
    /// The raw-array file: elements in C order, unallocated chunks as the fill value.
    var expected: [UInt8]
    var locations: [[UInt64]: ChunkLocation]
    let path: String
    /// Element-coordinate origins of every chunk, in C order of the chunk grid.
    let origins: [[UInt64]]

    /// - unallocated: which chunks (index in C order of the grid) have no storage.
    /// - encode: what a filter pipeline would store for a chunk's full bytes (with the chunk index).
    /// - mask: the filter mask recorded for a chunk.
    init(directory: URL, name: String = "data.bin", shape: [Int], chunkShape: [Int], elementSize: Int,
         fill: [UInt8]? = nil, seed: UInt64 = 1,
         unallocated: (Int) -> Bool = { _ in false },
         encode: (Int, [UInt8]) -> [UInt8] = { $1 },
         mask: (Int) -> UInt32 = { _ in 0 }) throws {
        self.shape = shape
        self.chunkShape = chunkShape
        self.elementSize = elementSize
        var random = SeededRandom(seed: seed)
        let count = shape.reduce(1, *)
        expected = (0..<(count * elementSize)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let grid = zip(shape, chunkShape).map { ($0 + $1 - 1) / $1 }
        let chunkCount = grid.reduce(1, *)
        var origins: [[UInt64]] = []
        var stored: [(origin: [UInt64], bytes: [UInt8], mask: UInt32)] = []
        for index in 0..<chunkCount {
            var rest = index
            var chunk = [Int](repeating: 0, count: shape.count)
            for d in stride(from: shape.count - 1, through: 0, by: -1) { chunk[d] = rest % grid[d]; rest /= grid[d] }
            let origin = (0..<shape.count).map { chunk[$0] * chunkShape[$0] }
            origins.append(origin.map(UInt64.init))
            let positions = Self.positions(shape: chunkShape)
            if unallocated(index) {
                let element = fill ?? [UInt8](repeating: 0, count: elementSize)
                for within in positions {
                    let global = zip(origin, within).map(+)
                    guard let linear = Self.linear(global, shape: shape) else { continue }
                    expected.replaceSubrange(linear * elementSize ..< (linear + 1) * elementSize, with: element)
                }
                continue
            }
            // Full-size chunk: outside the shape HDF5 stores whatever; we store 0xEE garbage.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(positions.count * elementSize)
            for within in positions {
                let global = zip(origin, within).map(+)
                if let linear = Self.linear(global, shape: shape) {
                    bytes += expected[linear * elementSize ..< (linear + 1) * elementSize]
                } else {
                    bytes += [UInt8](repeating: 0xEE, count: elementSize)
                }
            }
            stored.append((origin.map(UInt64.init), encode(index, bytes), mask(index)))
        }
        self.origins = origins
        stored.shuffle(using: &random)
        var file = [UInt8](repeating: 0x77, count: 512)   // a "superblock"
        var locations: [[UInt64]: ChunkLocation] = [:]
        for chunk in stored {
            file += [UInt8](repeating: 0x66, count: Int.random(in: 0...64, using: &random))
            locations[chunk.origin] = ChunkLocation(offset: UInt64(file.count), size: UInt64(chunk.bytes.count),
                                                    filterMask: chunk.mask)
            file += chunk.bytes
        }
        self.locations = locations
        path = directory.appendingPathComponent(name).path
        try Data(file).write(to: URL(fileURLWithPath: path))
    }

    func container(failLocate: Bool = false) -> FakeContainer {
        FakeContainer(filePath: path, shape: shape, elementSize: elementSize, expected: expected,
                      locations: locations, failLocate: failLocate)
    }

    /// Every coordinate of a box, in C order.
    static func positions(shape: [Int]) -> [[Int]] {
        var result: [[Int]] = [[]]
        for extent in shape { result = result.flatMap { prefix in (0..<extent).map { prefix + [$0] } } }
        return result
    }

    static func linear(_ coordinate: [Int], shape: [Int]) -> Int? {
        var linear = 0
        for d in 0..<shape.count {
            guard coordinate[d] < shape[d] else { return nil }
            linear = linear * shape[d] + coordinate[d]
        }
        return linear
    }
}

/// A DatasetInfo with the fields the chunk engine looks at.
func datasetInfo(type: DataType, shape: [UInt64]?, layout: StorageLayout, filters: [FilterSpec] = [],
                 fill: [UInt8]? = nil) -> DatasetInfo {
    DatasetInfo(type: type, shape: shape, maxShape: nil, layout: layout, filters: filters, fillValue: nil,
                fillValueBytes: fill, storageSize: 0, virtualSources: [])
}

/// An unsigned little-endian integer type of the given size, or opaque bytes for odd sizes.
func elementType(size: Int) -> DataType {
    [1, 2, 4, 8].contains(size) ? .integer(size: size, signed: false, order: .little) : .opaque(size: size, tag: "")
}
