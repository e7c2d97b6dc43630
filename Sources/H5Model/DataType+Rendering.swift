/// How a dataset appears as a file (DESIGN.md §1 and docs/mapping.md).
package enum DatasetRendering: String, Sendable, Hashable {
    /// 1-byte integers (not enum) or opaque, rank 0 or 1: the file is the bytes; no sidecar unless attributes.
    case bytes
    /// Fixed or variable-length strings: UTF-8 text, one element per line.
    case text
    /// Everything with a fixed-size raw form: the raw array in C order, as stored; always a sidecar.
    case rawArray
    /// Variable-length sequences, references, vlen strings inside compounds...: one JSON value per line.
    case jsonLines
}

extension DataType {
    /// The dataset rendering for this element type at the given rank (nil = null dataspace).
    package func rendering(rank: Int?) -> DatasetRendering {
        switch self {
        case .integer(1, _, _) where (rank ?? 0) <= 1, .opaque where (rank ?? 0) <= 1:
            return .bytes
        case .fixedString, .variableString:
            return .text
        default:
            return numpyDescriptor == nil ? .jsonLines : .rawArray
        }
    }

    /// Stored size in bytes of one element, for types with a fixed-size raw form.
    package var fixedSize: Int? {
        switch self {
        case .integer(let s, _, _), .float(let s, _), .bitfield(let s, _), .opaque(let s, _),
             .fixedString(let s, _, _), .compound(let s, _):
            return s
        case .enumeration(let base, _): return base.fixedSize
        case .array(let base, let dims): return base.fixedSize.map { $0 * dims.reduce(1, *) }
        case .variableString, .variableSequence, .reference, .unsupported: return nil
        }
    }

    /// The numpy dtype of the raw form, as a JSON value `numpy.dtype()` accepts directly:
    /// a string (`"<u2"`, `"|S8"`, `"(3,)<f4"`) or, for compounds, the dict form
    /// `{"names", "formats", "offsets", "itemsize"}` that keeps the stored layout.
    /// nil when the type has no fixed-size raw form (it is rendered as JSON lines).
    package var numpyDescriptor: JSONValue? {
        switch self {
        case .array(let base, let dims):
            // A subarray of a compound has no JSON spelling numpy accepts.
            guard case .string(let inner)? = base.numpyDescriptor else { return nil }
            let shape = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.map(String.init).joined(separator: ",") + ")"
            return .string(shape + inner)
        case .compound(let size, let members):
            var formats: [JSONValue] = []
            for member in members {
                guard let descriptor = member.type.numpyDescriptor else { return nil }
                formats.append(descriptor)
            }
            return .object([
                ("names", .array(members.map { .string($0.name) })),
                ("formats", .array(formats)),
                ("offsets", .array(members.map { .int(Int64($0.offset)) })),
                ("itemsize", .int(Int64(size))),
            ])
        default:
            return scalarDescriptor.map { .string($0) }
        }
    }

    /// The numpy spelling of a non-compound, non-array fixed-size type.
    private var scalarDescriptor: String? {
        func prefix(_ order: ByteOrder, _ size: Int) -> String {
            if size == 1 { return "|" }
            switch order {
            case .little: return "<"
            case .big: return ">"
            case .notApplicable: return "|"
            }
        }
        switch self {
        case .integer(let size, let signed, let order):
            return prefix(order, size) + (signed ? "i" : "u") + String(size)
        case .float(let size, let order):
            return prefix(order, size) + "f" + String(size)
        case .bitfield(let size, let order):
            return prefix(order, size) + "u" + String(size)
        case .opaque(let size, _):
            return "|V" + String(size)
        case .fixedString(let size, _, _):
            return "|S" + String(size)
        case .enumeration(let base, _):
            return base.scalarDescriptor
        default:
            return nil
        }
    }

    /// For a top-level array type the raw file is the base type with the array
    /// dimensions appended to the dataset shape (what `h5py` returns for `ds[()]`).
    package var flattenedForRawArray: (element: DataType, extraDims: [Int]) {
        if case .array(let base, let dims) = self {
            let inner = base.flattenedForRawArray
            return (inner.element, dims + inner.extraDims)
        }
        return (self, [])
    }
}
