import H5Model

/// LZ4 (id 32004, HDFGroup framing). Input: [block size u32 LE][decoded size u32 LE][chunk].
/// The chunk is decoded into the size (checkedDecode's invariants); the decoded bytes, or
/// the chunk's own bytes when it was refused, survive encode∘decode with the block size.
let lz4Target = FuzzTarget(name: "lz4", summary: "LZ4 framing and blocks, round trips") { bytes in
    var input = FuzzInput(bytes)
    let blockSize = input.uint32()
    let size = fuzzedSize(input.uint32())
    let filters = [FilterSpec(id: 32004, name: "lz4", flags: 1, clientData: [blockSize])]
    if let decoded = checkedDecode(input.rest, filters: filters, elementSize: 1, size: size) {
        decoded.withUnsafeBytes { _ = checkRoundTrip($0, filters: filters, elementSize: 1, mustEncode: true) }
    } else {
        checkRoundTrip(input.rest, filters: filters, elementSize: 1, mustEncode: true)
    }
}
