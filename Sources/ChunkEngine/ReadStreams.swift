/// Recognises sequential readers of one dataset and says when and what to read ahead.
///
/// A dataset is shared by every reader (all open handles of the file), so instead of one
/// "last offset" it keeps a few recent streams, each the end of the last read that
/// continued it. A read continues a stream when it starts within one read size of the
/// stream's end (so a request that a multithreaded daemon serves out of order still
/// counts) and reaches past that end. A stream reads ahead only after
/// `hitsBeforeReadAhead` continuations, so a random reader, whose reads land anywhere,
/// practically never triggers it (in a file a few hundred reads long it may, rarely). The
/// least recently used stream makes room for a new one.
///
/// It also says what a stream has left behind (`Decision.behind`): the bytes from where
/// the stream started up to 8 read sizes before the current read (slack
/// for requests still in flight and served out of order), each byte reported once, so an
/// engine whose reads are cached by the kernel can drop those tiles
/// (TiledReader+DropBehind.swift).
///
/// Not thread-safe: the dataset keeps it in a mutex.
struct ReadStreams {
    struct Stream {
        var id: Int
        /// Where the stream's first read started.
        var start: Int
        /// End of the furthest read of the stream.
        var end: Int
        /// Bytes below this were reported behind.
        var behindEnd: Int
        /// Read-ahead has been asked up to here.
        var aheadEnd: Int
        var hits: Int
        var lastUse: Int
    }

    static let capacity = 8
    /// A byte is behind once the stream is this many read sizes past it (8 MiB for 1 MiB
    /// reads): drop-behind must not drop what a straggling request still needs.
    static let behindSlackReads = 8
    static let hitsBeforeReadAhead = 2

    private(set) var streams: [Stream] = []
    private var clock = 0

    /// What a read asks of read-ahead: the byte range to load, and the stream to tell if
    /// it could not be loaded (`retreat`).
    struct Window: Equatable {
        var stream: Int
        var range: Range<Int>
    }

    /// What `note` found: the window to read ahead, if any, and whether earlier read-ahead
    /// of the stream already covers this read (then the read need not schedule its tiles).
    struct Decision: Equatable {
        var window: Window?
        var covered = false
        /// Bytes the stream has passed since the last report, and where the stream started
        /// (a tile is behind only if the stream read all of it: it starts at or after `start`).
        var behind: Range<Int>?
        var start = 0
    }

    /// Notes a read of `offset ..< offset+count` of a `fileSize`-byte file; returns the
    /// window to read ahead, if this read continues a stream that reads ahead
    /// `aheadBytes` and the window has moved by at least `step` since last asked.
    mutating func note(offset: Int, count: Int, fileSize: Int, aheadBytes: Int, step: Int) -> Decision {
        clock += 1
        let end = offset + count
        var best: Int?
        for (index, stream) in streams.enumerated()
        where abs(offset - stream.end) <= count && end > stream.end {
            if let current = best, abs(offset - streams[current].end) <= abs(offset - stream.end) { continue }
            best = index
        }
        guard let index = best else {
            let stream = Stream(id: clock, start: offset, end: end, behindEnd: offset, aheadEnd: end, hits: 0, lastUse: clock)
            if streams.count < Self.capacity {
                streams.append(stream)
            } else if let oldest = streams.indices.min(by: { streams[$0].lastUse < streams[$1].lastUse }) {
                streams[oldest] = stream
            }
            return Decision()
        }
        let covered = streams[index].hits >= Self.hitsBeforeReadAhead && streams[index].aheadEnd >= end
        streams[index].end = max(streams[index].end, end)
        streams[index].hits += 1
        streams[index].lastUse = clock
        var decision = Decision(covered: covered, start: streams[index].start)
        guard streams[index].hits >= Self.hitsBeforeReadAhead else { return decision }
        // Slack for requests still in flight behind this one: the kernel's read-ahead keeps
        // several outstanding, and a multithreaded daemon may serve them in any order.
        let passed = offset - Self.behindSlackReads * count
        if passed > streams[index].behindEnd {
            decision.behind = streams[index].behindEnd ..< passed
            streams[index].behindEnd = passed
        }
        let stream = streams[index]
        guard aheadBytes > 0 else { return decision }
        let want = min(fileSize, stream.end + aheadBytes)
        let from = max(stream.aheadEnd, stream.end)
        guard want > from, want - from >= min(step, fileSize - from) else { return decision }
        streams[index].aheadEnd = want
        decision.window = Window(stream: stream.id, range: from ..< want)
        return decision
    }

    /// Read-ahead stopped at `position` (the cache's read-ahead share was full): ask again
    /// from there on the stream's next read.
    mutating func retreat(stream id: Int, to position: Int) {
        guard let index = streams.firstIndex(where: { $0.id == id }) else { return }
        streams[index].aheadEnd = min(streams[index].aheadEnd, position)
    }
}
