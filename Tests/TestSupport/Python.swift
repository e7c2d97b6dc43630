import Foundation

/// Runs a script with the corpus's python (h5py, numpy, hdf5plugin): for tests that make
/// or check their own small files.
package enum Python {
    /// Runs `script` with `arguments`; throws with its stderr on a non-zero exit. Returns stdout.
    @discardableResult
    package static func run(_ script: String, arguments: [String] = [],
                            environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = ["-c", script] + arguments
        if let environment { process.environment = environment }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Corpus.Failure(description: "python exited \(process.terminationStatus): " + String(decoding: err, as: UTF8.self))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
