import H5Model
import XCTest

/// A flat run of elements as hyperslab blocks: the blocks, walked in C order, are exactly
/// the run, and there are never more than 2·rank − 1 of them.
final class FlatRangeTests: XCTestCase {
    /// The flat indices a block covers, in C order.
    private func flatIndices(_ block: FlatRange.Block, shape: [UInt64]) -> [UInt64] {
        var result: [UInt64] = []
        func visit(_ axis: Int, _ prefix: UInt64) {
            if axis == shape.count { result.append(prefix); return }
            for index in block.start[axis] ..< block.start[axis] + block.count[axis] {
                visit(axis + 1, prefix * shape[axis] + index)
            }
        }
        visit(0, 0)
        return result
    }

    private func check(_ shape: [UInt64], _ first: UInt64, _ count: UInt64, line: UInt = #line) {
        let blocks = FlatRange.blocks(shape: shape, first: first, count: count)
        XCTAssertLessThanOrEqual(blocks.count, max(0, 2 * shape.count - 1), "\(shape) \(first)+\(count)", line: line)
        XCTAssertEqual(blocks.flatMap { flatIndices($0, shape: shape) }, Array(first ..< first + count),
                       "\(shape) \(first)+\(count): \(blocks)", line: line)
    }

    func test_runs_inside_one_row_whole_rows_and_both_partial_ends() {
        check([10], 3, 4)
        check([4, 5], 0, 20)
        check([4, 5], 5, 10)
        check([4, 5], 7, 2)
        check([4, 5], 3, 14)
        check([3, 4, 5], 7, 41)
        check([3, 4, 5], 0, 0)
        XCTAssertEqual(FlatRange.blocks(shape: [3, 4, 5], first: 7, count: 41).count, 5, "the 2·rank − 1 worst case")
        XCTAssertEqual(FlatRange.blocks(shape: [6, 4, 5], first: 20, count: 60),
                       [FlatRange.Block(start: [1, 0, 0], count: [3, 4, 5])], "whole rows are one block")
    }

    func test_every_run_of_small_shapes() {
        var generator = SystemRandomNumberGenerator()
        for shape: [UInt64] in [[7], [2, 3], [3, 1, 4], [2, 3, 2, 3], [1, 5, 1]] {
            let total = shape.reduce(1, *)
            for first in 0..<total {
                for count in 0...(total - first) where count < 6 || Bool.random(using: &generator) {
                    check(shape, first, count)
                }
            }
        }
    }
}
