import Synchronization

/// Decoded tiles shared by every reader of the engine, with a byte budget that also
/// covers loads in flight.
///
/// Contract:
/// - Memory: `cachedBytes + inFlightBytes <= budget` whenever the lock is free, except
///   while the loads that readers are blocked on alone exceed it (then the store is empty;
///   the excess is at most one tile per blocked reader). A load reserves its bytes before
///   it starts, evicting least recently used tiles first, so a decoded tile never lands on
///   top of a full cache. A tile bigger than the budget is handed to its readers, never kept.
/// - One load per tile: a load is registered in the in-flight table (`Pending`) before it
///   runs. Whoever claims it first runs it — the reader that needs the tile, or a worker
///   running a scheduled job — and everyone else waits on its latch. A reader never waits
///   for a job still sitting in a queue: it claims the load and runs it itself.
/// - Read-ahead is speculative and bounded: its loads in flight plus the tiles it loaded
///   that no reader has touched yet stay within `aheadLimit` (half the budget), so
///   read-ahead cannot push out what readers are reading. A reader waiting for a
///   read-ahead load turns it into an ordinary one.
/// - Loads (pread, decode, libhdf5) run outside the lock. Lock order: this lock, then the
///   buffer pool's (a tile evicted here may hand its buffer back); the in-flight latches'
///   locks are never taken with this one held.
final class ChunkCache: Sendable {
    let budget: Int
    let aheadLimit: Int

    /// One load in flight.
    final class Pending: Sendable {
        let latch = Latch()
        let bytes: Int
        private let claimed = Atomic<Bool>(false)
        init(bytes: Int) { self.bytes = bytes }
        /// True for the one caller that gets to run the load.
        func claim() -> Bool {
            claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        }
    }

    private struct InFlight {
        var pending: Pending
        /// Counted against `aheadLimit` (read-ahead no reader has asked for yet).
        var speculative: Bool
    }

    private struct State {
        var store = LRUStore()
        var inFlight: [TileKey: InFlight] = [:]
        var inFlightBytes = 0
        var speculativeInFlightBytes = 0
        var peakBytes = 0
        var aheadTiles = 0

        var aheadBytes: Int { speculativeInFlightBytes + store.unreadBytes }

        mutating func fit(_ budget: Int) {
            store.evict(toFit: max(0, budget - inFlightBytes))
            peakBytes = max(peakBytes, store.bytes + inFlightBytes)
        }
    }
    private let state = Mutex(State())
    /// Loads run by scheduled jobs (the rest were run by readers).
    let scheduledRuns = Atomic<Int>(0)

    init(budget: Int) {
        self.budget = max(0, budget)
        aheadLimit = self.budget / 2
    }

    var cachedBytes: Int { state.withLock { $0.store.bytes } }
    var cachedTiles: Int { state.withLock { $0.store.count } }

    struct Snapshot {
        var cachedBytes, cachedTiles, inFlightBytes, aheadBytes, peakBytes, aheadTiles, aheadUnused: Int
    }
    var snapshot: Snapshot {
        state.withLock { state in
            Snapshot(cachedBytes: state.store.bytes, cachedTiles: state.store.count,
                     inFlightBytes: state.inFlightBytes, aheadBytes: state.aheadBytes, peakBytes: state.peakBytes,
                     aheadTiles: state.aheadTiles, aheadUnused: state.store.unreadDropped)
        }
    }

    func contains(_ key: TileKey) -> Bool {
        state.withLock { $0.store.contains(key) || $0.inFlight[key] != nil }
    }

    /// The tile under `key` for a reader that needs it now: from the cache, from a load in
    /// flight, or from `load` run on this thread (outside the lock). `bytes` is the size
    /// the tile will have (reserved against the budget while it loads).
    func tile(for key: TileKey, bytes: Int, load: () throws(ChunkReadError) -> Tile) throws(ChunkReadError) -> Tile {
        enum Step { case hit(Tile), wait(Latch), load(Pending) }
        let step: Step = state.withLock { state in
            if let tile = state.store.get(key) { return .hit(tile) }
            if var flight = state.inFlight[key] {
                if flight.speculative {
                    // Wanted now: no longer read-ahead's; it lands in the store as read.
                    flight.speculative = false
                    state.speculativeInFlightBytes -= flight.pending.bytes
                    state.inFlight[key] = flight
                }
                return flight.pending.claim() ? .load(flight.pending) : .wait(flight.pending.latch)
            }
            let pending = Pending(bytes: bytes)
            _ = pending.claim()
            state.inFlight[key] = InFlight(pending: pending, speculative: false)
            state.inFlightBytes += bytes
            state.fit(budget)
            return .load(pending)
        }
        switch step {
        case .hit(let tile):
            return tile
        case .wait(let latch):
            return try latch.wait().get()
        case .load(let pending):
            return try run(key, pending, load)
        }
    }

    enum Reservation {
        /// Cached or already in flight: nothing to do.
        case present
        /// Registered: schedule `runScheduled` with it.
        case reserved(Pending)
        /// The budget (or read-ahead's share of it) is taken: stop for now.
        case full
    }

    /// Registers loads that jobs will run soon, in order, under one lock: read-ahead
    /// (`speculative`, within `aheadLimit`) or tiles the current read copies next (not
    /// speculative). The first refused (`.full`: loads in flight would exceed the budget)
    /// ends the list: the result may be shorter than `requests`.
    func reserve(_ requests: [(key: TileKey, bytes: Int)], speculative: Bool) -> [Reservation] {
        state.withLock { state in
            var answers: [Reservation] = []
            answers.reserveCapacity(requests.count)
            for (key, bytes) in requests {
                if state.store.contains(key) || state.inFlight[key] != nil {
                    answers.append(.present)
                    continue
                }
                // Scheduled loads never take the budget past its end: only loads that
                // readers are blocked on may (see the contract).
                if state.inFlightBytes + bytes > budget || (speculative && state.aheadBytes + bytes > aheadLimit) {
                    answers.append(.full)
                    break
                }
                let pending = Pending(bytes: bytes)
                state.inFlight[key] = InFlight(pending: pending, speculative: speculative)
                state.inFlightBytes += bytes
                if speculative {
                    state.speculativeInFlightBytes += bytes
                    state.aheadTiles += 1
                }
                state.fit(budget)
                answers.append(.reserved(pending))
            }
            return answers
        }
    }

    /// A scheduled job's side of `reserve`: runs the load unless a reader claimed it first.
    func runScheduled(_ key: TileKey, _ pending: Pending, _ load: () throws(ChunkReadError) -> Tile) {
        guard pending.claim() else { return }
        scheduledRuns.wrappingAdd(1, ordering: .relaxed)
        _ = try? run(key, pending, load)
    }

    /// Runs a claimed load and publishes its result: into the store (if it fits), to the
    /// waiters, and the reservation released.
    private func run(_ key: TileKey, _ pending: Pending,
                     _ load: () throws(ChunkReadError) -> Tile) throws(ChunkReadError) -> Tile {
        let result: Result<Tile, ChunkReadError>
        do throws(ChunkReadError) { result = .success(try load()) } catch { result = .failure(error) }
        state.withLock { state in
            guard let flight = state.inFlight[key], flight.pending === pending else { return }
            state.inFlight[key] = nil
            state.inFlightBytes -= pending.bytes
            if flight.speculative { state.speculativeInFlightBytes -= pending.bytes }
            if case .success(let tile) = result, tile.count <= budget {
                state.store.insert(key, tile, unread: flight.speculative)
            }
            state.fit(budget)
        }
        pending.latch.fulfill(result)
        return try result.get()
    }

    /// Drops the tiles under `keys` that readers have read (unread read-ahead stays);
    /// returns how many were dropped. For drop-behind.
    func dropRead(_ keys: [TileKey]) -> Int {
        state.withLock { state in
            keys.reduce(0) { $0 + (state.store.removeIfRead($1) ? 1 : 0) }
        }
    }

    /// Forgets the tiles of some datasets (their container changed). Loads in flight
    /// finish and are published as usual.
    func remove(datasets: Set<Int>) {
        state.withLock { $0.store.removeAll(where: { datasets.contains($0.dataset) }) }
    }

    /// Forgets the tiles of one dataset from linear tile index `first` on (`-o swmr`: the
    /// edge a writer appends to). Loads of those tiles in flight may have read the chunk as
    /// it was: they still answer the readers waiting for them, but are not kept (`run`
    /// finds its reservation gone); a reader from now on loads the tile again.
    func remove(dataset: Int, tilesFrom first: Int) {
        state.withLock { state in
            state.store.removeAll(where: { $0.dataset == dataset && $0.tile >= first })
            for (key, flight) in state.inFlight where key.dataset == dataset && key.tile >= first {
                state.inFlight[key] = nil
                state.inFlightBytes -= flight.pending.bytes
                if flight.speculative { state.speculativeInFlightBytes -= flight.pending.bytes }
            }
        }
    }
}
