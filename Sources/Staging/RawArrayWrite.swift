import H5Model

/// One stored change of a typed dataset's raw-array file: what the journal records when a
/// writer closes it (record `rawArrayWrite`), and what the working copy applies.
///
/// The written bytes are in a spool at their own offsets (a sparse file), kept until the
/// commit: libhdf5 rewrites the dataset's chunks where it likes, so a replay after a crash
/// needs the bytes themselves, not chunk locations.
package struct RawArrayWrite: Sendable, Hashable {
    /// The spool holding the written bytes; 0 when nothing was written (a truncation only).
    package var spool: UInt64
    package var path: H5Path
    /// Below this offset, bytes not written keep their stored value; from it on they read as
    /// the fill value (a truncation while open dropped them). Whole rows.
    package var keptBytes: UInt64
    /// The raw-array file's size afterwards: whole rows of the first dimension.
    package var size: UInt64
    /// The byte ranges the spool holds, sorted and disjoint.
    package var written: [Range<UInt64>]

    package init(spool: UInt64, path: H5Path, keptBytes: UInt64, size: UInt64, written: [Range<UInt64>]) {
        self.spool = spool; self.path = path; self.keptBytes = keptBytes; self.size = size; self.written = written
    }

    func encode(into writer: inout ByteWriter) {
        writer.u64(spool)
        writer.path(path)
        writer.u64(keptBytes)
        writer.u64(size)
        writer.u64(UInt64(written.count))
        for range in written {
            writer.u64(range.lowerBound)
            writer.u64(range.upperBound)
        }
    }

    static func decode(_ reader: inout ByteReader) throws(ByteReader.Overrun) -> RawArrayWrite {
        let spool = try reader.u64(), path = try reader.path()
        let kept = try reader.u64(), size = try reader.u64()
        let count = try reader.count()
        var written: [Range<UInt64>] = []
        for _ in 0..<count {
            let low = try reader.u64(), high = try reader.u64()
            guard low <= high else { throw ByteReader.Overrun() }
            written.append(low..<high)
        }
        return RawArrayWrite(spool: spool, path: path, keptBytes: kept, size: size, written: written)
    }
}
