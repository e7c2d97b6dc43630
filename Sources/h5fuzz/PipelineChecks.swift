import Codecs
import Glibc
import H5Model

// The invariants every codec harness checks through the public pipeline API
// (`FilterPipeline.decode`/`encode`, what the chunk engine and the packer call).

/// Decoded sizes the harnesses ask for: big enough for real chunks, small enough that an
/// execution stays in the milliseconds.
let largestFuzzedOutput = 1 << 16

/// One workspace for the whole run, as a worker thread keeps one: decodes must not depend on
/// what earlier chunks left in its buffers.
let sharedWorkspace = CodecWorkspace()

private let guardSize = 32
private let guardByte: UInt8 = 0xA5

/// Decodes `chunk` into a buffer of exactly `size` bytes between two guard zones.
/// Checks that nothing outside the buffer was written (ASan sees writes further out).
private func decodeGuarded(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], mask: UInt32, elementSize: Int,
                           size: Int, prefill: UInt8, workspace: CodecWorkspace) -> Result<[UInt8], CodecError> {
    let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 2 * guardSize, alignment: 64)
    defer { whole.deallocate() }
    memset(whole.baseAddress!, Int32(guardByte), whole.count)
    let output = UnsafeMutableRawBufferPointer(rebasing: whole[guardSize..<(guardSize + size)])
    if size > 0 { memset(output.baseAddress!, Int32(prefill), size) }
    let result: Result<[UInt8], CodecError>
    do {
        try FilterPipeline.decode(chunk, filters: filters, filterMask: mask, elementSize: elementSize,
                                  into: output, workspace: workspace)
        result = .success(Array(output))
    } catch {
        result = .failure(error)
    }
    let untouched = whole[..<guardSize].allSatisfy { $0 == guardByte }
        && whole[(guardSize + size)...].allSatisfy { $0 == guardByte }
    fuzzCheck(untouched, "decode wrote outside its \(size)-byte output (filters \(describe(filters)))")
    return result
}

/// Decodes twice — with a fresh workspace into a zero-filled buffer, then with the shared
/// (reused) workspace into a 0xFF-filled one — and checks that both agree: a decode either
/// fails both times with the same error or fills its whole output with the same bytes (a
/// byte left unwritten would differ). Returns the decoded bytes, nil when refused.
@discardableResult
func checkedDecode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], mask: UInt32 = 0,
                   elementSize: Int, size: Int) -> [UInt8]? {
    let first = decodeGuarded(chunk, filters: filters, mask: mask, elementSize: elementSize, size: size,
                              prefill: 0x00, workspace: CodecWorkspace())
    let second = decodeGuarded(chunk, filters: filters, mask: mask, elementSize: elementSize, size: size,
                               prefill: 0xFF, workspace: sharedWorkspace)
    switch (first, second) {
    case (.success(let a), .success(let b)):
        fuzzCheck(a == b, "decode left output bytes unwritten or is not deterministic (filters \(describe(filters)))")
        return a
    case (.failure(let a), .failure(let b)):
        fuzzCheck(a.message == b.message, "decode failed differently: \"\(a.message)\" then \"\(b.message)\"")
        return nil
    default:
        fuzzCheck(false, "decode succeeded once and failed once (filters \(describe(filters)))")
        return nil
    }
}

/// encode then decode gives `data` back. Filters whose bit is set in `mask` are left out of
/// the encoding, as libhdf5 does for a chunk it stores with that mask, and the decode gets the
/// whole pipeline with the mask. `mustEncode`: the encoder has no reason to refuse.
/// Returns false when the encoder refused (a filter or option it does not write).
@discardableResult
func checkRoundTrip(_ data: UnsafeRawBufferPointer, filters: [FilterSpec], mask: UInt32 = 0,
                    elementSize: Int, mustEncode: Bool = false) -> Bool {
    let applied = filters.indices.filter { $0 >= 32 || mask & (1 << UInt32($0)) == 0 }.map { filters[$0] }
    let encoded: [UInt8]
    do {
        encoded = try FilterPipeline.encode(data, filters: applied, elementSize: elementSize, workspace: sharedWorkspace)
    } catch {
        fuzzCheck(!mustEncode, "encode refused \(describe(applied)): \(error.message)")
        return false
    }
    // The encoder writes a few forms the decoder does not read (bitshuffle's user form of the
    // client values); a pipeline the decoder reads must give the data back.
    guard FilterPipeline.canDecode(applied) else { return true }
    let decoded = encoded.withUnsafeBytes {
        checkedDecode($0, filters: filters, mask: mask, elementSize: elementSize, size: data.count)
    }
    fuzzCheck(decoded != nil, "decode refused what encode wrote (filters \(describe(filters)), mask \(mask))")
    fuzzCheck(decoded.map { $0.elementsEqual(data) } ?? false,
              "decode(encode(x)) != x (filters \(describe(filters)), mask \(mask), \(data.count) bytes)")
    return true
}

func describe(_ filters: [FilterSpec]) -> String {
    "[" + filters.map { "\($0.id)\($0.clientData)" }.joined(separator: ", ") + "]"
}

/// A decoded size from four fuzzed bytes, at most `largestFuzzedOutput`.
func fuzzedSize(_ raw: UInt32) -> Int {
    Int(raw % UInt32(largestFuzzedOutput + 1))
}
