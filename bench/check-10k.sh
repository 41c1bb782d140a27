#!/usr/bin/env bash
# Benchmark of the release binary on the target "parse and validate a generated 10,000-task plan
# (markdown and JSON) in under 200 ms and under 100 MB peak memory": builds `planrun`, writes the
# plan the `parse` bench generates to bench/out/, and times `planrun check FILE --json` 5 times per
# format, each run in a fresh measuring process (wall time, peak RSS of the child). Needs only
# cargo and python3. See docs/benchmarks.md. RUNS=N changes the number of runs.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="$PWD/bench/out"  # absolute: cargo bench runs the bench in its package folder
runs="${RUNS:-5}"

cargo build --release -p planrun
# The bench binary writes the generated plan instead of timing when given --write.
cargo bench -p planrun-plan --bench parse -- --write "$out"

python3 - "$target/release/planrun" "$out" "$runs" <<'PY'
import statistics, subprocess, sys

binary, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

# Runs in its own python process, so RUSAGE_CHILDREN holds exactly one child: this run.
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.run([sys.argv[1], "check", sys.argv[2], "--json"], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(rc, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

print(f"planrun check FILE --json > /dev/null; {runs} runs each; wall ms and peak RSS MiB")
print(f"{'file':<16} {'exit':>4} | {'wall min':>8} {'median':>8} {'max':>8} | {'RSS min':>7} {'median':>7} {'max':>7}")
for name in ["plan-10k.md", "plan-10k.json"]:
    walls, rss, codes = [], [], set()
    for _ in range(runs):
        res = subprocess.run([sys.executable, "-c", MEASURE, binary, f"{out}/{name}"],
                             capture_output=True, text=True, check=True)
        rc, wall, maxrss = res.stdout.split()
        codes.add(int(rc))
        walls.append(float(wall) * 1000)
        rss.append(int(maxrss) / 1024)  # ru_maxrss is in KiB on Linux
    print(f"{name:<16} {','.join(map(str, sorted(codes))):>4} | "
          f"{min(walls):8.1f} {statistics.median(walls):8.1f} {max(walls):8.1f} | "
          f"{min(rss):7.1f} {statistics.median(rss):7.1f} {max(rss):7.1f}")
PY
