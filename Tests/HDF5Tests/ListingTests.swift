import H5Model
import HDF5
import XCTest

/// `describeObjects` (one open by address per object, in slices of the gate) says what
/// `object(at:)` and `datasetSummary(at:)` say by path, for every object of the corpus.
final class ListingTests: XCTestCase {
    /// Every hard-linked object below `group`, depth first, each path once.
    func hardLinks(_ file: HDF5Container, in group: H5Path, depth: Int = 0) throws -> [(path: H5Path, address: UInt64)] {
        guard depth < 8 else { return [] }
        var out: [(path: H5Path, address: UInt64)] = []
        for link in try file.links(in: group) {
            guard case .hard(let address) = link.target else { continue }
            let path = group.appending(link.name)
            out.append((path: path, address: address))
            if try file.object(at: path).kind == .group {
                out += try hardLinks(file, in: path, depth: depth + 1)
            }
        }
        return out
    }

    func testDescriptionsMatchWhatPathsSay() throws {
        var datasets = 0
        for name in ["types.h5", "links.h5", "bytes.h5"] {
            let file = try openCorpus(name)
            let objects = try hardLinks(file, in: .root)
            XCTAssertFalse(objects.isEmpty, name)
            for (object, result) in zip(objects, file.describeObjects(objects)) {
                let byPath = try file.object(at: object.path)
                switch result {
                case .success(let description):
                    XCTAssertEqual(description.info, byPath, "\(name)\(object.path)")
                    if byPath.kind == .dataset {
                        XCTAssertEqual(description.summary, try file.datasetSummary(at: object.path), "\(name)\(object.path)")
                        datasets += 1
                    } else {
                        XCTAssertNil(description.summary)
                    }
                case .failure(let error):
                    // Only what libhdf5 cannot open by path either may fail.
                    if byPath.kind == .dataset {
                        XCTAssertThrowsError(try file.datasetSummary(at: object.path), "\(name)\(object.path): \(error)")
                    } else {
                        XCTFail("\(name)\(object.path): \(error)")
                    }
                }
            }
            XCTAssertEqual(file.openObjectCount(), 0, "everything opened is closed")
        }
        XCTAssertGreaterThan(datasets, 30)
    }

    func testManyObjectsAreDescribedAcrossSlicesInOrder() throws {
        let file = try openCorpus("types.h5")
        let objects = try hardLinks(file, in: .root)
        // More than a slice of the gate, in an order unlike the file's.
        let many = Array((0..<5).flatMap { _ in objects }.reversed())
        XCTAssertGreaterThan(many.count, HDF5Container.describedPerGate)
        let described = file.describeObjects(many)
        XCTAssertEqual(described.count, many.count)
        for (object, result) in zip(many, described) {
            if case .success(let description) = result {
                XCTAssertEqual(description.info.address, object.address, "\(object.path)")
            }
        }
    }

    func testAnAddressThatIsNoObjectFailsAlone() throws {
        let file = try openCorpus("types.h5")
        let objects = Array(try hardLinks(file, in: .root).prefix(2))
        let mixed = [objects[0], (path: H5Path.p("/nothing"), address: 1), objects[1]]
        let described = file.describeObjects(mixed)
        XCTAssertNotNil(try? described[0].get())
        XCTAssertNil(try? described[1].get())
        XCTAssertNotNil(try? described[2].get())
        XCTAssertEqual(file.openObjectCount(), 0)
    }
}
