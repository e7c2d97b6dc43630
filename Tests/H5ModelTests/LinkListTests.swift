import H5Model
import XCTest

final class LinkListTests: XCTestCase {
    private let links = [
        Link(name: "a", target: .hard(address: 1 << 40)),
        Link(name: "b", target: .soft("/target")),
        Link(name: "c", target: .external(file: "x.h5", object: "/y")),
        Link(name: "d", target: .soft("/target")),
        Link(name: "zz", target: .hard(address: 7)),
        Link(name: "é", target: .unknown),
    ]

    func test_a_list_reads_back_every_link_as_it_was_appended() {
        let list = LinkList(links)
        XCTAssertEqual(Array(list), links)
        XCTAssertEqual(list.map(\.name), ["a", "b", "c", "d", "zz", "é"])
        XCTAssertEqual(list.address(at: 0), 1 << 40)
        XCTAssertNil(list.address(at: 1))
        XCTAssertTrue(list.isHard(4))
        XCTAssertFalse(list.isHard(5))
    }

    func test_equal_targets_are_kept_once() {
        let list = LinkList(links)
        XCTAssertEqual(list.targets, [.soft("/target"), .external(file: "x.h5", object: "/y"), .unknown])
        XCTAssertEqual(list.targetNumber(at: 1), 0)
        XCTAssertEqual(list.targetNumber(at: 3), 0)
        XCTAssertEqual(list.targetNumber(at: 2), 1)
        XCTAssertNil(list.targetNumber(at: 0))
    }

    func test_names_are_found_by_byte_order_search() {
        let list = LinkList(links)
        XCTAssertTrue(list.isSearchable)
        for (index, link) in links.enumerated() { XCTAssertEqual(list.index(named: link.name), index, link.name) }
        for missing in ["", "0", "aa", "e", "z", "zzz", "\u{FFFF}"] { XCTAssertNil(list.index(named: missing), missing) }
        XCTAssertFalse(LinkList(links.reversed()).isSearchable)
        XCTAssertFalse(LinkList([links[1], links[1]]).isSearchable, "a repeated name is not strictly sorted")
        XCTAssertTrue(LinkList([]).isSearchable)
        var invalid = LinkList()
        invalid.append(name: [0x61, 0xFF], target: .soft("/x"))
        XCTAssertFalse(invalid.isSearchable, "a name that is not UTF-8 is not what a lookup brings")
        XCTAssertEqual(invalid.name(at: 0), "a\u{FFFD}")
    }

    func test_sorting_by_name_orders_unsigned_bytes_and_keeps_each_link_whole() {
        var list = LinkList()
        for link in links.reversed() { list.appendStored(name: link.name.utf8, isHard: true, payload: UInt64(link.name.utf8.count)) }
        list.append(name: "b0".utf8, target: .soft("/late"))
        var beats = 0
        list.sortByName(every: 1) { beats += 1 }
        XCTAssertGreaterThan(beats, 0)
        XCTAssertEqual(list.map(\.name), ["a", "b", "b0", "c", "d", "zz", "é"])
        XCTAssertTrue(list.isSearchable)
        XCTAssertEqual(list.storedPayload(at: 6), 2, "é is two bytes")
        XCTAssertEqual(list[2], Link(name: "b0", target: .soft("/late")))
        list.setTarget(.soft("/set"), at: 2)
        XCTAssertEqual(list.target(at: 2), .soft("/set"))
    }

    func test_a_hundred_thousand_soft_links_take_a_few_bytes_each_beyond_their_names() {
        var list = LinkList(reservingCapacity: 100_000, nameBytes: 800_000)
        for i in 0 ..< 100_000 {
            let digits = String(i)
            list.append(name: Array(("l" + String(repeating: "0", count: 7 - digits.count) + digits).utf8), target: .soft("/target"))
        }
        list.finish()
        XCTAssertEqual(list.count, 100_000)
        XCTAssertEqual(list.targets.count, 1)
        XCTAssertEqual(list[99_999], Link(name: "l0099999", target: .soft("/target")))
        XCTAssertEqual(list.index(named: "l0054321"), 54_321)
        // 8 bytes of name, 4 of its end, 8 of payload, 4 of order, a bit: about 24 bytes a link.
        XCTAssertLessThan(list.heldBytes, 100_000 * 25)
    }
}
