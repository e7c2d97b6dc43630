"""The packing peer: the seed's h5zip script, as h5py code, timed inside its own process.

    h5zip.py TREE OUT.h5 LEVEL

Packs TREE into a new h5py default file OUT.h5: the top directory becomes a group of its
name, every directory a group, every regular file a 1-D uint8 dataset compressed with gzip
LEVEL (an empty file: an empty contiguous dataset, which cannot be chunked). Symbolic
links and special files are left out, as the seed's script does (it packs regular files).

Prints one JSON object: seconds (from opening OUT.h5 to its close, interpreter start and
imports excluded, as every h5py peer of the benchmark), files, groups, bytes (of file
content), skipped (entries that are neither regular files nor directories).
"""

import json
import os
import stat
import sys
import time

import h5py
import numpy as np


def pack(tree: str, out: str, level: int) -> dict:
    files = groups = skipped = total = 0
    t0 = time.perf_counter()
    with h5py.File(out, "w") as f:
        top = f.create_group(os.path.basename(os.path.normpath(tree)))
        groups += 1
        for dirpath, dirnames, filenames in os.walk(tree):
            dirnames.sort()
            rel = os.path.relpath(dirpath, tree)
            group = top if rel == "." else top[rel]
            for name in dirnames:
                if os.path.islink(os.path.join(dirpath, name)):
                    skipped += 1          # os.walk does not descend into it either
                else:
                    group.create_group(name)
                    groups += 1
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    skipped += 1
                    continue
                with open(path, "rb") as handle:
                    content = np.frombuffer(handle.read(), dtype=np.uint8)
                if content.size:
                    group.create_dataset(name, data=content, compression="gzip", compression_opts=level)
                else:
                    group.create_dataset(name, data=content)
                files += 1
                total += content.size
    return {"seconds": time.perf_counter() - t0, "files": files, "groups": groups, "bytes": total,
            "skipped": skipped}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or not argv[3].isdigit() or not 0 <= int(argv[3]) <= 9:
        print(__doc__, file=sys.stderr)
        return 2
    if os.path.exists(argv[2]):
        print(f"h5zip: {argv[2]} exists", file=sys.stderr)
        return 1
    print(json.dumps(pack(argv[1], argv[2], int(argv[3]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
