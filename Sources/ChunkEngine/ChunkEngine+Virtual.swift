import H5Model

/// Virtual datasets read natively: at the first read the mappings (already in the
/// dataset's `virtualSources`) are turned into pieces of source datasets (VirtualMapping),
/// each source is opened once through `VirtualSourceFiles` and read by this engine like any
/// dataset (its own chunk index, pread, codecs, cache). The virtual dataset's tiles are the
/// sources' chunk shape when every source shares it, so a tile is usually one source chunk
/// decoded in place, on the workers, with read-ahead (TiledReader+Virtual.swift).
///
/// What this does not handle keeps libhdf5's serial path, whole: printf-style (`%b`)
/// source names, unlimited mappings, points or irregular hyperslabs, selections whose
/// pairing is not per dimension, sources of another type (libhdf5 converts) or rank, and
/// sources that are virtual themselves.
extension ChunkEngine {
    func virtualDataset(reader: any ContainerReader, path: H5Path, info: DatasetInfo, blocks: TileGrid,
                        sources: any VirtualSourceFiles) -> VirtualDataset {
        VirtualDataset { [self] in
            do throws(VirtualPlanRefusal) {
                let (tiled, missing) = try nativeVirtualReader(reader: reader, path: path, info: info, blocks: blocks,
                                                               sources: sources)
                sources.note("virtual dataset \(path) in \(reader.filePath): read natively from "
                             + "\(info.virtualSources.count - missing) of \(info.virtualSources.count) sources"
                             + (missing > 0 ? " (\(missing) missing: fill value)" : ""))
                return tiled
            } catch {
                sources.note("virtual dataset \(path) in \(reader.filePath): read through libhdf5: \(error.reason)")
                return blockReader(reader: reader, path: path, info: info, grid: blocks)
            }
        }
    }

    /// The reader of a dataset read in blocks through libhdf5 (`ContainerReader.readBlock`).
    func blockReader(reader: any ContainerReader, path: H5Path, info: DatasetInfo, grid: TileGrid) -> TiledReader {
        let registered = register(DatasetKey(filePath: reader.filePath, path: path, tileShape: grid.tileShape,
                                             decodesChunks: false))
        return TiledReader(grid: grid, source: .blocks, path: path, isScalar: false, datasetID: registered.id,
                           reader: reader, fillElement: info.fillValueBytes, context: context)
    }

    /// The native reader and how many mappings' sources are missing.
    private func nativeVirtualReader(reader: any ContainerReader, path: H5Path, info: DatasetInfo, blocks: TileGrid,
                                     sources: any VirtualSourceFiles) throws(VirtualPlanRefusal) -> (TiledReader, Int) {
        let shape = blocks.shape
        guard !info.virtualSources.isEmpty else { throw VirtualPlanRefusal("no mappings") }
        var opened: [String: VirtualLayout.Source?] = [:]
        var layoutSources: [VirtualLayout.Source?] = []
        var pieces: [VirtualPiece] = []
        var missing = 0
        for (index, mapping) in info.virtualSources.enumerated() {
            // libhdf5 expands %b (block number) and %% in these names: not ours to guess.
            guard !mapping.file.contains("%"), !mapping.dataset.contains("%") else {
                throw VirtualPlanRefusal("mapping \(index) names its source printf-style (\(mapping.file))")
            }
            let key = mapping.file + "\u{0}" + mapping.dataset
            let source: VirtualLayout.Source?
            if let known = opened[key] {
                source = known
            } else {
                source = try openSource(mapping, index: index, of: reader, info: info, sources: sources)
                opened[key] = source
            }
            layoutSources.append(source)
            guard let source else {
                missing += 1
                continue
            }
            pieces += try VirtualMapping.pieces(mapping: index, destination: mapping.destination,
                                                source: mapping.source, virtualShape: shape, sourceShape: source.shape,
                                                limit: VirtualMapping.pieceLimit - pieces.count)
        }
        // One source chunk per tile when every source is chunked alike (and decoded natively).
        let chunkShapes = Set(layoutSources.compactMap { $0 }.map { $0.chunks?.grid.tileShape ?? [] })
        let grid: TileGrid
        if chunkShapes.count == 1, let chunkShape = chunkShapes.first, chunkShape.count == shape.count {
            grid = TileGrid(shape: shape, tileShape: chunkShape, elementSize: blocks.elementSize, fullTileBuffers: true)
        } else {
            grid = TileGrid(shape: shape, tileShape: blocks.tileShape, elementSize: blocks.elementSize,
                            fullTileBuffers: false)
        }
        guard let layout = VirtualLayout(pieces: pieces, sources: layoutSources, grid: grid) else {
            throw VirtualPlanRefusal("\(pieces.count) pieces over \(grid.tileCount) tiles: too many to look through")
        }
        let registered = register(DatasetKey(filePath: reader.filePath, path: path, tileShape: grid.tileShape,
                                             decodesChunks: true, virtual: true))
        let tiled = TiledReader(grid: grid, source: .virtual(layout), path: path, isScalar: false,
                                datasetID: registered.id, reader: reader, fillElement: info.fillValueBytes,
                                context: context)
        return (tiled, missing)
    }

    /// A mapping's source dataset, nil when its file or dataset is missing (libhdf5 reads
    /// those as the fill value too); refuses sources libhdf5 would have to convert.
    private func openSource(_ mapping: VirtualSource, index: Int, of reader: any ContainerReader, info: DatasetInfo,
                            sources: any VirtualSourceFiles) throws(VirtualPlanRefusal) -> VirtualLayout.Source? {
        guard let file = sources.reader(forSourceFile: mapping.file, of: reader) else { return nil }
        let sourcePath = H5Path(parsing: mapping.dataset)
        guard let sourceInfo = try? file.dataset(at: sourcePath) else { return nil }
        guard sourceInfo.type == info.type else {
            throw VirtualPlanRefusal("mapping \(index): source \(mapping.dataset) has another type (libhdf5 converts)")
        }
        if case .virtual = sourceInfo.layout {
            throw VirtualPlanRefusal("mapping \(index): source \(mapping.dataset) is virtual itself")
        }
        guard let dims = sourceInfo.shape, dims.count == info.shape?.count,
              dims.allSatisfy({ $0 <= UInt64(Int.max >> 2) }) else {
            throw VirtualPlanRefusal("mapping \(index): source \(mapping.dataset) has another rank")
        }
        let dataset: RawArrayDataset
        do {
            dataset = try self.dataset(reader: file, path: sourcePath, info: sourceInfo)
        } catch {
            throw VirtualPlanRefusal("mapping \(index): source \(mapping.dataset): \(error.message)")
        }
        var chunks: TiledReader? = nil
        if case .tiled(let tiled) = dataset.storage, case .chunks = tiled.source, tiled.grid.fullTileBuffers {
            chunks = tiled
        }
        return VirtualLayout.Source(dataset: dataset, shape: dims.map { Int($0) }, chunks: chunks)
    }
}
