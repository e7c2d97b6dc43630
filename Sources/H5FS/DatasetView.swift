/// What a view is of its dataset (`NodeKey.view`): one of these per dataset node.
enum ViewRole: Hashable, Sendable {
    /// `NAME.npy`: a NumPy header, then the whole raw array.
    case npy
    /// `NAME.frames/`: one file per index of the first dimension.
    case frames
}

/// A read-only file that shows a dataset's raw array another way (docs/mapping.md,
/// "Views"): `prefix` (a `.npy` header, or all of a rendered file), then the window
/// `offset ..< offset + length` of the raw array. A frame is the window
/// `[i * frameBytes, (i + 1) * frameBytes)`.
///
/// The view names its dataset by node id, not by content: each read reads the dataset's
/// file as it is now, so a view reads what the dataset file reads (the same chunk cache and
/// read-ahead, typed writes not yet stored), also after a rename or a store moved it.
struct DatasetView: Sendable {
    let dataset: NodeID
    let prefix: [UInt8]
    let offset: UInt64
    let length: UInt64

    var size: UInt64 { UInt64(prefix.count) + length }
}
