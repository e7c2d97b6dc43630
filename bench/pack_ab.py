"""Interleaved A/B of h5mount binaries packing a tree (docs/write-path.md, "Through the
mount"). Each round runs every binary once, in turn, with the bench's own pack step
(`packing.pack_h5mount`: `h5mount C MNT; cp -a TREE MNT/; h5mount -u MNT` into a new
container, `sync` first), so a slow spell of a shared machine hits all of them alike; then
prints the medians. Not part of `make bench`.

    .venv/bin/python bench/pack_ab.py TREE ROUNDS NAME=BINARY [NAME=BINARY ...]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import packing


def main(argv: list[str]) -> int:
    if len(argv) < 3 or any("=" not in spec for spec in argv[2:]):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    tree, rounds = Path(argv[0]), int(argv[1])
    binaries = [(name, Path(binary)) for name, binary in (spec.split("=", 1) for spec in argv[2:])]
    runs: dict[str, list[dict]] = {name: [] for name, _ in binaries}
    work = Path(tempfile.mkdtemp(prefix="pack-ab-"))
    try:
        for _ in range(rounds):
            for name, binary in binaries:
                container, mountpoint = work / "c.h5", work / "mnt"
                shutil.rmtree(work / "c.h5.h5mount-work", ignore_errors=True)
                container.unlink(missing_ok=True)
                mountpoint.mkdir(exist_ok=True)
                os.sync()
                runs[name].append(packing.pack_h5mount(binary, tree, container, mountpoint))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, results in runs.items():
        def median(value) -> float:
            return statistics.median(value(r) for r in results)
        each = " ".join(f"{r['copy'] + r['unmount']:.2f}" for r in results)
        print(f"{name}: medians of {len(results)}: cp -a {median(lambda r: r['copy']):.2f} s, cp -a + -u "
              f"{median(lambda r: r['copy'] + r['unmount']):.2f} s, daemon {median(lambda r: r['daemon_cpu'] or 0):.2f} "
              f"CPU-s (each run, cp -a + -u: {each})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
