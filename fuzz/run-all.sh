#!/usr/bin/env bash
# Runs fuzz targets one after the other for SECONDS each (default 600) and prints one line per
# target: runs, coverage, and whether it crashed. Usage: fuzz/run-all.sh [SECONDS] [TARGET...]
# (all targets when none is named). Needs cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -u
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build --sanitizer none >/dev/null 2>&1 || { echo "fuzz build failed" >&2; exit 1; }
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
    log="fuzz/target/$t.log"
    cargo fuzz run "$t" --sanitizer none "fuzz/corpus/$t" "fuzz/seeds/$t" -- -max_total_time="$secs" >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(echo "$last" | sed -E 's/^#([0-9]+).*/\1/')
    cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | head -1)
    if [ $rc -eq 0 ]; then
        echo "$t: ${secs}s, ${runs:-?} runs, ${cov:-cov: ?}, no crash"
    else
        status=1
        echo "$t: CRASH (exit $rc); see $log and fuzz/artifacts/$t/"
    fi
done
exit $status
