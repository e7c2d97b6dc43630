/// How the write path compresses a file's bytes (`-o compression=`, DESIGN.md §2).
///
/// Each case is a filter pipeline as stored in the file, with the flags and client
/// values the reference writers store, so that readers see what they would see in a
/// file written by h5py (gzip) or hdf5plugin (lz4, bitshuffle+lz4):
/// - gzip: deflate (id 1), flags 1 (optional, as `H5Pset_deflate` stores it), [level];
/// - lz4: id 32004, flags 1 (h5py sets third-party filters optional), [0] (block size 0 =
///   one block per chunk, hdf5plugin's default);
/// - bslz4: id 32008, flags 1, [0, 4, 1, 0, 2] as hdf5plugin's `set_local` stores it for a
///   uint8 dataset: filter version 0, bitshuffle version 4, element size 1, block size 0
///   (default), compression 2 (LZ4).
package enum Compression: Sendable, Hashable, CustomStringConvertible {
    case none
    case gzip(level: Int)
    case lz4
    case bitshuffleLZ4

    /// The default: readable by any HDF5 reader, no plugin needed.
    package static let standard = Compression.gzip(level: 6)

    /// Parses the mount option value: `gzip`, `gzip:LEVEL` (0...9), `lz4`, `bslz4`, `none`.
    package init?(parsing text: String) {
        switch text {
        case "none": self = .none
        case "gzip": self = .gzip(level: 6)
        case "lz4": self = .lz4
        case "bslz4": self = .bitshuffleLZ4
        default:
            guard text.hasPrefix("gzip:"), let level = Int(text.dropFirst(5)), (0...9).contains(level) else {
                return nil
            }
            self = .gzip(level: level)
        }
    }

    /// The option spelling, e.g. `gzip:6`.
    package var description: String {
        switch self {
        case .none: "none"
        case .gzip(let level): "gzip:\(level)"
        case .lz4: "lz4"
        case .bitshuffleLZ4: "bslz4"
        }
    }

    /// Whether readers need a filter plugin (hdf5plugin) to decode it.
    package var needsPlugin: Bool {
        switch self {
        case .none, .gzip: false
        case .lz4, .bitshuffleLZ4: true
        }
    }

    /// The stored filter pipeline of a uint8 dataset compressed this way.
    package var filters: [FilterSpec] {
        switch self {
        case .none:
            return []
        case .gzip(let level):
            return [FilterSpec(id: 1, name: "deflate", flags: 1, clientData: [UInt32(level)])]
        case .lz4:
            return [FilterSpec(id: 32004, name: "lz4", flags: 1, clientData: [0])]
        case .bitshuffleLZ4:
            return [FilterSpec(id: 32008, name: "bitshuffle", flags: 1, clientData: [0, 4, 1, 0, 2])]
        }
    }
}
