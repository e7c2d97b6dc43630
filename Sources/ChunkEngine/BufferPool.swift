import Glibc
import Synchronization

/// A bounded free list of raw buffers: tile buffers of dropped tiles come back here and the
/// next load of a tile of the same size reuses one. Why: on our VMs first touch of fresh
/// memory runs at ~2.7 GB/s, slower than decoding, and glibc returns big blocks to the
/// system on free (mmap), so every new tile would be fresh memory.
///
/// `exact` pools hand out only buffers of the requested size (tiles: the size is what a
/// cache entry is charged); other pools hand out any buffer at least that big (scratch for
/// stored chunks). The pool keeps at most `limit` bytes (and always up to `keepAtLeast`
/// buffers no bigger than `largestKept`, so tiles bigger than `limit` still circulate),
/// dropping its oldest buffers first; these bytes are the engine's fixed overhead beyond
/// the cache budget.
///
/// Buffers of 2 MiB and more are mapped directly, 2 MiB-aligned and marked for transparent
/// huge pages: first touch of huge pages runs at ~19 GB/s here against ~1.4 GB/s for 4 KiB
/// pages, and unmapping gives the memory back to the system at once (glibc keeps freed
/// blocks in per-thread arenas, so the daemon's RSS would creep past the budget).
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
    let keepAtLeast: Int
    let largestKept: Int
    private let state = Mutex(State())
    let reuses = Atomic<Int>(0)
    let allocations = Atomic<Int>(0)

    init(limit: Int, exact: Bool, keepAtLeast: Int = 0, largestKept: Int = 0) {
        self.limit = max(0, limit)
        self.exact = exact
        self.keepAtLeast = keepAtLeast
        self.largestKept = max(largestKept, self.limit)
    }

    deinit {
        state.withLock { state in
            for buffer in state.free { Self.release(buffer.base, count: buffer.count) }
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
        return Self.allocate(capacity)
    }

    /// Takes back a buffer from `take` (or from `BufferPool.allocate`, with its count).
    func give(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        guard buffer.count <= largestKept else {
            Self.release(base, count: buffer.count)
            return
        }
        let dropped: [Free] = state.withLock { state in
            var dropped: [Free] = []
            var excess = state.bytes + buffer.count - limit
            var keep = 0
            // Drop the oldest until within the limit, but keep a few buffers in any case.
            while excess > 0, keep < state.free.count, state.free.count - keep >= keepAtLeast {
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
        for buffer in dropped { Self.release(buffer.base, count: buffer.count) }
    }

    static let hugePage = 2 << 20

    /// `count` bytes, 64-byte aligned (huge-page backed from 2 MiB on); give them back with
    /// `release` and the same count.
    static func allocate(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if count >= hugePage, let base = mapHuge(count) {
            return UnsafeMutableRawBufferPointer(start: base, count: count)
        }
        return .allocate(byteCount: max(1, count), alignment: 64)
    }

    static func release(_ base: UnsafeMutableRawPointer, count: Int) {
        if count >= hugePage {
            munmap(base, roundUp(count))
        } else {
            base.deallocate()
        }
    }

    private static func roundUp(_ count: Int) -> Int { (count + hugePage - 1) / hugePage * hugePage }

    /// A 2 MiB-aligned anonymous mapping of `count` bytes (rounded up), advised for huge pages.
    private static func mapHuge(_ count: Int) -> UnsafeMutableRawPointer? {
        let length = roundUp(count)
        let failed = UnsafeMutableRawPointer(bitPattern: -1)
        guard let mapped = mmap(nil, length + hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != failed else { return nil }
        // Trim the mapping to an aligned window: the unaligned head and the rest of the tail.
        let address = UInt(bitPattern: mapped)
        let aligned = (address + UInt(hugePage) - 1) & ~UInt(hugePage - 1)
        let head = Int(aligned - address)
        if head > 0 { munmap(mapped, head) }
        let base = mapped + head
        let tail = hugePage - head
        if tail > 0 { munmap(base + length, tail) }
        // Not copied into forked children: containment forks the daemon for each libhdf5
        // trial (docs/hdf5-store.md), and page tables of the cache would make every fork
        // slower; a child never touches tiles.
        _ = madvise(base, length, MADV_DONTFORK)
        _ = madvise(base, length, MADV_HUGEPAGE)
        return base
    }
}
