"""Absurd but valid containers for the bounded-work tests (issue 3 item 3; test_bounded.py):
each is an ordinary h5py file (libver earliest: v0 superblock, v1 B-tree chunk indexes, no
checksums; the many-links file v110), some with one chunk's B-tree key or bytes rewritten where h5py cannot write
what is wanted. Deterministic.

    python absurd.py OUT.h5 sparse   # huge sparse datasets (2**62 bytes, beyond 2**63)
    python absurd.py OUT.h5 chunks   # chunks claiming impossible sizes, decompression bombs
    python absurd.py OUT.h5 links N  # a group with N soft links (1,000,000: ~10 CPU-s, 35 MB)
    python absurd.py OUT.h5 cycles   # groups inside their own subtree, hard links only

`ORACLE` names, per fixture, the datasets that stay intact: h5py's bytes are the oracle.
"""
from __future__ import annotations

import struct
import sys
import zlib

import h5py
import hdf5plugin
import numpy

CHUNK = 1 << 16                      # bytes per chunk of the chunk fixtures (uint8)
BOMB_BYTES = 256 << 20               # what the gzip bomb inflates to
SPARSE_FILL = 7

# Every dataset of the chunk fixture that is damaged on purpose, and what is wrong with it.
DAMAGED = {
    "claims_4gib": "a gzip chunk whose B-tree key says 4 GiB",
    "claims_past_eof": "a gzip chunk whose stored size runs past the end of the file",
    "unfiltered_wrong": "an unfiltered chunk whose stored size is not the chunk's",
    "bomb_gzip": f"a gzip chunk inflating to {BOMB_BYTES >> 20} MiB instead of {CHUNK >> 10} KiB",
    "short_gzip": "a gzip chunk inflating to half the chunk",
    "bomb_lz4": "an lz4 chunk whose header claims 2**40 bytes",
    "bomb_bslz4": "a bitshuffle+lz4 chunk whose header claims 2**40 bytes",
}
INTACT = ("good_gzip", "good_plain", "good_lz4")


def sparse(path):
    with h5py.File(path, "w", libver="earliest") as f:
        # 2**62 bytes: the largest power of two a file offset holds; two chunks written.
        huge = f.create_dataset("huge", shape=(2**62,), dtype="u1", chunks=(CHUNK,), fillvalue=SPARSE_FILL)
        huge[:5] = numpy.arange(1, 6, dtype="u1")
        huge[2**62 - 5:] = numpy.arange(5, dtype="u1")
        # Rank 2, typed: 2**31 x 2**30 uint16 = 2**62 bytes, one corner chunk written.
        square = f.create_dataset("square", shape=(2**31, 2**30), dtype="<u2", chunks=(256, 256), fillvalue=3)
        square[2**31 - 2:, 2**30 - 2:] = 9
        # 2**65 bytes: more than any file offset.
        f.create_dataset("beyond", shape=(2**62, 2), dtype="<f8", chunks=(1024, 2), fillvalue=1.5)
        f.create_dataset("contiguous", shape=(2**40,), dtype="u1")   # contiguous, never written
        f.create_dataset("small", data=numpy.arange(10, dtype="<i4"))


def _chunk_addresses(f, name):
    """(file offset, stored size) of each chunk of a dataset, in index order."""
    dataset = f[name].id
    return [(info.byte_offset, info.size) for info in
            (dataset.get_chunk_info(i) for i in range(dataset.get_num_chunks()))]


def _patch_key(data, offset, size, *, new_size=None, new_address=None):
    """Rewrites the v1 B-tree key (chunk size) and child (address) of the chunk stored at
    `offset` with `size` bytes. A raw-data node: "TREE", type 1, level, entries, two sibling
    addresses, then key (size u32, mask u32, rank+1 offsets u64), child u64, key, ..."""
    address = struct.pack("<Q", offset)
    at = data.find(address)
    while at >= 0:
        # The child address follows a key; its size sits (rank+1)*8 + 8 bytes earlier.
        for rank in range(1, 4):
            key = at - 8 - 8 * (rank + 1)
            if key >= 0 and struct.unpack_from("<I", data, key)[0] == size:
                if new_size is not None:
                    struct.pack_into("<I", data, key, new_size)
                if new_address is not None:
                    struct.pack_into("<Q", data, at, new_address)
                return
        at = data.find(address, at + 1)
    raise SystemExit(f"no B-tree key for the chunk at {offset}")


def _append(data, blob):
    """Appends `blob` and moves the v0 superblock's end-of-file address past it."""
    assert data[8] == 0, "expects a version 0 superblock"
    at = len(data)
    data += blob
    struct.pack_into("<Q", data, 40, len(data))
    return at


def chunks(path):
    pattern = (numpy.arange(4 * CHUNK) * 7 % 251).astype("u1")
    with h5py.File(path, "w", libver="earliest") as f:
        for name in ("good_gzip", "claims_4gib", "claims_past_eof", "bomb_gzip", "short_gzip"):
            f.create_dataset(name, data=pattern, chunks=(CHUNK,), compression="gzip")
        f.create_dataset("good_plain", data=pattern, chunks=(CHUNK,))
        f.create_dataset("unfiltered_wrong", data=pattern, chunks=(CHUNK,))
        for name in ("good_lz4", "bomb_lz4"):
            f.create_dataset(name, data=pattern, chunks=(CHUNK,), **hdf5plugin.LZ4())
        f.create_dataset("bomb_bslz4", data=pattern.view("<u4"), chunks=(CHUNK // 4,),
                         **hdf5plugin.Bitshuffle(cname="lz4"))
        located = {name: _chunk_addresses(f, name) for name in DAMAGED}
    data = bytearray(open(path, "rb").read())
    offset, size = located["claims_4gib"][1]
    _patch_key(data, offset, size, new_size=0xFFFFFFF0)
    offset, size = located["claims_past_eof"][2]
    _patch_key(data, offset, size, new_size=2 * CHUNK + (1 << 20) - 16)   # under the engine's plausibility cap
    offset, size = located["unfiltered_wrong"][1]
    _patch_key(data, offset, size, new_size=size + 4096)
    # The bomb: 256 MiB of zeros compress to 255 KiB; its key points at the stream appended.
    offset, size = located["bomb_gzip"][0]
    bomb = zlib.compress(bytes(BOMB_BYTES), 9)
    _patch_key(data, offset, size, new_size=len(bomb), new_address=_append(data, bomb))
    offset, size = located["short_gzip"][3]
    short = zlib.compress(bytes(CHUNK // 2), 9)
    _patch_key(data, offset, size, new_size=len(short), new_address=_append(data, short))
    # lz4 (H5Zlz4.c) and bitshuffle (bshuf_h5filter.c) chunks start with the 8-byte
    # big-endian original size: claim a TiB, in place.
    for name in ("bomb_lz4", "bomb_bslz4"):
        offset, _ = located[name][0]
        struct.pack_into(">Q", data, offset, 1 << 40)
    open(path, "wb").write(data)


def links(path, count):
    # New-style (dense) link storage: an old-style group's symbol table grows quadratically
    # (a million links took over 10 minutes), dense storage takes ~10 CPU-s. In memory
    # (driver "core") and written once at close. v110: libhdf5 1.10.8 reads it.
    with h5py.File(path, "w", libver=("v110", "v110"), driver="core") as f:
        f.create_dataset("target", data=numpy.arange(4, dtype="u1"))
        group = f.create_group("many").id
        for i in range(count):
            group.links.create_soft(b"l%07d" % i, b"/target")


def cycles(path):
    """/a/b/c/up is /a, /a/b/self is /a/b, /x and /a/b/c/x are one group, /a/b/c/x/back is
    /a: every group reachable along infinitely many paths."""
    with h5py.File(path, "w", libver="earliest") as f:
        a = f.create_group("a")
        b = a.create_group("b")
        c = b.create_group("c")
        c["data"] = numpy.arange(6, dtype="<i2")
        c["up"] = a
        b["self"] = b
        x = f.create_group("x")
        c["x"] = x
        x["back"] = a
        x["bytes"] = numpy.frombuffer(b"payload", dtype="u1")


if __name__ == "__main__":
    out, kind = sys.argv[1], sys.argv[2]
    if kind == "links":
        links(out, int(sys.argv[3]))
    else:
        {"sparse": sparse, "chunks": chunks, "cycles": cycles}[kind](out)
