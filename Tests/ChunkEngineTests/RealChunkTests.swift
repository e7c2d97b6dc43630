import ChunkEngine
import H5Model
import XCTest

/// The engine on chunks h5py wrote, located through h5py's own chunk index.
final class RealChunkTests: XCTestCase {
    var directory: TestDirectory!
    override func setUpWithError() throws { directory = try TestDirectory() }
    override func tearDown() { directory.remove() }

    func testEveryDatasetReadsAsH5pySeesIt() throws {
        let files = try RealChunkFiles(directory: directory.url)
        XCTAssertGreaterThanOrEqual(files.datasets.count, 12)
        for dataset in files.datasets {
            let engine = ChunkEngine(cacheBytes: 256 << 10)
            let container = files.container(for: dataset)
            let raw = try engine.dataset(reader: container, path: H5Path(parsing: "/" + dataset.name), info: dataset.info)
            let expected = dataset.expected
            XCTAssertEqual(raw.byteCount, UInt64(expected.count), dataset.name)
            XCTAssertEqual(try raw.read(offset: 0, count: expected.count + 1), expected, dataset.name)
            var random = SeededRandom(seed: 99)
            for _ in 0..<100 {
                let offset = Int.random(in: 0..<expected.count, using: &random)
                let count = Int.random(in: 1...20_000, using: &random)
                guard try raw.read(offset: UInt64(offset), count: count)
                        == Array(expected[offset..<min(expected.count, offset + count)]) else {
                    XCTFail("\(dataset.name): read(\(offset), \(count)) differs")
                    break
                }
            }
            if engine.decodesNatively(dataset.info.filters) {
                XCTAssertEqual(engine.statistics.blockReads, 0, "\(dataset.name) decoded without libhdf5")
            }
        }
    }
}
