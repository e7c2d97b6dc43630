"""Containers that crash or hang libhdf5 1.10.8 while listing one group, for the
containment tests (docs/hdf5-store.md, "Containment"). Never public CVE files: each is
an ordinary h5py file (old-style groups: a v1 B-tree and a symbol node per group, no
checksums) with one group's B-tree rewritten, deterministically.

    python hostile.py OUT.h5 crash   # listing /poison recurses forever: SIGSEGV
    python hostile.py OUT.h5 hang    # listing /poison visits 32**6 empty symbol nodes: many minutes

Every other object (/good1, /good2 with datasets, /title, attributes) stays intact, and
h5py reads it (the oracle). `seed()` writes the file, `poison()` patches it.
"""
import struct
import sys

import h5py
import numpy

GROUPS = ("good1", "poison", "good2")


def seed(path):
    with h5py.File(path, "w", libver="earliest") as f:
        for name in GROUPS:
            group = f.create_group(name)
            group.attrs["role"] = name
            for i in range(3):
                group.create_dataset(f"d{i}", data=numpy.arange(100 * (i + 1), dtype="<i4"))
                group.create_dataset(f"b{i}", data=numpy.frombuffer(bytes(range(50)) * (i + 1), dtype="u1"))
        f["title"] = "hello"


def symbol_table(data, object_header):
    """(B-tree address, local heap address) of an old-style group's v1 object header."""
    assert data[object_header] == 1, "not a version 1 object header"
    count = struct.unpack_from("<H", data, object_header + 2)[0]
    position = object_header + 16
    for _ in range(count):
        kind, size = struct.unpack_from("<HH", data, position)
        if kind == 0x11:
            return struct.unpack_from("<QQ", data, position + 8)
        position += 8 + size
    raise SystemExit("no symbol table message")


# v1 B-tree node of a group (format spec III.A.1): "TREE", type 0, level, entries used,
# left and right sibling, then key 0, child 0, key 1, ... Offsets and lengths are 8 bytes.
def child_offset(index):
    return 8 + 16 + 8 + index * 16


def tree_node(level, children, size):
    node = bytearray(size)
    node[0:4] = b"TREE"
    node[5] = level
    struct.pack_into("<H", node, 6, len(children))
    struct.pack_into("<QQ", node, 8, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
    for index, child in enumerate(children):
        struct.pack_into("<Q", node, child_offset(index), child)
    return node


def poison(path, kind):
    with h5py.File(path, "r") as f:
        header = h5py.h5o.get_info(f["poison"].id).addr
    data = bytearray(open(path, "rb").read())
    btree, _ = symbol_table(data, header)
    assert data[btree:btree + 4] == b"TREE"
    if kind == "crash":
        # Level 1 whose only child is the node itself: libhdf5 1.10.8 recurses until the stack ends.
        data[btree + 5] = 1
        struct.pack_into("<Q", data, btree + child_offset(0), btree)
    elif kind == "hang":
        # Levels 0..5 appended at the end of the file, each node's 32 children all the node one
        # level down, level 0's all one empty symbol node: 32**6 visits, no memory growth.
        internal_k = struct.unpack_from("<H", data, 18)[0]
        leaf_k = struct.unpack_from("<H", data, 16)[0]
        fanout = 2 * internal_k
        node_size = 8 + 16 + fanout * 8 + (fanout + 1) * 8
        symbol_node_size = 8 + 2 * leaf_k * 40
        end = len(data)
        blob = bytearray(symbol_node_size)
        blob[0:4] = b"SNOD"
        blob[4] = 1
        for level in range(6):
            child = end if level == 0 else end + symbol_node_size + (level - 1) * node_size
            blob += tree_node(level, [child] * fanout, node_size)
        top = end + symbol_node_size + 5 * node_size
        data += blob
        # The group's own node becomes level 6 with one child, the top appended node.
        data[btree + 5] = 6
        struct.pack_into("<H", data, btree + 6, 1)
        struct.pack_into("<Q", data, btree + child_offset(0), top)
        # Superblock v0 (K values at bytes 16 and 18): end-of-file address at byte 40 must cover what was appended.
        assert data[8] == 0, "expects a version 0 superblock"
        struct.pack_into("<Q", data, 40, len(data))
    else:
        raise SystemExit(f"unknown kind {kind}")
    open(path, "wb").write(data)


if __name__ == "__main__":
    out, kind = sys.argv[1], sys.argv[2]
    seed(out)
    poison(out, kind)
