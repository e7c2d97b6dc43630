import H5Model

/// Every request of a contained container runs first in a forked child (`ForkedTrial`),
/// unless an earlier trial already covered it; a request whose trial crashed or hung
/// answers `.unreadable` ("libhdf5 crashed (SIGSEGV) while listing /entry") from then on.
///
/// What a trial covers (docs/hdf5-store.md, "Containment"):
/// - listing a group tries the listing and then, for every hard link in it, what the
///   filesystem reads to show it (object header, attributes if any, a dataset's summary,
///   and unless it is a byte dataset without attributes its description, and the text or
///   JSON lines it renders): what `ls -l` of it asks; then, for `Containment.lookahead`
///   seconds, the groups a `find` visits next;
/// - a lookup is covered by its group's listing; any other request about an object not
///   covered yet first tries its parent's listing, then, if still not covered, itself;
/// - reads (blocks, chunk locations) are tried every time (each asks for other bytes),
///   whole-dataset reads (strings, JSON lines) once; a read that failed refuses every
///   later read of that dataset.
extension HDF5Container {
    /// Runs `body` under the gate, once its key is known to be safe. `remember`: a passed
    /// trial covers later calls with the same key. `trial`: what the child runs instead of
    /// `body` (the same libhdf5 calls on memory of the child's own).
    func contained<R>(_ key: Containment.Key, remember: Bool = true, trial: (() -> Void)? = nil,
                      _ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        try HDF5Library.locked { () throws(StoreError) -> R in
            if let containment, let trial {
                try admit(key, containment, remember: remember, trial)
            } else if let containment {
                try admit(key, containment, remember: remember) { _ = try? body() }
            }
            return try body()
        }
    }

    /// `contained` for a caller that holds the gate already (a batch under one hold).
    func admitLocked(_ key: Containment.Key, trial: () -> Void) throws(StoreError) {
        if let containment { try admit(key, containment, remember: true, trial) }
    }

    /// Throws the recorded failure, or tries what is not covered. Caller holds the gate.
    private func admit(_ key: Containment.Key, _ containment: Containment, remember: Bool,
                       _ trial: () -> Void) throws(StoreError) {
        if let refused = containment.readRefused(key.path) { throw StoreError(.unreadable, refused) }
        if case .failed(let message) = containment.verdict(key) { throw StoreError(.unreadable, message) }
        guard containment.tries, containment.verdict(key) != .passed || !remember else { return }
        if remember && key.operation != .list && key.operation != .read && !key.path.components.isEmpty {
            let listing = Containment.Key(.list, key.path.parent)
            if containment.verdict(listing) == .unknown { tryListing(key.path.parent, containment) }
            if key.operation == .lookup, containment.verdict(listing) == .passed { return }
            if key.operation == .summary || key.operation == .object,
               containment.verdict(.init(.describe, key.path)) == .passed { return }
            switch containment.verdict(key) {
            case .passed: return
            case .failed(let message): throw StoreError(.unreadable, message)
            case .unknown: break
            }
        }
        if key.operation == .list {
            tryListing(key.path, containment)
        } else {
            let report = ForkedTrial.run(timeLimit: containment.timeLimit) { steps in
                steps.run(key.bytes, trial)
            }
            if !remember, case .finished = report.ending { return }
            containment.record(report)
        }
        if case .failed(let message) = containment.verdict(key) { throw StoreError(.unreadable, message) }
    }

    /// One trial for a group's listing and what listing it in the mount asks of each object,
    /// then, while `Containment.lookahead` seconds last, the same for the groups `find` and
    /// `ls -R` visit next: depth first in byte order (their order: readdir's), the group's
    /// own subtree, then its later siblings' and its parent's later siblings' subtrees.
    /// Each group is listed once, groups already tried are skipped. So a walk of the tree
    /// forks once per many directories. Caller holds the gate.
    private func tryListing(_ group: H5Path, _ containment: Containment) {
        let report = ForkedTrial.run(timeLimit: containment.timeLimit) { steps in
            var walk = LookaheadWalk(start: ForkedTrial.now(), budget: containment.lookahead)
            walk.visit(group, first: true, self, containment, steps)
            // Later siblings, level by level up: their groups are known from listings tried
            // before, so listing the parent again here is a repeat of a passed step.
            var current = group
            while !current.components.isEmpty, walk.hasTime {
                let parent = current.parent
                guard containment.verdict(.init(.list, parent)) == .passed,
                      let siblings = try? linksLocked(parent) else { break }
                for link in siblings where link.name > current.name {
                    guard walk.hasTime else { break }
                    guard case .hard = link.target else { continue }
                    let path = parent.appending(link.name)
                    if (try? objectLocked(path))?.kind == .group { walk.visit(path, first: false, self, containment, steps) }
                }
                current = parent
            }
        }
        containment.record(report)
    }

    /// The child's depth-first walk of `tryListing`, bounded by time.
    private struct LookaheadWalk {
        let start: Double
        let budget: Double
        var seen = Set<UInt64>()
        var hasTime: Bool { ForkedTrial.now() - start < budget }

        mutating func visit(_ group: H5Path, first: Bool, _ container: HDF5Container,
                            _ containment: Containment, _ steps: ForkedTrial.Steps) {
            var stack = [(group, first)]
            while let (path, mandatory) = stack.popLast() {
                if !mandatory {
                    guard hasTime else { return }
                    // The child may read the record: its lock is only ever taken under the gate.
                    guard containment.verdict(.init(.list, path)) == .unknown else { continue }
                }
                let below = container.tryListingSteps(path, steps).filter { seen.insert($0.1).inserted }
                stack += below.reversed().map { ($0.0, false) }
            }
        }
    }

    /// The steps of one group's listing, in the child; returns the groups it links to.
    fileprivate func tryListingSteps(_ group: H5Path, _ steps: ForkedTrial.Steps) -> [(H5Path, UInt64)] {
        var groups: [(H5Path, UInt64)] = []
        guard let links = steps.run(Containment.Key(.list, group).bytes, { try? linksLocked(group, stillWorking: steps.stillWorking) }) else { return [] }
        for link in links {
            guard case .hard(let address) = link.target else { continue }
            let path = group.appending(link.name)
            // A listing describes each object by address (describeObjects), a lookup by path.
            // One step stands for the object by address (listing), its header by path and its
            // summary by path (a lookup): the same header messages; the lookup's path walk is a
            // name search in the group the listing iterated, as `.lookup` (see `admit`).
            guard let description = steps.run(Containment.Key(.describe, path).bytes, {
                try? describeObject(at: address, path: path)
            }) else { continue }
            let info = description.info
            if info.attributeCount > 0 {
                steps.run(Containment.Key(.attributes, path).bytes) { _ = try? attributesLocked(path) }
            }
            if info.kind == .group { groups.append((path, info.address)) }
            guard info.kind == .dataset, let summary = description.summary else { continue }
            // What the filesystem reads to make a dataset's node (ContainerFilesystem+Datasets):
            // a byte dataset without attributes needs nothing more.
            let rendering = summary.type.rendering(rank: summary.shape?.count)
            if rendering == .bytes && info.attributeCount == 0 { continue }
            steps.run(Containment.Key(.dataset, path).bytes) { _ = try? datasetLocked(path) }
            if rendering == .text || rendering == .jsonLines {
                steps.run(Containment.Key(.read, path).bytes) {
                    _ = rendering == .text ? try? readStringsLocked(path).count : try? readJSONElementsLocked(path).count
                }
            }
        }
        return groups
    }
}
