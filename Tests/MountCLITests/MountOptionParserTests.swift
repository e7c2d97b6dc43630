import H5FS
import H5Model
import XCTest
@testable import MountCLI

final class MountOptionParserTests: XCTestCase {
    private func parse(_ groups: String...) throws -> ParsedMountOptions {
        try parseMountOptions(groups, uid: 1000, gid: 100)
    }

    private func usageError(_ groups: String...) -> String? {
        do {
            _ = try parseMountOptions(groups, uid: 0, gid: 0)
            return nil
        } catch {
            XCTAssertEqual(error.status, .usage)
            return error.message
        }
    }

    func testDefaultsAreWritableAndTheMountingUser() throws {
        let parsed = try parse()
        XCTAssertEqual(parsed.filesystem, MountOptions(readOnly: false, cacheBytes: 256 << 20, uid: 1000, gid: 100,
                                                       compression: .gzip(level: 6), chunkSize: 1 << 20, inplace: false))
        XCTAssertEqual(parsed.fuseOptions, [])
        XCTAssertEqual(parsed.warnings, [])
        XCTAssertEqual(parsed.sessionOptions(container: "/data/a.h5"),
                       ["fsname=/data/a.h5", "subtype=h5mount", "max_read=1048576"])
    }

    func testMountBookkeepingOptionsFromFstabAreAcceptedAndNotPassedOn() throws {
        let parsed = try parse("ro,defaults,nofail,noauto,user,users,_netdev,x-systemd.automount,comment=x")
        XCTAssertTrue(parsed.filesystem.readOnly)
        XCTAssertEqual(parsed.fuseOptions, [])
        XCTAssertNotNil(usageError("ro,bogus"), "unknown options stay usage errors")
    }

    func testMkdirAskToCreateTheMountPoint() throws {
        XCTAssertTrue(try parse("mkdir").makeMountPoint)
        XCTAssertFalse(try parse("ro").makeMountPoint)
    }

    func testDebugIsTheSpellingOfDashD() throws {
        XCTAssertFalse(try parse().debug)
        let parsed = try parse("ro,debug")
        XCTAssertTrue(parsed.debug)
        XCTAssertEqual(parsed.fuseOptions, [], "h5mount's own: libfuse's debug output is not what -d prints")
        XCTAssertEqual(usageError("debug=1"), "h5mount: unknown mount option 'debug=1' (see h5mount --help)")
    }

    func testOwnOptionsAcrossSeveralGroups() throws {
        let parsed = try parse("ro,cache_size=64M", "uid=5,gid=6")
        XCTAssertEqual(parsed.filesystem.cacheBytes, 64 << 20)
        XCTAssertEqual(parsed.filesystem.uid, 5)
        XCTAssertEqual(parsed.filesystem.gid, 6)
        XCTAssertTrue(parsed.filesystem.readOnly)
        XCTAssertEqual(parsed.fuseOptions, [])
        XCTAssertEqual(parsed.sessionOptions(container: "/a.h5").first, "ro", "the kernel enforces -o ro too")
    }

    func testReadWriteIsTheExplicitDefaultAndTheLastOneWins() throws {
        XCTAssertFalse(try parse("rw").filesystem.readOnly)
        XCTAssertEqual(try parse("rw").warnings, [])
        XCTAssertTrue(try parse("rw", "ro").filesystem.readOnly)
        XCTAssertFalse(try parse("ro,rw").filesystem.readOnly)
    }

    func testWritePathOptions() throws {
        XCTAssertEqual(try parse("compression=lz4").filesystem.compression, .lz4)
        XCTAssertEqual(try parse("compression=bslz4").filesystem.compression, .bitshuffleLZ4)
        XCTAssertEqual(try parse("compression=none").filesystem.compression, Compression.none)
        XCTAssertEqual(try parse("compression=gzip").filesystem.compression, .gzip(level: 6))
        XCTAssertEqual(try parse("compression=gzip:9").filesystem.compression, .gzip(level: 9))
        XCTAssertEqual(try parse("chunk_size=4K").filesystem.chunkSize, 4096)
        XCTAssertEqual(try parse("chunk_size=64M").filesystem.chunkSize, 64 << 20)
        XCTAssertEqual(try parse("chunk_size=262144").filesystem.chunkSize, 262144)
        XCTAssertTrue(try parse("inplace").filesystem.inplace)
        XCTAssertEqual(try parse("inplace").fuseOptions, [], "h5mount options never reach libfuse")
        XCTAssertEqual(usageError("compression=zstd"),
                       "h5mount: bad value 'zstd' for mount option 'compression' (expected gzip, gzip:0 to gzip:9, lz4, bslz4 or none)")
        XCTAssertNotNil(usageError("compression=gzip:10"))
        XCTAssertNotNil(usageError("chunk_size=4095"))
        XCTAssertNotNil(usageError("chunk_size=65M"))
        XCTAssertEqual(usageError("compression"), "h5mount: mount option 'compression' needs a value (compression=...)")
        XCTAssertEqual(usageError("chunk_size"), "h5mount: mount option 'chunk_size' needs a value (chunk_size=...)")
        XCTAssertEqual(usageError("inplace=1"), "h5mount: unknown mount option 'inplace=1' (see h5mount --help)")
    }

    func testContainmentTimeLimit() throws {
        XCTAssertEqual(try parse("ro").filesystem.hdf5TimeLimit, 10, "contained by default")
        XCTAssertEqual(try parse("hdf5_timeout=2.5").filesystem.hdf5TimeLimit, 2.5)
        XCTAssertNil(try parse("hdf5_timeout=0").filesystem.hdf5TimeLimit, "0 turns containment off")
        XCTAssertEqual(try parse("hdf5_timeout=3").fuseOptions, [], "not a FUSE option")
        XCTAssertNotNil(usageError("hdf5_timeout=-1"))
        XCTAssertNotNil(usageError("hdf5_timeout=soon"))
        XCTAssertEqual(usageError("hdf5_timeout"), "h5mount: mount option 'hdf5_timeout' needs a value (hdf5_timeout=...)")
    }

    func testViewOptions() throws {
        XCTAssertFalse(try parse("ro").filesystem.frames, "no views unless asked for")
        XCTAssertFalse(try parse("ro").filesystem.npy)
        XCTAssertTrue(try parse("frames").filesystem.frames)
        XCTAssertFalse(try parse("frames").filesystem.npy)
        let both = try parse("ro,frames", "npy")
        XCTAssertTrue(both.filesystem.frames && both.filesystem.npy && both.filesystem.readOnly)
        XCTAssertEqual(both.fuseOptions, [], "h5mount options never reach libfuse")
        XCTAssertEqual(usageError("npy=1"), "h5mount: unknown mount option 'npy=1' (see h5mount --help)")
        XCTAssertEqual(usageError("frames=yes"), "h5mount: unknown mount option 'frames=yes' (see h5mount --help)")
    }

    func testFUSEOptionsPassThroughAndReplaceDefaults() throws {
        let parsed = try parse("allow_other,default_permissions", "fsname=mydata,subtype=x,max_read=128K,noatime")
        XCTAssertEqual(parsed.fuseOptions,
                       ["allow_other", "default_permissions", "fsname=mydata", "subtype=x", "max_read=131072", "noatime"])
        XCTAssertEqual(parsed.maxRead, 131072)
        XCTAssertEqual(parsed.sessionOptions(container: "/a.h5"),
                       ["allow_other", "default_permissions", "fsname=mydata", "subtype=x", "max_read=131072", "noatime"])
    }

    func testCommasInTheContainerPathAreEscapedForLibfuse() throws {
        XCTAssertEqual(try parse().sessionOptions(container: "/d/a,b\\c.h5")[0], "fsname=/d/a\\,b\\\\c.h5")
        XCTAssertEqual(splitOptionList("fsname=a\\,b,ro"), ["fsname=a\\,b", "ro"])
        XCTAssertEqual(try parse("fsname=a\\,b,ro").fuseOptions, ["fsname=a\\,b"])
    }

    func testEmptyItemsAreIgnored() throws {
        XCTAssertEqual(try parse("ro,,allow_other,").fuseOptions, ["allow_other"])
    }

    func testUnknownAndMalformedOptionsAreUsageErrors() {
        XCTAssertEqual(usageError("bogus"), "h5mount: unknown mount option 'bogus' (see h5mount --help)")
        XCTAssertEqual(usageError("ro=1"), "h5mount: unknown mount option 'ro=1' (see h5mount --help)")
        XCTAssertEqual(usageError("cache_size"), "h5mount: mount option 'cache_size' needs a value (cache_size=...)")
        XCTAssertNotNil(usageError("cache_size=lots"))
        XCTAssertNotNil(usageError("uid=-1"))
        XCTAssertNotNil(usageError("gid=abc"))
        XCTAssertNotNil(usageError("max_read=100"))
        XCTAssertNotNil(usageError("fsname="))
        XCTAssertNotNil(usageError("allow_other,allow_root"))
        XCTAssertNotNil(usageError("debug=yes"), "-o debug is a flag (testDebugIsTheSpellingOfDashD)")
    }

    func testSWMRFollowsReadOnlyAtTheIntervalGiven() throws {
        let parsed = try parse("swmr")
        XCTAssertTrue(parsed.filesystem.swmr)
        XCTAssertTrue(parsed.filesystem.readOnly, "-o swmr implies a read-only mount")
        XCTAssertEqual(parsed.filesystem.swmrInterval, 1)
        XCTAssertEqual(parsed.sessionOptions(container: "/a.h5").first, "ro")
        XCTAssertEqual(parsed.fuseOptions, [], "h5mount's own")
        XCTAssertEqual(try parse("swmr,swmr_interval=0.25").filesystem.swmrInterval, 0.25)
        XCTAssertEqual(usageError("swmr,rw"), "h5mount: -o swmr mounts are read-only; drop -o rw")
        XCTAssertEqual(usageError("swmr,swmr_interval=0"),
                       "h5mount: bad value '0' for mount option 'swmr_interval' (expected seconds from 0.05 to 3600)")
        XCTAssertEqual(usageError("swmr_interval"), "h5mount: mount option 'swmr_interval' needs a value (swmr_interval=...)")
        XCTAssertEqual(try parse("swmr_interval=2").warnings, ["h5mount: -o swmr_interval= has no effect without -o swmr"])
        XCTAssertFalse(try parse("ro").filesystem.swmr)
    }
}
