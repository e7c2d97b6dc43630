/// One fuzz target: a name for `H5FUZZ_TARGET` and the corpus directory, and a harness that
/// takes any byte string and aborts (through `fuzzCheck`) when an invariant breaks.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void
}

/// Every target; fuzz/corpus/NAME holds each one's seeds.
let fuzzTargets: [FuzzTarget] = [
    deflateTarget, shuffleTarget, fletcher32Target, lz4Target, bitshuffleTarget,
    pipelineTarget, jsonTarget, sidecarTarget,
]

func fuzzTarget(named name: String) -> FuzzTarget? {
    fuzzTargets.first { $0.name == name }
}
