import Glibc

/// A broken invariant: says which and aborts, so libFuzzer keeps the input as a crash
/// artifact (and a replay exits non-zero). Not `precondition`, which -Ounchecked would drop.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    let text = "h5fuzz: invariant broken at \(file):\(line): \(message())\n"
    writeToStandardError(text)
    abort()
}

/// `text` on stderr, unbuffered (the C `stderr` global is not concurrency-safe to name).
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let wrote = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + done, $0.count - done) }
        if wrote <= 0 { return }
        done += wrote
    }
}
