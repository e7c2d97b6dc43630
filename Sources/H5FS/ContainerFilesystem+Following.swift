import Glibc
import H5Model
import Threads

/// `-o swmr`: following datasets that a SWMR writer appends to (docs/mounting.md,
/// "Following a SWMR writer"). A dataset's node is rebuilt from a refreshed description
/// when it is looked up, stat'ed, listed or read, at most once per interval; its sidecar
/// with it, and its views (`-o npy`, `-o frames`) with it. Objects the writer creates are
/// not looked for (SWMR forbids creating them).
extension ContainerFilesystem {
    /// `node` as the file says now: itself unless this is a swmr mount, the node a
    /// dataset or a dataset's sidecar, and its refresh is due.
    func followed(_ node: Node) -> Node {
        guard let refreshes else { return node }
        switch node.kind {
        case .dataset:
            guard refreshes.claim(node.id, now: monotonicSeconds()) else { return node }
            return refreshFollowed(node)
        case .sidecar(let fileIndex, let objectPath, _):
            guard refreshes.claim(node.id, now: monotonicSeconds()) else { return node }
            let file = files[fileIndex]
            guard let info = try? file.reader.object(at: objectPath), info.kind == .dataset,
                  let dataset = nodes.node(forKey: .object(file: fileIndex, address: info.address)) else { return node }
            _ = followed(dataset)
            return nodes.node(node.id) ?? node
        case .view(let view):
            // `NAME.npy` follows its dataset; a frame's view never changes (frames are only added).
            guard nodes.node(forKey: .view(dataset: view.dataset, role: .npy))?.id == node.id,
                  let dataset = nodes.node(view.dataset) else { return node }
            return (try? npyView(of: followed(dataset))) ?? node
        case .frames(let frames):
            // `NAME.frames/` gains the new frames (the views remake themselves for a new shape).
            guard let dataset = nodes.node(frames.dataset) else { return node }
            return (try? framesDirectory(of: followed(dataset))) ?? node
        default:
            return node
        }
    }

    /// Directory entries with the sizes of their datasets followed.
    func followed(_ entries: [DirectoryEntry]) -> [DirectoryEntry] {
        guard refreshes != nil else { return entries }
        return entries.map { entry in
            guard let node = nodes.node(entry.attributes.node) else { return entry }
            return DirectoryEntry(name: entry.name, attributes: followed(node).attributes)
        }
    }

    /// Re-describes a dataset node (libhdf5 refreshes its metadata first) and puts the
    /// result in its place, with the same id; its sidecar shows the new shape and storage.
    /// A failure (the writer mid-flush, say) keeps the node as it was, logged once.
    private func refreshFollowed(_ node: Node) -> Node {
        guard case .dataset(let fileIndex, let path, let content, let description) = node.kind else { return node }
        let file = files[fileIndex]
        do throws(FSError) {
            let info: DatasetInfo
            do { info = try file.reader.refreshedDataset(at: path) } catch { throw FSError(error, context: path.description) }
            let previous = description.info?.shape
            let fresh: NodeContent
            switch content {
            case .rawArray:
                do {
                    fresh = .rawArray(try engine.refreshedDataset(reader: file.reader, path: path, info: info,
                                                                  previousShape: previous))
                } catch {
                    throw FSError(EIO, "\(path): \(error.message)")
                }
            case .rendered where info.shape != previous:
                // A growing string or JSON-lines dataset: render it again.
                let made: Node
                do {
                    made = try makeDatasetNode(file: file, path: path, info: try file.reader.object(at: path))
                } catch {
                    throw FSError(error, context: path.description)
                }
                guard case .dataset(_, _, let content, _) = made.kind else { return node }
                fresh = content
            case .rendered, .lazyRawArray:
                return node
            }
            var attributes = node.attributes
            if fresh.size != content.size {
                attributes.size = fresh.size
                // Data landed: the container's own mtime says when (objects keep no time of their own here).
                var st = stat()
                if stat(file.reader.filePath, &st) == 0 {
                    let time = Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec))
                    attributes.modificationTime = time
                    attributes.changeTime = time
                }
            }
            let updated = DatasetDescription(info: info, rendering: description.rendering, attributes: description.attributes)
            let refreshed = Node(id: node.id, kind: .dataset(file: fileIndex, path: path, content: fresh, description: updated),
                                 attributes: attributes)
            nodes.replace(refreshed)
            if updated.hasSidecar, let address = try? file.reader.object(at: path).address,
               let sidecar = nodes.node(forKey: .sidecar(file: fileIndex, address: address)) {
                let json = datasetSidecarJSON(info, rendering: description.rendering, attributes: description.attributes, file: file)
                nodes.replace(sidecarNode(id: sidecar.id, file: file, objectPath: path, json: json,
                                          time: attributes.modificationTime))
            }
            return refreshed
        } catch {
            logOnce("swmr: cannot refresh \(error.message)")
            return node
        }
    }
}
