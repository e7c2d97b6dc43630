import H5Model

/// Deflate (id 1). Input: [level u8][decoded size u32 LE][zlib stream].
/// The stream is decoded into the size (checkedDecode's invariants); whatever came out, or
/// the stream's own bytes when it was refused, must survive encode∘decode at the level.
let deflateTarget = FuzzTarget(name: "deflate", summary: "zlib streams and deflate round trips") { bytes in
    var input = FuzzInput(bytes)
    let level = UInt32(input.uint8() % 13)
    let size = fuzzedSize(input.uint32())
    let filters = [FilterSpec(id: 1, name: "deflate", flags: 1, clientData: [level])]
    let decoded = checkedDecode(input.rest, filters: filters, elementSize: 1, size: size)
    if let decoded {
        decoded.withUnsafeBytes { _ = checkRoundTrip($0, filters: filters, elementSize: 1, mustEncode: true) }
    } else {
        checkRoundTrip(input.rest, filters: filters, elementSize: 1, mustEncode: true)
    }
}
