import Synchronization

/// A bounded free list of raw buffers: tile buffers of dropped tiles come back here and the
/// next load of a tile of the same size reuses one. Why: on our VMs first touch of fresh
/// memory runs at ~2.7 GB/s, slower than decoding, and glibc returns big blocks to the
/// system on free (mmap), so every new tile would be fresh memory.
///
/// `exact` pools hand out only buffers of the requested size (tiles: the size is what a
/// cache entry is charged); other pools hand out any buffer at least that big (scratch for
/// stored chunks). The pool keeps at most `limit` bytes, dropping its oldest buffers first;
/// these bytes are the engine's fixed overhead beyond the cache budget.
///
/// Its lock is a leaf: it may be taken while the cache's lock is held (a tile evicted
/// there may give its buffer back), and nothing is locked while it is held.
final class BufferPool: Sendable {
    /// A free buffer. @unchecked: a free buffer belongs to the pool alone.
    private struct Free: @unchecked Sendable {
        var base: UnsafeMutableRawPointer
        var count: Int
    }
    private struct State {
        var free: [Free] = []
        var bytes = 0
    }

    let limit: Int
    let exact: Bool
    private let state = Mutex(State())
    let reuses = Atomic<Int>(0)
    let allocations = Atomic<Int>(0)

    init(limit: Int, exact: Bool) {
        self.limit = max(0, limit)
        self.exact = exact
    }

    deinit {
        state.withLock { state in
            for buffer in state.free { buffer.base.deallocate() }
            state.free.removeAll()
        }
    }

    /// Bytes held for reuse now.
    var bytes: Int { state.withLock { $0.bytes } }

    /// A buffer of `count` bytes (`exact`), or of at least `count` bytes; contents undefined.
    func take(_ count: Int) -> UnsafeMutableRawBufferPointer {
        let wanted = max(1, count)
        let reused: Free? = state.withLock { state in
            let index = exact ? state.free.lastIndex { $0.count == wanted }
                              : state.free.lastIndex { $0.count >= wanted && $0.count <= 2 * wanted + (1 << 16) }
            guard let index else { return nil }
            let buffer = state.free.remove(at: index)
            state.bytes -= buffer.count
            return buffer
        }
        if let reused {
            reuses.wrappingAdd(1, ordering: .relaxed)
            return UnsafeMutableRawBufferPointer(start: reused.base, count: exact ? wanted : reused.count)
        }
        allocations.wrappingAdd(1, ordering: .relaxed)
        // Scratch buffers round up so that chunks of slightly different sizes share them.
        let capacity = exact ? wanted : (wanted + 0xFFFF) & ~0xFFFF
        return .allocate(byteCount: capacity, alignment: 64)
    }

    /// Takes back a buffer from `take` (or any buffer allocated with alignment 64).
    func give(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        guard buffer.count <= limit else {
            base.deallocate()
            return
        }
        let dropped: [Free] = state.withLock { state in
            var dropped: [Free] = []
            var excess = state.bytes + buffer.count - limit
            var keep = 0
            while excess > 0, keep < state.free.count {
                excess -= state.free[keep].count
                keep += 1
            }
            if keep > 0 {
                dropped = Array(state.free[..<keep])
                state.free.removeFirst(keep)
                state.bytes -= dropped.reduce(0) { $0 + $1.count }
            }
            state.free.append(Free(base: base, count: buffer.count))
            state.bytes += buffer.count
            return dropped
        }
        for buffer in dropped { buffer.base.deallocate() }
    }
}
