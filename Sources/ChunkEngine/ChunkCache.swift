import Synchronization

/// Decoded tiles shared by every reader of the engine, with a byte budget.
///
/// Contract:
/// - `cachedBytes <= budget` whenever the lock is free. A tile bigger than the budget is
///   handed to its readers but never kept.
/// - A tile is loaded once however many readers want it at the same time: the first one
///   registers a `Latch` in the in-flight table and loads; the others wait on the latch.
/// - Loads (pread, decode, libhdf5) run outside the lock. The latch's own lock is a leaf
///   and is never taken with this one held, so the locks never nest.
final class ChunkCache: Sendable {
    let budget: Int

    private struct State {
        var store = LRUStore()
        var inFlight: [TileKey: Latch] = [:]
    }
    private let state = Mutex(State())

    init(budget: Int) { self.budget = max(0, budget) }

    var cachedBytes: Int { state.withLock { $0.store.bytes } }
    var cachedTiles: Int { state.withLock { $0.store.count } }

    func contains(_ key: TileKey) -> Bool {
        state.withLock { $0.store.contains(key) || $0.inFlight[key] != nil }
    }

    /// The tile under `key`: from the cache, from a load in flight, or from `load` (run on
    /// this thread, outside the lock).
    func tile(for key: TileKey, load: () throws(ChunkReadError) -> Tile) throws(ChunkReadError) -> Tile {
        enum Step { case hit(Tile), wait(Latch), load(Latch) }
        let step: Step = state.withLock { state in
            if let tile = state.store.get(key) { return .hit(tile) }
            if let latch = state.inFlight[key] { return .wait(latch) }
            let latch = Latch()
            state.inFlight[key] = latch
            return .load(latch)
        }
        switch step {
        case .hit(let tile):
            return tile
        case .wait(let latch):
            return try latch.wait().get()
        case .load(let latch):
            let result: Result<Tile, ChunkReadError>
            do throws(ChunkReadError) { result = .success(try load()) } catch { result = .failure(error) }
            state.withLock { state in
                state.inFlight[key] = nil
                if case .success(let tile) = result, tile.bytes.count <= budget {
                    state.store.insert(key, tile)
                    state.store.evict(toFit: budget)
                }
            }
            latch.fulfill(result)
            return try result.get()
        }
    }

    /// Forgets the tiles of some datasets (their container changed).
    func remove(datasets: Set<Int>) {
        state.withLock { $0.store.removeAll(where: { datasets.contains($0.dataset) }) }
    }
}
