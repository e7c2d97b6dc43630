"""The namespace a mount shows: listings, stat, links, extended attributes, sidecars of
groups, shadowing and names that cannot be file names (docs/mapping.md)."""

from __future__ import annotations

import json
import os
import posixpath
import stat

import h5py
import numpy as np
import pytest

import fixtures
import oracle
from mounting import run
from oracle import Problems


def found_listing(mnt: str) -> dict[str, str]:
    result = run(["find", mnt, "-mindepth", "1", "-printf", r"%y %P\0"], timeout=120, binary=True)
    if result.returncode != 0:
        pytest.fail(f"find {mnt} exited with {result.returncode}: {result.stderr.decode(errors='replace')}",
                    pytrace=False)
    out = {}
    for item in result.stdout.split(b"\0"):
        if item:
            kind, _, rel = item.decode("utf-8", "surrogateescape").partition(" ")
            out[rel] = kind
    return out


def test_find_and_ls_show_exactly_the_model(mounter, containers):
    """`find` lists every object, link and sidecar, with the right type, and nothing else;
    `ls -lR` walks the same tree without an error (cycles included)."""
    problems = Problems()
    for container in containers:
        model = oracle.walk(container)
        with mounter.mounted(container) as mnt:
            found = {rel: kind for rel, kind in found_listing(mnt.path).items()
                     if rel != ".external" and not rel.startswith(".external/")
                     and rel not in model.optional}
            want = model.listing()
            name = os.path.basename(container)
            for rel in sorted(set(want) - set(found)):
                problems.append(f"{name}: missing {rel} ({want[rel]})")
            for rel in sorted(set(found) - set(want)):
                problems.append(f"{name}: unexpected {rel} ({found[rel]})")
            for rel in sorted(set(found) & set(want)):
                if found[rel] != want[rel]:
                    problems.append(f"{name}: {rel} is {found[rel]!r}, expected {want[rel]!r}")
            ls = run(["ls", "-lR", mnt.path], timeout=120)
            if ls.returncode != 0 or ls.stderr:
                problems.append(f"{name}: ls -lR exited with {ls.returncode}: {ls.stderr[:500]}")
    problems.check()


def test_stat_modes_owner_links_and_inodes(mounter, containers):
    """0755 directories, 0444 files (read-only mount), symlinks, owner = the mounting user,
    st_nlink 2 for directories and the object's reference count for datasets, one st_ino
    per object."""
    problems = Problems()
    uid, gid = os.getuid(), os.getgid()
    for container in containers:
        model = oracle.walk(container)
        name = os.path.basename(container)
        with mounter.mounted(container, "-o", "ro") as mnt:
            inode_owner: dict[int, object] = {}
            items = [(rel, model.entries.get(rel)) for rel in model.listing()] + [("", model.entries[""])]
            for rel, entry in items:
                path = os.path.join(mnt.path, rel)
                try:
                    st = os.lstat(path)
                except OSError as error:
                    problems.append(f"{name}: lstat {rel}: {error}")
                    continue
                if (st.st_uid, st.st_gid) != (uid, gid):
                    problems.append(f"{name}: {rel} owned by {st.st_uid}:{st.st_gid}, expected {uid}:{gid}")
                mode = stat.S_IMODE(st.st_mode)
                kind = entry.kind if entry is not None else "sidecar"
                if kind == "dir":
                    if not stat.S_ISDIR(st.st_mode) or mode != 0o755 or st.st_nlink != 2:
                        problems.append(f"{name}: dir {rel!r} mode {oct(st.st_mode)} nlink {st.st_nlink}")
                elif kind in ("dataset", "sidecar"):
                    if not stat.S_ISREG(st.st_mode) or mode != 0o444:
                        problems.append(f"{name}: file {rel} mode {oct(st.st_mode)}, expected 0o100444")
                    want_links = entry.refcount if kind == "dataset" else 1
                    if st.st_nlink != want_links:
                        problems.append(f"{name}: {rel} st_nlink {st.st_nlink}, expected {want_links}")
                else:
                    if not stat.S_ISLNK(st.st_mode):
                        problems.append(f"{name}: {rel} ({kind}) is not a symlink: {oct(st.st_mode)}")
                if kind in ("dataset", "dir", "sidecar"):
                    # A sidecar is its object's: the hard links of a dataset share one.
                    identity = (entry.address if kind != "sidecar"
                                else ("attrs", model.entries[model.sidecars[rel]].address))
                    previous = inode_owner.setdefault(st.st_ino, identity)
                    if previous != identity:
                        problems.append(f"{name}: st_ino {st.st_ino} shared by {rel} and another object")
            for addr, paths in model.dataset_paths.items():
                inodes = {os.lstat(os.path.join(mnt.path, p)).st_ino for p in paths}
                if len(inodes) != 1:
                    problems.append(f"{name}: hard links {paths} have inodes {inodes}")
    problems.check()


def test_times_fall_back_to_the_container_mtime(mounter, features):
    """h5py writes no object times: every node shows the container's modification time."""
    container = features.types
    want = int(os.stat(container).st_mtime)
    with mounter.mounted(container) as mnt:
        for rel in ("", "ints", "ints/u16", "ints/u16.attrs", "floats/f32"):
            st = os.lstat(os.path.join(mnt.path, rel))
            assert int(st.st_mtime) == want, f"{rel}: mtime {st.st_mtime}, container {want}"


def test_hard_linked_dataset_is_one_inode(mounter, features):
    with mounter.mounted(features.links) as mnt:
        a, b = os.stat(mnt / "data/x"), os.stat(mnt / "other/x_again")
        assert a.st_ino == b.st_ino
        assert a.st_nlink == b.st_nlink == 2
        assert (mnt / "data/x").read_bytes() == (mnt / "other/x_again").read_bytes() \
            == np.arange(10, dtype="<f8").tobytes()


def test_soft_links_read_back_as_the_contract_says(mounter, containers):
    """Absolute targets inside the file -> a relative path that resolves to the same object
    in the mount; anything else verbatim; dangling links dangle."""
    problems = Problems()
    for container in containers:
        model = oracle.walk(container)
        name = os.path.basename(container)
        soft = [e for e in model.entries.values() if e.kind == "softlink" and e.rel not in model.optional]
        if not soft:
            continue
        with mounter.mounted(container) as mnt, h5py.File(container) as f:
            for entry in soft:
                path = os.path.join(mnt.path, entry.rel)
                try:
                    text = os.readlink(path)
                except OSError as error:
                    problems.append(f"{name}: readlink {entry.rel}: {error}")
                    continue
                value = entry.link_value
                target = _resolve_in_file(f, posixpath.dirname(entry.h5path), value)
                if value.startswith("/") and target is not None:
                    if text.startswith("/"):
                        problems.append(f"{name}: {entry.rel} -> {text!r}: absolute, should be relative")
                    want_rel = _mount_path_of(model, target)
                    if want_rel is None:
                        continue
                    try:
                        same = os.stat(path).st_ino == os.stat(os.path.join(mnt.path, want_rel)).st_ino
                    except OSError as error:
                        problems.append(f"{name}: {entry.rel} -> {text!r} does not resolve: {error}")
                        continue
                    if not same:
                        problems.append(f"{name}: {entry.rel} -> {text!r} does not lead to /{want_rel}")
                else:
                    if text != value:
                        problems.append(f"{name}: {entry.rel} reads {text!r}, expected {value!r} verbatim")
                    if target is None and os.path.exists(path) and not value.startswith("/"):
                        problems.append(f"{name}: dangling {entry.rel} -> {value!r} resolves in the mount")
    problems.check()


def _resolve_in_file(f, h5_dir: str, value: str):
    """The object a soft link value leads to, if it is an object of this file."""
    if isinstance(h5_dir, bytes):
        h5_dir = h5_dir.decode("utf-8", "surrogateescape")
    target = value if value.startswith("/") else posixpath.join(h5_dir, value)
    try:
        obj = f.get(target)
    except Exception:
        return None
    if obj is None or obj.file.filename != f.filename:
        return None
    return obj


def _mount_path_of(model: oracle.Model, obj) -> str | None:
    addr = oracle.object_address(obj)
    if isinstance(obj, h5py.Group):
        return model.group_dirs.get(addr)
    paths = model.dataset_paths.get(addr)
    return paths[0] if paths else None


def test_soft_link_texts(mounter, features):
    with mounter.mounted(features.links) as mnt:
        assert os.readlink(mnt / "g/sub/abs_link") == "../../data/x"
        assert os.readlink(mnt / "g/to_group") == "../other"
        assert os.path.realpath(mnt / "g/to_root") == mnt.path
        assert os.readlink(mnt / "g/rel_link") == "sub"
        assert os.readlink(mnt / "g/dangling_abs") == fixtures.DANGLING_ABS
        assert os.readlink(mnt / "g/dangling_rel") == fixtures.DANGLING_REL
        assert not os.path.exists(mnt / "g/dangling_rel")
        assert (mnt / "g/sub/abs_link").read_bytes() == np.arange(10, dtype="<f8").tobytes()
        assert sorted(os.listdir(mnt / "g/to_group")) == ["x_again", "x_again.attrs"]


def test_group_hard_links_are_symlinks_to_the_canonical_directory(mounter, containers):
    problems = Problems()
    for container in containers:
        model = oracle.walk(container)
        links = [e for e in model.entries.values() if e.kind == "grouplink" and e.rel not in model.optional]
        if not links:
            continue
        name = os.path.basename(container)
        with mounter.mounted(container) as mnt:
            for entry in links:
                path = os.path.join(mnt.path, entry.rel)
                canonical = os.path.join(mnt.path, entry.canonical)
                if not os.path.islink(path):
                    problems.append(f"{name}: {entry.rel} (group seen before at /{entry.canonical}) "
                                    "is not a symlink")
                elif os.path.realpath(path) != os.path.realpath(canonical):
                    problems.append(f"{name}: {entry.rel} -> {os.readlink(path)!r} does not lead to "
                                    f"/{entry.canonical}")
    problems.check()


def test_cycle_terminates_find(mounter, features):
    with mounter.mounted(features.links) as mnt:
        assert os.path.islink(mnt / "g/sub/loop")
        assert os.path.realpath(mnt / "g/sub/loop") == os.path.join(mnt.path, "g")
        assert os.path.islink(mnt / "g/sub/shared_again")
        assert os.path.realpath(mnt / "g/sub/shared_again") == os.path.join(mnt.path, "shared")
        assert os.path.isdir(mnt / "shared") and not os.path.islink(mnt / "shared")
        result = run(["find", mnt.path], timeout=60)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) < 100


def _escape_external(name: str) -> str:
    return name.replace("%", "%25").replace("/", "%2F")


def test_external_links_lead_into_dot_external(mounter, features):
    with mounter.mounted(features.links) as mnt:
        ext = os.path.join(mnt.path, ".external")
        for link, (file_name, obj) in (("ext/e1", ("ext.h5", "payload")),
                                      ("ext/e2", ("sub/ext2.h5", "group")),
                                      ("ext/e3", ("50%.h5", "v"))):
            path = mnt / link
            assert os.path.islink(path), link
            want = os.path.join(ext, _escape_external(file_name), obj)
            assert os.path.realpath(path) == want, f"{link} -> {os.readlink(path)}"
        assert (mnt / "ext/e1").read_bytes() == np.arange(6, dtype="<i4").tobytes()
        _, side = oracle.load_sidecar(os.path.join(ext, "ext.h5", "payload.attrs"))
        assert side["attributes"] == {"origin": "ext.h5"}
        assert os.listdir(mnt / "ext/e2") == ["leaf"]
        assert (mnt / "ext/e2/leaf").read_bytes() == b"leaf bytes"
        assert (mnt / "ext/e3").read_bytes() == np.float32(1.5).tobytes()
        assert os.path.isdir(os.path.join(ext, "sub%2Fext2.h5"))
        assert os.path.isdir(os.path.join(ext, "50%25.h5"))
        assert os.path.islink(mnt / "ext/missing")
        assert not os.path.exists(mnt / "ext/missing")
        # The external trees are read-only views like the main one.
        assert stat.S_IMODE(os.stat(os.path.join(ext, "ext.h5", "payload")).st_mode) == 0o444


def test_external_links_in_every_container(mounter, containers):
    problems = Problems()
    for container in containers:
        model = oracle.walk(container)
        links = [e for e in model.entries.values() if e.kind == "extlink" and e.rel not in model.optional]
        if not links:
            continue
        name = os.path.basename(container)
        with mounter.mounted(container) as mnt:
            for entry in links:
                path = os.path.join(mnt.path, entry.rel)
                file_name, obj = entry.external
                if not os.path.islink(path):
                    problems.append(f"{name}: external link {entry.rel} is not a symlink")
                    continue
                text = os.readlink(path)
                if "/.external/" + _escape_external(file_name) not in "/" + text:
                    problems.append(f"{name}: {entry.rel} -> {text!r}, expected a path into "
                                    f".external/{_escape_external(file_name)}")
    problems.check()


def test_extended_attributes(mounter, containers):
    """user.NAME for every attribute: text for string scalars, compact JSON otherwise;
    reserved h5mount.* attributes never show."""
    problems = Problems()
    for container in containers:
        model = oracle.walk(container)
        name = os.path.basename(container)
        with mounter.mounted(container) as mnt, h5py.File(container) as f:
            for entry in model.entries.values():
                if entry.kind not in ("dir", "dataset") or entry.rel in model.optional:
                    continue
                obj = f[entry.h5path]
                path = os.path.join(mnt.path, entry.rel)
                try:
                    listed = [n for n in os.listxattr(path) if n.startswith("user.")]
                except OSError as error:
                    problems.append(f"{name}: listxattr {entry.rel}: {error}")
                    continue
                want = ["user." + a for a in oracle.user_attribute_names(obj)
                        if len(("user." + a).encode()) <= 255]  # XATTR_NAME_MAX
                if sorted(listed) != sorted(want):
                    problems.append(f"{name}: {entry.rel or '/'} xattrs {sorted(listed)}, expected {sorted(want)}")
                for attr in oracle.user_attribute_names(obj):
                    if "user." + attr not in listed:
                        continue
                    try:
                        value = os.getxattr(path, "user." + attr)
                    except OSError as error:
                        if len(attr) + 5 <= 255:
                            problems.append(f"{name}: getxattr {entry.rel} user.{attr}: {error}")
                        continue
                    expected, tol = oracle.attribute_json(obj, attr)
                    if expected is oracle.SKIP:
                        continue
                    if oracle.attribute_is_scalar_string(obj, attr):
                        if value != expected.encode():
                            problems.append(f"{name}: {entry.rel} user.{attr} = {value!r}, expected text {expected!r}")
                        continue
                    try:
                        parsed = json.loads(value)
                    except ValueError:
                        problems.append(f"{name}: {entry.rel} user.{attr} is not JSON: {value[:80]!r}")
                        continue
                    if not oracle.json_equal(parsed, expected, tol):
                        problems.append(f"{name}: {entry.rel} user.{attr} = {value!r}, expected the JSON "
                                        f"of h5py's {expected!r}")
                    if not oracle.is_compact_json(value):
                        problems.append(f"{name}: {entry.rel} user.{attr} is not compact JSON: {value[:80]!r}")
    problems.check()


def test_getfattr_dump(mounter, features):
    with mounter.mounted(features.types) as mnt:
        result = run(["getfattr", "-d", "--absolute-names", mnt / "floats/f32"])
        assert result.returncode == 0, result.stderr
        assert 'user.units="counts"' in result.stdout
        assert 'user.scale="0.5"' in result.stdout
        assert "h5mount." not in result.stdout
        assert os.getxattr(mnt / "floats/f32", "user.shape_hint") == b"[3,4]"
        root = run(["getfattr", "-d", "--absolute-names", mnt.path])
        assert 'user.title="datatype zoo"' in root.stdout


def test_group_attribute_sidecars(mounter, features):
    with mounter.mounted(features.names) as mnt:
        _, side = oracle.load_sidecar(mnt / "h/.attrs")
        assert side["attributes"] == {"colour": "blue"}
        assert ".attrs" in os.listdir(mnt / "h")
        assert not os.path.exists(mnt / ".attrs"), "root has no attributes, so no sidecar"
    with mounter.mounted(features.types) as mnt:
        _, side = oracle.load_sidecar(mnt / ".attrs")
        assert side["attributes"] == {"title": "datatype zoo", "version": 3}


def test_real_objects_shadow_sidecars(mounter, features):
    with mounter.mounted(features.names) as mnt:
        assert (mnt / "x.attrs").read_bytes() == b"real object\n"
        assert os.getxattr(mnt / "x", "user.hidden_by") == b"x.attrs"
        assert (mnt / "g/.attrs").read_bytes() == b"real dot attrs\n"
        assert os.getxattr(mnt / "g", "user.group_attr") == b"-3"
        assert os.listdir(mnt / "g").count(".attrs") == 1


def test_sidecars_only_when_they_carry_something(mounter, features):
    with mounter.mounted(features.names) as mnt:
        names = set(os.listdir(mnt.path))
        assert "plain.attrs" not in names, "only reserved attributes: no sidecar"
        assert "tagged.attrs" in names
        _, side = oracle.load_sidecar(mnt / "tagged.attrs")
        assert side["attributes"] == {"source": "names.h5"}
        assert "ok.attrs" not in names


def test_names_that_cannot_be_file_names_are_left_out(mounter, features):
    with mounter.mounted(features.names) as mnt:
        names = os.listdir(mnt.path)
        assert fixtures.LONG_NAME not in names and "G" * 260 not in names
        assert "ok" in names and fixtures.MAX_NAME in names and "with space and ünïcode" in names
        assert (mnt / fixtures.MAX_NAME).read_bytes() == b"just fits\n"
        assert (mnt / "with space and ünïcode").read_bytes() == b"odd name\n"
        with pytest.raises(OSError):
            os.stat(os.path.join(mnt.path, fixtures.LONG_NAME))
        result = run(["ls", "-la", mnt.path])
        assert result.returncode == 0 and not result.stderr, result.stderr
