import H5Model
import Synchronization

/// Where the chunks of one chunked dataset live, learnt lazily from the reader a batch at a
/// time and kept for the engine's lifetime (an entry is a few words; never walk all chunks).
final class ChunkIndex: Sendable {
    enum Entry: Sendable, Hashable {
        case allocated(ChunkLocation)
        case unallocated
    }

    private let entries = Mutex<[[Int]: Entry]>([:])

    func entry(of tile: [Int]) -> Entry? {
        entries.withLock { $0[tile] }
    }

    /// Makes sure the locations of `tiles` are known, asking the reader once for all the
    /// unknown ones; returns whether it asked. The reader is called outside the lock (it takes libhdf5's gate); two
    /// readers racing may both ask, which is harmless.
    func learn(_ tiles: [[Int]], tileShape: [Int], reader: any ContainerReader,
               path: H5Path) throws(ChunkReadError) -> Bool {
        let unknown = entries.withLock { entries in tiles.filter { entries[$0] == nil } }
        guard !unknown.isEmpty else { return false }
        let origins = unknown.map { tile in (0..<tile.count).map { UInt64(tile[$0] * tileShape[$0]) } }
        let locations: [ChunkLocation?]
        do {
            locations = try reader.chunkLocations(dataset: path, chunks: origins)
        } catch {
            throw ChunkReadError("dataset \(path): cannot locate chunks at \(Self.describe(origins)): \(error.message)")
        }
        guard locations.count == unknown.count else {
            throw ChunkReadError("dataset \(path): asked for \(unknown.count) chunk locations, got \(locations.count)")
        }
        entries.withLock { entries in
            for (tile, location) in zip(unknown, locations) {
                entries[tile] = location.map(Entry.allocated) ?? .unallocated
            }
        }
        return true
    }

    private static func describe(_ origins: [[UInt64]]) -> String {
        let shown = origins.prefix(4).map { "\($0)" }.joined(separator: ", ")
        return origins.count > 4 ? shown + " and \(origins.count - 4) more" : shown
    }
}
