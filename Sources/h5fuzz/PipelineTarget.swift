import Codecs
import H5Model

/// The whole filter pipeline with fuzzed filter specs and chunk mask. Input:
/// [filter count u8, mod 6] then per filter [id selector u8][client value count u8, mod 7]
/// [client values u32 LE...], then [mask u32 LE][element size u8][decoded size u32 LE][chunk].
/// Id selector mod 8: deflate, shuffle, fletcher32, lz4, bitshuffle, and three ids the codecs
/// do not implement (szip 4, zstd 32015, blosc 32001).
/// The chunk is decoded (checkedDecode's invariants) and must be refused when a filter that
/// runs is not one `canDecode` accepts; the chunk's bytes survive encode∘decode with the mask.
let pipelineTarget = FuzzTarget(name: "pipeline", summary: "fuzzed filter pipelines and masks") { bytes in
    var input = FuzzInput(bytes)
    let ids: [Int32] = [1, 2, 3, 32004, 32008, 4, 32015, 32001]
    var filters: [FilterSpec] = []
    for _ in 0..<Int(input.uint8() % 6) {
        let id = ids[Int(input.uint8() % UInt8(ids.count))]
        let values = (0..<Int(input.uint8() % 7)).map { _ in input.uint32() }
        filters.append(FilterSpec(id: id, name: "fuzzed", flags: 1, clientData: values))
    }
    let mask = input.uint32()
    let elementSize = Int(input.uint8())
    let size = fuzzedSize(input.uint32())
    let chunk = input.rest

    let decoded = checkedDecode(chunk, filters: filters, mask: mask, elementSize: elementSize, size: size)
    let running = filters.indices.filter { $0 >= 32 || mask & (1 << UInt32($0)) == 0 }.map { filters[$0] }
    if !FilterPipeline.canDecode(running) {
        fuzzCheck(decoded == nil, "decoded a chunk through a filter canDecode refuses (\(describe(running)))")
    }
    checkRoundTrip(chunk, filters: filters, mask: mask, elementSize: elementSize)
}
