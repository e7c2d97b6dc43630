/// `H5Fopen` reads the superblock, its extension and the root group's object header, and
/// `H5Fclose` walks what the open built: a malformed file can crash or hang libhdf5 in
/// either, before and after every request a `Containment` trial covers (CVE reports name
/// `H5F__super_read`, `H5AC_unpin_entry`, `H5F_get_nrefs`). So a contained open first opens
/// and closes the file in a forked child (docs/hdf5-store.md, "Containment").
enum OpenTrial {
    /// What the child found: nil when it opened and closed the file (or could not fork:
    /// nothing was learnt, the open runs unguarded).
    struct Failure: Equatable {
        enum Step: UInt8 { case opening = 1, closing }
        var step: Step
        /// "libhdf5 crashed (SIGSEGV) while opening the file".
        var message: String
    }

    /// Runs `open` and then `close` (what `open` returned) in a child. Caller holds the HDF5 gate.
    static func run<File>(timeLimit: Double, open: () -> File, close: (File) -> Void) -> Failure? {
        let report = ForkedTrial.run(timeLimit: timeLimit) { steps in
            let file = steps.run([Failure.Step.opening.rawValue], open)
            steps.run([Failure.Step.closing.rawValue]) { close(file) }
        }
        guard let cause = Containment.cause(of: report.ending, timeLimit: timeLimit),
              let last = report.started.last?.first, let step = Failure.Step(rawValue: last) else { return nil }
        return Failure(step: step, message: "\(cause) while \(step == .opening ? "opening" : "closing") the file")
    }
}
