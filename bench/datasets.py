"""The benchmark's containers: generated once, deterministically, into a data directory.

Each container is written under a temporary name and renamed when complete, next to a
`.json` stamp holding the parameters it was made with, so an interrupted or outdated
container is regenerated and a complete one is reused (H5MOUNT_BENCH_DATA keeps them
between runs).

- seed stack: 512x512x512 uint16 (`/stack`), chunks (1,512,512), gzip 4. A synthetic
  phantom: 12 spheres of constant densities over a zero background; slices no sphere
  reaches are left unwritten (the seed's own generator is not in the repository; this one
  is calibrated so that h5py reads it about as fast as FACTS.md measured for the seed's
  stack, bench/README.md "Seed data").
- detector stacks: F frames of 2048x2048 uint16 Poisson(0.5) noise (`/entry/data/data`),
  one chunk per frame, stored three ways: gzip 4, bitshuffle+LZ4 (hdf5plugin, filter 32008)
  and uncompressed. The same frames go into all three.
- tree: ~3,000 small files in nested directories (text of words from a fixed vocabulary,
  one in ten random bytes), packed as the seed's h5zip does: the top directory becomes a
  group of its name, directories are groups, each file a 1-D uint8 dataset, gzip 9 (an
  empty file: an empty contiguous dataset, which cannot be chunked).
- source tree (the write figures): a copy of this machine's Python standard library
  (`sysconfig.get_paths()["stdlib"]`) as it is -- regular files, directories and
  symbolic links, modes and times kept -- without `site-packages`/`dist-packages` (the
  installed packages, not the standard library) and `__pycache__` directories; about
  2,450 files, 102 MB for Python 3.11. Quick mode copies a few of its packages only.
- VDS (`ensure_vds`): the gzip detector stack's frames split over 4 source files
  (`vds_F/src_{0..3}.h5`, F/4 frames each, the chunks copied as stored: one per frame,
  gzip 4) and `vds_F/master.h5`, whose `/entry/data/data` is a virtual dataset over them
  (relative source names, as h5py writes them).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

FRAME = 2048
SEED_SIDE = 512


@dataclass(frozen=True)
class Scale:
    frames: int          # detector frames
    seed_slices: int     # slices of the seed stack
    tree_files: int      # files in the packed tree
    random_reads: int    # reads per random-latency run


FULL = Scale(frames=200, seed_slices=512, tree_files=3000, random_reads=2000)
QUICK = Scale(frames=50, seed_slices=128, tree_files=600, random_reads=500)


@dataclass(frozen=True)
class Container:
    """A generated container and the dataset inside it that the figures read."""
    path: Path
    dataset: str            # HDF5 path, e.g. "/entry/data/data"
    nbytes: int             # logical size of that dataset (its raw-array file's size)
    shape: tuple[int, ...]
    dtype: str

    @property
    def inner(self) -> str:
        """Where the dataset appears inside a mount of the container."""
        return self.dataset.lstrip("/")


@dataclass(frozen=True)
class DataSet:
    seed: Container
    gzip: Container
    bslz4: Container
    none: Container
    tree: Path


def _stamped(path: Path, params: dict, make) -> Path:
    """Runs make(tmp_path, final_name) unless `path` exists with a stamp equal to `params`."""
    stamp = path.with_suffix(".json")
    if path.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == params:
                return path
        except (OSError, ValueError):
            pass
    tmp = path.with_name(path.name + ".partial")
    for p in (path, stamp, tmp):
        if p.exists():
            p.unlink()
    make(tmp, path.name)
    os.replace(tmp, path)
    stamp.write_text(json.dumps(params, indent=1) + "\n")
    return path


def _write_seed(out: Path, name: str, slices: int, log) -> None:
    """A synthetic phantom calibrated to the seed's stack (bench/README.md, "Seed data"):
    spheres of constant densities (no noise) over a zero background, in a slab in the middle
    of the stack; slices the slab does not reach are never written (unallocated chunks, read
    as the fill value 0), as when only the region holding the sample is stored."""
    log(f"generating {name}: {slices}x{SEED_SIDE}x{SEED_SIDE} uint16, gzip 4")
    rng = np.random.default_rng(512)
    n = SEED_SIDE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    scale = n / max(slices, 1)   # spheres stay round in quick mode (fewer slices)
    spheres = [(rng.uniform(0.2, 0.8) * slices, rng.uniform(100, 412), rng.uniform(100, 412),
                rng.uniform(40, 140), int(rng.uniform(200, 1500))) for _ in range(12)]
    with h5py.File(out, "w") as f:
        ds = f.create_dataset("stack", shape=(slices, n, n), dtype="<u2", chunks=(1, n, n),
                              compression="gzip", compression_opts=4, fillvalue=0)
        for z in range(slices):
            density = np.zeros((n, n), dtype=np.uint16)
            touched = False
            for cz, cy, cx, r, level in spheres:
                dz = (z - cz) * scale
                if abs(dz) >= r:
                    continue
                touched = True
                density[(yy - cy) ** 2 + (xx - cx) ** 2 + dz * dz < r * r] += level
            if touched:
                ds[z] = density


def _write_detector(outs: dict[str, Path], frames: int, log) -> None:
    log(f"generating detector stacks: {frames}x{FRAME}x{FRAME} uint16 Poisson(0.5), gzip 4 / bslz4 / none")
    rng = np.random.default_rng(2048)
    filters = {
        "gzip": dict(compression="gzip", compression_opts=4),
        "bslz4": dict(**hdf5plugin.Bitshuffle(nelems=0, cname="lz4")),
        "none": {},
    }
    files = {kind: h5py.File(path, "w") for kind, path in outs.items()}
    try:
        sets = {}
        for kind, f in files.items():
            sets[kind] = f.create_dataset("entry/data/data", shape=(frames, FRAME, FRAME), dtype="<u2",
                                          chunks=(1, FRAME, FRAME), **filters[kind])
        for i in range(frames):
            frame = rng.poisson(0.5, (FRAME, FRAME)).astype("<u2")
            for ds in sets.values():
                ds[i] = frame
    finally:
        for f in files.values():
            f.close()


_WORDS = ("import return self def class for while the data value chunk frame group dataset read write "
          "open close buffer offset index shape dtype numpy array print error raise except try with as "
          "from lambda yield assert none true false path file name size count list dict set tuple int "
          "float string bytes encode decode filter gzip level cache thread lock mount kernel page").split()


def _make_tree_source(root: Path, files: int) -> None:
    rng = np.random.default_rng(3000)
    dirs = [Path(".")]
    # About one directory per 15 files, up to 4 levels deep.
    for i in range(max(files // 15, 1)):
        parent = dirs[int(rng.integers(0, len(dirs)))]
        if len(parent.parts) >= 4:
            parent = Path(".")
        dirs.append(parent / f"pkg{i:03d}")
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    words = np.array(_WORDS)
    for i in range(files):
        d = dirs[int(rng.integers(0, len(dirs)))]
        size = int(min(np.exp(rng.normal(8.0, 1.2)), 256 * 1024))
        if i % 10 == 9:
            content = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
            name = f"blob{i:04d}.bin"
        else:
            picked = words[rng.integers(0, len(words), size // 5 + 1)]
            text = " ".join(picked.tolist())
            lines = [text[j:j + 72] for j in range(0, len(text), 72)]
            content = ("\n".join(lines)[:size] + "\n").encode()
            name = f"mod{i:04d}.py"
        (root / d / name).write_bytes(content if i % 97 else b"")   # a few empty files


def _pack_tree(src: Path, dest: Path) -> None:
    """The seed's h5zip: directories -> groups, each file a gzip-9 uint8 dataset."""
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


def _write_tree(out: Path, name: str, files: int, log) -> None:
    log(f"generating {name}: {files} small files packed like h5zip (gzip 9)")
    work = out.with_name("tree-source.tmp")
    if work.exists():
        shutil.rmtree(work)
    try:
        src = work / "tree"
        _make_tree_source(src, files)
        _pack_tree(src, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure(data_dir: Path, scale: Scale, log=print) -> DataSet:
    """Generates what is missing or outdated in data_dir; returns the containers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    version = 1   # bump when a generator changes what it writes
    seed_version = 2   # the seed phantom's own (2: constant spheres, empty slices unwritten)
    seed_path = data_dir / f"seed_{scale.seed_slices}.h5"
    _stamped(seed_path, {"version": seed_version, "slices": scale.seed_slices},
             lambda tmp, name: _write_seed(tmp, name, scale.seed_slices, log))

    kinds = ("gzip", "bslz4", "none")
    det = {k: data_dir / f"detector_{scale.frames}_{k}.h5" for k in kinds}
    params = {"version": version, "frames": scale.frames}
    stamps_ok = all(p.exists() and p.with_suffix(".json").exists()
                    and json.loads(p.with_suffix(".json").read_text()) == params for p in det.values())
    if not stamps_ok:
        tmps = {k: p.with_name(p.name + ".partial") for k, p in det.items()}
        for p in list(det.values()) + [p.with_suffix(".json") for p in det.values()] + list(tmps.values()):
            if p.exists():
                p.unlink()
        _write_detector(tmps, scale.frames, log)
        for k, p in det.items():
            os.replace(tmps[k], p)
            p.with_suffix(".json").write_text(json.dumps(params, indent=1) + "\n")

    tree_path = data_dir / f"tree_{scale.tree_files}.h5"
    _stamped(tree_path, {"version": version, "files": scale.tree_files},
             lambda tmp, name: _write_tree(tmp, name, scale.tree_files, log))

    n = SEED_SIDE
    seed = Container(seed_path, "/stack", scale.seed_slices * n * n * 2, (scale.seed_slices, n, n), "<u2")
    shape = (scale.frames, FRAME, FRAME)
    nbytes = scale.frames * FRAME * FRAME * 2
    return DataSet(seed=seed,
                   gzip=Container(det["gzip"], "/entry/data/data", nbytes, shape, "<u2"),
                   bslz4=Container(det["bslz4"], "/entry/data/data", nbytes, shape, "<u2"),
                   none=Container(det["none"], "/entry/data/data", nbytes, shape, "<u2"),
                   tree=tree_path)


VDS_SOURCES = 4


def _write_vds(out_dir: Path, gzip: Container, log) -> None:
    """Source files hold the detector stack's stored chunks, copied with direct chunk
    reads and writes (same bytes, no recompression); the master maps them in order."""
    frames = gzip.shape[0]
    per = frames // VDS_SOURCES
    log(f"generating a VDS over {VDS_SOURCES} files of {per} frames each (chunks of {gzip.path.name})")
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = h5py.VirtualLayout(shape=(per * VDS_SOURCES,) + gzip.shape[1:], dtype=gzip.dtype)
    with h5py.File(gzip.path, "r") as f:
        stack = f[gzip.dataset]
        for i in range(VDS_SOURCES):
            name = f"src_{i}.h5"
            with h5py.File(out_dir / name, "w") as out:
                ds = out.create_dataset(gzip.dataset, shape=(per,) + gzip.shape[1:], dtype=gzip.dtype,
                                        chunks=(1,) + gzip.shape[1:], compression="gzip", compression_opts=4)
                for j in range(per):
                    mask, chunk = stack.id.read_direct_chunk((i * per + j, 0, 0))
                    ds.id.write_direct_chunk((j, 0, 0), chunk, mask)
            layout[i * per:(i + 1) * per] = h5py.VirtualSource(name, gzip.dataset, shape=(per,) + gzip.shape[1:])
    with h5py.File(out_dir / "master.h5", "w") as f:
        f.create_virtual_dataset(gzip.dataset, layout, fillvalue=0)


def ensure_vds(data_dir: Path, gzip: Container, log=print) -> tuple[Container, list[Path]]:
    """The VDS container (master) and every file its reads touch (master and sources)."""
    out_dir = data_dir / f"vds_{gzip.shape[0]}"
    master = out_dir / "master.h5"
    sources = [out_dir / f"src_{i}.h5" for i in range(VDS_SOURCES)]
    stamp = out_dir / "vds.json"
    params = {"version": 1, "frames": gzip.shape[0], "from": gzip.path.name}
    current = all(p.exists() for p in [master] + sources) and stamp.exists()
    if not current or json.loads(stamp.read_text()) != params:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        _write_vds(out_dir, gzip, log)
        stamp.write_text(json.dumps(params, indent=1) + "\n")
    per = gzip.shape[0] // VDS_SOURCES
    shape = (per * VDS_SOURCES,) + gzip.shape[1:]
    nbytes = int(np.prod(shape)) * np.dtype(gzip.dtype).itemsize
    return Container(master, gzip.dataset, nbytes, shape, gzip.dtype), [master] + sources


# ---------------------------------------------------------------- the source tree


@dataclass(frozen=True)
class SourceTree:
    """A directory tree the write figures pack; `path`'s name is the top directory."""
    path: Path
    files: int          # regular files
    directories: int    # directories below the top one
    symlinks: int
    nbytes: int         # bytes of the regular files

    def regular_files(self) -> list[Path]:
        out = []
        for dirpath, _dirnames, filenames in os.walk(self.path):
            for name in filenames:
                p = Path(dirpath, name)
                if stat.S_ISREG(p.lstat().st_mode):
                    out.append(p)
        return out


# Left out of the copy: installed packages (not the standard library; 700 MB here) and
# bytecode caches (which depend on what ran before).
_SKIPPED_DIRS = {"__pycache__", "site-packages", "dist-packages"}
# Quick mode: these packages of the standard library only (those that exist).
_QUICK_PACKAGES = ("asyncio", "email", "json", "xml", "unittest", "importlib", "http", "logging", "urllib")


def _copy_tree(src: Path, dest: Path, quick: bool) -> None:
    """Copies src to dest as `cp -a` would (symbolic links as links, modes and times),
    without the skipped directories and without special files (a FIFO would block)."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        left_out = set()
        top = Path(directory) == src
        for name in names:
            mode = os.lstat(os.path.join(directory, name)).st_mode
            if name in _SKIPPED_DIRS and stat.S_ISDIR(mode):
                left_out.add(name)
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                left_out.add(name)
            elif quick and top and name not in _QUICK_PACKAGES:
                left_out.add(name)
        return left_out
    # copy2 keeps a file's mode and times; copytree sets a directory's once it is complete.
    shutil.copytree(src, dest, symlinks=True, ignore=ignore, copy_function=shutil.copy2)


def _count(root: Path) -> SourceTree:
    files = directories = symlinks = nbytes = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISLNK(info.st_mode):
                symlinks += 1
            elif stat.S_ISDIR(info.st_mode):
                directories += 1
            elif stat.S_ISREG(info.st_mode):
                files += 1
                nbytes += info.st_size
    return SourceTree(root, files, directories, symlinks, nbytes)


def ensure_source_tree(data_dir: Path, quick: bool, log=print) -> SourceTree:
    """The standard library copy under data_dir/stdlib_{full,quick}/NAME, copied once;
    copied again when the stamp (source, Python version, mode) differs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    src = Path(sysconfig.get_paths()["stdlib"]).resolve()
    holder = data_dir / ("stdlib_quick" if quick else "stdlib_full")
    stamp = holder.with_suffix(".json")
    params = {"version": 1, "source": str(src), "python": sys.version.split()[0], "quick": quick}
    dest = holder / src.name
    if dest.is_dir() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == params:
                return _count(dest)
        except (OSError, ValueError):
            pass
    log(f"copying the standard library {src} to {dest}" + (" (a few packages: quick)" if quick else ""))
    if stamp.exists():
        stamp.unlink()
    partial = holder.with_name(holder.name + ".partial")
    for p in (holder, partial):
        if p.exists():
            shutil.rmtree(p)
    partial.mkdir()
    _copy_tree(src, partial / src.name, quick)
    os.replace(partial, holder)
    stamp.write_text(json.dumps(params, indent=1) + "\n")
    return _count(dest)
