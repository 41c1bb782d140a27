#!/usr/bin/env bash
# planrun against ninja on the same generated 10,000-task DAG with no-op commands at -j2
# (bench/gen-dag.py writes plan.md and build.ninja from one graph), journal on (SQLite WAL,
# synchronous=FULL). Measures, RUNS times each (default 3), in the same session:
#   - wall time of `ninja -j2` and of `planrun run plan.md -j 2 --agent-command true`;
#   - planrun's peak memory (RSS of the process, from the kernel);
#   - resume: a run killed with SIGKILL halfway, then rerun: time from starting the rerun to its
#     first new dispatch (its first `start` or `retry` event), and the rerun's peak memory.
# Each measurement runs in two places: the repository's disk (bench/out) and, when present,
# tmpfs (/dev/shm), since on a virtual disk every fsync and file creation is costly for planrun
# (ninja writes no files per edge). ninja comes from PyPI into bench/out when not installed.
# Usage: bench/vs-ninja.sh [TASKS]   (RUNS=N, PLACES="disk tmpfs")
set -euo pipefail
cd "$(dirname "$0")/.."
tasks="${1:-10000}"
runs="${RUNS:-3}"
places="${PLACES:-disk tmpfs}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
out="$PWD/bench/out"
mkdir -p "$out"

cargo build --release -p planrun
planrun="$target/release/planrun"

ninja="$(command -v ninja || true)"
if [ -z "$ninja" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$out/ninja-py" ninja
  ninja="$out/ninja-py/bin/ninja"
fi
echo "ninja $("$ninja" --version), planrun $("$planrun" --version | cut -d' ' -f2), $tasks tasks, -j2, $runs runs"

for place in $places; do
  case "$place" in
    disk) dir="$out/dag" ;;
    tmpfs) [ -d /dev/shm ] || continue; dir="/dev/shm/planrun-bench-dag" ;;
    *) echo "unknown place $place" >&2; exit 64 ;;
  esac
  rm -rf "$dir"
  python3 bench/gen-dag.py "$dir" "$tasks" 1
  python3 - "$planrun" "$ninja" "$dir" "$runs" "$place" "$tasks" <<'PY'
import json, os, resource, shutil, signal, statistics, subprocess, sys, time

planrun, ninja, d, runs, place = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
tasks = int(sys.argv[6])
# Every run gets a state directory of its own, all removed at the end: deleting 20,000 files
# between runs would make the filesystem slower to allocate the next run's (ext4 avoids reusing
# recently freed inodes), which no real user's run pays.
# `--no-status-files`: each run starts from the same plan (a run marks done tasks in it); `--no-detect`:
# no final build and test of the project the folder is in (bench/out is inside this repository).
RUN = [planrun, "run", "plan.md", "-j", "2", "--agent-command", "true", "--json", "--no-status-files", "--no-detect", "--state-dir"]
fresh = iter(range(1_000_000))

def run_cmd():
    return RUN + [f"states/{next(fresh)}"]

# Each timed command runs in its own python process, so RUSAGE_CHILDREN is exactly that command.
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(rc, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

def measure(cmd):
    out = subprocess.run([sys.executable, "-c", MEASURE, d, *cmd], capture_output=True, text=True, check=True)
    rc, wall, rss = out.stdout.split()
    assert rc == "0", f"{cmd} exited {rc}"
    return float(wall), int(rss) / 1024

def clean():
    for f in (".ninja_log", ".ninja_deps"):
        try:
            os.remove(os.path.join(d, f))
        except FileNotFoundError:
            pass

def resume():
    """Kills a run halfway (after TASKS/2 `done` events); returns (seconds to the rerun's first dispatch, rerun peak MiB)."""
    clean()
    cmd = run_cmd()
    first = subprocess.Popen(cmd, cwd=d, stdout=subprocess.PIPE, text=True)
    done = 0
    for line in first.stdout:
        if '"event":"done"' in line:
            done += 1
            if done >= tasks // 2:
                break
    first.send_signal(signal.SIGKILL)
    first.wait()
    script = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
p = subprocess.Popen(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.PIPE, text=True)
first = None
for line in p.stdout:
    if first is None and ('"event":"start"' in line or '"event":"retry"' in line):
        first = time.perf_counter() - start
p.wait()
print(p.returncode, first, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", script, d, *cmd], capture_output=True, text=True, check=True)
    rc, first_s, rss = out.stdout.split()
    assert rc == "0", f"resumed run exited {rc}"
    return float(first_s), int(rss) / 1024

rows = []
for _ in range(runs):
    clean()
    n_wall, _ = measure([ninja, "-j2"])
    clean()
    p_wall, p_rss = measure(run_cmd())
    r_first, r_rss = resume()
    rows.append((n_wall, p_wall, p_rss, r_first, r_rss))
    print(f"  [{place}] ninja {n_wall:6.2f} s   planrun {p_wall:6.2f} s ({p_wall / n_wall:4.2f}x, {p_rss:5.1f} MiB)"
          f"   resume: first dispatch {r_first * 1000:5.0f} ms, {r_rss:5.1f} MiB", flush=True)
med = lambda i: statistics.median(r[i] for r in rows)
print(f"{place}: median ninja {med(0):.2f} s, planrun {med(1):.2f} s, ratio {statistics.median(r[1] / r[0] for r in rows):.2f}x, "
      f"peak {max(r[2] for r in rows):.1f} MiB; resume first dispatch median {med(3) * 1000:.0f} ms, "
      f"peak {max(r[4] for r in rows):.1f} MiB")
shutil.rmtree(os.path.join(d, "states"), ignore_errors=True)
PY
done
