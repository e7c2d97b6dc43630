import Glibc
import Synchronization

/// The bytes of one file open for writing, kept in a sparse file on disk (in the work
/// directory's `spool/`), never in memory: `pwrite` at any offset, `pread`, truncate up or
/// down, holes read as zeros. The spool file's size is always the file's logical size.
///
/// A spool may start from a seed (the file's content before this open): seed bytes show
/// through wherever nothing was written, and are copied into the spool file a block at a
/// time when a write lands inside a block (copy-on-write) or when the spool is sealed.
/// A truncation hides the seed beyond the new size for good (`seedLimit`), so truncating
/// down then growing reads zeros there, as on a local disk.
///
/// `seal()` ends writing: the seed is copied in full, and the spool file alone holds the
/// file's bytes (what the packer and crash recovery read).
///
/// Thread-safe: every operation holds the spool's lock, I/O included (operations on one
/// file are serial; different spools never share a lock). Lock order: spool, then anything
/// a seed takes (the HDF5 gate).
package final class Spool: ByteSource {
    package let id: UInt64
    package let path: String
    private let state: Mutex<State>
    /// Where the emptied file goes at `remove()`, for a later spool; nil: deleted.
    private let reserve: SpoolFileReserve?

    private struct State {
        var size: UInt64
        var seed: (any SpoolSeed)?
        /// Seed bytes are visible only below this offset.
        var seedLimit: UInt64
        /// Per seed block: whether the spool file already holds its bytes.
        var copied: [Bool]
        var sealed: Bool
        var removed = false
        /// The open spool file (not open while parked).
        var descriptor: Int32
        /// Sealed and its file closed while it waits to be packed (`park`).
        var parked = false
    }

    /// Creates the spool file `path` (which must not exist), empty or seeded. With a
    /// `reserve`, an emptied file kept there is renamed to `path` instead of making one, and
    /// `remove()` gives the file back to it.
    package convenience init(path: String, id: UInt64, seed: (any SpoolSeed)? = nil,
                             reserve: SpoolFileReserve? = nil) throws(StagingError) {
        let descriptor: Int32
        if let reused = reserve?.take(renamingTo: path) {
            descriptor = reused
        } else {
            descriptor = try SystemCalls.open(path, O_RDWR | O_CREAT | O_EXCL)
        }
        try self.init(descriptor: descriptor, path: path, id: id, seed: seed, reserve: reserve)
    }

    /// A spool in a file the reserve kept already named for it, with that id
    /// (`SpoolFileReserve.takeNamed`).
    package convenience init(reusing file: SpoolFileReserve.NamedFile, seed: (any SpoolSeed)? = nil,
                             reserve: SpoolFileReserve? = nil) throws(StagingError) {
        try self.init(descriptor: file.descriptor, path: file.path, id: file.id, seed: seed, reserve: reserve)
    }

    /// Takes over `descriptor`, an empty spool file at `path` (closed and deleted on failure).
    private init(descriptor: Int32, path: String, id: UInt64, seed: (any SpoolSeed)?,
                 reserve: SpoolFileReserve?) throws(StagingError) {
        let size = seed?.size ?? 0
        var blocks = 0
        if let seed {
            guard seed.blockSize > 0 else {
                close(descriptor)
                throw StagingError(EINVAL, "\(path): seed block size 0")
            }
            blocks = Int((size + UInt64(seed.blockSize) - 1) / UInt64(seed.blockSize))
            do {
                try SystemCalls.truncate(descriptor, size, path)
            } catch {
                close(descriptor)
                unlink(path)
                throw error
            }
        }
        self.id = id
        self.path = path
        self.reserve = reserve
        state = Mutex(State(size: size, seed: seed, seedLimit: size, copied: [Bool](repeating: false, count: blocks),
                            sealed: false, descriptor: descriptor))
    }

    /// Opens a sealed spool left on disk (crash recovery): read-only, its size is the file's.
    package init(sealedAt path: String, id: UInt64) throws(StagingError) {
        let descriptor = try SystemCalls.open(path, O_RDONLY)
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let error = StagingError.system(path)
            close(descriptor)
            throw error
        }
        self.id = id
        self.path = path
        reserve = nil
        state = Mutex(State(size: UInt64(info.st_size), seed: nil, seedLimit: 0, copied: [], sealed: true,
                            descriptor: descriptor))
    }

    deinit {
        let (open, descriptor) = state.withLock { (!$0.removed && !$0.parked, $0.descriptor) }
        if open { close(descriptor) }
    }

    package var size: UInt64 { state.withLock { $0.size } }
    package var isSealed: Bool { state.withLock { $0.sealed } }

    package func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            try requireWritable(state)
            let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.count))
            guard !overflow, end <= UInt64(Int64.max) else { throw StagingError(EFBIG, "\(path): write past the largest offset") }
            guard !bytes.isEmpty else { return }
            if state.seed != nil, offset < state.seedLimit {
                try copySeed(&state, touching: offset..<min(end, state.seedLimit), partialOnly: true)
            }
            try SystemCalls.pwriteAll(state.descriptor, bytes, at: offset, "\(path): write")
            if let seed = state.seed, offset < state.seedLimit {
                // Blocks the write covered whole now hold their final bytes.
                markCovered(&state, seed, offset..<min(end, state.seedLimit))
            }
            state.size = max(state.size, end)
        }
    }

    package func write(_ bytes: [UInt8], at offset: UInt64) throws(StagingError) {
        var failure: StagingError?
        bytes.withUnsafeBytes { buffer in
            do throws(StagingError) { try write(buffer, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StagingError) -> Int {
        try state.withLock { (state) throws(StagingError) -> Int in
            guard !state.removed else { throw StagingError(EBADF, "\(path): spool removed") }
            guard offset < state.size, !buffer.isEmpty else { return 0 }
            try unpark(&state)
            let count = Int(min(UInt64(buffer.count), state.size - offset))
            var position = offset
            let end = offset + UInt64(count)
            while position < end {
                let into = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(position - offset)..<count])
                if let seed = state.seed, position < state.seedLimit {
                    let block = Int(position / UInt64(seed.blockSize))
                    let blockEnd = min(UInt64(block + 1) * UInt64(seed.blockSize), state.seedLimit, end)
                    let part = UnsafeMutableRawBufferPointer(rebasing: into[0..<Int(blockEnd - position)])
                    if state.copied[block] {
                        try readSpool(state.descriptor, part, at: position)
                    } else {
                        try seed.read(at: position, into: part)
                    }
                    position = blockEnd
                } else {
                    try readSpool(state.descriptor, UnsafeMutableRawBufferPointer(rebasing: into[0..<Int(end - position)]),
                                  at: position)
                    position = end
                }
            }
            return count
        }
    }

    package func read(at offset: UInt64, count: Int) throws(StagingError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        var failure: StagingError?
        bytes.withUnsafeMutableBytes { buffer in
            do throws(StagingError) { got = try read(into: buffer, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
        return Array(bytes.prefix(got))
    }

    package func truncate(to newSize: UInt64) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            try requireWritable(state)
            guard newSize <= UInt64(Int64.max) else { throw StagingError(EFBIG, "\(path): size too large") }
            try SystemCalls.truncate(state.descriptor, newSize, "\(path): truncate")
            state.seedLimit = min(state.seedLimit, newSize)
            state.size = newSize
        }
    }

    /// Ends writing: copies what is left of the seed, then drops it. Idempotent.
    package func seal() throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            guard !state.sealed else { return }
            guard !state.removed else { throw StagingError(EBADF, "\(path): spool removed") }
            if state.seed != nil, state.seedLimit > 0 {
                try copySeed(&state, touching: 0..<state.seedLimit, partialOnly: false)
            }
            state.seed = nil
            state.copied = []
            state.sealed = true
        }
    }

    /// Flushes the spool file to disk (fsync). A parked spool is opened for it and parked
    /// again: an fsync of the mount syncs every waiting spool (`WorkingCopy.sync`), and
    /// must not leave each of them holding a descriptor until its pack.
    package func sync() throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            guard !state.removed else { return }
            let wasParked = state.parked
            try unpark(&state)
            defer { if wasParked { park(&state) } }
            try SystemCalls.fsync(state.descriptor, path)
        }
    }

    /// Closes and deletes the spool file (or empties it and gives it to the reserve).
    /// Idempotent.
    package func remove() {
        state.withLock { state in
            guard !state.removed else { return }
            state.removed = true
            state.seed = nil
            if state.parked {
                // Open it again only to hand it on; otherwise just delete it.
                guard reserve != nil, (try? unpark(&state)) != nil else {
                    unlink(path)
                    return
                }
            }
            if let reserve, reserve.give(state.descriptor, at: path) { return }
            close(state.descriptor)
            unlink(path)
        }
    }

    /// Closes the sealed spool's file while it waits to be packed, so files waiting in a
    /// queue hold no descriptor; reading or removing it opens it again (a sync opens it
    /// only while it syncs). Does nothing to a spool still being written.
    package func park() {
        state.withLock { state in
            guard state.sealed, !state.removed, !state.parked else { return }
            park(&state)
        }
    }

    /// Closes the open spool file of a sealed spool. Caller holds the lock.
    private func park(_ state: inout State) {
        close(state.descriptor)
        state.parked = true
    }

    /// Whether the spool's file is closed while it waits (`park`).
    package var isParked: Bool { state.withLock { $0.parked } }

    /// Opens a parked spool's file again. Caller holds the lock.
    private func unpark(_ state: inout State) throws(StagingError) {
        guard state.parked else { return }
        state.descriptor = try SystemCalls.open(path, O_RDWR)
        state.parked = false
    }

    private func requireWritable(_ state: State) throws(StagingError) {
        guard !state.removed else { throw StagingError(EBADF, "\(path): spool removed") }
        guard !state.sealed else { throw StagingError(EBADF, "\(path): spool is sealed") }
    }

    /// Reads spool bytes; anything past the spool file's end reads as zeros.
    private func readSpool(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StagingError) {
        let got = try SystemCalls.preadAll(descriptor, buffer, at: offset, "\(path): read")
        if got < buffer.count, let base = buffer.baseAddress {
            memset(base + got, 0, buffer.count - got)
        }
    }

    /// Copies the seed blocks overlapping `range` into the spool file; with `partialOnly`,
    /// only those the range does not cover whole (a write is about to cover the others).
    private func copySeed(_ state: inout State, touching range: Range<UInt64>, partialOnly: Bool) throws(StagingError) {
        guard let seed = state.seed, !range.isEmpty else { return }
        let blockSize = UInt64(seed.blockSize)
        let first = Int(range.lowerBound / blockSize)
        let last = Int((range.upperBound - 1) / blockSize)
        var scratch: UnsafeMutableRawBufferPointer?
        defer { scratch?.deallocate() }
        for block in first...last where !state.copied[block] {
            let blockRange = UInt64(block) * blockSize ..< min(UInt64(block + 1) * blockSize, state.seedLimit)
            if blockRange.isEmpty { continue }
            if partialOnly && range.lowerBound <= blockRange.lowerBound && range.upperBound >= blockRange.upperBound {
                continue
            }
            let buffer = scratch ?? UnsafeMutableRawBufferPointer.allocate(byteCount: seed.blockSize, alignment: 16)
            scratch = buffer
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(blockRange.count)])
            try seed.read(at: blockRange.lowerBound, into: part)
            try SystemCalls.pwriteAll(state.descriptor, UnsafeRawBufferPointer(part), at: blockRange.lowerBound, "\(path): copy")
            state.copied[block] = true
        }
    }

    /// Marks the seed blocks `range` covers whole as copied.
    private func markCovered(_ state: inout State, _ seed: any SpoolSeed, _ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        let blockSize = UInt64(seed.blockSize)
        for block in Int(range.lowerBound / blockSize)...Int((range.upperBound - 1) / blockSize) {
            let blockRange = UInt64(block) * blockSize ..< min(UInt64(block + 1) * blockSize, state.seedLimit)
            if range.lowerBound <= blockRange.lowerBound && range.upperBound >= blockRange.upperBound {
                state.copied[block] = true
            }
        }
    }
}
