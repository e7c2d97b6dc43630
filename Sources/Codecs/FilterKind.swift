import H5Model

/// Registered HDF5 filter ids this module implements.
package enum FilterID {
    package static let deflate: Int32 = 1
    package static let shuffle: Int32 = 2
    package static let fletcher32: Int32 = 3
    package static let lz4: Int32 = 32004
    package static let bitshuffle: Int32 = 32008
}

/// A filter of a pipeline with its client data interpreted.
enum FilterKind {
    /// zlib stream; `level` (client value 0) is used only when encoding.
    case deflate(level: Int)
    /// Byte transpose by `elementSize` (client value 0, else the dataset's element size).
    case shuffle(elementSize: Int)
    /// 4-byte checksum appended to the chunk.
    case fletcher32
    /// HDFGroup/hdf5_plugins LZ4 framing; `blockSize` (client value 0 as hdf5plugin writes it,
    /// 0 = 1 GiB) is used only when encoding.
    case lz4(blockSize: Int)
    case bitshuffle(BitshuffleParameters)

    /// Reads a filter as stored in a dataset's pipeline; throws for ids and options not implemented.
    init(decoding spec: FilterSpec, elementSize: Int) throws(CodecError) {
        switch spec.id {
        case FilterID.bitshuffle:
            self = .bitshuffle(try BitshuffleParameters(stored: spec.clientData))
        default:
            self = try FilterKind(common: spec, elementSize: elementSize)
        }
    }

    /// Reads a filter for encoding. Bitshuffle accepts the stored form (at least three values,
    /// as libhdf5 reports it) or the user form `[block size, compression]` as given to
    /// `H5Pset_filter`, with the element size from `elementSize`.
    init(encoding spec: FilterSpec, elementSize: Int) throws(CodecError) {
        switch spec.id {
        case FilterID.bitshuffle:
            self = .bitshuffle(try BitshuffleParameters(encoding: spec.clientData, elementSize: elementSize))
        default:
            self = try FilterKind(common: spec, elementSize: elementSize)
        }
    }

    private init(common spec: FilterSpec, elementSize: Int) throws(CodecError) {
        let first = spec.clientData.first.map(Int.init)
        switch spec.id {
        case FilterID.deflate:
            self = .deflate(level: first ?? 6)
        case FilterID.shuffle:
            // libhdf5 stores the element size as the one client value; fall back when absent.
            let size = first ?? 0
            self = .shuffle(elementSize: size > 0 ? size : elementSize)
        case FilterID.fletcher32:
            self = .fletcher32
        case FilterID.lz4:
            self = .lz4(blockSize: first ?? 0)
        default:
            throw CodecError("filter \(spec.id) (\(spec.name)) is not implemented natively")
        }
    }

    var name: String {
        switch self {
        case .deflate: "deflate"
        case .shuffle: "shuffle"
        case .fletcher32: "fletcher32"
        case .lz4: "lz4"
        case .bitshuffle: "bitshuffle"
        }
    }

    /// The size of this stage's input (encoded) when its decoded size is `decoded`, for the
    /// filters that change size predictably; nil for compressors.
    func encodedSize(decoded: Int) -> Int? {
        switch self {
        case .shuffle: decoded
        case .fletcher32: decoded + 4
        case .bitshuffle(let parameters) where parameters.compression == .none: decoded
        default: nil
        }
    }
}
