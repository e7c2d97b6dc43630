import Codecs
import H5Model

/// Bitshuffle (id 32008), plain and with LZ4. Input: [element size u8][block elements u32 LE]
/// [compression u8: low two bits 0 none, 1 or 2 LZ4, 3 the code in the upper six bits]
/// [decoded size u32 LE][chunk].
/// The chunk is decoded into the size (checkedDecode's invariants); the decoded bytes, or the
/// chunk's whole elements when it was refused, survive encode∘decode; every SIMD level of the
/// block transpose agrees with the scalar one, and unshuffle inverts shuffle.
let bitshuffleTarget = FuzzTarget(name: "bitshuffle", summary: "bitshuffle blocks, LZ4 framing, SIMD levels") { bytes in
    var input = FuzzInput(bytes)
    let elementSize = UInt32(input.uint8())
    let blockElements = input.uint32()
    let compressionByte = input.uint8()
    let compression: UInt32 = switch compressionByte & 3 {
    case 0: 0
    case 1, 2: 2
    default: UInt32(compressionByte >> 2)
    }
    let size = fuzzedSize(input.uint32())
    let chunk = input.rest
    let filters = [FilterSpec(id: 32008, name: "bitshuffle", flags: 1,
                              clientData: [0, 4, elementSize, blockElements, compression])]
    let decoded = checkedDecode(chunk, filters: filters, elementSize: Int(elementSize), size: size)
    guard elementSize > 0 else { return }
    let data: [UInt8] = decoded ?? Array(chunk[..<(chunk.count / Int(elementSize) * Int(elementSize))])
    data.withUnsafeBytes { _ = checkRoundTrip($0, filters: filters, elementSize: Int(elementSize)) }
    checkKernelLevels(data, elementSize: Int(elementSize))
}

/// One block of `data`'s first whole 8-element groups through every SIMD level.
private func checkKernelLevels(_ data: [UInt8], elementSize: Int) {
    let count = data.count / elementSize / 8 * 8
    guard count > 0 else { return }
    let bytes = count * elementSize
    let block = Array(data[..<bytes])
    let temp = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
    defer { temp.deallocate() }
    func transposed(_ source: [UInt8], level: Int32, forward: Bool) -> [UInt8] {
        source.withUnsafeBytes { input in
            [UInt8](unsafeUninitializedCapacity: bytes) { out, written in
                let output = UnsafeMutableRawBufferPointer(out)
                if forward {
                    Kernels.bitshuffleBlock(input, into: output, temp: temp, elementSize: elementSize, level: level)
                } else {
                    Kernels.bitunshuffleBlock(input, into: output, temp: temp, elementSize: elementSize, level: level)
                }
                written = bytes
            }
        }
    }
    let reference = transposed(block, level: 0, forward: true)
    for level in 0...Kernels.bestLevel {
        let shuffled = transposed(block, level: level, forward: true)
        fuzzCheck(shuffled == reference, "bitshuffle level \(level) differs from scalar (\(count) x \(elementSize) bytes)")
        fuzzCheck(transposed(shuffled, level: level, forward: false) == block,
                  "bitunshuffle level \(level) does not invert bitshuffle (\(count) x \(elementSize) bytes)")
    }
}
