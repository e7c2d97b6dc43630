#!/usr/bin/env bash
# make demo: mount a sample container, look around with ordinary tools, unmount.
# Always unmounts (trap), whatever fails on the way.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${H5MOUNT_BIN:-$root/.build/debug/h5mount}
py=${H5MOUNT_PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d /tmp/h5mount-demo.XXXXXX)
mnt=$work/mnt

mounted() { grep -qs " $mnt fuse" /proc/self/mounts; }

cleanup() {
    if mounted; then
        "$bin" -u "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" || true
    fi
    # Never delete through a live mount.
    if ! mounted; then rm -rf "$work"; else echo "demo: $mnt is still mounted; left $work" >&2; fi
}
trap cleanup EXIT

show() { printf '\n$ %s\n' "$*"; "$@"; }
h5mount() { "$bin" "$@"; }   # so the transcript reads like what a user types

"$py" "$root/scripts/make_sample.py" "$work/sample.h5"
mkdir "$mnt"
cd "$work"

show h5mount sample.h5 mnt
show ls -lR mnt
show cat mnt/entry/instrument/detector/data.attrs
show cat mnt/entry/title
show readlink mnt/entry/detector
show stat -c '%n: inode %i, %h links' mnt/entry/data/data mnt/entry/instrument/detector/data
show cat mnt/.attrs
printf '\n$ python3 -c "numpy.fromfile(...)"   # frame 3 of the stack, dtype and shape from the sidecar\n'
"$py" - <<'PY'
import json, numpy
path = "mnt/entry/instrument/detector/data"
side = json.load(open(path + ".attrs"))
stack = numpy.fromfile(path, dtype=numpy.dtype(side["dtype"])).reshape(side["shape"])
frame = stack[3]
print(f"dtype {side['dtype']}, shape {side['shape']}, filters {[f['name'] for f in side['filters']]}")
print(f"frame 3: min {frame.min()}, max {frame.max()}, mean {frame.mean():.2f}")
PY
show getfattr -d mnt/entry/instrument/detector/data mnt/entry
show h5mount -u mnt
