"""Interleaved A/B of h5mount binaries packing a tree (docs/write-path.md, "Through the
mount"). Each round runs every binary once, in turn, with the bench's own pack step
(`packing.pack_h5mount`: `h5mount C MNT; cp -a TREE MNT/; h5mount -u MNT` into a new
container, `sync` first), so a slow spell of a shared machine hits all of them alike; each
round starts with the next binary (the order matters); then prints the medians. Not part of `make bench`.

    .venv/bin/python bench/pack_ab.py TREE ROUNDS NAME=BINARY [NAME=BINARY ...]

Instead of a binary, a peer of the bench's write figures: `sink` (cp -a into
.build/bench/fuse_sink), `sink:deflate` and `sink:hdf5` (`fuse_sink --deflate=6`, with
`--hdf5` too: the packing floors, timed to the end of the unmount), `h5zip` (bench/h5zip.py
at gzip 6, its own timer). Their "daemon" CPU is the sink's, or h5zip's whole process's.
With `h5zip` among them, each median is also printed as a ratio to h5zip's.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import packing

BENCH_DIR = Path(__file__).resolve().parent
SINK = BENCH_DIR.parent / ".build" / "bench" / "fuse_sink"
LEVEL = 6


def run_one(spec: str, tree: Path, work: Path) -> dict:
    """One pack by `spec` (a binary or a peer's name) into `work`: seconds of `cp -a` ("copy")
    and of what follows until the result is complete ("unmount"), and the CPU seconds of the
    filesystem's process ("daemon_cpu")."""
    container, mountpoint = work / "c.h5", work / "mnt"
    shutil.rmtree(work / "c.h5.h5mount-work", ignore_errors=True)
    container.unlink(missing_ok=True)
    mountpoint.mkdir(exist_ok=True)
    os.sync()
    if spec == "h5zip":
        r = packing.pack_h5zip(sys.executable, tree, container, LEVEL)
        return {"copy": r["seconds"], "unmount": 0.0, "daemon_cpu": r["cpu"]}
    if spec == "sink":
        r = packing.copy_into_sink(SINK, tree, mountpoint, work / "sink.log")
        return {"copy": r["seconds"], "unmount": 0.0, "daemon_cpu": r["sink_cpu"]}
    if spec in ("sink:deflate", "sink:hdf5"):
        r = packing.copy_into_compressing_sink(SINK, tree, mountpoint, work / "sink.log", LEVEL,
                                               hdf5=container if spec == "sink:hdf5" else None)
        return {"copy": r["copy"], "unmount": r["unmount"], "daemon_cpu": r["sink_cpu"]}
    return packing.pack_h5mount(Path(spec), tree, container, mountpoint)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or any("=" not in spec for spec in argv[2:]):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    tree, rounds = Path(argv[0]), int(argv[1])
    binaries = [tuple(spec.split("=", 1)) for spec in argv[2:]]
    runs: dict[str, list[dict]] = {name: [] for name, _ in binaries}
    work = Path(tempfile.mkdtemp(prefix="pack-ab-"))
    try:
        for round_index in range(rounds):
            # Each round starts with the next binary: a run right after another one pays for
            # the writeback its predecessor left, so a fixed order favours the same binary.
            shift = round_index % len(binaries)
            for name, spec in binaries[shift:] + binaries[:shift]:
                runs[name].append(run_one(spec, tree, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peer = next((name for name, spec in binaries if spec == "h5zip"), None)
    whole = {name: statistics.median(r["copy"] + r["unmount"] for r in results) for name, results in runs.items()}
    for name, results in runs.items():
        def median(value) -> float:
            return statistics.median(value(r) for r in results)
        each = " ".join(f"{r['copy'] + r['unmount']:.2f}" for r in results)
        ratio = f", {whole[name] / whole[peer]:.2f} of {peer}" if peer and whole[peer] > 0 else ""
        print(f"{name}: medians of {len(results)}: cp -a {median(lambda r: r['copy']):.2f} s, cp -a + -u "
              f"{whole[name]:.2f} s{ratio}, daemon {median(lambda r: r['daemon_cpu'] or 0):.2f} "
              f"CPU-s (each run, cp -a + -u: {each})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
