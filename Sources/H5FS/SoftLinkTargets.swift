/// What the soft links of one directory read back as, by link value, while that directory is
/// listed: a group of a million soft links to a few objects walks each value once, not once
/// per link (`ContainerFilesystem.softLinkTarget`; the result depends only on the value and
/// the directory). Lives for one listing, on one thread.
final class SoftLinkTargets {
    var targets: [String: String] = [:]
}
