import Glibc

// Two builds of one executable (docs/fuzzing.md):
// - `make fuzz-build` compiles with `-sanitize=fuzzer,address` and `-DFUZZING`: libFuzzer
//   supplies `main`, calls LLVMFuzzerInitialize once and then LLVMFuzzerTestOneInput per input;
//   the target comes from H5FUZZ_TARGET (an environment variable, so libFuzzer's own child
//   processes, e.g. with -fork or -merge, run the same one).
// - the ordinary `swift build` makes a replay tool: `h5fuzz TARGET FILE|DIR...` runs the
//   harness over the given inputs once, for reproducing a crash under a debugger.

/// The target chosen for this process, read once.
let selectedTarget: FuzzTarget? = getenv("H5FUZZ_TARGET").flatMap { fuzzTarget(named: String(cString: $0)) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    guard selectedTarget == nil else { return 0 }
    printUsage("H5FUZZ_TARGET must name a target")
    exit(2)
}

func printUsage(_ problem: String) {
    var text = "h5fuzz: \(problem). Targets:\n"
    for target in fuzzTargets { text += "  \(target.name.padding(12))\(target.summary)\n" }
    writeToStandardError(text)
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(1, width - count)) }
}

#if !FUZZING
@main
enum Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = fuzzTarget(named: name), arguments.count > 1 else {
            printUsage("usage: h5fuzz TARGET FILE|DIR... (replays inputs)")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in inputFiles(at: path) {
                guard let bytes = readWholeFile(file) else {
                    printUsage("cannot read \(file)")
                    exit(1)
                }
                bytes.withUnsafeBytes { target.run($0) }
                count += 1
            }
        }
        print("h5fuzz \(name): \(count) inputs, no invariant broken")
    }
}
#endif
