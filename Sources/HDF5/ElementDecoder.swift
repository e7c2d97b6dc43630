import CHDF5
import Glibc
import H5Model

/// Element -> JSON, shared by attributes, fill values and `readJSONElements`.
///
/// Works on buffers libhdf5 filled with the *memory* form of a type (the type
/// `H5Dget_type`/`H5Aget_type` return, described by `TypeDescription`): fixed
/// parts are the stored bytes in their stored byte order, variable-length
/// strings are `char *`, sequences `hvl_t`, references `hobj_ref_t` /
/// `hdset_reg_ref_t`. Rules: integers are `.int` (signed) or `.uint`; floats
/// `.double` (non-finite ones too: JSON text spells them "NaN", "Infinity", "-Infinity");
/// strings without padding; compounds objects in member order; enums their
/// integer value, except h5py's bool (FALSE = 0, TRUE = 1), which is true/false; arrays and sequences JSON arrays; opaque and unmodelled
/// bytes a lowercase hex string; references the referenced object's path.
/// Decoding references calls libhdf5, so callers hold the gate.
struct ElementDecoder {
    let type: DataType
    /// Size of one element in memory.
    let size: Int
    /// Any open id in the file, for `H5Rget_name`.
    private let location: hid_t

    init(type: DataType, location: hid_t) {
        self.type = type
        self.size = Self.memorySize(type)
        self.location = location
    }

    /// A decoder for a memory type id, refusing a type whose size libhdf5 and this decoder
    /// disagree on (a layout it does not understand would be decoded wrongly).
    static func checked(type: hid_t, location: hid_t, what: String) throws(StoreError) -> ElementDecoder {
        let decoder = ElementDecoder(type: try TypeDescription.describe(type), location: location)
        guard decoder.size == H5Tget_size(type) else {
            throw StoreError(.unsupported, "\(what): element layout not understood (\(decoder.type))")
        }
        return decoder
    }

    /// All `count` elements of a buffer, in order.
    func decodeAll(_ buffer: UnsafeRawBufferPointer, count: Int) -> [JSONValue] {
        let (needed, overflow) = count.multipliedReportingOverflow(by: size)
        guard let base = buffer.baseAddress, count > 0, !overflow, buffer.count >= needed else { return [] }
        return (0..<count).map { decode(type, at: base + $0 * size) }
    }

    /// One element at `pointer`.
    func decode(at pointer: UnsafeRawPointer) -> JSONValue { decode(type, at: pointer) }

    private func decode(_ type: DataType, at pointer: UnsafeRawPointer) -> JSONValue {
        switch type {
        case .integer(let size, let signed, let order):
            guard size <= 8 else { return .string(Self.hex(pointer, size)) }
            let bits = Self.unsignedBits(pointer, size: size, order: order)
            return signed ? .int(Self.signExtend(bits, size: size)) : .uint(bits)
        case .bitfield(let size, let order):
            guard size <= 8 else { return .string(Self.hex(pointer, size)) }
            return .uint(Self.unsignedBits(pointer, size: size, order: order))
        case .float(let size, let order):
            guard let value = Self.float(pointer, size: size, order: order) else {
                return .string(Self.hex(pointer, size))
            }
            return Self.json(value)
        case .opaque(let size, _), .unsupported(_, let size):
            return .string(Self.hex(pointer, size))
        case .fixedString(let size, let padding, _):
            return .string(StringDecoding.fixed(UnsafeRawBufferPointer(start: pointer, count: size), padding))
        case .variableString:
            return .string(StringDecoding.variable(pointer))
        case .compound(_, let members):
            return .object(members.map { JSONMember(key: $0.name, value: decode($0.type, at: pointer + $0.offset)) })
        case .enumeration(let base, let members):
            if Self.isBool(members) { return .bool(Self.integer(base, at: pointer) != 0) }
            return decode(base, at: pointer)
        case .array(let base, let dims):
            let step = Self.memorySize(base)
            let values = (0..<dims.reduce(1, *)).map { decode(base, at: pointer + $0 * step) }
            return Self.nest(values[...], dims: dims)
        case .variableSequence(let base):
            let sequence = pointer.loadUnaligned(as: hvl_t.self)
            guard let items = sequence.p, sequence.len > 0 else { return .array([]) }
            let step = Self.memorySize(base)
            return .array((0..<sequence.len).map { decode(base, at: UnsafeRawPointer(items) + $0 * step) })
        case .reference(let kind):
            return reference(kind, at: pointer)
        }
    }

    /// The path of the referenced object (a region reference names its dataset); null when
    /// the reference is empty or dangling.
    private func reference(_ kind: ReferenceKind, at pointer: UnsafeRawPointer) -> JSONValue {
        let refType = kind == .object ? H5R_OBJECT : H5R_DATASET_REGION
        if kind == .object, pointer.loadUnaligned(as: hobj_ref_t.self) == 0 { return .null }
        let length = H5Rget_name(location, refType, pointer, nil, 0)
        guard length > 0 else {
            _ = ErrorStack.read()
            return .null
        }
        var name = [CChar](repeating: 0, count: length + 1)
        guard H5Rget_name(location, refType, pointer, &name, length + 1) > 0 else {
            _ = ErrorStack.read()
            return .null
        }
        return .string(String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// h5py's bool: an enum of exactly FALSE = 0 and TRUE = 1 (numpy's `bool` in h5py).
    static func isBool(_ members: [EnumMember]) -> Bool {
        members.count == 2 && Set(members) == [EnumMember(name: "FALSE", value: 0), EnumMember(name: "TRUE", value: 1)]
    }

    // MARK: - Sizes and shapes

    /// Size of one element of a described memory type.
    static func memorySize(_ type: DataType) -> Int {
        switch type {
        case .integer(let s, _, _), .float(let s, _), .bitfield(let s, _), .opaque(let s, _),
             .fixedString(let s, _, _), .compound(let s, _), .unsupported(_, let s):
            return s
        case .variableString: return MemoryLayout<UnsafeRawPointer>.size
        case .variableSequence: return MemoryLayout<hvl_t>.size
        case .reference(.object): return MemoryLayout<hobj_ref_t>.size
        case .reference(.region): return MemoryLayout<hdset_reg_ref_t>.size
        case .enumeration(let base, _): return memorySize(base)
        case .array(let base, let dims):
            // Saturate instead of trapping: `checked` then rejects the type.
            var size = memorySize(base)
            for dim in dims {
                let (product, overflow) = size.multipliedReportingOverflow(by: dim)
                size = overflow || dim < 0 ? Int.max : product
            }
            return size
        }
    }

    /// Whether a buffer of this type holds memory libhdf5 allocated (`H5Dvlen_reclaim` needed).
    static func hasVariableParts(_ type: DataType) -> Bool {
        switch type {
        case .variableString, .variableSequence: return true
        case .compound(_, let members): return members.contains { hasVariableParts($0.type) }
        case .enumeration(let base, _), .array(let base, _): return hasVariableParts(base)
        default: return false
        }
    }

    /// Whether the stored bytes of an element mean something on their own: no variable-length
    /// parts (heap ids) and no references (file addresses) anywhere inside.
    static func hasMeaningfulBytes(_ type: DataType) -> Bool {
        switch type {
        case .variableString, .variableSequence, .reference: return false
        case .compound(_, let members): return members.allSatisfy { hasMeaningfulBytes($0.type) }
        case .enumeration(let base, _), .array(let base, _): return hasMeaningfulBytes(base)
        default: return true
        }
    }

    /// Values in C order -> nested arrays of `dims` (no dims: the bare value).
    static func nest(_ values: ArraySlice<JSONValue>, dims: [Int]) -> JSONValue {
        guard let first = dims.first else { return values.first ?? .null }
        let rest = Array(dims.dropFirst())
        let stride = rest.reduce(1, *)
        return .array((0..<first).map { i in
            let start = values.startIndex + i * stride
            return nest(values[start..<min(start + stride, values.endIndex)], dims: rest)
        })
    }

    // MARK: - Numbers

    /// Integer value of a described integer (or enum base) type, for enum members.
    static func integer(_ type: DataType, at pointer: UnsafeRawPointer) -> Int64 {
        switch type {
        case .integer(let size, let signed, let order) where size <= 8:
            let bits = unsignedBits(pointer, size: size, order: order)
            return signed ? signExtend(bits, size: size) : Int64(truncatingIfNeeded: bits)
        case .enumeration(let base, _):
            return integer(base, at: pointer)
        default:
            return 0
        }
    }

    static func unsignedBits(_ pointer: UnsafeRawPointer, size: Int, order: ByteOrder) -> UInt64 {
        var bits: UInt64 = 0
        for i in 0..<size {
            let byte = pointer.load(fromByteOffset: order == .big ? i : size - 1 - i, as: UInt8.self)
            bits = bits << 8 | UInt64(byte)
        }
        return bits
    }

    static func signExtend(_ bits: UInt64, size: Int) -> Int64 {
        guard size < 8 else { return Int64(bitPattern: bits) }
        let shift = UInt64(64 - 8 * size)
        return Int64(bitPattern: bits << shift) >> shift
    }

    /// IEEE half, single and double precision in either byte order; nil for other sizes.
    static func float(_ pointer: UnsafeRawPointer, size: Int, order: ByteOrder) -> Double? {
        let bits = unsignedBits(pointer, size: size, order: order)
        switch size {
        case 2: return half(UInt16(truncatingIfNeeded: bits))
        case 4: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case 8: return Double(bitPattern: bits)
        default: return nil
        }
    }

    private static func half(_ bits: UInt16) -> Double {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = Double(bits & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    static func json(_ value: Double) -> JSONValue { .double(value) }

    static func hex(_ pointer: UnsafeRawPointer, _ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(count * 2)
        for i in 0..<count {
            let byte = pointer.load(fromByteOffset: i, as: UInt8.self)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Strings as h5mount shows them: UTF-8 (ASCII is a subset), invalid bytes replaced.
enum StringDecoding {
    /// A fixed-length string without its padding: null-terminated and null-padded strings end
    /// at the first NUL; space-padded ones lose their trailing spaces.
    static func fixed(_ bytes: UnsafeRawBufferPointer, _ padding: StringPadding) -> String {
        var end = bytes.firstIndex(of: 0) ?? bytes.count
        if padding == .spacePadded {
            while end > 0 && bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
        }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    /// A variable-length string (`char *` in the buffer at `pointer`); NULL reads as "".
    static func variable(_ pointer: UnsafeRawPointer) -> String {
        guard let text = pointer.loadUnaligned(as: UnsafePointer<CChar>?.self) else { return "" }
        let length = strlen(text)
        return text.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}
