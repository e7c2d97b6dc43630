/// Parses a byte count as `-o cache_size=` takes it: digits with an optional
/// binary suffix K, M, G or T (any case, "KiB"/"KB" spelled out too).
package func parseByteCount(_ text: String) -> Int? {
    var digits = Substring(text)
    var suffix = ""
    while let last = digits.last, !last.isNumber {
        suffix = String(last) + suffix
        digits = digits.dropLast()
    }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else { return nil }
    let shift: Int
    switch suffix.uppercased() {
    case "", "B": shift = 0
    case "K", "KB", "KIB": shift = 10
    case "M", "MB", "MIB": shift = 20
    case "G", "GB", "GIB": shift = 30
    case "T", "TB", "TIB": shift = 40
    default: return nil
    }
    let (result, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
    return overflow ? nil : result
}
