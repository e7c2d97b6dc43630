// h5bench-engine: streams one dataset's raw-array bytes through the chunk engine, the way
// the FUSE layer reads a file, and prints the throughput. A tuning tool for the engine
// (the real benchmark harness is `make bench`).
//
//   h5bench-engine FILE DATASET [read=1048576] [cache=268435456] [readers=1] [passes=1]
//                  [mode=into|array|random] [workers=N|inline] [dropbehind=0|1]
//
// dropbehind=1 makes the engine a read-only mount's: tiles a stream has read leave the cache.
//
// readers > 1 streams the dataset with that many threads at once, each over its own slice.
import ChunkEngine
import Dispatch
import Glibc
import H5Model
import HDF5

func fail(_ message: String) -> Never {
    let text = "h5bench-engine: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// `value` with `digits` decimals (no Foundation in Sources).
func fixed(_ value: Double, _ digits: Int = 0) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard digits > 0 else { return "\(scaled)" }
    let sign = scaled < 0 ? "-" : ""
    let magnitude = abs(scaled)
    let fraction = String(magnitude % Int(scale))
    return sign + "\(magnitude / Int(scale))." + String(repeating: "0", count: digits - fraction.count) + fraction
}

func maxRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    fail("usage: h5bench-engine FILE DATASET [read=BYTES] [cache=BYTES] [readers=N] [passes=N] [mode=into|array|random] [workers=N|inline] [dropbehind=0|1]")
}
var options: [String: String] = [:]
for argument in arguments.dropFirst(3) {
    let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { fail("bad option \(argument)") }
    options[parts[0]] = parts[1]
}
let readSize = Int(options["read"] ?? "") ?? (1 << 20)
let cacheBytes = Int(options["cache"] ?? "") ?? (256 << 20)
let readers = max(1, Int(options["readers"] ?? "") ?? 1)
let passes = max(1, Int(options["passes"] ?? "") ?? 1)
let mode = options["mode"] ?? "into"
let dropsBehind = options["dropbehind"] == "1"

let engine: ChunkEngine
switch options["workers"] {
case nil: engine = ChunkEngine(cacheBytes: cacheBytes, dropsStreamedTiles: dropsBehind)
case "inline": engine = ChunkEngine(cacheBytes: cacheBytes, codec: FilterPipelineCodec(), scheduler: InlineDecodeScheduler(),
                                    dropsStreamedTiles: dropsBehind)
case let text?:
    guard let workers = Int(text) else { fail("bad workers \(text)") }
    engine = ChunkEngine(cacheBytes: cacheBytes, codec: FilterPipelineCodec(), scheduler: PoolDecodeScheduler(workers: workers),
                         dropsStreamedTiles: dropsBehind)
}

let container: HDF5Container
let dataset: RawArrayDataset
do {
    container = try HDF5Container.open(path: arguments[1])
    let path = H5Path(parsing: arguments[2])
    let info = try container.dataset(at: path)
    dataset = try engine.dataset(reader: container, path: path, info: info)
} catch {
    fail("\(error)")
}
let bench = Bench(dataset: dataset, readSize: readSize, mode: mode)
let total = bench.total

/// What every reading thread shares.
struct Bench: Sendable {
    let dataset: RawArrayDataset
    let readSize: Int
    let mode: String
    var total: Int { Int(dataset.byteCount) }

    /// Streams `range` in `readSize` reads; returns a checksum so the work is not optimised away.
    func stream(_ range: Range<Int>) -> UInt64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 64)
        defer { buffer.deallocate() }
        var sum: UInt64 = 0
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = min(readSize, range.upperBound - offset)
            do {
                switch mode {
                case "array":
                    let bytes = try dataset.read(offset: UInt64(offset), count: count)
                    sum &+= UInt64(bytes[bytes.count / 2])
                default:
                    let n = try dataset.read(offset: UInt64(offset), count: count, into: buffer)
                    sum &+= UInt64(buffer[n / 2])
                }
            } catch {
                fail("read at \(offset): \(error)")
            }
            offset += count
        }
        return sum
    }

    /// `count` reads of `readSize` at pseudo-random offsets.
    func randomReads(_ count: Int, seed: UInt64) -> UInt64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 64)
        defer { buffer.deallocate() }
        var state = seed
        var sum: UInt64 = 0
        for _ in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let offset = Int((state >> 11) % UInt64(max(1, total - readSize)))
            do {
                let n = try dataset.read(offset: UInt64(offset), count: readSize, into: buffer)
                sum &+= UInt64(buffer[n / 2])
            } catch {
                fail("read at \(offset): \(error)")
            }
        }
        return sum
    }
}

final class Sums: @unchecked Sendable {
    var values: [UInt64]
    init(_ count: Int) { values = Array(repeating: 0, count: count) }
}

for pass in 1...passes {
    let start = now()
    let cpuStart = cpuSeconds()
    let sums = Sums(readers)
    var bytes = total
    if mode == "random" {
        let reads = max(1, total / readSize / 4 / readers)
        bytes = reads * readSize * readers
        DispatchQueue.concurrentPerform(iterations: readers) { reader in
            sums.values[reader] = bench.randomReads(reads, seed: UInt64(reader + 1))
        }
    } else if readers == 1 {
        sums.values[0] = bench.stream(0..<total)
    } else {
        let slice = (total + readers - 1) / readers
        DispatchQueue.concurrentPerform(iterations: readers) { reader in
            sums.values[reader] = bench.stream((reader * slice) ..< min(total, (reader + 1) * slice))
        }
    }
    let seconds = now() - start
    let cpu = cpuSeconds() - cpuStart
    let stats = engine.statistics
    let rate = Double(bytes) / seconds / 1e6
    let timing = "pass \(pass): \(bytes / 1_000_000) MB in \(fixed(seconds, 3)) s = \(fixed(rate)) MB/s "
        + "(cpu \(fixed(cpu, 2)) s, \(fixed(cpu / seconds, 2)) cores); "
    let counts = "loads \(stats.chunkLoads) direct \(stats.directChunkReads) scheduled \(stats.scheduledLoads) "
        + "ahead \(stats.readAheadTiles) unused \(stats.readAheadUnused) behind \(stats.droppedBehind) locate \(stats.locateCalls) "
    let memory = "peak \(stats.peakBytes >> 20) MiB reuse \(stats.bufferReuses)/alloc \(stats.bufferAllocations) "
        + "maxrss \(fixed(maxRSSMiB())) MiB"
    print(timing + counts + memory + " sum \(sums.values.reduce(0, &+))")
}
