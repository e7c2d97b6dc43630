import CHDF5
import Glibc
import H5Model

/// JSON values as HDF5 attributes, the inverse of `ElementDecoder` for the types it
/// produces, so a value written through a sidecar reads back as the same JSON:
/// - string → variable-length UTF-8 string (what h5py writes for `str`);
/// - integers → int64, or uint64 when a value needs it and none is negative;
/// - any double among numbers → float64, and so do "NaN", "Infinity", "-Infinity" among numbers;
/// - bool → h5py's bool enum (int8, FALSE = 0, TRUE = 1), which reads back as true/false;
/// - null → a null dataspace (h5py's `Empty`), which reads back as null;
/// - rectangular nested arrays of one of those → an N-D attribute ([] is float64, shape (0,)).
/// Objects, ragged arrays, nulls inside arrays and mixed strings and numbers are refused.
enum AttributeEncoding {
    enum Leaf: Equatable { case string, int64, uint64, float64, bool }

    struct Plan {
        var leaf: Leaf
        /// nil: null dataspace; []: scalar.
        var shape: [UInt64]?
        /// Leaves in C order.
        var values: [JSONValue]
    }

    static func plan(_ value: JSONValue) throws(StoreError) -> Plan {
        if case .null = value { return Plan(leaf: .float64, shape: nil, values: []) }
        let shape = try shapeOf(value)
        var leaves: [JSONValue] = []
        flatten(value, into: &leaves)
        return Plan(leaf: try leafKind(leaves), shape: shape.map { UInt64($0) }, values: leaves)
    }

    private static func shapeOf(_ value: JSONValue) throws(StoreError) -> [Int] {
        switch value {
        case .array(let items):
            guard let first = items.first else { return [0] }
            let inner = try shapeOf(first)
            for item in items.dropFirst() where try shapeOf(item) != inner {
                throw StoreError(.invalidArgument, "attribute arrays must be rectangular")
            }
            return [items.count] + inner
        case .object:
            throw StoreError(.invalidArgument, "an attribute value cannot be a JSON object")
        case .null:
            throw StoreError(.invalidArgument, "null is allowed only as a whole attribute value")
        default:
            return []
        }
    }

    private static func flatten(_ value: JSONValue, into leaves: inout [JSONValue]) {
        if case .array(let items) = value {
            for item in items { flatten(item, into: &leaves) }
        } else {
            leaves.append(value)
        }
    }

    private static func leafKind(_ leaves: [JSONValue]) throws(StoreError) -> Leaf {
        guard !leaves.isEmpty else { return .float64 }
        var strings = 0, bools = 0, doubles = 0, negatives = 0, bigUnsigned = 0, nonFinite = 0
        for leaf in leaves {
            switch leaf {
            case .string(let text):
                strings += 1
                if nonFiniteValue(text) != nil { nonFinite += 1 }
            case .bool: bools += 1
            case .double: doubles += 1
            case .int(let i): if i < 0 { negatives += 1 }
            case .uint(let u): if u > UInt64(Int64.max) { bigUnsigned += 1 }
            default: throw StoreError(.invalidArgument, "unsupported attribute element")
            }
        }
        if strings == leaves.count { return .string }
        if bools == leaves.count { return .bool }
        // Floats render non-finite values as these strings, so [1.5, "NaN"] is a float array.
        if strings > 0, strings == nonFinite, bools == 0 { return .float64 }
        guard strings == 0, bools == 0 else {
            throw StoreError(.invalidArgument, "attribute arrays must not mix strings, booleans and numbers")
        }
        if doubles > 0 || (bigUnsigned > 0 && negatives > 0) { return .float64 }
        return bigUnsigned > 0 ? .uint64 : .int64
    }

    /// The float a non-finite spelling stands for ("NaN", "Infinity", "-Infinity").
    static func nonFiniteValue(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return nil
        }
    }

    /// The file datatype for a leaf kind. Caller holds the gate.
    static func datatype(_ leaf: Leaf) throws(StoreError) -> Handle {
        switch leaf {
        case .string:
            let type = try Handle(H5Tcopy(h5m_t_c_s1()), H5Tclose, "string type")
            try check(H5Tset_size(type.id, h5m_t_variable()), .invalidArgument, "string type")
            try check(H5Tset_cset(type.id, H5T_CSET_UTF8), .invalidArgument, "string type")
            return type
        case .int64: return try Handle(H5Tcopy(h5m_t_native_int64()), H5Tclose, "int64 type")
        case .uint64: return try Handle(H5Tcopy(h5m_t_native_uint64()), H5Tclose, "uint64 type")
        case .float64: return try Handle(H5Tcopy(h5m_t_native_double()), H5Tclose, "float64 type")
        case .bool:
            let type = try Handle(H5Tenum_create(h5m_t_native_int8()), H5Tclose, "bool type")
            var no: Int8 = 0, yes: Int8 = 1
            try check(H5Tenum_insert(type.id, "FALSE", &no), .invalidArgument, "bool type")
            try check(H5Tenum_insert(type.id, "TRUE", &yes), .invalidArgument, "bool type")
            return type
        }
    }

    /// The dataspace for a plan's shape. Caller holds the gate.
    static func dataspace(_ shape: [UInt64]?) throws(StoreError) -> Handle {
        guard let shape else { return try Handle(H5Screate(H5S_NULL), H5Sclose, "null dataspace") }
        if shape.isEmpty { return try Handle(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace") }
        return try Handle(H5Screate_simple(Int32(shape.count), shape, nil), H5Sclose, "attribute dataspace")
    }

    /// Calls `body` with the leaves laid out as the memory form of `leaf`.
    static func withBuffer(_ plan: Plan, _ body: (UnsafeRawPointer?) -> herr_t) -> herr_t {
        switch plan.leaf {
        case .string:
            var pointers: [UnsafeMutablePointer<CChar>?] = plan.values.map { value in
                if case .string(let text) = value { return strdup(text) }
                return strdup("")
            }
            defer { for pointer in pointers { free(pointer) } }
            return pointers.withUnsafeMutableBytes { body(UnsafeRawPointer($0.baseAddress)) }
        case .int64:
            let numbers: [Int64] = plan.values.map { value in
                switch value {
                case .int(let i): return i
                case .uint(let u): return Int64(u)
                default: return 0
                }
            }
            return numbers.withUnsafeBytes { body($0.baseAddress) }
        case .uint64:
            let numbers: [UInt64] = plan.values.map { value in
                if case .uint(let u) = value { return u }
                if case .int(let i) = value { return UInt64(i) }
                return 0
            }
            return numbers.withUnsafeBytes { body($0.baseAddress) }
        case .float64:
            let numbers: [Double] = plan.values.map { value in
                switch value {
                case .double(let d): return d
                case .int(let i): return Double(i)
                case .uint(let u): return Double(u)
                case .string(let text): return nonFiniteValue(text) ?? 0
                default: return 0
                }
            }
            return numbers.withUnsafeBytes { body($0.baseAddress) }
        case .bool:
            let flags: [Int8] = plan.values.map { value in
                if case .bool(true) = value { return 1 }
                return 0
            }
            return flags.withUnsafeBytes { body($0.baseAddress) }
        }
    }
}
