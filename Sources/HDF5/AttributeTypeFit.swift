import CHDF5
import Glibc
import H5Model

/// Replacing an attribute keeps its HDF5 type when the new JSON value fits it, so editing
/// a sidecar or setting an xattr does not turn a float32 into a float64 or a fixed-length
/// string into a variable-length one (docs/writing.md, "Attributes"). A value fits:
/// - an integer type (any size, sign, byte order) when every element is a JSON integer in
///   the type's range;
/// - a float type when every element is a number (or "NaN", "Infinity", "-Infinity", the
///   way non-finite floats render) within the type's finite range;
/// - h5py's bool (an int8 enum FALSE = 0, TRUE = 1) when every element is true/false;
/// - a string type when every element is a string that fits its size and character set.
/// `null` (an empty attribute) keeps any type. Anything else is written as a new value
/// would be (`AttributeEncoding`). Libhdf5 converts from the memory form used here to
/// the kept file type (byte order, size).
enum AttributeTypeFit {
    /// How the value is written in the kept type.
    enum MemoryForm { case int64, uint64, float64, asStored }

    /// The value laid out for `H5Awrite`; `memory` nil when nothing is written (null, []).
    struct Kept {
        var memory: MemoryForm?
        var bytes: [UInt8] = []
        /// Variable-length strings, written as `char *`s (then `bytes` is empty).
        var strings: [String] = []
    }

    /// How to keep `existing` (an attribute's file type) for `plan`; nil when it does not fit.
    /// Caller holds the gate.
    static func keeping(_ existing: hid_t, for plan: AttributeEncoding.Plan) -> Kept? {
        guard let type = try? TypeDescription.describe(existing) else { return nil }
        if plan.shape == nil || plan.values.isEmpty { return Kept(memory: nil) }
        switch type {
        case .integer(let size, let signed, _) where size <= 8:
            guard let numbers = integers(plan.values, size: size, signed: signed) else { return nil }
            return Kept(memory: signed ? .int64 : .uint64, bytes: numbers.flatMap { bytesOf($0) })
        case .float(let size, _):
            guard let numbers = floats(plan.values, size: size) else { return nil }
            return Kept(memory: .float64, bytes: numbers.flatMap { bytesOf($0) })
        case .enumeration(.integer(1, _, _), let members) where ElementDecoder.isBool(members):
            var flags: [UInt8] = []
            for value in plan.values {
                guard case .bool(let flag) = value else { return nil }
                flags.append(flag ? 1 : 0)
            }
            return Kept(memory: .asStored, bytes: flags)
        case .variableString(let charset):
            guard let texts = strings(plan.values, charset: charset, limit: nil) else { return nil }
            return Kept(memory: .asStored, strings: texts)
        case .fixedString(let size, let padding, let charset):
            guard let texts = strings(plan.values, charset: charset, limit: size) else { return nil }
            let pad: UInt8 = padding == .spacePadded ? 0x20 : 0
            let bytes = texts.flatMap { text in Array(text.utf8) + [UInt8](repeating: pad, count: size - text.utf8.count) }
            return Kept(memory: .asStored, bytes: bytes)
        default:
            return nil
        }
    }

    /// Writes the kept value into `attribute` of file type `fileType`. Caller holds the gate.
    static func write(_ kept: Kept, to attribute: hid_t, fileType: hid_t) -> herr_t {
        guard let form = kept.memory else { return 0 }
        let memory: hid_t = switch form {
        case .int64: h5m_t_native_int64()
        case .uint64: h5m_t_native_uint64()
        case .float64: h5m_t_native_double()
        case .asStored: fileType
        }
        if kept.strings.isEmpty {
            return kept.bytes.withUnsafeBytes { H5Awrite(attribute, memory, $0.baseAddress) }
        }
        let pointers: [UnsafeMutablePointer<CChar>?] = kept.strings.map { strdup($0) }
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBytes { H5Awrite(attribute, memory, $0.baseAddress) }
    }

    private static func integers(_ values: [JSONValue], size: Int, signed: Bool) -> [UInt64]? {
        let bits = size * 8
        var out: [UInt64] = []
        for value in values {
            switch value {
            case .int(let i):
                if signed {
                    guard bits == 64 || (i >= -(Int64(1) << (bits - 1)) && i < (Int64(1) << (bits - 1))) else { return nil }
                } else {
                    guard i >= 0, bits == 64 || UInt64(i) < (UInt64(1) << bits) else { return nil }
                }
                out.append(UInt64(bitPattern: i))
            case .uint(let u):
                if signed {
                    guard u <= UInt64(Int64.max), bits == 64 || u < (UInt64(1) << (bits - 1)) else { return nil }
                } else {
                    guard bits == 64 || u < (UInt64(1) << bits) else { return nil }
                }
                out.append(u)
            default:
                return nil
            }
        }
        return out
    }

    private static func floats(_ values: [JSONValue], size: Int) -> [Double]? {
        let limit: Double = switch size {
        case 2: 65504
        case 4: Double(Float.greatestFiniteMagnitude)
        default: .greatestFiniteMagnitude
        }
        var out: [Double] = []
        for value in values {
            let number: Double
            switch value {
            case .int(let i): number = Double(i)
            case .uint(let u): number = Double(u)
            case .double(let d): number = d
            case .string("NaN"): number = .nan
            case .string("Infinity"): number = .infinity
            case .string("-Infinity"): number = -.infinity
            default: return nil
            }
            guard !number.isFinite || abs(number) <= limit else { return nil }
            out.append(number)
        }
        return out
    }

    private static func strings(_ values: [JSONValue], charset: StringCharset, limit: Int?) -> [String]? {
        var out: [String] = []
        for value in values {
            guard case .string(let text) = value, !text.utf8.contains(0) else { return nil }
            if charset == .ascii, text.utf8.contains(where: { $0 >= 0x80 }) { return nil }
            if let limit, text.utf8.count > limit { return nil }
            out.append(text)
        }
        return out
    }

    private static func bytesOf<T: BitwiseCopyable>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }
}
