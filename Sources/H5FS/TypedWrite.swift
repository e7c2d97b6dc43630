import Glibc
import H5Model
import Staging
import Synchronization

/// A typed dataset open for writing: the bytes written since its last store, in a spool at
/// their own offsets, and which ranges they are. Reads see the dataset's stored bytes with
/// the written ones over them; the store (at a writer's close, or fsync) hands the change to
/// the working copy (`RawArrayWrite`) and starts again from the new stored state.
///
/// Lock order: `state`, then the spool's lock and the working copy's (a first write makes
/// the spool under `state`). Reads take `state` only to copy what they need.
final class TypedWrite: Sendable {
    let geometry: RawArrayGeometry

    private struct State {
        var spool: Spool?
        var written = ByteRanges()
        /// The dataset's raw-array size as last stored.
        var storedBytes: UInt64
        /// Stored bytes below this offset show through where nothing was written; a
        /// truncation lowers it, and what lies beyond reads as the fill value.
        var keptBytes: UInt64
        /// The file's size now (exact: rows are completed only when stored).
        var size: UInt64
        /// Opened with O_TRUNC while the shape is fixed: must be full size again at the close.
        var replacing = false
        var changed = false
    }
    private let state: Mutex<State>

    init(geometry: RawArrayGeometry, storedBytes: UInt64) {
        self.geometry = geometry
        state = Mutex(State(storedBytes: storedBytes, keptBytes: storedBytes, size: storedBytes))
    }

    var size: UInt64 { state.withLock { $0.size } }
    var isChanged: Bool { state.withLock { $0.changed } }

    func write(_ data: UnsafeRawBufferPointer, at offset: UInt64, path: H5Path,
               makeSpool: () throws(FSError) -> Spool) throws(FSError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
        guard !overflow, end <= UInt64(Int64.max) else { throw FSError(EFBIG, "\(path): write past the largest offset") }
        guard !data.isEmpty else { return }
        try geometry.checkWrite(end: end, path: path)
        try state.withLock { (s) throws(FSError) in
            let spool: Spool
            if let existing = s.spool { spool = existing } else { spool = try makeSpool() }
            s.spool = spool
            do throws(StagingError) {
                try spool.write(data, at: offset)
            } catch {
                throw FSError(error.code, "\(path): \(error.message)")
            }
            s.written.insert(offset..<end)
            s.size = max(s.size, end)
            s.changed = true
        }
    }

    /// `openTruncating`: O_TRUNC at open (a fixed shape then must be rewritten whole).
    func truncate(to size: UInt64, openTruncating: Bool = false, path: H5Path) throws(FSError) {
        try state.withLock { (s) throws(FSError) in
            if openTruncating, !geometry.growable { s.replacing = true }
            try geometry.checkTruncate(from: s.size, to: size, replacing: s.replacing, path: path)
            guard size != s.size else { return }
            s.written.clip(to: size)
            s.keptBytes = min(s.keptBytes, size)
            s.size = size
            s.changed = true
        }
    }

    /// Bytes `offset ..< offset + buffer.count` of the file as it is now; `stored` reads the
    /// dataset's stored bytes (a range below its stored size).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: H5Path,
              stored: (UnsafeMutableRawBufferPointer, UInt64) throws(FSError) -> Void) throws(FSError) -> Int {
        let (size, kept, parts, spool) = state.withLock { s in
            (s.size, min(s.keptBytes, s.storedBytes), s.written.intersecting(offset ..< offset + UInt64(buffer.count)), s.spool)
        }
        guard offset < size, !buffer.isEmpty else { return 0 }
        let count = Int(min(UInt64(buffer.count), size - offset))
        let end = offset + UInt64(count)
        let storedEnd = max(offset, min(kept, end))
        if storedEnd > offset { try stored(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(storedEnd - offset)]), offset) }
        if storedEnd < end { fill(UnsafeMutableRawBufferPointer(rebasing: buffer[Int(storedEnd - offset)..<count]), from: storedEnd) }
        for part in parts where part.lowerBound < end {
            let upper = min(part.upperBound, end)
            let into = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(part.lowerBound - offset)..<Int(upper - offset)])
            do {
                _ = try spool?.read(into: into, at: part.lowerBound)
            } catch {
                throw FSError(error.code, "\(path): \(error.message)")
            }
        }
        return count
    }

    /// fsync of the written bytes (before the change that points at them is recorded).
    func syncSpool(path: H5Path) throws(FSError) {
        guard let spool = state.withLock({ $0.spool }) else { return }
        do throws(StagingError) {
            try spool.sync()
        } catch {
            throw FSError(error.code, "\(path): \(error.message)")
        }
    }

    /// The change to store (nil when nothing changed since the last store).
    func pendingChange(path: H5Path) throws(FSError) -> (RawArrayWrite, Spool?)? {
        try state.withLock { (s) throws(FSError) -> (RawArrayWrite, Spool?)? in
            guard s.changed else { return nil }
            if s.replacing, let fixed = geometry.fixedBytes, s.size != fixed {
                throw FSError(EINVAL, "\(path): opened with O_TRUNC, a dataset of fixed shape must be written whole "
                              + "(\(fixed) bytes), not \(s.size)")
            }
            let change = RawArrayWrite(spool: s.spool?.id ?? 0, path: path, keptBytes: s.keptBytes,
                                       size: geometry.storedSize(for: s.size), written: s.written.ranges)
            return (change, s.spool)
        }
    }

    /// After a store (or a failed one): the dataset now holds `storedBytes`, nothing is pending.
    /// Returns the spool that was in use, if any.
    @discardableResult
    func reset(storedBytes: UInt64) -> Spool? {
        state.withLock { s in
            let spool = s.spool
            s = State(storedBytes: storedBytes, keptBytes: storedBytes, size: storedBytes)
            return spool
        }
    }

    /// The fill value's bytes at their place in the file.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: UInt64) {
        let element = geometry.fillElement
        if element.allSatisfy({ $0 == 0 }) {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        let size = UInt64(element.count)
        for index in 0..<buffer.count { buffer[index] = element[Int((offset + UInt64(index)) % size)] }
    }
}
