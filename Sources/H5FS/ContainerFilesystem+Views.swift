import Glibc
import H5Model

/// Views of typed datasets (`-o npy`, `-o frames`; docs/mapping.md, "Views"): `NAME.npy`
/// beside the dataset file, and `NAME.frames/` for datasets of rank 3 or more. Views are
/// made from what the dataset node already knows — no libhdf5 call — and read through the
/// dataset's own file, so they share its chunk cache. Real objects of the same name win
/// (the namespace looks views up last), and views refuse every change.
extension ContainerFilesystem {
    static let npySuffix = ".npy"
    static let framesSuffix = ".frames"

    /// The raw array a dataset node serves, as views see it; nil for nodes that have no views
    /// (groups, byte, text and JSON-lines datasets, null dataspaces).
    private struct ViewSource {
        var info: DatasetInfo
        var shape: [UInt64]
        /// Element and shape of the raw file: a dataset's own array type is flattened.
        var element: DataType
        var fullShape: [UInt64]
        var byteCount: UInt64
    }

    private func viewSource(_ node: Node) -> ViewSource? {
        guard case .dataset(_, _, let content, let description) = node.kind, description.rendering == .rawArray,
              let info = description.info, let shape = info.shape else { return nil }
        let flat = info.type.flattenedForRawArray
        return ViewSource(info: info, shape: shape, element: flat.element,
                          fullShape: shape + flat.extraDims.map { UInt64($0) }, byteCount: content.size)
    }

    /// The entries of the views of `node`, listed under `name` in its directory.
    func viewEntries(of node: Node, named name: String) throws(FSError) -> [DirectoryEntry] {
        guard options.npy || options.frames, viewSource(node) != nil else { return [] }
        var out: [DirectoryEntry] = []
        if let npy = try npyView(of: node) { out.append(DirectoryEntry(name: name + Self.npySuffix, attributes: npy.attributes)) }
        if let frames = try framesDirectory(of: node) {
            out.append(DirectoryEntry(name: name + Self.framesSuffix, attributes: frames.attributes))
        }
        return out.filter { NameRules.isValidFileName($0.name) }
    }

    /// The view `name` stands for in the group at `path` (`x.npy`, `x.frames`), if any.
    /// Called after real objects and sidecars, which win.
    func viewNode(named name: String, in path: H5Path, file: MountedFile, address: UInt64,
                  mayHaveLink: (String) -> Bool = { _ in true }) throws(FSError) -> Node? {
        for suffix in [Self.npySuffix, Self.framesSuffix] where name.hasSuffix(suffix) {
            guard suffix == Self.npySuffix ? options.npy : options.frames else { continue }
            let base = String(name.dropLast(suffix.count))
            guard !base.isEmpty, mayHaveLink(base), let link = try link(named: base, in: path, file: file),
                  let target = try node(for: link, in: file, directory: path, address: address) else { continue }
            return suffix == Self.npySuffix ? try npyView(of: target) : try framesDirectory(of: target)
        }
        return nil
    }

    /// `NAME.npy` of a typed dataset: numpy's header, then the whole raw array. None for
    /// types numpy cannot describe in a header (compounds with out-of-order members).
    func npyView(of dataset: Node) throws(FSError) -> Node? {
        guard options.npy, let source = viewSource(dataset),
              let header = NumpyHeader.header(element: source.element, shape: source.fullShape) else { return nil }
        let view = DatasetView(dataset: dataset.id, prefix: header, offset: 0, length: source.byteCount)
        let key = NodeKey.view(dataset: dataset.id, role: .npy)
        let make = { (id: NodeID) -> Node in
            Node(id: id, kind: .view(view), attributes: self.viewAttributes(id: id, mode: S_IFREG | 0o444, size: view.size, of: dataset))
        }
        guard let known = nodes.node(forKey: key) else { return try nodes.node(forKey: key, make: make) }
        if case .view(let old) = known.kind, old.prefix == header, old.length == view.length { return known }
        // The dataset changed shape or type since (the write path): same id, new header.
        let fresh = make(known.id)
        nodes.replace(fresh)
        return fresh
    }

    /// `NAME.frames/` of a typed dataset of rank 3 or more.
    func framesDirectory(of dataset: Node) throws(FSError) -> Node? {
        guard options.frames, let source = viewSource(dataset), source.shape.count >= 3,
              let elementBytes = source.info.type.fixedSize else { return nil }
        let key = NodeKey.view(dataset: dataset.id, role: .frames)
        let known = nodes.node(forKey: key)
        if let known, case .frames(let frames) = known.kind, frames.shape == source.shape,
           frames.frameBytes * frames.count == source.byteCount { return known }
        var frameBytes = UInt64(elementBytes)
        for extent in source.shape.dropFirst() {
            let (product, overflow) = frameBytes.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            frameBytes = product
        }
        let count = source.shape[0]
        guard count.multipliedReportingOverflow(by: frameBytes) == (source.byteCount, false) else { return nil }
        let frameShape = Array(source.fullShape.dropFirst())
        let header = options.npy ? NumpyHeader.header(element: source.element, shape: frameShape) : nil
        let firstID = nodes.reserveIDs(FramesDirectory.idCount(frames: count, npy: header != nil))
        let frames = FramesDirectory(
            dataset: dataset.id, shape: source.shape, frameBytes: frameBytes, npyHeader: header,
            sidecar: Array(framesSidecar(source, frameShape: frameShape, count: count, frameBytes: frameBytes).prettyText.utf8),
            firstID: firstID, fileAttributes: viewAttributes(id: 0, mode: S_IFREG | 0o444, size: 0, of: dataset))
        let make = { (id: NodeID) -> Node in
            Node(id: id, kind: .frames(frames), attributes: self.viewAttributes(id: id, mode: S_IFDIR | 0o555, size: 0, of: dataset, links: 2))
        }
        let made: Node
        if let known {
            // The dataset changed shape since: same directory id, a new block of frame ids.
            made = make(known.id)
            nodes.replace(made)
        } else {
            made = try nodes.node(forKey: key, make: make)
        }
        if case .frames(let winner) = made.kind, winner === frames { frameBlocks.add(frames) }
        return made
    }

    /// The hidden `.attrs` of a frames directory: what the raw-array promise needs for one
    /// frame (dtype and shape, as in the dataset's sidecar), and how many frames there are.
    private func framesSidecar(_ source: ViewSource, frameShape: [UInt64], count: UInt64, frameBytes: UInt64) -> JSONValue {
        let datasetSidecar = SidecarBuilder.dataset(source.info, rendering: .rawArray, attributes: [])
        var members: [(String, JSONValue)] = [("kind", .string("frames")), ("dtype", datasetSidecar["dtype"] ?? .null)]
        if let enumeration = datasetSidecar["enum"] { members.append(("enum", enumeration)) }
        members += [("shape", .array(frameShape.map { .uint($0) })), ("frames", .uint(count)), ("frame_bytes", .uint(frameBytes))]
        return .object(members)
    }

    /// Views are read-only whatever the mount (0444, 0555 for frames directories); their
    /// times are the dataset's.
    private func viewAttributes(id: NodeID, mode: UInt32, size: UInt64, of dataset: Node, links: UInt32 = 1) -> NodeAttributes {
        var attributes = makeAttributes(id: id, mode: mode, linkCount: links, size: size, time: dataset.attributes.modificationTime)
        attributes.accessTime = dataset.attributes.accessTime
        attributes.changeTime = dataset.attributes.changeTime
        return attributes
    }

    /// Reads a view: its prefix, then its window of the dataset's file as that file reads now
    /// (typed writes not yet stored included), past the dataset's store gate.
    func readView(_ view: DatasetView, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        guard offset < view.size, let base = buffer.baseAddress else { return 0 }
        var filled = 0
        let prefixCount = UInt64(view.prefix.count)
        if offset < prefixCount {
            filled = Int(min(prefixCount - offset, UInt64(buffer.count)))
            view.prefix.withUnsafeBytes { source in
                base.copyMemory(from: source.baseAddress! + Int(offset), byteCount: filled)
            }
        }
        // The buffer ended inside the prefix.
        guard offset + UInt64(filled) >= prefixCount else { return filled }
        let bodyOffset = offset + UInt64(filled) - prefixCount
        let wanted = Int(min(UInt64(buffer.count - filled), view.length - bodyOffset))
        guard wanted > 0 else { return filled }
        let body = UnsafeMutableRawBufferPointer(start: base + filled, count: wanted)
        let read = { () throws(FSError) -> Int in
            guard case .dataset = try self.existing(view.dataset).kind else {
                throw FSError(EIO, "node \(view.dataset): the dataset of this view is gone")
            }
            return try self.readCurrent(view.dataset, offset: view.offset + bodyOffset, into: body)
        }
        guard let writes else { return try filled + read() }
        return try filled + writes.passingGate(view.dataset, read)
    }

    /// Every change to a view answers EPERM (EROFS on a read-only mount): views are
    /// derived from their dataset and go with it.
    func refuseViewChange(_ node: Node, _ what: String) throws(FSError) {
        switch node.kind {
        case .view, .frames:
            throw FSError(isReadOnly ? EROFS : EPERM, "\(what): a view of a dataset is read-only")
        default:
            return
        }
    }
}
