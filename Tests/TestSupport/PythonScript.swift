import Foundation

/// Runs a small python script with the corpus's python (h5py, numpy), for tests that build
/// or inspect their own files; returns what it printed. A failing script fails the test.
package enum PythonScript {
    package static func run(_ script: String, arguments: [String] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = ["-c", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Corpus.Failure(description: "python exited with \(process.terminationStatus) running:\n\(script)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
