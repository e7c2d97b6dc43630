import ChunkEngine
import Glibc
import H5Model
import Synchronization

/// A made-up filter for tests: "XOR1" then every byte XOR 0x5A. Counts decodes and can
/// sleep in each, to widen race windows.
final class XorCodec: ChunkCodec {
    static let filter = FilterSpec(id: 40_000, name: "xor", flags: 0, clientData: [])
    let decodes = Atomic<Int>(0)
    let delayMicroseconds: UInt32

    init(delayMicroseconds: UInt32 = 0) { self.delayMicroseconds = delayMicroseconds }

    static func encode(_ bytes: [UInt8]) -> [UInt8] { Array("XOR1".utf8) + bytes.map { $0 ^ 0x5A } }

    func canDecode(_ filters: [FilterSpec]) -> Bool { filters.allSatisfy { $0.id == Self.filter.id } }

    func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(ChunkCodecError) {
        decodes.wrappingAdd(1, ordering: .relaxed)
        if delayMicroseconds > 0 { usleep(delayMicroseconds) }
        guard chunk.count == output.count + 4, Array(chunk.prefix(4)) == Array("XOR1".utf8) else {
            throw ChunkCodecError("bad xor header")
        }
        for i in 0..<output.count { output[i] = chunk[i + 4] ^ 0x5A }
    }
}
