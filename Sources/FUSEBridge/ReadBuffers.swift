import Synchronization

/// Reply buffers for READ, reused across requests: a 1 MiB read then costs no
/// allocation and no first touch of fresh pages (slow on these VMs), and the
/// filesystem copies straight into the buffer the reply is sent from.
/// One lock, held only to take or give back a buffer.
final class ReadBuffers: Sendable {
    private struct Buffer: @unchecked Sendable { let memory: UnsafeMutableRawBufferPointer }
    private let free = Mutex<[Buffer]>([])
    /// More idle buffers than this are freed (the session has about this many threads).
    private let keep = 16

    /// Runs `body` with a buffer of exactly `size` bytes.
    func with<Result>(size: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Result) rethrows -> Result {
        let taken = free.withLock { buffers -> Buffer? in
            guard let index = buffers.lastIndex(where: { $0.memory.count >= size }) else { return nil }
            return buffers.remove(at: index)
        }
        let buffer = taken ?? Buffer(memory: .allocate(byteCount: max(size, 1 << 20), alignment: 4096))
        defer {
            let kept = free.withLock { buffers -> Bool in
                guard buffers.count < keep else { return false }
                buffers.append(buffer)
                return true
            }
            if !kept { buffer.memory.deallocate() }
        }
        return try body(UnsafeMutableRawBufferPointer(rebasing: buffer.memory[..<size]))
    }

    deinit {
        free.withLock { buffers in for buffer in buffers { buffer.memory.deallocate() } }
    }
}
