"""Child processes of test_write_stress.py: writers and readers that run at the same time
against one mount. Standard library only, so a child starts in a few milliseconds.

    python write_workers.py writer MOUNT DIR SEED
    python write_workers.py reader MOUNT STOPFILE PATH:SIZE:SEED ...
    python write_workers.py live-writer FILE SIZE SEED PIECE
    python write_workers.py live-reader FILE SIZE SEED STOPFILE
    python write_workers.py range-reader MOUNT REFDIR STOPFILE SEED NAME ...
    python write_workers.py copier MOUNT SOURCE STOPFILE FIRST READBACK
    python write_workers.py lister MOUNT STOPFILE

Every worker exits 0 when all it saw was right; otherwise it prints what was wrong on
stderr and exits 1. Readers print a JSON line of what they saw on stdout.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import sys
import time

KiB, MiB = 1 << 10, 1 << 20

# What one writer process writes: (path under its directory, size). Small files, one of
# exactly one chunk, multi-chunk files with a partial last chunk, an empty file, nesting.
WRITER_FILES = [("empty", 0), ("one", 1), ("page", 4 * KiB), ("small", 70_001),
                ("sub/chunk", MiB), ("sub/two-chunks", 2 * MiB + 333), ("sub/deeper/three", 3 * MiB - 1),
                ("text", 123_457)]
PIECE = 64 * KiB


def payload(size: int, seed: int) -> bytes:
    """Deterministic bytes for (size, seed), the same in every process."""
    return random.Random(seed).randbytes(size)


def writer_plan(directory: str, seed: int) -> list[tuple[str, int, int]]:
    """(path relative to the mount, size, seed) of every file writer `seed` writes."""
    return [(f"{directory}/{name}", size, seed * 100 + index)
            for index, (name, size) in enumerate(WRITER_FILES)]


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def read_all(path: str, piece: int = PIECE) -> bytes:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while True:
            part = os.read(descriptor, piece)
            if not part:
                return b"".join(parts)
            parts.append(part)
    finally:
        os.close(descriptor)


def write_file(path: str, data: bytes, piece: int = PIECE, pause: float = 0.0) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for offset in range(0, len(data), piece):
            view = memoryview(data)[offset:offset + piece]
            while view:
                view = view[os.write(descriptor, view):]
            if pause:
                time.sleep(pause)
    finally:
        os.close(descriptor)


def writer(mount: str, directory: str, seed: int) -> None:
    """Writes its files in pieces (so writes of the processes interleave) and checks each
    reads back right after its close."""
    for path, size, file_seed in writer_plan(directory, seed):
        full = os.path.join(mount, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        data = payload(size, file_seed)
        try:
            write_file(full, data)
            back = read_all(full)
        except OSError as error:
            fail(f"writer {seed}: {path}: {error!r}")
        if back != data:
            fail(f"writer {seed}: {path} read back {len(back)} bytes differing from the {size} written")


def reader(mount: str, stop_file: str, specs: list[str]) -> None:
    """Reads the given files again and again (whole, and at random offsets) until the stop
    file appears, at least twice over; every byte must be the expected one."""
    files = []
    for spec in specs:
        path, size, seed = spec.rsplit(":", 2)
        files.append((os.path.join(mount, path), payload(int(size), int(seed))))
    rng = random.Random(len(specs))
    rounds = 0
    while rounds < 2 or not os.path.exists(stop_file):
        rng.shuffle(files)
        for path, data in files:
            try:
                whole = read_all(path, piece=rng.choice([4 * KiB, PIECE, MiB]))
                if whole != data:
                    fail(f"reader: {path}: {len(whole)} bytes read differ from the {len(data)} expected")
                if data:
                    offset = rng.randrange(len(data))
                    length = rng.randrange(1, 300_000)
                    with open(path, "rb", buffering=0) as f:
                        part = os.pread(f.fileno(), length, offset)
                    if part != data[offset:offset + length]:
                        fail(f"reader: {path}: pread({length}, {offset}) differs")
            except OSError as error:
                fail(f"reader: {path}: {error!r}")
        rounds += 1
    print(json.dumps({"rounds": rounds}))


def live_writer(path: str, size: int, seed: int, piece: int) -> None:
    """Writes one file slowly, so that a reader sees it grow."""
    try:
        write_file(path, payload(size, seed), piece=piece, pause=0.003)
    except OSError as error:
        fail(f"live writer: {path}: {error!r}")


def live_reader(path: str, size: int, seed: int, stop_file: str) -> None:
    """Reads a file while another process writes it from start to end: every read must be a
    prefix of the final content (never other bytes, never an error), and what it shows never
    gets shorter (the file is only appended to); once the writer has closed it, the whole."""
    data = payload(size, seed)
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            fail(f"live reader: {path} did not appear")
        time.sleep(0.001)
    views, partial, longest, lengths = 0, 0, 0, set()
    shrinks: list[tuple[int, int, int]] = []      # (read number, longest seen before, length now)
    problems = []
    while True:
        done = os.path.exists(stop_file)          # checked before the read: a read after it is final
        try:
            seen = read_all(path)
        except OSError as error:
            fail(f"live reader: {path} after {views} reads: {error!r}")
        views += 1
        if seen != data[:len(seen)]:
            first = next((i for i, (a, b) in enumerate(zip(seen, data)) if a != b), len(data))
            fail(f"live reader: read {views} of {path} saw {len(seen)} bytes, not a prefix of the "
                 f"{len(data)} written (first difference at {first})")
        if len(seen) < longest:
            shrinks.append((views, longest, len(seen)))
        longest = max(longest, len(seen))
        partial += len(seen) < len(data)
        lengths.add(len(seen))
        if done:
            if seen != data:
                problems.append(f"after the writer closed {path}, a new open and read gives {len(seen)} "
                                f"of its {len(data)} bytes")
            break
    if shrinks:
        views_shrunk = [v for v, _, _ in shrinks]
        problems.append(f"{len(shrinks)} of {views} reads were shorter than an earlier one (the file is only "
                        f"appended to); first: read {shrinks[0][0]} gave {shrinks[0][2]} bytes after "
                        f"{shrinks[0][1]}; reads {views_shrunk[0]}..{views_shrunk[-1]}")
    if problems:
        fail("live reader: " + "\n".join(problems))
    print(json.dumps({"views": views, "partial": partial, "lengths": len(lengths)}))


def range_reader(mount: str, reference: str, stop_file: str, seed: int, names: list[str]) -> None:
    """Reads random ranges of the given files under MOUNT until the stop file appears (at
    least 20 reads); each must equal the same range of REFDIR/NAME (what h5py read)."""
    rng = random.Random(seed)
    files = []
    for name in names:
        with open(os.path.join(reference, name.replace("/", "__")), "rb") as f:
            files.append((os.path.join(mount, name), f.read()))
    reads = read_bytes = 0
    while reads < 20 or not os.path.exists(stop_file):
        path, data = rng.choice(files)
        offset = rng.randrange(len(data) + 1)
        length = rng.choice([1, 7, 4 * KiB, 100_000, MiB + 3])
        try:
            with open(path, "rb", buffering=0) as f:
                part = os.pread(f.fileno(), length, offset)
        except OSError as error:
            fail(f"range reader: {path}: pread({length}, {offset}): {error!r}")
        if part != data[offset:offset + length]:
            fail(f"range reader: {path}: pread({length}, {offset}) gave {len(part)} bytes differing from h5py's")
        reads += 1
        read_bytes += len(part)
    print(json.dumps({"reads": reads, "bytes": read_bytes}))


def copier(mount: str, source: str, stop_file: str, first: int, read_back: bool) -> None:
    """Copies the SOURCE tree into MOUNT/copies/N (N = FIRST, FIRST + 1, ...) until the stop
    file appears (at least once), with READBACK reading each copied file back right after
    its close; removes copy
    N - 2 once copy N is done, so that only the last two stay (the namespace stays bounded,
    and growth of the daemon is a leak, not more objects). Prints how many copies."""
    copies = 0
    while copies < 1 or not os.path.exists(stop_file):
        number = first + copies
        target = os.path.join(mount, "copies", str(number))
        for directory, _, names in os.walk(source):
            into = os.path.join(target, os.path.relpath(directory, source))
            try:
                os.makedirs(into, exist_ok=True)
                for name in sorted(names):
                    with open(os.path.join(directory, name), "rb") as f:
                        data = f.read()
                    write_file(os.path.join(into, name), data)
                    back = read_all(os.path.join(into, name)) if read_back else data
                    if back != data:
                        first_difference = next((i for i, (x, y) in enumerate(zip(back, data)) if x != y),
                                                min(len(back), len(data)))
                        fail(f"copier: {into}/{name} reads back {len(back)} bytes, not the {len(data)} written "
                             f"(first difference at {first_difference})")
            except OSError as error:
                fail(f"copier: copy {number} into {into}: {error!r}")
        old = os.path.join(mount, "copies", str(number - 2))
        if os.path.isdir(old):  # also the last ones of an earlier copier
            try:
                shutil.rmtree(old)
            except OSError as error:
                fail(f"copier: removing copy {number - 2}: {error!r}")
        copies += 1
    print(json.dumps({"copies": copies}))


def lister(mount: str, stop_file: str) -> None:
    """Walks the whole mount and lstat()s every entry, again and again until the stop file
    appears (at least twice); nothing may fail, except that what the copier removes (under
    copies/) may be gone by the time it is looked at (ENOENT)."""
    copies = os.path.join(mount, "copies") + os.sep
    walks = largest = 0

    def check(error: OSError, path: str) -> None:
        if not (error.errno == errno.ENOENT and path.startswith(copies)):
            fail(f"lister: walk {walks}: {path}: {error!r}")

    while walks < 2 or not os.path.exists(stop_file):
        entries = 0
        for directory, dirs, names in os.walk(mount, onerror=lambda error: check(error, error.filename or "")):
            for name in dirs + names:
                try:
                    os.lstat(os.path.join(directory, name))
                except OSError as error:
                    check(error, os.path.join(directory, name))
                entries += 1
        walks += 1
        largest = max(largest, entries)
    print(json.dumps({"walks": walks, "entries": largest}))


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "writer":
        writer(args[0], args[1], int(args[2]))
    elif command == "reader":
        reader(args[0], args[1], args[2:])
    elif command == "live-writer":
        live_writer(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif command == "live-reader":
        live_reader(args[0], int(args[1]), int(args[2]), args[3])
    elif command == "range-reader":
        range_reader(args[0], args[1], args[2], int(args[3]), args[4:])
    elif command == "copier":
        copier(args[0], args[1], args[2], int(args[3]), args[4] == "1")
    elif command == "lister":
        lister(args[0], args[1])
    else:
        fail(f"unknown worker {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
