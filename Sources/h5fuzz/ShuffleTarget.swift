import Codecs
import H5Model

/// Shuffle (id 2). Input: [client element size u8][dataset element size u8][bytes].
/// Decoding any bytes of the chunk's size succeeds; encode∘decode is the identity; every SIMD
/// level of the kernels gives what the plain definition gives.
let shuffleTarget = FuzzTarget(name: "shuffle", summary: "byte shuffle, every SIMD level") { bytes in
    var input = FuzzInput(bytes)
    let clientSize = UInt32(input.uint8())
    let datasetSize = Int(input.uint8())
    let data = input.rest
    let filters = [FilterSpec(id: 2, name: "shuffle", flags: 1, clientData: [clientSize])]
    let decoded = checkedDecode(data, filters: filters, elementSize: datasetSize, size: data.count)
    fuzzCheck(decoded != nil, "shuffle refused a chunk of its own size")
    checkRoundTrip(data, filters: filters, elementSize: datasetSize, mustEncode: true)

    let size = clientSize > 0 ? Int(clientSize) : datasetSize
    guard size > 0 else { return }
    let whole = UnsafeRawBufferPointer(rebasing: data[..<(data.count / size * size)])
    let planes = plainShuffle(whole, elementSize: size)
    for level in 0...Kernels.bestLevel {
        let forward = [UInt8](unsafeUninitializedCapacity: whole.count) { out, count in
            Kernels.byteShuffle(whole, into: UnsafeMutableRawBufferPointer(out), elementSize: size, level: level)
            count = whole.count
        }
        fuzzCheck(forward == planes, "byteShuffle level \(level) differs from the definition (size \(size))")
        let back = forward.withUnsafeBytes { planes in
            [UInt8](unsafeUninitializedCapacity: planes.count) { out, count in
                Kernels.byteUnshuffle(planes, into: UnsafeMutableRawBufferPointer(out), elementSize: size, level: level)
                count = planes.count
            }
        }
        fuzzCheck(back.elementsEqual(whole), "byteUnshuffle level \(level) does not invert byteShuffle (size \(size))")
    }
}

/// HDF5 shuffle by its definition: byte j of element i goes to plane j, position i.
private func plainShuffle(_ input: UnsafeRawBufferPointer, elementSize: Int) -> [UInt8] {
    let count = input.count / elementSize
    var out = [UInt8](repeating: 0, count: input.count)
    for element in 0..<count {
        for byte in 0..<elementSize { out[byte * count + element] = input[element * elementSize + byte] }
    }
    return out
}
