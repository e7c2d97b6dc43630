import Codecs
import H5Model
import TestSupport

/// Fletcher-32 (id 3). Input: a chunk, checksum last.
/// Decoding succeeds exactly when the last four bytes are the body's checksum (or its
/// pre-1.6.3 byte-swapped form), and then gives the body; the kernel agrees with a plain
/// modulo-65535 definition; encode∘decode is the identity.
let fletcher32Target = FuzzTarget(name: "fletcher32", summary: "checksum verify and strip") { bytes in
    let filters = [FilterSpec(id: 3, name: "fletcher32", flags: 0, clientData: [])]
    let size = max(0, bytes.count - 4)
    let decoded = checkedDecode(bytes, filters: filters, elementSize: 1, size: size)
    checkRoundTrip(bytes, filters: filters, elementSize: 1, mustEncode: true)
    guard bytes.count >= 4 else {
        fuzzCheck(decoded == nil, "fletcher32 accepted a chunk of \(bytes.count) bytes")
        return
    }
    let body = UnsafeRawBufferPointer(rebasing: bytes[..<size])
    let computed = Kernels.fletcher32(body)
    let (low, high) = plainFletcher32Sums(body)
    fuzzCheck(UInt64(computed & 0xFFFF) % 65535 == low && UInt64(computed >> 16) % 65535 == high,
              "fletcher32 kernel differs from the definition over \(size) bytes")
    var stored: UInt32 = 0
    for i in 0..<4 { stored |= UInt32(bytes[size + i]) << UInt32(8 * i) }
    let legacy = ((computed & 0x00ff_00ff) << 8) | ((computed >> 8) & 0x00ff_00ff)
    let valid = stored == computed || stored == legacy
    fuzzCheck(valid == (decoded != nil), "fletcher32 \(valid ? "refused a valid" : "accepted an invalid") checksum")
    if let decoded { fuzzCheck(decoded.elementsEqual(body), "fletcher32 did not give back the body") }
}
