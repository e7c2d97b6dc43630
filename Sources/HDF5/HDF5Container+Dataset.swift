import CHDF5
import H5Model

/// Dataset metadata: type, shape, layout, filters, fill value, storage, virtual mappings.
extension HDF5Container {
    package func dataset(at path: H5Path) throws(StoreError) -> DatasetInfo {
        try contained(.init(.dataset, path)) { () throws(StoreError) -> DatasetInfo in try datasetLocked(path) }
    }

    /// Caller holds the gate.
    func datasetLocked(_ path: H5Path) throws(StoreError) -> DatasetInfo {
        let dataset = try openDataset(path)
        let type = try Handle(H5Dget_type(dataset.id), H5Tclose, "\(path): datatype")
        let space = try Handle(H5Dget_space(dataset.id), H5Sclose, "\(path): dataspace")
        let dcpl = try Handle(H5Dget_create_plist(dataset.id), H5Pclose, "\(path): creation properties")
        let described = try TypeDescription.describe(type.id)
        let extent = try Dataspace.extent(space.id)
        let layout = try CreationProperties.layout(dataset.id, dcpl.id)
        // A fill value this module cannot decode must not hide the rest of the dataset.
        let fill = (try? CreationProperties.fillValue(dcpl.id, type: type.id, location: dataset.id)) ?? (nil, nil)
        let virtual = layout == .virtual ? try CreationProperties.virtualSources(dcpl.id) : []
        return DatasetInfo(type: described, shape: extent.shape, maxShape: extent.maxShape, layout: layout,
                           filters: try CreationProperties.filters(dcpl.id),
                           fillValue: fill.0, fillValueBytes: fill.1,
                           storageSize: H5Dget_storage_size(dataset.id), virtualSources: virtual)
    }

    /// Type and shape without the creation properties: what a listing needs.
    package func datasetSummary(at path: H5Path) throws(StoreError) -> DatasetSummary {
        try contained(.init(.summary, path)) { () throws(StoreError) -> DatasetSummary in try datasetSummaryLocked(path) }
    }

    /// Caller holds the gate.
    func datasetSummaryLocked(_ path: H5Path) throws(StoreError) -> DatasetSummary {
        let dataset = try openDataset(path)
        let type = try Handle(H5Dget_type(dataset.id), H5Tclose, "\(path): datatype")
        let space = try Handle(H5Dget_space(dataset.id), H5Sclose, "\(path): dataspace")
        return DatasetSummary(type: try TypeDescription.describe(type.id), shape: try Dataspace.extent(space.id).shape)
    }

    /// Opens the dataset at `path` with the container's dataset access list.
    /// `.notFound` when nothing is there, `.invalidArgument` when it is not a dataset.
    /// Caller holds the gate.
    func openDataset(_ path: H5Path) throws(StoreError) -> Handle {
        let bytes = try bytePath(path)
        var info = H5O_info_t()
        try check(H5Oget_info_by_name2(fileID, bytes, &info, UInt32(H5O_INFO_BASIC), h5m_p_default()),
                  .unreadable, "\(path): dataset")
        guard info.type == H5O_TYPE_DATASET else { throw StoreError(.invalidArgument, "\(path): not a dataset") }
        return try Handle(H5Dopen2(fileID, bytes, datasetAccess), H5Dclose, "\(path): open dataset")
    }
}
