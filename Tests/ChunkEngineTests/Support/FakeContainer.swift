import H5Model
import Synchronization

/// A ContainerReader over a synthetic file: chunk locations from a table, `readBlock`
/// answered from the expected array (as libhdf5 would), and a log of every call.
final class FakeContainer: ChunkOnlyReader, Sendable {
    struct Log: Sendable {
        var locateCalls = 0
        var locatedChunks: [[UInt64]] = []
        var blocks: [(start: [UInt64], count: [UInt64])] = []
    }

    let filePath: String
    /// Dataset shape ([] = scalar) and element size, for `readBlock`.
    let shape: [Int]
    let elementSize: Int
    let expected: [UInt8]
    let locations: [[UInt64]: ChunkLocation]
    let failLocate: Bool
    let log = Mutex(Log())

    init(filePath: String, shape: [Int], elementSize: Int, expected: [UInt8],
         locations: [[UInt64]: ChunkLocation] = [:], failLocate: Bool = false) {
        self.filePath = filePath; self.shape = shape; self.elementSize = elementSize
        self.expected = expected; self.locations = locations; self.failLocate = failLocate
    }

    var locateCalls: Int { log.withLock { $0.locateCalls } }
    var blocks: [(start: [UInt64], count: [UInt64])] { log.withLock { $0.blocks } }

    func chunkLocations(dataset path: H5Path, chunks: [[UInt64]]) throws(StoreError) -> [ChunkLocation?] {
        log.withLock { $0.locateCalls += 1; $0.locatedChunks += chunks }
        if failLocate { throw StoreError(.unreadable, "chunk index of \(path) is damaged") }
        return chunks.map { locations[$0] }
    }

    func readBlock(dataset path: H5Path, start: [UInt64], count: [UInt64],
                   into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        log.withLock { $0.blocks.append((start, count)) }
        guard start.count == shape.count, count.count == shape.count else {
            throw StoreError(.invalidArgument, "rank mismatch")
        }
        for d in 0..<shape.count where start[d] + count[d] > UInt64(shape[d]) || count[d] == 0 {
            throw StoreError(.invalidArgument, "block out of bounds")
        }
        let elements = count.reduce(1) { $0 * Int($1) }
        guard buffer.count == elements * elementSize else { throw StoreError(.invalidArgument, "buffer size") }
        // Copy row by row (rows along the last dimension); a scalar is one row of one.
        let rank = shape.count
        let rowLength = rank == 0 ? 1 : Int(count[rank - 1])
        let rows = elements / rowLength
        var coordinate = [Int](repeating: 0, count: rank)
        for row in 0..<rows {
            var rest = row
            for d in stride(from: rank - 2, through: 0, by: -1) {
                coordinate[d] = Int(start[d]) + rest % Int(count[d])
                rest /= Int(count[d])
            }
            if rank > 0 { coordinate[rank - 1] = Int(start[rank - 1]) }
            var linear = 0
            for d in 0..<rank { linear = linear * shape[d] + coordinate[d] }
            let bytes = rowLength * elementSize
            expected.withUnsafeBytes { source in
                buffer.baseAddress!.advanced(by: row * bytes)
                    .copyMemory(from: source.baseAddress!.advanced(by: linear * elementSize), byteCount: bytes)
            }
        }
    }

}
