import Glibc
import H5FS
import XCTest
@testable import FUSEBridge

/// A minimal POSIX access ACL set as an xattr is a chmod (AccessACLMode.swift).
final class AccessACLModeTests: XCTestCase {
    /// The xattr form libacl writes: version 2, then (tag, permissions, id) entries.
    private func acl(_ entries: [(tag: UInt16, perm: UInt16)], version: UInt32 = 2) -> [UInt8] {
        var bytes = withUnsafeBytes(of: version.littleEndian, Array.init)
        for entry in entries {
            bytes += withUnsafeBytes(of: entry.tag.littleEndian, Array.init)
            bytes += withUnsafeBytes(of: entry.perm.littleEndian, Array.init)
            bytes += withUnsafeBytes(of: UInt32.max.littleEndian, Array.init)
        }
        return bytes
    }

    private func errno<T>(_ body: () throws -> T) -> Int32? {
        do { _ = try body(); return nil } catch let error as FSError { return error.errno } catch { return -1 }
    }

    private func makeDispatcher(_ fs: any FilesystemOperations) -> Dispatcher {
        Dispatcher(filesystem: fs, configuration: BridgeConfiguration(readOnly: fs.isReadOnly, containerPath: "/d/c.h5"),
                   log: Log(destination: .standardError, debug: false))
    }

    func testAMinimalACLIsItsModeAndAMaskStandsForTheGroupClass() throws {
        // What cp -a sent for a 0755 file (captured with strace).
        let captured: [UInt8] = [2, 0, 0, 0, 1, 0, 7, 0, 255, 255, 255, 255, 4, 0, 5, 0, 255, 255, 255, 255,
                                 32, 0, 5, 0, 255, 255, 255, 255]
        XCTAssertEqual(try modeOfAccessACL(captured), 0o755)
        XCTAssertEqual(try modeOfAccessACL(acl([(0x01, 6), (0x04, 4), (0x20, 0)])), 0o640)
        XCTAssertEqual(try modeOfAccessACL(acl([(0x01, 7), (0x04, 7), (0x10, 1), (0x20, 2)])), 0o712)
    }

    func testNamedEntriesHaveNoModeAndMalformedACLsAreInvalid() {
        XCTAssertNil(try modeOfAccessACL(acl([(0x01, 7), (0x02, 5), (0x04, 5), (0x10, 5), (0x20, 0)])))
        XCTAssertNil(try modeOfAccessACL(acl([(0x01, 7), (0x04, 5), (0x08, 1), (0x10, 5), (0x20, 0)])))
        XCTAssertEqual(errno { try modeOfAccessACL(acl([(0x01, 7), (0x04, 5), (0x20, 0)], version: 1)) }, EINVAL)
        XCTAssertEqual(errno { try modeOfAccessACL(Array(acl([(0x01, 7), (0x04, 5), (0x20, 0)]).dropLast())) }, EINVAL)
        XCTAssertEqual(errno { try modeOfAccessACL(acl([(0x01, 7), (0x20, 0)])) }, EINVAL)
        XCTAssertEqual(errno { try modeOfAccessACL(acl([(0x01, 7), (0x01, 7), (0x04, 5), (0x20, 0)])) }, EINVAL)
        XCTAssertEqual(errno { try modeOfAccessACL(acl([(0x01, 7), (0x04, 5), (0x40, 0), (0x20, 0)])) }, EINVAL)
        XCTAssertEqual(errno { try modeOfAccessACL(acl([(0x01, 8), (0x04, 5), (0x20, 0)])) }, EINVAL)
        XCTAssertEqual(errno { try modeOfAccessACL([]) }, EINVAL)
    }

    func testSetxattrOfAMinimalACLChmodsForTheOwnerOnlyAndKeepsTheSpecialBits() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, _) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o600, flags: 0)
        _ = try dispatcher.doSetAttributes(file.node, handle: nil, AttributeChanges(mode: 0o4600, uid: 1000, gid: 100))
        let rwxrx = acl([(0x01, 7), (0x04, 5), (0x20, 5)])
        XCTAssertEqual(errno {
            try dispatcher.doSetExtendedAttribute(file.node, name: "system.posix_acl_access", value: rwxrx, flags: 0,
                                                  caller: RequestCaller(uid: 1001, gid: 100))
        }, EPERM)
        XCTAssertEqual(try fs.attributes(of: file.node).mode & 0o7777, 0o4600)
        try dispatcher.doSetExtendedAttribute(file.node, name: "system.posix_acl_access", value: rwxrx, flags: 0,
                                              caller: RequestCaller(uid: 1000, gid: 100))
        XCTAssertEqual(try fs.attributes(of: file.node).mode, UInt32(S_IFREG) | 0o4755)
        try dispatcher.doSetExtendedAttribute(file.node, name: "system.posix_acl_access", value: acl([(0x01, 6), (0x04, 0), (0x20, 0)]),
                                              flags: 0)  // root
        XCTAssertEqual(try fs.attributes(of: file.node).mode & 0o7777, 0o4600)
    }

    func testSetGroupIDIsClearedForACallerOutsideTheGroupAsChmodDoes() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, _) = try dispatcher.doCreate(parent: 1, name: "g", mode: 0o600, flags: 0)
        _ = try dispatcher.doSetAttributes(file.node, handle: nil, AttributeChanges(mode: 0o2750, uid: 1000, gid: 50))
        try dispatcher.doSetExtendedAttribute(file.node, name: "system.posix_acl_access", value: acl([(0x01, 7), (0x04, 7), (0x20, 0)]),
                                              flags: 0, caller: RequestCaller(uid: 1000, gid: 100))
        XCTAssertEqual(try fs.attributes(of: file.node).mode & 0o7777, 0o0770)
    }

    func testNamedACLsStayUnsupportedAndRemovingAnACLFindsNone() throws {
        let fs = WritableMemoryFilesystem()
        let dispatcher = makeDispatcher(fs)
        let (file, _) = try dispatcher.doCreate(parent: 1, name: "f", mode: 0o640, flags: 0)
        let named = acl([(0x01, 7), (0x02, 5), (0x04, 5), (0x10, 5), (0x20, 0)])
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(file.node, name: "system.posix_acl_access", value: named, flags: 0) },
                       EOPNOTSUPP)
        let minimal = acl([(0x01, 7), (0x04, 7), (0x20, 7)])
        XCTAssertEqual(errno { try dispatcher.doSetExtendedAttribute(file.node, name: "system.posix_acl_default", value: minimal, flags: 0) },
                       EOPNOTSUPP)
        XCTAssertEqual(try fs.attributes(of: file.node).mode & 0o7777, 0o640)
        XCTAssertEqual(errno { try dispatcher.doRemoveExtendedAttribute(file.node, name: "system.posix_acl_default") }, ENODATA)
        XCTAssertEqual(errno { try dispatcher.doRemoveExtendedAttribute(file.node, name: "system.posix_acl_access") }, ENODATA)
        XCTAssertEqual(errno { try dispatcher.doGetExtendedAttribute(file.node, name: "system.posix_acl_access", size: 64) }, EOPNOTSUPP)
    }

    func testReadOnlyMountsRefuseTheACLToo() {
        let dispatcher = makeDispatcher(MemoryFilesystem.sample())
        XCTAssertEqual(errno {
            try dispatcher.doSetExtendedAttribute(2, name: "system.posix_acl_access", value: self.acl([(0x01, 7), (0x04, 5), (0x20, 5)]), flags: 0)
        }, EROFS)
    }
}
