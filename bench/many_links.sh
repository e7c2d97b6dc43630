#!/bin/bash
# Peak memory of the daemon listing a group of many soft links (docs/hdf5-store.md, "Many links").
#
#     bench/many_links.sh [BINARY] [LINKS]     # default .build/release/h5mount, 1000000
#
# Builds the fixture once (integration/absurd.py `links N`, under /tmp), mounts it
# `-o ro,cache_size=16M` in the foreground, runs `ls -f`, `find`, `ls -l` and `ls -l` again on
# the one mount, and prints the daemon's VmHWM, VmRSS and CPU seconds (utime + stime, its own
# threads only: the trial children are not counted) after each. Always unmounts.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$HERE/.build/release/h5mount}
LINKS=${2:-1000000}
FIXTURE=/tmp/h5mount-many-links-$LINKS.h5
[ -s "$FIXTURE" ] || "$HERE/.venv/bin/python" "$HERE/integration/absurd.py" "$FIXTURE" links "$LINKS"
MNT=$(mktemp -d /tmp/h5mount-many-links.XXXXXX)
"$BIN" -f -o ro,cache_size=16M "$FIXTURE" "$MNT" 2>"$MNT.log" &
PID=$!
cleanup() { fusermount3 -u "$MNT" 2>/dev/null || true; wait "$PID" || true; rmdir "$MNT"; rm -f "$MNT.log"; }
trap cleanup EXIT
for _ in $(seq 300); do grep -q " $MNT " /proc/self/mountinfo && break; sleep 0.1; done
report() {
    local memory cpu
    memory=$(awk '/^VmHWM|^VmRSS/ {printf "%s %d MiB  ", $1, $2 / 1024}' "/proc/$PID/status")
    cpu=$(awk '{printf "%.1f CPU-s", ($14 + $15) / 100}' "/proc/$PID/stat")
    echo "$1: $2 lines, $3 s  $memory$cpu"
}
run() {
    local label=$1 start lines
    shift
    start=$(date +%s)
    lines=$("$@" | wc -l)
    report "$label" "$lines" $(( $(date +%s) - start ))
}
run "ls -f" ls -f "$MNT/many"
run "find" find "$MNT"
run "ls -l" ls -l "$MNT/many"
run "ls -l again" ls -l "$MNT/many"
