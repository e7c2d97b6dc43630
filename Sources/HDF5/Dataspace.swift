import CHDF5
import H5Model

/// Dataspaces and selections as model values. Caller holds the gate.
enum Dataspace {
    /// (shape, maxShape): nil for a null dataspace, [] for a scalar; unlimited maxima are nil.
    static func extent(_ space: hid_t) throws(StoreError) -> (shape: [UInt64]?, maxShape: [UInt64?]?) {
        switch H5Sget_simple_extent_type(space) {
        case H5S_NULL:
            return (nil, nil)
        case H5S_SCALAR:
            return ([], [])
        case H5S_SIMPLE:
            let rank = try check(H5Sget_simple_extent_ndims(space), .unreadable, "dataspace rank")
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            var maxDims = [hsize_t](repeating: 0, count: Int(rank))
            try check(H5Sget_simple_extent_dims(space, &dims, &maxDims), .unreadable, "dataspace dimensions")
            return (dims, maxDims.map { $0 == h5m_s_unlimited() ? nil : $0 })
        default:
            throw ErrorStack.error(.unreadable, "dataspace class")
        }
    }

    /// Number of elements of the extent (1 for a scalar, 0 for a null dataspace).
    static func elementCount(_ space: hid_t) throws(StoreError) -> Int {
        if H5Sget_simple_extent_type(space) == H5S_NULL { return 0 }
        return Int(try check(H5Sget_simple_extent_npoints(space), .unreadable, "dataspace size"))
    }

    /// The selection of a virtual dataset mapping, as the model describes it.
    static func selection(_ space: hid_t) throws(StoreError) -> Selection {
        switch H5Sget_select_type(space) {
        case H5S_SEL_NONE:
            return .none
        case H5S_SEL_ALL:
            return .all
        case H5S_SEL_POINTS:
            return .other("points(\(H5Sget_select_elem_npoints(space)))")
        case H5S_SEL_HYPERSLABS:
            guard H5Sis_regular_hyperslab(space) > 0 else {
                _ = ErrorStack.read()
                return .other("irregular hyperslab(\(H5Sget_select_hyper_nblocks(space)) blocks)")
            }
            let rank = Int(try check(H5Sget_simple_extent_ndims(space), .unreadable, "selection rank"))
            var start = [hsize_t](repeating: 0, count: rank), stride = start, count = start, block = start
            try check(H5Sget_regular_hyperslab(space, &start, &stride, &count, &block), .unreadable, "hyperslab")
            // An unlimited count (H5S_UNLIMITED) keeps its value: UInt64.max.
            return .regular(start: start, stride: stride, count: count, block: block)
        default:
            throw ErrorStack.error(.unreadable, "selection type")
        }
    }
}
