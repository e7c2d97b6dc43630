import H5Model

/// What the first record of a journal says about the session.
package struct SessionStart: Sendable, Hashable {
    /// Absolute path of the container.
    package var container: String
    /// The container as it was when the session began; nil when it did not exist.
    package var original: FileIdentity?
    /// `-o inplace`: changes went straight into the container.
    package var inplace: Bool
    package var compression: Compression
    package var chunkSize: Int
    package init(container: String, original: FileIdentity?, inplace: Bool, compression: Compression, chunkSize: Int) {
        self.container = container; self.original = original; self.inplace = inplace
        self.compression = compression; self.chunkSize = chunkSize
    }
}

/// One entry of the write path's journal (see docs/write-path.md). Every change to the
/// working copy is recorded after libhdf5 accepted it, in the order the changes were made,
/// so replaying the records on a fresh copy of the original rebuilds the working copy.
/// File contents are not in the journal: chunks are referred to by where they sit in the
/// working copy (offset, size, CRC-32), closed files not yet packed by their spool.
package enum JournalRecord: Sendable, Hashable {
    case start(SessionStart)
    case createGroup(H5Path)
    case deleteLink(H5Path)
    case moveLink(from: H5Path, to: H5Path)
    case softLink(H5Path, target: String)
    case hardLink(H5Path, existing: H5Path)
    case setAttribute(H5Path, name: String, value: JSONValue)
    case deleteAttribute(H5Path, name: String)
    /// Several attribute changes of one object, applied all or nothing (a sidecar edit).
    case changeAttributes(H5Path, [AttributeEdit])
    /// A file was closed: spool `spool` (sealed, `size` bytes) holds the content of `path`.
    case fileClosed(spool: UInt64, path: H5Path, size: UInt64)
    /// An attribute the file closed from spool `spool` gets when it is packed (its mode, owner
    /// and times: a file packed only at recovery keeps them too).
    case fileAttribute(spool: UInt64, name: String, value: JSONValue)
    /// A closed file not yet packed was renamed (it has no link in the working copy yet).
    case spoolMoved(spool: UInt64, to: H5Path)
    /// A spool will never be packed (its file was deleted or superseded).
    case spoolDropped(spool: UInt64)
    /// Packing began: an unlinked dataset of `layout` for spool `spool` (0: none).
    case packBegin(token: UInt64, spool: UInt64, layout: ByteDatasetLayout)
    /// One chunk of a pack, where it was written in the working copy.
    case packChunk(token: UInt64, index: Int, offset: UInt64, size: UInt64, checksum: UInt32)
    /// The packed dataset was linked at `path`.
    case packLink(token: UInt64, path: H5Path, replacing: Bool)
    case packAbandon(token: UInt64)
    /// The working copy (this identity) is about to replace the container.
    case committing(FileIdentity)
    /// Bytes written into a typed dataset's raw-array file (its spool is kept until commit).
    case rawArrayWrite(RawArrayWrite)

    func encode(into writer: inout ByteWriter) {
        switch self {
        case .start(let start):
            writer.u8(1)
            writer.string(start.container)
            writer.bool(start.original != nil)
            if let original = start.original { writer.identity(original) }
            writer.bool(start.inplace)
            writer.string(start.compression.description)
            writer.u64(UInt64(start.chunkSize))
        case .createGroup(let path): writer.u8(2); writer.path(path)
        case .deleteLink(let path): writer.u8(3); writer.path(path)
        case .moveLink(let from, let to): writer.u8(4); writer.path(from); writer.path(to)
        case .softLink(let path, let target): writer.u8(5); writer.path(path); writer.string(target)
        case .hardLink(let path, let existing): writer.u8(6); writer.path(path); writer.path(existing)
        case .setAttribute(let path, let name, let value):
            writer.u8(7); writer.path(path); writer.string(name); writer.json(value)
        case .deleteAttribute(let path, let name): writer.u8(8); writer.path(path); writer.string(name)
        case .fileClosed(let spool, let path, let size): writer.u8(9); writer.u64(spool); writer.path(path); writer.u64(size)
        case .spoolMoved(let spool, let to): writer.u8(10); writer.u64(spool); writer.path(to)
        case .spoolDropped(let spool): writer.u8(11); writer.u64(spool)
        case .packBegin(let token, let spool, let layout):
            writer.u8(12); writer.u64(token); writer.u64(spool)
            writer.u64(layout.logicalSize); writer.u64(UInt64(layout.chunkSize)); writer.bool(layout.extendable)
            writer.string(layout.compression.description)
        case .packChunk(let token, let index, let offset, let size, let checksum):
            writer.u8(13); writer.u64(token); writer.u64(UInt64(index)); writer.u64(offset); writer.u64(size)
            writer.u32(checksum)
        case .packLink(let token, let path, let replacing): writer.u8(14); writer.u64(token); writer.path(path); writer.bool(replacing)
        case .packAbandon(let token): writer.u8(15); writer.u64(token)
        case .committing(let identity): writer.u8(16); writer.identity(identity)
        case .rawArrayWrite(let change): writer.u8(17); change.encode(into: &writer)
        case .changeAttributes(let path, let edits):
            writer.u8(18); writer.path(path); writer.u64(UInt64(edits.count))
            for edit in edits {
                switch edit {
                case .set(let name, let value): writer.bool(true); writer.string(name); writer.json(value)
                case .remove(let name): writer.bool(false); writer.string(name)
                }
            }
        case .fileAttribute(let spool, let name, let value): writer.u8(19); writer.u64(spool); writer.string(name); writer.json(value)
        }
    }

    static func decode(_ reader: inout ByteReader) throws(ByteReader.Overrun) -> JournalRecord {
        switch try reader.u8() {
        case 1:
            let container = try reader.string()
            let original = try reader.bool() ? try reader.identity() : nil
            let inplace = try reader.bool()
            guard let compression = Compression(parsing: try reader.string()) else { throw ByteReader.Overrun() }
            let chunkSize = try reader.count()
            return .start(SessionStart(container: container, original: original, inplace: inplace,
                                       compression: compression, chunkSize: chunkSize))
        case 2: return .createGroup(try reader.path())
        case 3: return .deleteLink(try reader.path())
        case 4: return .moveLink(from: try reader.path(), to: try reader.path())
        case 5: return .softLink(try reader.path(), target: try reader.string())
        case 6: return .hardLink(try reader.path(), existing: try reader.path())
        case 7: return .setAttribute(try reader.path(), name: try reader.string(), value: try reader.json())
        case 8: return .deleteAttribute(try reader.path(), name: try reader.string())
        case 9: return .fileClosed(spool: try reader.u64(), path: try reader.path(), size: try reader.u64())
        case 10: return .spoolMoved(spool: try reader.u64(), to: try reader.path())
        case 11: return .spoolDropped(spool: try reader.u64())
        case 12:
            let token = try reader.u64(), spool = try reader.u64()
            let size = try reader.u64(), chunkSize = try reader.count(), extendable = try reader.bool()
            guard let compression = Compression(parsing: try reader.string()) else { throw ByteReader.Overrun() }
            return .packBegin(token: token, spool: spool,
                              layout: ByteDatasetLayout(logicalSize: size, chunkSize: chunkSize, extendable: extendable,
                                                        compression: compression))
        case 13:
            return .packChunk(token: try reader.u64(), index: try reader.count(), offset: try reader.u64(),
                              size: try reader.u64(), checksum: try reader.u32())
        case 14: return .packLink(token: try reader.u64(), path: try reader.path(), replacing: try reader.bool())
        case 15: return .packAbandon(token: try reader.u64())
        case 16: return .committing(try reader.identity())
        case 17: return .rawArrayWrite(try RawArrayWrite.decode(&reader))
        case 18:
            let path = try reader.path()
            var edits: [AttributeEdit] = []
            for _ in 0..<(try reader.count()) {
                edits.append(try reader.bool() ? .set(name: try reader.string(), value: try reader.json())
                                               : .remove(name: try reader.string()))
            }
            return .changeAttributes(path, edits)
        case 19: return .fileAttribute(spool: try reader.u64(), name: try reader.string(), value: try reader.json())
        default: throw ByteReader.Overrun()
        }
    }
}

extension ByteWriter {
    mutating func identity(_ value: FileIdentity) {
        u64(value.device); u64(value.inode); u64(value.size); i64(value.modifiedSeconds); i64(value.modifiedNanoseconds)
    }
}

extension ByteReader {
    mutating func identity() throws(Overrun) -> FileIdentity {
        FileIdentity(device: try u64(), inode: try u64(), size: try u64(), modifiedSeconds: try i64(),
                     modifiedNanoseconds: try i64())
    }

    /// A non-negative count or size that fits an Int.
    mutating func count() throws(Overrun) -> Int {
        let value = try u64()
        guard value <= UInt64(Int.max) else { throw Overrun() }
        return Int(value)
    }
}
