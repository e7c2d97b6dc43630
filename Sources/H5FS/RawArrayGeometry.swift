import Glibc
import H5Model

/// The shape rules for writing a typed dataset's raw-array file (DESIGN.md §2,
/// docs/writing.md "Typed datasets"): writes overwrite elements in place; the file grows
/// only along an unlimited first dimension, and then by whole rows; everything else that
/// would change its size is refused with EFBIG (growing) or EINVAL (a size that is not
/// whole rows, or shrinking a fixed shape).
struct RawArrayGeometry: Sendable, Hashable {
    let elementSize: UInt64
    /// Bytes of one index of the first dimension (one element for a scalar).
    let rowBytes: UInt64
    /// The size of a fixed-shape dataset's file; nil when the first dimension is unlimited.
    let fixedBytes: UInt64?
    /// One stored element of the fill value (zeros when the dataset has none).
    let fillElement: [UInt8]

    /// nil for datasets with no fixed-size raw form or a null dataspace.
    init?(_ info: DatasetInfo) {
        guard let size = info.type.fixedSize, size > 0, let shape = info.shape else { return nil }
        elementSize = UInt64(size)
        rowBytes = shape.dropFirst().reduce(UInt64(size), *)
        let growable = !shape.isEmpty && info.maxShape?.first == .some(nil)
        fixedBytes = growable ? nil : shape.reduce(UInt64(size), *)
        fillElement = info.fillValueBytes?.count == size ? info.fillValueBytes! : [UInt8](repeating: 0, count: size)
    }

    var growable: Bool { fixedBytes == nil }

    /// A write ending at byte `end`: EFBIG past the end of a fixed shape.
    func checkWrite(end: UInt64, path: H5Path) throws(FSError) {
        if let fixedBytes, end > fixedBytes {
            throw FSError(EFBIG, "\(path): a write up to byte \(end) is past the end (\(fixedBytes) bytes) "
                          + "of a dataset whose first dimension is not unlimited")
        }
        if fixedBytes == nil, rowBytes == 0 {
            throw FSError(EFBIG, "\(path): rows of this dataset have no elements; it cannot grow")
        }
    }

    /// A truncation from `current` to `size`; `replacing`: the dataset was opened with
    /// O_TRUNC, so a fixed shape may be short until its close.
    func checkTruncate(from current: UInt64, to size: UInt64, replacing: Bool, path: H5Path) throws(FSError) {
        guard size != current else { return }
        if let fixedBytes {
            if size > fixedBytes {
                throw FSError(EFBIG, "\(path): \(size) bytes is more than the fixed shape holds (\(fixedBytes))")
            }
            if !replacing {
                throw FSError(EINVAL, "\(path): the shape is fixed (\(fixedBytes) bytes); it cannot be truncated")
            }
            return
        }
        guard rowBytes > 0, size % rowBytes == 0 else {
            throw FSError(EINVAL, "\(path): \(size) bytes is not a whole number of rows of \(rowBytes) bytes")
        }
    }

    /// The stored size for a file of `size` bytes: whole rows (a partial last row is completed
    /// with the fill value), or the fixed size.
    func storedSize(for size: UInt64) -> UInt64 {
        if let fixedBytes { return fixedBytes }
        guard rowBytes > 0 else { return 0 }
        return (size + rowBytes - 1) / rowBytes * rowBytes
    }
}
