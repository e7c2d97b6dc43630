/// `h5mount --info`: the inventory as lines of text, stable enough for scripts
/// to grep ("filter deflate (1): 2 datasets, native").
package func inventoryReport(_ inventory: ContainerInventory) -> [String] {
    func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
    var lines = ["container: \(inventory.path)"]
    lines.append("objects: " + [plural(inventory.groups, "group"), plural(inventory.datasets, "dataset"),
                                plural(inventory.namedDatatypes, "named datatype")].joined(separator: ", "))
    lines.append("links: \(inventory.hardLinks) hard, \(inventory.softLinks) soft, "
                 + "\(inventory.externalLinks.count) external, \(inventory.otherLinks) other")
    lines.append("filters: \(inventory.filters.isEmpty ? "none" : String(inventory.filters.count))")
    for filter in inventory.filters {
        lines.append("  filter \(filter.name.isEmpty ? "unnamed" : filter.name) (\(filter.id)): "
                     + "\(plural(filter.datasets, "dataset")), \(filter.native ? "native" : "libhdf5")")
    }
    let missing = inventory.virtualDatasets.reduce(0) { $0 + $1.sources.filter { !$0.present }.count }
    lines.append("virtual datasets: \(inventory.virtualDatasets.count)"
                 + (missing > 0 ? " (\(plural(missing, "missing source")))" : ""))
    for dataset in inventory.virtualDatasets {
        lines.append("  \(dataset.path)")
        for source in dataset.sources {
            lines.append("    source \(source.file): \(source.present ? "present" : "missing")")
        }
    }
    let broken = inventory.externalLinks.filter { $0.status != .resolves }.count
    lines.append("external links: \(inventory.externalLinks.count)"
                 + (broken > 0 ? " (\(broken) not resolving)" : ""))
    for link in inventory.externalLinks {
        lines.append("  \(link.path) -> \(link.file):\(link.object): \(link.status.rawValue)")
    }
    for problem in inventory.problems { lines.append("unreadable: \(problem)") }
    return lines
}
