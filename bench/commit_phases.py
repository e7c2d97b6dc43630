"""Where the time of a commit goes: mounts a fresh container, writes FILES files of SIZE
bytes, runs `h5mount -u -q` and watches the progress record the daemon keeps in the work
directory (docs/write-path.md, "Progress of a commit"), printing each phase and how long
it lasted.

    python bench/commit_phases.py [--bin .build/release/h5mount] [--compression none] DIR FILES SIZE

DIR is made (or emptied) for the run and must be on the disk to measure; the phases are
sampled every 5 ms, so phases shorter than that may not show.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(Path(__file__).resolve().parent.parent / ".build/debug/h5mount"))
    parser.add_argument("--compression", default="none")
    parser.add_argument("directory", type=Path)
    parser.add_argument("files", type=int)
    parser.add_argument("size", type=int)
    args = parser.parse_args()

    shutil.rmtree(args.directory, ignore_errors=True)
    mnt = args.directory / "mnt"
    mnt.mkdir(parents=True)
    container = args.directory / "c.h5"
    subprocess.run([args.bin, str(container), str(mnt), "-o", f"compression={args.compression}"], check=True)
    started = time.monotonic()
    data = os.urandom(args.size)
    for index in range(args.files):
        directory = mnt / f"d{index // 500}"
        directory.mkdir(exist_ok=True)
        (directory / f"f{index}").write_bytes(data)
    print(f"wrote {args.files} x {args.size} B in {time.monotonic() - started:.2f} s")

    record = Path(f"{os.path.realpath(container)}.h5mount-work/progress")
    started = time.monotonic()
    unmount = subprocess.Popen([args.bin, "-u", str(mnt), "-q"])
    seen: list[tuple[float, str, str]] = []
    while unmount.poll() is None:
        try:
            fields = record.read_text().split()
        except OSError:
            fields = []
        if len(fields) > 3 and (not seen or seen[-1][1] != fields[1]):
            seen.append((time.monotonic() - started, fields[1], fields[3]))
        time.sleep(0.005)
    total = time.monotonic() - started
    for index, (at, phase, amount) in enumerate(seen):
        end = seen[index + 1][0] if index + 1 < len(seen) else total
        print(f"  {phase:10s} from {at:6.3f} s for {end - at:6.3f} s (total {amount})")
    print(f"h5mount -u took {total:.3f} s, exit {unmount.returncode}")
    shutil.rmtree(args.directory, ignore_errors=True)


if __name__ == "__main__":
    main()
