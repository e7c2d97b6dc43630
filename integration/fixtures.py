"""Containers the harness makes itself, each for a rule of docs/mapping.md, and the
scan of the corpus that integration/corpus.py writes.

The corpus (another helper's corpus.py) is the broad sample of real-world shapes;
these are small and exact: a test here knows what each object is called and what
the mount must show for it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the LZ4 and bitshuffle filters with h5py)
import numpy as np

import oracle

LONG_NAME = "L" * 300          # longer than NAME_MAX: left out of listings
MAX_NAME = "M" * 255           # exactly NAME_MAX: shown
DANGLING_ABS = "/no/such/object_h5mount_test"
DANGLING_REL = "missing_thing_h5mount_test"


@dataclass
class Corpus:
    root: Path
    good_containers: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)

    @classmethod
    def scan(cls, root: Path) -> "Corpus":
        """Every *.h5 under root; those h5py cannot open and walk are the "bad" ones."""
        corpus = cls(root=Path(root))
        for path in sorted(Path(root).rglob("*.h5")):
            if not path.is_file():
                continue
            try:
                oracle.walk(path)
            except Exception:  # deliberately malformed members of the corpus
                corpus.unreadable.append(path)
            else:
                corpus.good_containers.append(path)
        return corpus

    def tree_pairs(self) -> list[tuple[Path, list[Path]]]:
        """(tree.h5, candidate source directories beside it)."""
        pairs = []
        for h5 in sorted(self.root.rglob("tree.h5")):
            dirs = sorted(p for p in h5.parent.iterdir()
                          if p.is_dir() and "tree" in p.name and not p.name.startswith("."))
            pairs.append((h5, dirs))
        return pairs


@dataclass
class Features:
    root: Path
    types: Path
    links: Path
    names: Path
    vds: Path
    tree_h5: Path
    tree_src: Path
    external_files: list[Path]

    @property
    def good_containers(self) -> list[Path]:
        return [self.types, self.links, self.names, self.vds, self.tree_h5]


def build_features(root: Path) -> Features:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20260101)
    externals = make_external_targets(root)
    features = Features(
        root=root,
        types=make_types(root / "types.h5", rng),
        links=make_links(root / "links.h5"),
        names=make_names(root / "names.h5"),
        vds=make_vds(root),
        tree_src=make_tree_source(root / "tree_src", rng),
        tree_h5=root / "tree.h5",
        external_files=externals,
    )
    pack_tree(features.tree_src, features.tree_h5)
    return features


def _attach_attributes(obj) -> None:
    obj.attrs["units"] = "counts"
    obj.attrs["scale"] = np.float64(0.5)
    obj.attrs["gain32"] = np.float32(0.1)
    obj.attrs["shape_hint"] = np.array([3, 4], dtype=np.int32)
    obj.attrs["big"] = np.uint64(2**64 - 1)
    obj.attrs["nan"] = np.float64("nan")
    obj.attrs["h5mount.mode"] = np.uint32(0o600)  # reserved: never shown


def make_types(path: Path, rng) -> Path:
    """One dataset per datatype class and layout the mapping distinguishes."""
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "datatype zoo"
        f.attrs["version"] = np.int64(3)

        ints = f.create_group("ints")
        ints["u8_bytes"] = np.frombuffer(b"raw bytes\x00\xff\n", dtype=np.uint8)
        ints["i8_scalar"] = np.int8(-5)
        ints["u8_2d"] = rng.integers(0, 255, (3, 4), dtype=np.uint8)
        ints["u16"] = rng.integers(0, 65535, 17, dtype=np.uint16)
        ints["i64_be"] = np.arange(-3, 9, dtype=">i8").reshape(3, 4)
        ints.create_dataset("bool", data=np.array([True, False, True]))
        ints.create_dataset("enum_u16", data=np.array([0, 2, 1, 2], dtype=np.uint16),
                            dtype=h5py.enum_dtype({"OFF": 0, "ON": 1, "FAULT": 2}, basetype="u2"))
        bitfield = h5py.h5d.create(ints.id, b"bitfield16", h5py.h5t.STD_B16LE,
                                   h5py.h5s.create_simple((5,)))
        bitfield.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1, 2, 4, 8, 0xF0F0], dtype="<u2"))

        floats = f.create_group("floats")
        floats["f32"] = rng.standard_normal((4, 6)).astype(np.float32)
        floats["f64_be"] = rng.standard_normal(7).astype(">f8")
        floats["f16"] = np.linspace(-2, 2, 9).astype(np.float16)
        floats["scalar"] = np.float64(2.718281828)
        floats["special"] = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=np.float64)
        floats.create_dataset("empty", shape=(0,), dtype=np.float32)
        floats["null"] = h5py.Empty("f4")
        _attach_attributes(floats["f32"])

        opaque = f.create_group("opaque")
        opaque["v4_1d"] = np.frombuffer(bytes(range(12)), dtype="V4")
        opaque["v4_2d"] = np.frombuffer(bytes(range(24)), dtype="V4").reshape(2, 3)
        opaque["v16_scalar"] = np.frombuffer(bytes(range(16)), dtype="V16")[0]

        comp = f.create_group("compound")
        inner = np.dtype({"names": ["p", "q"], "formats": ["<u1", ">i4"],
                          "offsets": [0, 4], "itemsize": 8})
        padded = np.dtype({"names": ["id", "value", "vec", "tag", "inner"],
                           "formats": [">i2", "<f8", ("<f4", (3,)), "S5", inner],
                           "offsets": [0, 8, 16, 28, 40], "itemsize": 56})
        records = np.zeros(4, dtype=padded)
        records["id"] = [1, -2, 3, -4]
        records["value"] = [0.5, 1.5, 2.5, 3.5]
        records["vec"] = np.arange(12, dtype=np.float32).reshape(4, 3)
        records["tag"] = [b"a", b"bb", b"ccc", b"ddddd"]
        records["inner"]["p"] = [9, 8, 7, 6]
        records["inner"]["q"] = [-1, 100000, 0, 5]
        comp["padded"] = records
        complex_ = (np.arange(5) + 1j * np.arange(5)[::-1]).astype(np.complex128)
        comp["complex"] = complex_
        comp.create_dataset("scalar", data=records[1])

        arrays = f.create_group("arrays")
        for name, base, dims in (("vec3", "<f4", (3,)), ("mat23", ">i2", (2, 3))):
            ds = arrays.create_dataset(name, shape=(4,), dtype=np.dtype((base, dims)))
            values = np.arange(4 * int(np.prod(dims)), dtype=base).reshape((4,) + dims)
            ds.id.write(h5py.h5s.ALL, h5py.h5s.ALL, values, mtype=ds.id.get_type())

        strings = f.create_group("strings")
        strings["fixed"] = np.array([b"alpha", b"be", b"", b"gamma123"], dtype="S8")
        strings.create_dataset("vlen", data=["alpha", "béta", "", "γάμμα δ"],
                               dtype=h5py.string_dtype())
        strings.create_dataset("vlen_2d", data=[["a", "b"], ["c", "d"]], dtype=h5py.string_dtype())
        strings.create_dataset("scalar_vlen", data="hello world", dtype=h5py.string_dtype())
        strings["scalar_fixed"] = np.bytes_(b"fixed text")
        utf8 = strings.create_dataset("utf8_fixed", shape=(2,), dtype=h5py.string_dtype("utf-8", 8))
        utf8.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(["ünï".encode(), b"ok"], dtype="S8"),
                      mtype=utf8.id.get_type())
        space = h5py.h5t.C_S1.copy()
        space.set_size(6)
        space.set_strpad(h5py.h5t.STR_SPACEPAD)
        sp = h5py.h5d.create(strings.id, b"space_padded", space, h5py.h5s.create_simple((2,)))
        sp.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([b"ab", b"cdef"], dtype="S6"))
        strings["with_attrs"] = np.array([b"x"], dtype="S1")
        strings["with_attrs"].attrs["note"] = "strings keep their attributes"

        js = f.create_group("json")
        vl = js.create_dataset("vlen_i4", shape=(3,), dtype=h5py.vlen_dtype(np.int32))
        vl[0] = [1, 2, 3]
        vl[1] = []
        vl[2] = [-7]
        vlf = js.create_dataset("vlen_f64", shape=(2,), dtype=h5py.vlen_dtype(np.float64))
        vlf[0] = [0.5, 1.25]
        vlf[1] = [3.0]
        named = np.dtype([("id", "<i4"), ("name", h5py.string_dtype())])
        js.create_dataset("compound_vlen_str", data=np.array([(1, "one"), (2, "two")], dtype=named))
        js.create_dataset("refs", data=[f["ints/u16"].ref, f["floats"].ref], dtype=h5py.ref_dtype)

        lay = f.create_group("layouts")
        lay.create_dataset("contiguous", data=np.arange(100, dtype="<i4"))
        compact = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        compact.set_layout(h5py.h5d.COMPACT)
        lay.create_dataset("compact", data=np.arange(10, dtype="<i2"), dcpl=compact)
        image = rng.poisson(3.0, (50, 33)).astype(np.uint16)
        lay.create_dataset("gzip_shuffle_fletcher", data=image, chunks=(16, 16), compression="gzip",
                           compression_opts=4, shuffle=True, fletcher32=True)
        lay.create_dataset("lz4", data=image, chunks=(10, 33), **hdf5plugin.LZ4())
        lay.create_dataset("bslz4", data=image, chunks=(20, 20),
                           **hdf5plugin.Bitshuffle(cname="lz4"))
        sparse = lay.create_dataset("sparse", shape=(40, 40), chunks=(10, 10), dtype="<i4",
                                    fillvalue=7, compression="gzip")
        sparse[0:10, 10:20] = np.arange(100, dtype="<i4").reshape(10, 10)
        sparse[35, 39] = -1
        grow = lay.create_dataset("unlimited", shape=(3, 4), maxshape=(None, 4), dtype="<f8",
                                  chunks=(2, 4))
        grow[...] = np.arange(12).reshape(3, 4)
        lay.create_dataset("never_written", shape=(6, 5), dtype="<u4", chunks=(3, 5))
        big = rng.integers(0, 4, (64, 128, 128), dtype=np.uint16)  # 2 MiB, 64 chunks
        lay.create_dataset("stack", data=big, chunks=(1, 128, 128), compression="gzip")
    return path


def make_external_targets(root: Path) -> list[Path]:
    """The files the external links of links.h5 point at (names that need escaping)."""
    (root / "sub").mkdir(exist_ok=True)
    targets = [root / "ext.h5", root / "sub" / "ext2.h5", root / "50%.h5"]
    with h5py.File(targets[0], "w") as f:
        f["payload"] = np.arange(6, dtype="<i4")
        f["payload"].attrs["origin"] = "ext.h5"
    with h5py.File(targets[1], "w") as f:
        f.create_group("group")["leaf"] = np.frombuffer(b"leaf bytes", dtype=np.uint8)
    with h5py.File(targets[2], "w") as f:
        f["v"] = np.float32(1.5)
    return targets


def make_links(path: Path) -> Path:
    """Soft, hard (dataset and group, with a cycle) and external links."""
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data["x"] = np.arange(10, dtype="<f8")
        data["x"].attrs["kind"] = "hard linked twice"
        data["y"] = np.frombuffer(b"byte dataset\n", dtype=np.uint8)
        other = f.create_group("other")
        other["x_again"] = data["x"]            # dataset with two names: st_nlink 2

        g = f.create_group("g")
        g.attrs["purpose"] = "links"
        sub = g.create_group("sub")
        sub["abs_link"] = h5py.SoftLink("/data/x")      # -> ../../data/x
        g["to_group"] = h5py.SoftLink("/other")         # -> ../other
        g["to_root"] = h5py.SoftLink("/")               # -> ..
        g["rel_link"] = h5py.SoftLink("sub")            # verbatim
        g["dangling_abs"] = h5py.SoftLink(DANGLING_ABS)  # verbatim, dangles
        g["dangling_rel"] = h5py.SoftLink(DANGLING_REL)  # verbatim, dangles

        shared = f.create_group("shared")
        shared["inside"] = np.arange(3, dtype="<i2")
        sub["shared_again"] = shared                    # group hard link: a symlink to /shared
        sub["loop"] = g                                 # a cycle: /g/sub/loop -> /g

        ext = f.create_group("ext")
        ext["e1"] = h5py.ExternalLink("ext.h5", "/payload")
        ext["e2"] = h5py.ExternalLink("sub/ext2.h5", "/group")
        ext["e3"] = h5py.ExternalLink("50%.h5", "/v")
        ext["missing"] = h5py.ExternalLink("nonexistent_h5mount_test.h5", "/x")
    return path


def make_names(path: Path) -> Path:
    """Names that cannot be file names, and real objects that shadow sidecars."""
    with h5py.File(path, "w") as f:
        f["ok"] = np.frombuffer(b"fine\n", dtype=np.uint8)
        f[LONG_NAME] = np.frombuffer(b"too long\n", dtype=np.uint8)
        f[MAX_NAME] = np.frombuffer(b"just fits\n", dtype=np.uint8)
        f.create_group("G" * 260)["child"] = np.int32(1)

        f["x"] = np.arange(4, dtype="<i4")
        f["x"].attrs["hidden_by"] = "x.attrs"
        f["x.attrs"] = np.frombuffer(b"real object\n", dtype=np.uint8)

        g = f.create_group("g")
        g.attrs["group_attr"] = np.int16(-3)
        g[".attrs"] = np.frombuffer(b"real dot attrs\n", dtype=np.uint8)

        h = f.create_group("h")
        h.attrs["colour"] = "blue"
        h.attrs["h5mount.uid"] = np.uint32(0)      # reserved: not shown

        f["plain"] = np.frombuffer(b"only reserved attributes\n", dtype=np.uint8)
        f["plain"].attrs["h5mount.mtime"] = np.int64(0)
        f["tagged"] = np.frombuffer(b"byte dataset with an attribute\n", dtype=np.uint8)
        f["tagged"].attrs["source"] = "names.h5"
        f["with space and ünïcode"] = np.frombuffer(b"odd name\n", dtype=np.uint8)
    return path


def make_vds(root: Path) -> Path:
    """A virtual dataset over two sources, the second missing: it reads as the fill value."""
    with h5py.File(root / "vds_a.h5", "w") as f:
        f["data"] = np.arange(20, dtype="<i4").reshape(4, 5)
    with h5py.File(root / "vds_b.h5", "w") as f:
        f["data"] = np.arange(100, 120, dtype="<i4").reshape(4, 5)
    layout = h5py.VirtualLayout(shape=(8, 5), dtype="<i4")
    layout[0:4] = h5py.VirtualSource("vds_a.h5", "data", shape=(4, 5))
    layout[4:8] = h5py.VirtualSource("vds_b.h5", "data", shape=(4, 5))
    path = root / "vds.h5"
    with h5py.File(path, "w") as f:
        f.create_virtual_dataset("stack", layout, fillvalue=-1)
    os.remove(root / "vds_b.h5")
    return path


def make_tree_source(root: Path, rng) -> Path:
    """A small source tree: nested dirs, text, binary, empty and oddly named files."""
    if root.exists():
        shutil.rmtree(root)
    (root / "a" / "b").mkdir(parents=True)
    (root / "with space").mkdir()
    (root / "empty_dir").mkdir()
    (root / "README.txt").write_text("h5mount test tree\n" * 20)
    (root / "data.bin").write_bytes(rng.integers(0, 256, 3 * 2**20 + 17, dtype=np.uint8).tobytes())
    (root / "empty.txt").write_bytes(b"")
    (root / "a" / "script.py").write_text("print('hello')\n")
    (root / "a" / "b" / "deep.txt").write_text("deep\n" * 1000)
    (root / "with space" / "ünï cödé.txt").write_text("unicode name\n")
    return root


def pack_tree(src: Path, dest: Path) -> Path:
    """Packs a directory like the seed's h5zip: the directory becomes a group of its name,
    directories -> groups, each file a gzip-9 uint8 dataset (empty files: an empty
    contiguous dataset, which cannot be chunked)."""
    with h5py.File(dest, "w") as f:
        top = f.require_group(src.name)
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            rel = os.path.relpath(dirpath, src)
            group = top if rel == "." else top.require_group(rel)
            for name in sorted(filenames):
                content = np.fromfile(os.path.join(dirpath, name), dtype=np.uint8)
                if content.size:
                    group.create_dataset(name, data=content, compression="gzip", compression_opts=9)
                else:
                    group.create_dataset(name, data=content)
            for name in dirnames:
                group.require_group(name)
    return dest
