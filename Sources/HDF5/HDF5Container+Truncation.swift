import CHDF5
import Glibc
import H5Model

/// Raw data of a truncated file (see `TruncatedFiles`): libhdf5 reads the bytes past the
/// real end as zeros, which a read through it would hand out as data. Before such a read
/// the stored extent of what it touches is checked against the file's size, so data past
/// the end answers an error (EIO in the mount) instead of zeros. A file that is not
/// truncated (the usual case) costs one stat per read through libhdf5.
extension HDF5Container {
    /// Throws `.unreadable` when the stored bytes of the block `start` + `count` of
    /// `dataset` (the whole dataset when nil) lie past the end of the file. Caller holds the gate.
    func checkStoredInsideFile(_ dataset: hid_t, _ path: H5Path, start: [UInt64]? = nil,
                               count: [UInt64]? = nil) throws(StoreError) {
        guard let end = try truncatedEnd() else { return }
        let base = try userBlockSize()
        let dcpl = try Handle(H5Dget_create_plist(dataset), H5Pclose, "\(path): creation properties")
        func pastEnd(_ what: String) -> StoreError {
            StoreError(.unreadable, "\(path): \(what) lies past the end of the file, which is truncated at byte \(end)")
        }
        switch try CreationProperties.layout(dataset, dcpl.id) {
        case .contiguous(let offset?):
            let stored = UInt64(H5Dget_storage_size(dataset))
            if base + offset + stored > end { throw pastEnd("its data") }
        case .chunked(let chunkShape):
            let space = try Handle(H5Dget_space(dataset), H5Sclose, "\(path): dataspace")
            guard let shape = try Dataspace.extent(space.id).shape, shape.count == chunkShape.count else { return }
            for origin in chunkOrigins(shape: shape, chunkShape: chunkShape, start: start ?? shape.map { _ in 0 },
                                       count: count ?? shape) {
                var mask: UInt32 = 0
                var address: haddr_t = 0
                var size: hsize_t = 0
                try check(H5Dget_chunk_info_by_coord(dataset, origin, &mask, &address, &size),
                          .unreadable, "\(path): chunk at \(origin)")
                if address != h5m_haddr_undef(), base + UInt64(address) + UInt64(size) > end {
                    throw pastEnd("the chunk at \(origin)")
                }
            }
        default:
            return
        }
    }

    /// The file's size when it is shorter than the end address libhdf5 knows; nil otherwise.
    private func truncatedEnd() throws(StoreError) -> UInt64? {
        var eoa: haddr_t = 0
        guard H5Fget_eoa(fileID, &eoa) >= 0 else {
            _ = ErrorStack.read()
            return nil
        }
        var info = stat()
        guard stat(filePath, &info) == 0 else { return nil }
        let size = UInt64(info.st_size)
        return size < UInt64(eoa) + (try userBlockSize()) ? size : nil
    }
}

/// The origins of the chunks a block overlaps (empty for an empty block).
func chunkOrigins(shape: [UInt64], chunkShape: [UInt64], start: [UInt64], count: [UInt64]) -> [[UInt64]] {
    guard !chunkShape.contains(0), !count.contains(0) else { return [] }
    var origins: [[UInt64]] = [[]]
    for axis in shape.indices {
        let first = start[axis] / chunkShape[axis] * chunkShape[axis]
        let last = min(start[axis] + count[axis], shape[axis])
        let steps = Array(stride(from: first, to: last, by: Int(chunkShape[axis])))
        origins = origins.flatMap { prefix in steps.map { prefix + [$0] } }
    }
    return origins
}
