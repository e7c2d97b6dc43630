"""Offline sweep (not a test): mounts N copies of hostile.py's seed file, each with one
random byte of its metadata changed, walks each mount (find, then read every file), and
counts what happened to the daemon. Deterministic for a given --seed.

    .venv/bin/python integration/mutation_sweep.py --count 200 [--bin .build/debug/h5mount]

Prints: inputs, daemon deaths, hangs (a walk over 60 s), objects answering EIO, and
the crashes the mount contained (log lines "libhdf5 crashed"/"did not answer").
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402


def walk(mnt):
    eio = 0
    for dirpath, dirnames, filenames in os.walk(mnt, onerror=lambda e: None):
        for name in filenames:
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    while f.read(1 << 20):
                        pass
            except OSError:
                eio += 1
    return eio


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bin", default=str(Path(__file__).parent.parent / ".build/debug/h5mount"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    totals = {"inputs": 0, "deaths": 0, "hangs": 0, "eio": 0, "contained": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "seed.h5"
        hostile.seed(str(base))
        data = base.read_bytes()
        mnt = Path(scratch) / "mnt"
        mnt.mkdir()
        for index in range(args.count):
            mutated = bytearray(data)
            position = rng.randrange(0, min(len(data), 12 << 10))
            mutated[position] = rng.choice([0x00, 0xFF, mutated[position] ^ (1 << rng.randrange(8))])
            path = Path(scratch) / "m.h5"
            path.write_bytes(mutated)
            log = Path(scratch) / "log"
            with open(log, "wb") as err:
                daemon = subprocess.Popen([args.bin, str(path), str(mnt), "-f", "-o", "ro,hdf5_timeout=2"],
                                          stdout=err, stderr=err)
            totals["inputs"] += 1
            try:
                deadline = time.monotonic() + 10
                while not os.path.ismount(mnt) and daemon.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                if daemon.poll() is not None:
                    totals["refused"] += 1   # did not mount: refused (exit status), or died opening
                    if daemon.returncode < 0:
                        totals["deaths"] += 1
                        print(f"died at open: byte {position}", flush=True)
                    continue
                walker = subprocess.Popen([sys.executable, "-c",
                                           "import sys; sys.path.insert(0, sys.argv[2]); import mutation_sweep as m; "
                                           "print(m.walk(sys.argv[1]))", str(mnt), str(Path(__file__).parent)],
                                          stdout=subprocess.PIPE, text=True)
                try:
                    out, _ = walker.communicate(timeout=60)
                    totals["eio"] += int(out.strip() or 0)
                except subprocess.TimeoutExpired:
                    totals["hangs"] += 1
                    print(f"hang: byte {position}", flush=True)
                    walker.kill()
                if daemon.poll() is not None:
                    totals["deaths"] += 1
                    print(f"daemon died: byte {position} status {daemon.returncode}", flush=True)
            finally:
                subprocess.run(["fusermount3", "-u", str(mnt)], stderr=subprocess.DEVNULL)
                try:
                    daemon.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
                if os.path.ismount(mnt):
                    subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
                text = log.read_text(errors="replace")
                totals["contained"] += text.count("libhdf5 crashed") + text.count("libhdf5 did not answer")
    print(totals)


if __name__ == "__main__":
    main()
