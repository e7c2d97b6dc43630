import FUSEBridge
import H5FS
import H5Model

/// What the `-o` options of one mount amount to.
package struct ParsedMountOptions: Sendable, Equatable {
    /// What the filesystem sees (read-only, cache budget, owner, how files are written).
    package var filesystem: MountOptions
    /// Standard FUSE mount options, passed on to fuse_session_new as given.
    package var fuseOptions: [String]
    /// The `max_read=` the kernel is told (the bridge must answer INIT with the same).
    package var maxRead: UInt32 = BridgeConfiguration.defaultMaxRead
    /// `-o mkdir`: create a missing mount point, remove it after the unmount.
    package var makeMountPoint = false
    /// `-o debug`: what `-d` does (libfuse spells its `-d` so too): foreground, a log line per request.
    package var debug = false
    /// Lines for stderr before mounting.
    package var warnings: [String] = []

    /// Everything fuse_session_new gets: "ro" (kernel-enforced read-only),
    /// the user's FUSE options, then defaults for the ones not given, so
    /// /proc/mounts shows "CONTAINER on MOUNTPOINT type fuse.h5mount".
    package func sessionOptions(container: String) -> [String] {
        var options = (filesystem.readOnly ? ["ro"] : []) + fuseOptions
        func given(_ key: String) -> Bool { fuseOptions.contains { $0.hasPrefix(key + "=") } }
        if !given("fsname") { options.append("fsname=" + escapeOptionValue(container)) }
        if !given("subtype") { options.append("subtype=h5mount") }
        if !given("max_read") { options.append("max_read=\(maxRead)") }
        return options
    }
}

/// FUSE options passed through unchanged: flags, and keys that take a value.
private let fuseFlags: Set<String> = [
    "allow_other", "allow_root", "default_permissions", "auto_unmount",
    "suid", "nosuid", "dev", "nodev", "exec", "noexec", "atime", "noatime",
    "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
    "lazytime", "nolazytime", "sync", "async", "dirsync",
]
private let fuseKeys: Set<String> = ["fsname", "subtype", "context", "fscontext", "defcontext", "rootcontext"]

/// Parses the arguments of every `-o` (each a comma-separated list; a
/// backslash escapes a comma, as libfuse reads them). `uid`/`gid` are the
/// owner shown when `-o uid=`/`gid=` are absent (the mounting user).
package func parseMountOptions(_ groups: [String], uid: UInt32, gid: UInt32) throws(CLIError) -> ParsedMountOptions {
    // Writable unless -o ro (DESIGN.md §2); the preflight turns a container the
    // user cannot write into a read-only mount.
    var parsed = ParsedMountOptions(filesystem: MountOptions(readOnly: false, uid: uid, gid: gid), fuseOptions: [])
    for option in groups.flatMap(splitOptionList) where !option.isEmpty {
        let key = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
        let value = option.contains("=") ? String(option.drop(while: { $0 != "=" }).dropFirst()) : nil
        switch (key, value) {
        case ("ro", nil):
            parsed.filesystem.readOnly = true
        case ("rw", nil):
            parsed.filesystem.readOnly = false
        case ("compression", let text?):
            guard let compression = Compression(parsing: text) else {
                throw badValue(key, text, "gzip, gzip:0 to gzip:9, lz4, bslz4 or none")
            }
            parsed.filesystem.compression = compression
        case ("chunk_size", let text?):
            guard let bytes = parseByteCount(text), chunkSizeRange.contains(bytes) else {
                throw badValue(key, text, "a byte count from 4K to 64M")
            }
            parsed.filesystem.chunkSize = bytes
        case ("mkdir", nil):
            parsed.makeMountPoint = true
        case ("debug", nil):
            parsed.debug = true
        case ("inplace", nil):
            parsed.filesystem.inplace = true
        case ("hdf5_timeout", let text?):
            guard let seconds = Double(text), seconds >= 0, seconds <= 86400 else {
                throw badValue(key, text, "seconds, 0 to turn containment off")
            }
            parsed.filesystem.hdf5TimeLimit = seconds == 0 ? nil : seconds
        case ("external", let text?):
            guard let policy = ExternalLinkPolicy(parsing: text) else { throw badValue(key, text, "dir, any or none") }
            parsed.filesystem.external = policy
        case ("swmr", nil):
            parsed.filesystem.swmr = true
        case ("swmr_interval", let text?):
            guard let seconds = Double(text), seconds >= 0.05, seconds <= 3600 else {
                throw badValue(key, text, "seconds from 0.05 to 3600")
            }
            parsed.filesystem.swmrInterval = seconds
        case ("frames", nil):
            parsed.filesystem.frames = true
        case ("npy", nil):
            parsed.filesystem.npy = true
        case ("cache_size", let text?):
            guard let bytes = parseByteCount(text) else { throw badValue(key, text, "a byte count such as 512M") }
            parsed.filesystem.cacheBytes = bytes
        case ("uid", let text?):
            guard let id = UInt32(text) else { throw badValue(key, text, "a numeric user id") }
            parsed.filesystem.uid = id
        case ("gid", let text?):
            guard let id = UInt32(text) else { throw badValue(key, text, "a numeric group id") }
            parsed.filesystem.gid = id
        case ("max_read", let text?):
            guard let bytes = parseByteCount(text), bytes >= 4096, bytes <= Int(UInt32.max) else {
                throw badValue(key, text, "a byte count of at least 4096")
            }
            parsed.maxRead = UInt32(bytes)
            parsed.fuseOptions.append("max_read=\(bytes)")
        case _ where isMountHelperOption(key, value):
            // fstab(5)/mount(8) bookkeeping: mount(8) or mount.fuse3 acted on it already.
            continue
        case (let flag, nil) where fuseFlags.contains(flag):
            parsed.fuseOptions.append(flag)
        case (let known, let text?) where fuseKeys.contains(known):
            guard !text.isEmpty else { throw badValue(key, text, "a value") }
            parsed.fuseOptions.append(option)
        default:
            if value == nil && (valueKeys.contains(key) || fuseKeys.contains(key)) {
                throw CLIError(.usage, "h5mount: mount option '\(key)' needs a value (\(key)=...)")
            }
            throw CLIError(.usage, "h5mount: unknown mount option '\(option)' (see h5mount --help)")
        }
    }
    try applySWMR(to: &parsed, groups: groups)
    if parsed.fuseOptions.contains("allow_other") && parsed.fuseOptions.contains("allow_root") {
        throw CLIError(.usage, "h5mount: mount options 'allow_other' and 'allow_root' exclude each other")
    }
    return parsed
}

/// Options that mean something to mount(8) and fstab(5), not to the filesystem.
/// mount.fuse3 strips most of them, but not all (`defaults`, `users`, `x-*`),
/// and a hand-written `h5mount -o` line copied from fstab should work too.
private let mountHelperFlags: Set<String> = [
    "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group",
    "nofail", "_netdev", "noblock", "nosymfollow", "silent", "loud",
]

private func isMountHelperOption(_ key: String, _ value: String?) -> Bool {
    if key.hasPrefix("x-") { return true }
    if value == nil { return mountHelperFlags.contains(key) }
    // `user=NAME` is what mount(8) passes for an fstab `user` mount; `comment=` is fstab's.
    return key == "user" || key == "comment"
}

/// h5mount's own options that take a value.
private let valueKeys: Set<String> = ["cache_size", "uid", "gid", "max_read", "compression", "chunk_size", "swmr_interval", "external",
                                      "hdf5_timeout"]

/// `-o swmr` follows a writer: the mount is read-only (`-o rw` with it is a usage error), and
/// `swmr_interval=` means nothing without it (a warning).
private func applySWMR(to parsed: inout ParsedMountOptions, groups: [String]) throws(CLIError) {
    let given = groups.flatMap(splitOptionList)
    guard parsed.filesystem.swmr else {
        if given.contains(where: { $0.hasPrefix("swmr_interval=") }) {
            parsed.warnings.append("h5mount: -o swmr_interval= has no effect without -o swmr")
        }
        return
    }
    if given.contains("rw") { throw CLIError(.usage, "h5mount: -o swmr mounts are read-only; drop -o rw") }
    parsed.filesystem.readOnly = true
}

/// `-o chunk_size=`: small enough chunks cost more index than they save, big ones
/// cost memory per packing thread; libhdf5 caps a chunk at 4 GiB anyway.
package let chunkSizeRange = 4096...(64 << 20)

private func badValue(_ key: String, _ value: String, _ expected: String) -> CLIError {
    CLIError(.usage, "h5mount: bad value '\(value)' for mount option '\(key)' (expected \(expected))")
}

/// "a,b\,c" -> ["a", "b\,c"]: escapes stay, libfuse reads them again.
package func splitOptionList(_ list: String) -> [String] {
    var items: [String] = []
    var current = ""
    var escaped = false
    for character in list {
        if escaped {
            current.append(character)
            escaped = false
        } else if character == "\\" {
            current.append(character)
            escaped = true
        } else if character == "," {
            items.append(current)
            current = ""
        } else {
            current.append(character)
        }
    }
    items.append(current)
    return items
}

/// Escapes "," and "\" so libfuse reads the value back verbatim.
package func escapeOptionValue(_ value: String) -> String {
    var escaped = ""
    for character in value {
        if character == "," || character == "\\" { escaped.append("\\") }
        escaped.append(character)
    }
    return escaped
}
