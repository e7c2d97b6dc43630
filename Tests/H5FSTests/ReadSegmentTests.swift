import Glibc
import H5Model
@testable import H5FS
import XCTest

/// `withReadSegments` on a read-only mount: the FUSE reply's pieces are the bytes a copied
/// read gives; content the engine does not hold in tiles (rendered text, small runs) is
/// copied (nil).
final class ReadSegmentTests: XCTestCase {
    let u16 = DataType.integer(size: 2, signed: false, order: .little)

    func filesystem() throws -> (ContainerFilesystem, [UInt8]) {
        let c = InMemoryContainer(filePath: "/data/s.h5")
        // 64 x 1024 uint16 (128 KiB): read through the reader in one block of whole rows.
        let image = (0..<(64 * 1024 * 2)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        c.addDataset("/image", type: u16, shape: [64, 1024], bytes: image)
        c.addDataset("/small", type: u16, shape: [2, 2], bytes: [1, 0, 2, 0, 3, 0, 4, 0])
        c.addDataset("/title", type: .variableString(charset: .utf8), shape: [], strings: ["Run 1"])
        let fs = try ContainerFilesystem(container: c, options: MountOptions(), opener: { path throws(StoreError) in
            throw StoreError(.notFound, "no file \(path)")
        })
        return (fs, image)
    }

    func pieces(_ fs: ContainerFilesystem, _ name: String, offset: Int, size: Int) throws -> [UInt8]? {
        let node = try fs.lookup(parent: 1, name: name).node
        let handle = try fs.open(node, flags: O_RDONLY)
        defer { fs.release(node, handle: handle) }
        return try fs.withReadSegments(node, handle: handle, offset: UInt64(offset), size: size) { pieces in
            pieces.reduce(into: [UInt8]()) { $0 += Array($1) }
        }
    }

    func testPiecesEqualTheFileBytes() throws {
        let (fs, image) = try filesystem()
        XCTAssertTrue(fs.isReadOnly)
        for (offset, size) in [(0, 1 << 20), (1, 4096), (70_000, 60_000), (image.count - 5, 4096)] {
            let end = min(image.count, offset + size)
            XCTAssertEqual(try pieces(fs, "image", offset: offset, size: size), Array(image[offset..<end]), "\(offset)")
        }
        XCTAssertEqual(try pieces(fs, "image", offset: image.count, size: 4096), [], "past the end")
    }

    func testRenderedAndNarrowContentIsCopied() throws {
        let (fs, _) = try filesystem()
        XCTAssertNil(try pieces(fs, "title", offset: 0, size: 4096), "text is rendered, not tiled")
        XCTAssertNil(try pieces(fs, "small", offset: 0, size: 4096), "runs of 4 bytes")
        XCTAssertNil(try pieces(fs, "image.attrs", offset: 0, size: 4096), "sidecars are rendered")
    }
}
