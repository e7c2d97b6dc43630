import Codecs
import Foundation
import H5Model
import XCTest

/// Real chunks written by libhdf5 with hdf5plugin (see Fixtures/make_fixtures.py).
final class FixtureTests: XCTestCase {
    struct Fixture: Decodable {
        struct Filter: Decodable {
            var id: Int32
            var name: String
            var flags: UInt32
            var clientData: [UInt32]
        }
        var name: String
        var elementSize: Int
        var filterMask: UInt32
        var filters: [Filter]

        var specs: [FilterSpec] {
            filters.map { FilterSpec(id: $0.id, name: $0.name, flags: $0.flags, clientData: $0.clientData) }
        }
    }

    static func directory() throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    }

    static func load() throws -> [(Fixture, chunk: [UInt8], expected: [UInt8])] {
        let directory = try directory()
        let manifest = try JSONDecoder().decode([Fixture].self, from: Data(contentsOf: directory.appendingPathComponent("fixtures.json")))
        return try manifest.map { fixture in
            let chunk = try Data(contentsOf: directory.appendingPathComponent(fixture.name + ".chunk"))
            let expected = try Data(contentsOf: directory.appendingPathComponent(fixture.name + ".expected"))
            return (fixture, [UInt8](chunk), [UInt8](expected))
        }
    }

    func testEveryFixtureDecodesToWhatH5pyRead() throws {
        let fixtures = try Self.load()
        XCTAssertGreaterThanOrEqual(fixtures.count, 20)
        let workspace = CodecWorkspace()
        for (fixture, chunk, expected) in fixtures {
            XCTAssertTrue(FilterPipeline.canDecode(fixture.specs), fixture.name)
            // Once with a fresh workspace, once reusing one across all fixtures.
            for shared in [nil, workspace] {
                let decoded = try decode(chunk, fixture.specs, mask: fixture.filterMask,
                                         elementSize: fixture.elementSize, size: expected.count, workspace: shared)
                XCTAssertEqual(decoded, expected, fixture.name)
            }
        }
    }

    func testFixturesCoverTheFormatsThatMatter() throws {
        let fixtures = try Self.load()
        let ids = Set(fixtures.flatMap { $0.0.filters.map(\.id) })
        XCTAssertEqual(ids, [1, 2, 3, 32004, 32008])
        XCTAssertTrue(fixtures.contains { $0.0.filterMask != 0 })
        // A bitshuffle chunk with leftover elements (not a multiple of 8).
        XCTAssertTrue(fixtures.contains { $0.0.filters.first?.id == 32008 && ($0.expected.count / $0.0.elementSize) % 8 != 0 })
    }

    /// Deterministic filters must re-encode to the very bytes libhdf5 stored.
    func testDeterministicFiltersReencodeByteForByte() throws {
        var checked = 0
        for (fixture, chunk, expected) in try Self.load() where fixture.filterMask == 0 {
            let deterministic = fixture.filters.allSatisfy { filter in
                filter.id == 2 || filter.id == 3 || (filter.id == 32008 && filter.clientData[4] == 0)
            }
            guard deterministic else { continue }
            XCTAssertEqual(try encode(expected, fixture.specs, elementSize: fixture.elementSize), chunk, fixture.name)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 4)
    }

    /// Compressing filters: our encoding decodes back (libdeflate and LZ4 versions may pick
    /// other matches than the writer did, so bytes may differ).
    func testEveryFixtureRoundTripsThroughOurEncoder() throws {
        for (fixture, _, expected) in try Self.load() where fixture.filterMask == 0 {
            let encoded = try encode(expected, fixture.specs, elementSize: fixture.elementSize)
            XCTAssertEqual(try decode(encoded, fixture.specs, elementSize: fixture.elementSize, size: expected.count),
                           expected, fixture.name)
        }
    }
}
