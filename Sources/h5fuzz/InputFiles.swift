import Glibc

/// The files a replay runs: `path` itself, or the regular files directly in it, sorted.
func inputFiles(at path: String) -> [String] {
    guard let directory = opendir(path) else { return [path] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name.hasPrefix(".") { continue }
        var info = stat()
        if stat(path + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG { names.append(path + "/" + name) }
    }
    return names.sorted()
}

/// The whole content of `path`, nil when it cannot be read.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var block = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let got = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got < 0 { return nil }
        if got == 0 { return bytes }
        bytes.append(contentsOf: block[..<got])
    }
}
