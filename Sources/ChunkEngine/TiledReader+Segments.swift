/// Serving a read as pieces of tiles, with no copy: the FUSE layer hands them to the
/// kernel in one writev (`fuse_reply_iov`) instead of copying them into a reply buffer
/// first. That copy was ~23% of the daemon's CPU streaming the bitshuffle detector stack
/// (8 MiB tiles, 1 MiB reads: every byte read from memory twice).
extension TiledReader {
    /// Runs shorter than this are copied instead (a writev takes at most IOV_MAX pieces,
    /// and many small pieces cost more than one copy).
    static let segmentRunBytes = 64 << 10

    /// Whether reads can be served as segments: decoded tiles in long runs (frames, 1-D
    /// chunks, whole rows). Unfiltered chunks are read from the file instead.
    var servesSegments: Bool {
        !readsUnfilteredChunks && grid.shortestRunBytes >= Self.segmentRunBytes
    }

    /// The pieces of tiles that make up `offset ..< offset+count` (inside the file), in
    /// order, adjacent stretches of one tile merged. Only when `servesSegments`.
    func segments(offset: Int, count: Int) throws(ChunkReadError) -> [TileSegment] {
        var segments: [TileSegment] = []
        try serve(offset: offset, count: count, unfilteredInto: nil) { tile, source, length, _ in
            if let last = segments.last, last.tile === tile, last.range.upperBound == source {
                segments[segments.count - 1].range = last.range.lowerBound ..< (source + length)
            } else {
                segments.append(TileSegment(tile: tile, range: source ..< (source + length)))
            }
        }
        return segments
    }
}

/// Bytes `range` of a tile; holding it keeps the tile's buffer alive.
struct TileSegment {
    let tile: Tile
    var range: Range<Int>
}
