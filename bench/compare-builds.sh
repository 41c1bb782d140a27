#!/usr/bin/env bash
# Today's planrun against an earlier commit's, on the same work in the same session, rounds
# interleaved (old, new, old, new, ...), so the machine's own slowness cancels out: what a
# refactor must show is "no regression beyond noise", and on a shared 2-core machine only a ratio
# measured this way says that. Measures, per round and per build:
#   - `planrun run plan.md -j 2 --agent-command true` on the DAG of bench/gen-dag.py (wall, peak
#     RSS), journal on, in tmpfs when there is one;
#   - resume: that run killed with SIGKILL halfway, then rerun: time to its first new dispatch;
#   - `planrun check plan-10k.md --json` and `plan-10k.json` (the `parse` bench's plans).
# Usage: bench/compare-builds.sh REV [TASKS]   (ROUNDS=N, default 5; TASKS default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: bench/compare-builds.sh REV [TASKS]}"
tasks="${2:-2000}"
rounds="${ROUNDS:-5}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
out="$PWD/bench/out"
old_src="$out/compare-$rev"
mkdir -p "$out"

# The earlier commit's sources (git archive: no worktree is added to the repository).
if [ ! -f "$old_src/Cargo.toml" ]; then
  rm -rf "$old_src"
  mkdir -p "$old_src"
  git archive "$rev" | tar -x -C "$old_src"
fi
CARGO_TARGET_DIR="$out/compare-target" cargo build --release -p planrun --manifest-path "$old_src/Cargo.toml"
cargo build --release -p planrun
old="$out/compare-target/release/planrun"
new="$target/release/planrun"
cargo bench -p planrun-plan --bench parse -- --write "$out"

dag="$out/compare-dag"
[ -d /dev/shm ] && dag="/dev/shm/planrun-compare-dag"
rm -rf "$dag"
python3 bench/gen-dag.py "$dag" "$tasks" 1
echo "old: $rev ($("$old" --version)); new: $(git rev-parse --short HEAD) ($("$new" --version)); $tasks tasks, -j2, $rounds rounds"

python3 - "$old" "$new" "$dag" "$out" "$rounds" "$tasks" <<'PY'
import os, shutil, signal, statistics, subprocess, sys, time

old, new, dag, out, rounds, tasks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
fresh = iter(range(1_000_000))

# Each timed command runs in its own python process, so RUSAGE_CHILDREN is exactly that command.
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(rc, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

def measure(cwd, cmd, ok=(0,)):
    res = subprocess.run([sys.executable, "-c", MEASURE, cwd, *cmd], capture_output=True, text=True, check=True)
    rc, wall, rss = res.stdout.split()
    assert int(rc) in ok, f"{cmd} exited {rc}"
    return float(wall), int(rss) / 1024

def run_cmd(binary):
    return [binary, "run", "plan.md", "-j", "2", "--agent-command", "true", "--json", "--yes", "--no-status-files", "--state-dir", f"states/{next(fresh)}"]

def resume(binary):
    cmd = run_cmd(binary)
    first = subprocess.Popen(cmd, cwd=dag, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    done = 0
    for line in first.stdout:
        if '"event":"done"' in line:
            done += 1
            if done >= tasks // 2:
                break
    first.send_signal(signal.SIGKILL)
    first.wait()
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=dag, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    at = None
    for line in p.stdout:
        if at is None and ('"event":"start"' in line or '"event":"retry"' in line):
            at = time.perf_counter() - start
    assert p.wait() == 0, "the resumed run failed"
    return at

rows = {old: [], new: []}
for r in range(rounds):
    for binary in (old, new):
        run_wall, run_rss = measure(dag, run_cmd(binary))
        first = resume(binary)
        md, _ = measure(out, [binary, "check", "plan-10k.md", "--json"], ok=(0, 1))
        js, _ = measure(out, [binary, "check", "plan-10k.json", "--json"], ok=(0, 1))
        rows[binary].append((run_wall, run_rss, first, md, js))
        name = "old" if binary == old else "new"
        print(f"  round {r + 1} {name}: run {run_wall:6.2f} s {run_rss:5.1f} MiB   resume first dispatch {first * 1000:5.0f} ms"
              f"   check md {md * 1000:5.0f} ms  json {js * 1000:5.0f} ms", flush=True)
shutil.rmtree(os.path.join(dag, "states"), ignore_errors=True)

med = lambda b, i: statistics.median(x[i] for x in rows[b])
print(f"{'':24} {'old median':>12} {'new median':>12} {'new ÷ old':>10} {'median of per-round ratios':>28}")
for i, (label, unit, scale) in enumerate([("run (wall)", "s", 1), ("run peak RSS", "MiB", 1), ("resume first dispatch", "ms", 1000),
                                          ("check plan-10k.md", "ms", 1000), ("check plan-10k.json", "ms", 1000)]):
    o, n = med(old, i) * scale, med(new, i) * scale
    per = statistics.median(b[i] / a[i] for a, b in zip(rows[old], rows[new]))
    print(f"{label:24} {o:9.2f} {unit:>3} {n:9.2f} {unit:>3} {n / o:9.2f}x {per:27.2f}x")
PY
