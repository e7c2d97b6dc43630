#!/bin/bash
# Runs h5fuzz targets for a bounded time each (docs/fuzzing.md):
#   fuzz/run.sh SECONDS [TARGET...]       (default: every target)
# Each target starts from its committed seeds (fuzz/corpus/TARGET, never written to) plus
# what earlier runs found (.build-fuzz/corpus/TARGET). A crash, a broken invariant, a
# timeout or a leak stops that target; its input is kept as .build-fuzz/findings/TARGET-*,
# and the script goes on with the others and fails at the end.
set -u
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
binary=${H5FUZZ_BIN:-.build-fuzz/debug/h5fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(deflate shuffle fletcher32 lz4 bitshuffle pipeline json sidecar)
[ -x "$binary" ] || { echo "fuzz/run.sh: $binary missing: make fuzz-build" >&2; exit 2; }
mkdir -p .build-fuzz/findings

failed=()
for target in "${targets[@]}"; do
    [ -d "fuzz/corpus/$target" ] || { echo "fuzz/run.sh: no seeds for $target" >&2; failed+=("$target"); continue; }
    work=.build-fuzz/corpus/$target
    mkdir -p "$work"
    log=.build-fuzz/findings/$target.log
    # Swift's own backtracer and ASan's report fight over a crash: keep ASan's.
    SWIFT_BACKTRACE=enable=no H5FUZZ_TARGET=$target "$binary" \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/findings/$target-" "$work" "fuzz/corpus/$target" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $status -eq 0 ]; then
        printf 'fuzz %-11s ok    %8s runs in %ss, %s\n' "$target" "${runs:-?}" "$seconds" "${coverage:-cov: ?}"
    else
        printf 'fuzz %-11s FAILED (exit %s), see %s:\n' "$target" "$status" "$log"
        grep -E -m 8 'invariant broken|ERROR: |SUMMARY|Test unit written|^    #[0-9]+ .* in \$s' "$log" | sed 's/^/    /'
        failed+=("$target")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]} (replay: H5FUZZ_TARGET=NAME $binary FILE)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash, no broken invariant"
