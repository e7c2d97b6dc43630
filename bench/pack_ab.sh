#!/bin/bash
# Interleaved A/B of h5mount binaries packing a tree (docs/write-path.md, "Through the mount"):
# each round runs every binary once, in turn (`h5mount C MNT; cp -a TREE MNT/; h5mount -u
# MNT`, a new container each time, `sync` first), so a slow spell of a shared machine hits
# all of them alike; then prints the medians. Not part of `make bench`.
#
#   bench/pack_ab.sh TREE ROUNDS NAME=BINARY [NAME=BINARY ...]
#
# Per run: seconds of `cp -a`, seconds until `-u` returned, the daemon's CPU seconds (user +
# system, read from /proc before `-u`). Work files go to ${PACK_AB_DIR:-/tmp/pack-ab}.
set -eu
if [ $# -lt 3 ]; then sed -n '2,10p' "$0"; exit 2; fi
tree=$1 rounds=$2; shift 2
work=${PACK_AB_DIR:-/tmp/pack-ab}
container=$work/c.h5 mountpoint=$work/mnt results=$work/results.txt
mkdir -p "$mountpoint"
: > "$results"
now() { date +%s.%N; }
for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*} binary=${spec#*=}
    rm -rf "$container" "$container.h5mount-work"
    sync
    "$binary" "$container" "$mountpoint"
    pid=$(getfattr --absolute-names --only-values -n user.h5mount.pid "$mountpoint")
    t0=$(now)
    if ! cp -a "$tree" "$mountpoint/"; then "$binary" -u "$mountpoint"; exit 1; fi
    t1=$(now)
    cpu=$(awk '{ print ($14 + $15) / 100 }' "/proc/$pid/stat")
    "$binary" -u "$mountpoint" > /dev/null
    t2=$(now)
    echo "$name $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t0" | bc) $cpu" >> "$results"
  done
done
python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, *values = line.split()
    runs.setdefault(name, []).append([float(v) for v in values])
for name, rows in runs.items():
    cp, total, cpu = (statistics.median(column) for column in zip(*rows))
    print(f"{name}: medians of {len(rows)}: cp -a {cp:.2f} s, until -u returned {total:.2f} s, daemon {cpu:.2f} CPU-s"
          f" (each run: {' '.join(f'{row[1]:.2f}' for row in rows)})")
PY
