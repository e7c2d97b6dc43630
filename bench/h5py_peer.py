"""The peer side of the benchmark: h5py in a fresh process, timed inside it.

    h5py_peer.py read-all   FILE DATASET              ds[()] in one call
    h5py_peer.py first-read FILE DATASET              open the file, read the first 4 KiB of elements
    h5py_peer.py random     FILE DATASET COORDS.npy   one element per coordinate row, each timed
    h5py_peer.py frame      FILE DATASET INDEX        open the file, read ds[INDEX] (one frame)

Prints one JSON object. Times exclude interpreter start and imports (what a user's
long-running script pays is the open and the reads), and include opening the file.
hdf5plugin is imported so that bitshuffle+LZ4 datasets decode.
"""

import json
import resource
import sys
import time

import h5py
import hdf5plugin  # noqa: F401  (registers filters 32004, 32008, ...)
import numpy as np


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def read_all(path: str, name: str) -> dict:
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        array = f[name][()]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "nbytes": int(array.nbytes), "peak_rss": peak_rss()}


def first_read(path: str, name: str) -> dict:
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        ds = f[name]
        count = max(4096 // ds.dtype.itemsize, 1)
        index = (0,) * (ds.ndim - 1) + (slice(0, count),)
        array = ds[index]
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "nbytes": int(array.nbytes)}


def frame(path: str, name: str, index: str) -> dict:
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        array = f[name][int(index)]
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "nbytes": int(array.nbytes)}


def random_reads(path: str, name: str, coords_path: str) -> dict:
    coords = np.load(coords_path)
    latencies = np.empty(len(coords), dtype=np.int64)
    with h5py.File(path, "r") as f:
        ds = f[name]
        clock = time.perf_counter_ns
        for i, row in enumerate(coords.tolist()):
            t0 = clock()
            ds[tuple(row)]
            latencies[i] = clock() - t0
    return {"median": float(np.median(latencies)) / 1e9,
            "p99": float(np.percentile(latencies, 99)) / 1e9, "reads": len(coords)}


def main(argv: list[str]) -> int:
    commands = {"read-all": (read_all, 2), "first-read": (first_read, 2), "random": (random_reads, 3),
                "frame": (frame, 3)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    function, _ = commands[argv[1]]
    print(json.dumps(function(*argv[2:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
