"""The generated hostile corpus (not a test by itself; `make sweep`, and a quick subset in
test_bounded.py): mounts N mutated copies of a few seed files, walks each mount (find, then
read every file), compares every numeric dataset the mount reads with what h5py reads from
the same mutated file, and counts what happened. Deterministic for a given --seed.

    .venv/bin/python integration/mutation_sweep.py --count 300 [--bin .build/debug/h5mount]

Seeds and mutations (round robin):
- `v0`: hostile.py's seed (superblock v0, old-style groups, no checksums): one random byte
  of its first 12 KiB changed (0x00, 0xFF or one bit flipped);
- `v2`: a v110 file (superblock v2, v2 object headers with checksums, dense attribute
  storage, chunked gzip/shuffle/fletcher32 datasets): one field of one message of one
  object header rewritten, checksum recomputed so libhdf5 decodes the damage. Fields are
  chosen the way public CVE reproducers of libhdf5 damage them: a dataspace dimension made
  2**62 (CVE-2021-37501, an attribute's size overflows), a message's size cut or stretched
  (CVE-2019-8396, H5O__pline_decode; CVE-2025-2310, H5O__attr_decode), an element size,
  chunk dimension or filter count zeroed or maximised (divisions by zero, huge loops), or
  random bytes of the message;
- `chunks`: absurd.py's chunk fixture with one random byte of a B-tree node changed.

Prints one line per notable input, then one JSON line of totals: inputs tried, refused at
mount, daemon crashes (the daemon died), hangs (a walk over --walk-timeout s), leaked mounts
(still mounted after the teardown), objects answering EIO, libhdf5 crashes and hangs the
mount contained (its log lines), datasets compared with h5py and how many differ.
"""
import argparse
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import absurd  # noqa: E402
import hdf5_checksum  # noqa: E402
import hostile  # noqa: E402

ORACLE = r"""
import hashlib, json, sys, h5py, hdf5plugin, numpy
out = {}
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iufb" and obj.dtype.fields is None:
        try:
            out[name] = hashlib.sha256(obj[()].tobytes()).hexdigest()
        except Exception:
            pass
try:
    with h5py.File(sys.argv[1], "r") as f:
        f.visititems(visit)
except Exception:
    pass
print(json.dumps(out))
"""

WALK = r"""
import hashlib, json, os, sys
eio, read = 0, {}
root = sys.argv[1]
for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
    for name in filenames:
        path = os.path.join(dirpath, name)
        try:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            read[os.path.relpath(path, root)] = digest.hexdigest()
        except OSError:
            eio += 1
print(json.dumps({"eio": eio, "read": read}))
"""


def seed_v2(path):
    import h5py
    import numpy
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        for g in ("g1", "g2"):
            group = f.create_group(g)
            group.attrs["role"] = g
            group.attrs["scale"] = numpy.arange(4, dtype="<f8")
            group.create_dataset("gz", data=numpy.arange(5000, dtype="<i4").reshape(50, 100), chunks=(10, 50),
                                 compression="gzip", shuffle=True, fletcher32=True)
            group.create_dataset("plain", data=numpy.linspace(0, 1, 300, dtype="<f4"))
            group.create_dataset("bytes", data=numpy.frombuffer(bytes(range(256)) * 4, dtype="u1"))
            group["gz"].attrs["unit"] = "counts"
        f["title"] = "hello"


def object_headers(data):
    """Offsets of version-2 object headers ("OHDR") in the file."""
    at, found = data.find(b"OHDR"), []
    while at >= 0:
        found.append(at)
        at = data.find(b"OHDR", at + 4)
    return found


def messages(data, header):
    """(type, offset of the message's data, size) of the messages in the first chunk of a v2 header."""
    flags = data[header + 5]
    at = header + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 3)
    size = int.from_bytes(data[at:at + width], "little")
    at += width
    end = at + size
    out = []
    while at + 4 <= end:
        kind, length = data[at], struct.unpack_from("<H", data, at + 1)[0]
        at += 4 + (2 if flags & 0x04 else 0)
        if at + length > end:
            break
        out.append((kind, at, length))
        at += length
    return out


def mutate_v2(data, rng):
    """One field of one message of one v2 object header, checksum recomputed."""
    out = bytearray(data)
    headers = [h for h in object_headers(out) if messages(out, h)]
    header = rng.choice(headers)
    kind, at, length = rng.choice(messages(out, header))
    choice = rng.randrange(6)
    if choice == 0 and kind in (0x01, 0x0C):     # dataspace (or an attribute's): a dimension of 2**62
        for offset in range(at, at + length - 7):
            value = struct.unpack_from("<Q", out, offset)[0]
            if 1 < value < 1 << 20:
                struct.pack_into("<Q", out, offset, 1 << 62)
                break
        what = f"dimension 2**62 in message {kind:#x}"
    elif choice == 1:                             # the message's size: cut short or stretched
        size_at = at - 4 - (2 if out[header + 5] & 0x04 else 0) + 1
        struct.pack_into("<H", out, size_at, rng.choice([0, 1, length // 2, length + 8, 0xFFFF]))
        what = f"size of message {kind:#x}"
    elif choice in (2, 3) and length > 0:         # a small field zeroed or maximised
        offset = at + rng.randrange(length)
        width = rng.choice([1, 2, 4])
        value = 0 if choice == 2 else (1 << (8 * width)) - 1
        out[offset:offset + width] = value.to_bytes(width, "little")[:len(out[offset:offset + width])]
        what = f"{width} bytes {'zeroed' if choice == 2 else 'maximised'} at +{offset - at} in message {kind:#x}"
    else:                                         # random bytes
        for _ in range(rng.randrange(1, 4)):
            if length:
                out[at + rng.randrange(length)] = rng.randrange(256)
        what = f"random bytes in message {kind:#x}"
    end = hdf5_checksum.object_header_checksum_span(bytes(out), header)
    struct.pack_into("<I", out, end, hdf5_checksum.hashlittle(bytes(out[header:end])))
    return out, f"v2 header at {header}: {what}"


def mutate_byte(data, rng, limit):
    out = bytearray(data)
    position = rng.randrange(0, min(len(out), limit))
    out[position] = rng.choice([0x00, 0xFF, out[position] ^ (1 << rng.randrange(8))])
    return out, f"byte {position}"


def mutate_btree(data, rng):
    out = bytearray(data)
    nodes = []
    at = out.find(b"TREE")
    while at >= 0:
        nodes.append(at)
        at = out.find(b"TREE", at + 4)
    node = rng.choice(nodes)
    position = node + rng.randrange(4, 200)
    out[position] = rng.choice([0x00, 0xFF, out[position] ^ (1 << rng.randrange(8))])
    return out, f"B-tree node at {node}: byte {position}"


def run_walk(mnt, timeout):
    walker = subprocess.Popen([sys.executable, "-c", WALK, str(mnt)], stdout=subprocess.PIPE, text=True)
    try:
        out, _ = walker.communicate(timeout=timeout)
        return json.loads(out or "{}")
    except subprocess.TimeoutExpired:
        walker.kill()
        walker.wait()
        return None


def oracle(path):
    try:
        result = subprocess.run([sys.executable, "-c", ORACLE, str(path)], capture_output=True, text=True, timeout=60)
        return json.loads(result.stdout or "{}")
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return {}   # h5py crashed or hung on it: no oracle for this input


def wait_mounted(mnt, daemon, seconds=15):
    deadline = time.monotonic() + seconds
    while not os.path.ismount(mnt) and daemon.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.path.ismount(mnt)


def teardown(mnt, daemon, totals, label):
    alive = daemon.poll() is None     # a daemon that died serving the walk is counted there
    subprocess.run(["fusermount3", "-u", str(mnt)], stderr=subprocess.DEVNULL, timeout=60)
    try:
        daemon.wait(timeout=20)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    if os.path.ismount(mnt):
        totals["leaked_mounts"] += 1
        print(f"leaked mount: {label}", flush=True)
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], timeout=60)
    elif alive and daemon.returncode is not None and daemon.returncode < 0:
        # Killed by a signal on its way out (libhdf5 closing a damaged file at exit): a crash too.
        totals["daemon_crashes"] += 1
        print(f"daemon died after unmount ({daemon.returncode}): {label}", flush=True)


def sweep(count, seed, binary, walk_timeout=60, hdf5_timeout=2):
    rng = random.Random(seed)
    totals = {"inputs": 0, "refused": 0, "daemon_crashes": 0, "hangs": 0, "leaked_mounts": 0,
              "eio": 0, "contained_crashes": 0, "contained_hangs": 0,
              "datasets_compared": 0, "datasets_differing": 0}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        seeds = {}
        for name, make in (("v0", hostile.seed), ("v2", seed_v2), ("chunks", absurd.chunks)):
            make(str(scratch / f"{name}.h5"))
            seeds[name] = (scratch / f"{name}.h5").read_bytes()
        mutators = [("v0", lambda d: mutate_byte(d, rng, 12 << 10)), ("v2", lambda d: mutate_v2(d, rng)),
                    ("chunks", lambda d: mutate_btree(d, rng))]
        mnt = scratch / "mnt"
        mnt.mkdir()
        for index in range(count):
            kind, mutate = mutators[index % len(mutators)]
            mutated, what = mutate(seeds[kind])
            label = f"#{index} {kind} {what}"
            path = scratch / "m.h5"
            path.write_bytes(mutated)
            log = scratch / "log"
            with open(log, "wb") as err:
                daemon = subprocess.Popen([binary, str(path), str(mnt), "-f", "-o", f"ro,hdf5_timeout={hdf5_timeout}"],
                                          stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            totals["inputs"] += 1
            try:
                if not wait_mounted(mnt, daemon):
                    if daemon.poll() is None:
                        totals["hangs"] += 1
                        print(f"hang at mount: {label}", flush=True)
                    else:
                        totals["refused"] += 1   # refused (exit status), or died opening
                        if daemon.returncode < 0:
                            totals["daemon_crashes"] += 1
                            print(f"died at open ({daemon.returncode}): {label}", flush=True)
                    continue
                walked = run_walk(mnt, walk_timeout)
                if walked is None:
                    totals["hangs"] += 1
                    print(f"hang: {label}", flush=True)
                else:
                    totals["eio"] += walked["eio"]
                    for name, digest in oracle(path).items():
                        if name in walked["read"]:
                            totals["datasets_compared"] += 1
                            if walked["read"][name] != digest:
                                totals["datasets_differing"] += 1
                                print(f"differs from h5py: /{name}: {label}", flush=True)
                if daemon.poll() is not None:
                    totals["daemon_crashes"] += 1
                    print(f"daemon died ({daemon.returncode}): {label}", flush=True)
            finally:
                if daemon.poll() is None or os.path.ismount(mnt):
                    teardown(mnt, daemon, totals, label)
                text = log.read_text(errors="replace")
                totals["contained_crashes"] += text.count("libhdf5 crashed")
                totals["contained_hangs"] += text.count("libhdf5 did not answer")
    return totals


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bin", default=str(HERE.parent / ".build/debug/h5mount"))
    args = parser.parse_args()
    started = time.monotonic()
    totals = sweep(args.count, args.seed, args.bin)
    totals["seconds"] = round(time.monotonic() - started)
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
