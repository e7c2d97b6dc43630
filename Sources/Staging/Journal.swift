import Codecs
import Glibc
import Synchronization

/// The append-only journal file of a session (format in docs/write-path.md):
/// an 8-byte magic, then records framed as `[u32 length][u32 CRC-32 of payload][payload]`.
///
/// Appends go to the page cache with `write(2)` (one call per batch of records), which a
/// crash of the process cannot lose; `sync()` adds fsync for power loss. A torn record at
/// the end (a crash in the middle of a write) fails its length or CRC check, and reading
/// stops there: that change was never acknowledged. A failed append is cut off again
/// (`ftruncate` to the last good length); if even that fails, the journal refuses every
/// further append, so nothing is ever recorded after a gap.
package final class Journal: Sendable {
    static let magic: [UInt8] = Array("H5MJRNL".utf8) + [1]

    package let path: String
    private let descriptor: Int32
    private let state: Mutex<State>

    private struct State {
        var length: UInt64
        var broken = false
        var closed = false
    }

    private init(path: String, descriptor: Int32, length: UInt64) {
        self.path = path
        self.descriptor = descriptor
        state = Mutex(State(length: length))
    }

    deinit { close() }

    /// Creates the journal (which must not exist) with its start record.
    package static func create(path: String, start: SessionStart) throws(StagingError) -> Journal {
        let descriptor = try SystemCalls.open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND)
        let journal = Journal(path: path, descriptor: descriptor, length: 0)
        var writer = ByteWriter()
        writer.bytes = magic
        frame(.start(start), into: &writer)
        try journal.appendEncoded(writer.bytes)
        return journal
    }

    /// Opens an existing journal for more appends after its last good record (recovery's
    /// `committing` record). A torn tail is cut off first.
    package static func reopen(path: String) throws(StagingError) -> Journal {
        let contents = try read(path: path)
        let descriptor = try SystemCalls.open(path, O_WRONLY | O_APPEND)
        if contents.damagedTail {
            do throws(StagingError) {
                try SystemCalls.truncate(descriptor, contents.goodLength, path)
            } catch {
                Glibc.close(descriptor)
                throw error
            }
        }
        return Journal(path: path, descriptor: descriptor, length: contents.goodLength)
    }

    package func append(_ records: [JournalRecord]) throws(StagingError) {
        guard !records.isEmpty else { return }
        var writer = ByteWriter()
        for record in records { Self.frame(record, into: &writer) }
        try appendEncoded(writer.bytes)
    }

    package func sync() throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            guard !state.closed else { return }
            try SystemCalls.fsync(descriptor, path)
        }
    }

    package func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            Glibc.close(descriptor)
        }
    }

    private func appendEncoded(_ bytes: [UInt8]) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            guard !state.closed else { throw StagingError(EBADF, "\(path): journal closed") }
            guard !state.broken else { throw StagingError(EIO, "\(path): journal unusable after a failed append") }
            var failure: StagingError?
            bytes.withUnsafeBytes { buffer in
                do throws(StagingError) {
                    try SystemCalls.writeAll(descriptor, buffer, "\(path): append")
                } catch {
                    failure = error
                }
            }
            if let failure {
                if ftruncate(descriptor, off_t(state.length)) != 0 { state.broken = true }
                throw failure
            }
            state.length += UInt64(bytes.count)
        }
    }

    private static func frame(_ record: JournalRecord, into writer: inout ByteWriter) {
        var payload = ByteWriter()
        record.encode(into: &payload)
        writer.u32(UInt32(payload.bytes.count))
        writer.u32(Checksum.crc32(payload.bytes))
        writer.bytes.append(contentsOf: payload.bytes)
    }

    /// What a journal file holds, up to its first damaged record.
    package struct Contents: Sendable {
        package var records: [JournalRecord]
        /// Bytes of the magic and the good records.
        package var goodLength: UInt64
        /// Whether something followed the good records (a torn or corrupt record).
        package var damagedTail: Bool
    }

    /// Reads every good record. EINVAL when the file is not a journal at all.
    package static func read(path: String) throws(StagingError) -> Contents {
        let bytes = try readWholeFile(path)
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw StagingError(EINVAL, "\(path): not an h5mount journal")
        }
        var records: [JournalRecord] = []
        var position = magic.count
        while bytes.count - position >= 8 {
            var header = ByteReader(Array(bytes[position..<(position + 8)]))
            guard let length = try? header.u32(), let checksum = try? header.u32(),
                  Int(length) <= bytes.count - position - 8 else { break }
            let payload = Array(bytes[(position + 8)..<(position + 8 + Int(length))])
            guard Checksum.crc32(payload) == checksum else { break }
            var reader = ByteReader(payload)
            guard let record = try? JournalRecord.decode(&reader), reader.isAtEnd else { break }
            records.append(record)
            position += 8 + Int(length)
        }
        return Contents(records: records, goodLength: UInt64(position), damagedTail: position != bytes.count)
    }

    private static func readWholeFile(_ path: String) throws(StagingError) -> [UInt8] {
        let descriptor = try SystemCalls.open(path, O_RDONLY)
        defer { Glibc.close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: UInt64 = 0
        while true {
            var failure: StagingError?
            var got = 0
            chunk.withUnsafeMutableBytes { buffer in
                do throws(StagingError) {
                    got = try SystemCalls.preadAll(descriptor, buffer, at: offset, "\(path): read")
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            bytes.append(contentsOf: chunk.prefix(got))
            offset += UInt64(got)
            if got < chunk.count { return bytes }
        }
    }
}
