import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// Layouts, filters, fill values, storage and chunk locations, checked against h5py.
final class LayoutTests: XCTestCase {
    private var container: HDF5Container!

    override func setUpWithError() throws {
        container = try openCorpus("types.h5")
    }

    override func tearDown() {
        container = nil
    }

    func testContiguousOffsetsAndStorageMatchH5py() throws {
        for (path, facts) in try Corpus.facts(file: "types.h5") {
            let info = try container.dataset(at: .p(path))
            XCTAssertEqual(info.storageSize, facts.storageSize, path)
            if case .contiguous(let offset) = info.layout {
                XCTAssertEqual(offset, facts.offset, path)
            }
        }
    }

    func testCompactAndExternal() throws {
        XCTAssertEqual(try container.dataset(at: .p("/layouts/compact")).layout, .compact)
        XCTAssertEqual(try container.dataset(at: .p("/layouts/external")).layout, .contiguous(offset: nil))
        XCTAssertEqual(try container.dataset(at: .p("/shapes/empty_1d")).layout, .contiguous(offset: nil))
    }

    func testGzipShuffleFletcher() throws {
        let info = try container.dataset(at: .p("/layouts/chunked_gzip"))
        XCTAssertEqual(info.layout, .chunked(chunkShape: [10, 8]))
        XCTAssertEqual(info.filters.map(\.id), [2, 1, 3])
        XCTAssertEqual(info.filters.map(\.name), ["shuffle", "deflate", "fletcher32"])
        XCTAssertEqual(info.filters.map(\.clientData), [[4], [4], []])
        XCTAssertEqual(info.filters.map(\.flags), [1, 1, 0])
        XCTAssertEqual(info.fillValue, .int(0))
    }

    func testPluginFilters() throws {
        let lz4 = try container.dataset(at: .p("/layouts/chunked_lz4"))
        XCTAssertEqual(lz4.filters.map(\.id), [32004])
        XCTAssertEqual(lz4.layout, .chunked(chunkShape: [128]))
        let bitshuffle = try container.dataset(at: .p("/layouts/chunked_bslz4"))
        XCTAssertEqual(bitshuffle.filters.map(\.id), [32008])
        // filter version, bitshuffle version (ignored), element size, block size, 2 = LZ4
        XCTAssertEqual(bitshuffle.filters.first?.clientData.count, 5)
        XCTAssertEqual(bitshuffle.filters.first?.clientData[2], 2)
        XCTAssertEqual(bitshuffle.filters.first?.clientData[4], 2)
        XCTAssertEqual(bitshuffle.layout, .chunked(chunkShape: [1, 32, 50]))
    }

    func testFillValueAndUnallocatedChunks() throws {
        let info = try container.dataset(at: .p("/layouts/chunked_fill"))
        XCTAssertEqual(info.fillValue, .int(-7))
        XCTAssertEqual(info.fillValueBytes, [0xF9, 0xFF])
        let locations = try container.chunkLocations(dataset: .p("/layouts/chunked_fill"),
                                                     chunks: [[0], [10], [20], [30]])
        XCTAssertNil(locations[1])
        XCTAssertNil(locations[2])
        let stored = try Corpus.facts(file: "types.h5", dataset: "/layouts/chunked_fill").stored
        XCTAssertEqual(locations[0], ChunkLocation(offset: stored[0].offset, size: stored[0].size, filterMask: 0))
        XCTAssertEqual(locations[3], ChunkLocation(offset: stored[1].offset, size: stored[1].size, filterMask: 0))
        // Unallocated chunks read as the fill value.
        var expected = littleEndianBytes(Array(Int16(0)..<10))
        expected += littleEndianBytes(Array(repeating: Int16(-7), count: 25))
        expected += littleEndianBytes(Array(repeating: Int16(5), count: 5))
        XCTAssertEqual(try container.readAll("/layouts/chunked_fill"), expected)
    }

    func testUndefinedFillValueIsNil() throws {
        let virtual = try container.dataset(at: .p("/layouts/virtual"))
        XCTAssertEqual(virtual.fillValue, .double(-2))
        XCTAssertEqual(virtual.fillValueBytes, Array(withUnsafeBytes(of: (-2.0).bitPattern.littleEndian) { Array($0) }))
    }

    /// Every stored chunk of every chunked dataset of the corpus, as h5py's get_chunk_info reports it.
    func testChunkLocationsMatchH5py() throws {
        for file in ["types.h5", "tree.h5", "links.h5"] {
            let reader = try openCorpus(file)
            for (path, facts) in try Corpus.facts(file: file) where facts.chunks != nil {
                let locations = try reader.chunkLocations(dataset: .p(path), chunks: facts.stored.map(\.origin))
                XCTAssertEqual(locations, facts.stored.map {
                    ChunkLocation(offset: $0.offset, size: $0.size, filterMask: $0.filterMask)
                }, "\(file) \(path)")
            }
            XCTAssertEqual(reader.openObjectCount(), 0)
        }
    }

    func testChunkLocationErrors() throws {
        assertStoreError(.invalidArgument) {
            try self.container.chunkLocations(dataset: .p("/layouts/contiguous"), chunks: [[0, 0]])
        }
        assertStoreError(.invalidArgument) {
            try self.container.chunkLocations(dataset: .p("/layouts/chunked_gzip"), chunks: [[0]])
        }
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    func testSameFileVirtualDataset() throws {
        let info = try container.dataset(at: .p("/layouts/virtual"))
        XCTAssertEqual(info.layout, .virtual)
        XCTAssertEqual(info.virtualSources, [0, 1].map { row in
            VirtualSource(file: ".", dataset: "/layouts/contiguous",
                          destination: .regular(start: [UInt64(row), 0], stride: [1, 1], count: [1, 1], block: [1, 5]),
                          source: .regular(start: [row == 0 ? 1 : 3, 0], stride: [1, 1], count: [1, 1], block: [1, 5]))
        })
        let values = (5..<10).map { Double($0) / 8 } + (15..<20).map { Double($0) / 8 }
        XCTAssertEqual(try container.readAll("/layouts/virtual"),
                       littleEndianBytes(values.map(\.bitPattern)))
    }
}
