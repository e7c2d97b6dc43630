"""What containment (libhdf5 requests tried in a forked child first; docs/hdf5-store.md)
costs: the same figures on fresh mounts with the default (`hdf5_timeout=10`) and with it
off (`hdf5_timeout=0`), alternating, in one run, so the ratio is fair on a noisy machine.

    .venv/bin/python bench/containment_cost.py [--runs 5] [--data DIR] [--bin .build/release/h5mount]

Figures (medians; containers in the page cache, read once before each run: the machine is
shared, so caches are not dropped): `find MNT`, `ls -lR MNT` of the ~3,000-file tree
container (bench/datasets.py), first 4 KiB read after mount of a gzip stack (`/stack`,
64 slices of the seed's generator), and the time of one fork + exit + wait of a process
with 30 MiB and with 256 MiB resident (the cache budget): the price of each trial.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import datasets  # noqa: E402
from mounts import Mount, cleanup_all  # noqa: E402


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def timed_mount(binary, container, mountpoint, options, log, action):
    warm(container)
    with Mount([str(binary), str(container), str(mountpoint), "-f", "-o", "ro," + options],
               mountpoint, log):
        t0 = time.perf_counter()
        action(mountpoint)
        return time.perf_counter() - t0


def find(mnt):
    subprocess.run(["find", str(mnt)], check=True, stdout=subprocess.DEVNULL)


def ls_lr(mnt):
    subprocess.run(["ls", "-lR", str(mnt)], check=True, stdout=subprocess.DEVNULL)


def first_read(mnt):
    fd = os.open(mnt / "stack", os.O_RDONLY)
    try:
        assert len(os.pread(fd, 4096, 0)) == 4096
    finally:
        os.close(fd)


def fork_cost(resident_mib, runs=50):
    ballast = bytearray(resident_mib << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", default=os.environ.get("H5MOUNT_BENCH_DATA", "/tmp/h5mount-contain-bench"))
    parser.add_argument("--bin", default=".build/release/h5mount")
    args = parser.parse_args()
    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    tree = datasets._stamped(data / "tree_3000.h5", {"version": 1, "files": 3000},
                             lambda tmp, name: datasets._write_tree(tmp, name, 3000, print))
    stack = datasets._stamped(data / "seed_64.h5", {"version": 1, "slices": 64},
                              lambda tmp, name: datasets._write_seed(tmp, name, 64, print))
    binary = Path(args.bin).resolve()
    figures = [("find, tree_3000", tree, find), ("ls -lR, tree_3000", tree, ls_lr),
               ("first 4 KiB after mount, gzip stack", stack, first_read)]
    modes = [("contained", "hdf5_timeout=10"), ("unguarded", "hdf5_timeout=0")]
    with tempfile.TemporaryDirectory() as scratch:
        mnt, log = Path(scratch) / "mnt", Path(scratch) / "daemon.log"
        try:
            print(f"{'figure':40} {'contained':>10} {'unguarded':>10} {'ratio':>7}")
            for title, container, action in figures:
                results = {mode: [] for mode, _ in modes}
                for _ in range(args.runs):
                    for mode, option in modes:
                        results[mode].append(timed_mount(binary, container, mnt, option, log, action))
                a, b = (statistics.median(results[m]) for m, _ in modes)
                print(f"{title:40} {a * 1000:8.1f}ms {b * 1000:8.1f}ms {a / b:7.2f}", flush=True)
        finally:
            cleanup_all()
    print(f"fork+exit+wait, 30 MiB resident: {fork_cost(30) * 1000:.2f} ms; "
          f"256 MiB resident: {fork_cost(256) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
