import Glibc
import Synchronization

/// `NAME.frames/` of a typed dataset of rank 3 or more (`-o frames`): frame `i` of the
/// first dimension is `NNNNNN.raw` (and `NNNNNN.npy` with `-o npy`), plus the hidden
/// sidecar `.attrs` with the frame's dtype and shape.
///
/// Identity: a frame file is (dataset, frame index, raw or npy). The directory reserves one
/// block of consecutive node ids when it is made, and a frame's id is arithmetic in it —
///     firstID + index * filesPerFrame (+ 1 for the .npy), the sidecar last —
/// so listing 100,000 frames makes no node, asks libhdf5 nothing and is the same list every
/// time (stable readdir offsets); a frame's node is rebuilt from its id when asked for.
/// Immutable: a dataset whose shape changes gets a new directory (and a new block).
final class FramesDirectory: Sendable {
    static let rawSuffix = ".raw"
    static let npySuffix = ".npy"
    static let sidecarName = ".attrs"

    let dataset: NodeID
    /// The dataset's shape this directory was made for.
    let shape: [UInt64]
    let count: UInt64
    let frameBytes: UInt64
    /// Digits of a frame name: the width of `count - 1`, at least 6.
    let width: Int
    /// The `.npy` header of one frame; nil without `-o npy` (or when numpy cannot describe the type).
    let npyHeader: [UInt8]?
    let sidecar: [UInt8]
    let firstID: NodeID
    /// What `stat` shows for every file of the directory, but the id and the size.
    let fileAttributes: NodeAttributes

    init(dataset: NodeID, shape: [UInt64], frameBytes: UInt64, npyHeader: [UInt8]?, sidecar: [UInt8],
         firstID: NodeID, fileAttributes: NodeAttributes) {
        self.dataset = dataset; self.shape = shape; self.count = shape.first ?? 0; self.frameBytes = frameBytes
        self.npyHeader = npyHeader; self.sidecar = sidecar; self.firstID = firstID; self.fileAttributes = fileAttributes
        self.width = max(6, String(max(count, 1) - 1).count)
    }

    var filesPerFrame: UInt64 { npyHeader == nil ? 1 : 2 }
    /// Ids the directory reserves: every frame file, then the sidecar.
    static func idCount(frames: UInt64, npy: Bool) -> UInt64 { frames * (npy ? 2 : 1) + 1 }
    var idCount: UInt64 { count * filesPerFrame + 1 }
    var sidecarID: NodeID { firstID + count * filesPerFrame }

    func name(frame: UInt64, npy: Bool) -> String {
        let digits = String(frame)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
            + (npy ? FramesDirectory.npySuffix : FramesDirectory.rawSuffix)
    }

    /// The node a name of this directory stands for; nil for names it does not have
    /// (only the canonical spelling: `000007.raw`, not `7.raw`).
    func node(named name: String) -> Node? {
        if name == FramesDirectory.sidecarName { return node(id: sidecarID) }
        let npy: Bool
        if name.hasSuffix(FramesDirectory.rawSuffix) {
            npy = false
        } else if npyHeader != nil, name.hasSuffix(FramesDirectory.npySuffix) {
            npy = true
        } else {
            return nil
        }
        let digits = name.utf8.dropLast(4)
        guard digits.count == width, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let frame = UInt64(String(decoding: digits, as: UTF8.self)), frame < count else { return nil }
        return node(id: firstID + frame * filesPerFrame + (npy ? 1 : 0))
    }

    /// The node of an id of this directory's block, made from the id alone.
    func node(id: NodeID) -> Node? {
        guard id >= firstID, id - firstID < idCount else { return nil }
        let view: DatasetView
        if id == sidecarID {
            view = DatasetView(dataset: dataset, prefix: sidecar, offset: 0, length: 0)
        } else {
            let frame = (id - firstID) / filesPerFrame
            let npy = (id - firstID) % filesPerFrame == 1
            view = DatasetView(dataset: dataset, prefix: npy ? npyHeader ?? [] : [], offset: frame * frameBytes, length: frameBytes)
        }
        var attributes = fileAttributes
        attributes.node = id
        attributes.size = view.size
        return Node(id: id, kind: .view(view), attributes: attributes)
    }

    /// Every entry, in a fixed order: per frame the .raw (then the .npy), the sidecar last.
    func entries() -> [DirectoryEntry] {
        var out: [DirectoryEntry] = []
        out.reserveCapacity(Int(clamping: idCount))
        var attributes = fileAttributes
        for frame in 0..<count {
            for file in 0..<filesPerFrame {
                attributes.node = firstID + frame * filesPerFrame + file
                attributes.size = frameBytes + (file == 1 ? UInt64(npyHeader?.count ?? 0) : 0)
                out.append(DirectoryEntry(name: name(frame: frame, npy: file == 1), attributes: attributes))
            }
        }
        attributes.node = sidecarID
        attributes.size = UInt64(sidecar.count)
        out.append(DirectoryEntry(name: FramesDirectory.sidecarName, attributes: attributes))
        return out
    }
}

/// The id blocks of every frames directory made so far, to find a frame's node from its id
/// (the kernel asks by id: getattr, open, read). Blocks never overlap and are never removed.
final class FrameBlocks: Sendable {
    /// Ordered by `firstID`.
    private let blocks = Mutex<[FramesDirectory]>([])

    func add(_ frames: FramesDirectory) {
        blocks.withLock { list in
            let at = list.partitioningIndex { $0.firstID > frames.firstID }
            list.insert(frames, at: at)
        }
    }

    func node(_ id: NodeID) -> Node? {
        let owner = blocks.withLock { list -> FramesDirectory? in
            let after = list.partitioningIndex { $0.firstID > id }
            return after == 0 ? nil : list[after - 1]
        }
        return owner?.node(id: id)
    }
}

private extension Array {
    /// The first index whose element satisfies `isAfter` (which must hold for a suffix).
    func partitioningIndex(where isAfter: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if isAfter(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
