#!/usr/bin/env bash
# planrun's own overhead on a task run by the real `claude` CLI, against the same `claude -p`
# command run by hand. Both talk to the test kit's scripted model server
# (crates/planrun-testkit/examples/model-server.rs), which answers every run with one `Bash` tool
# call (`printf 'hello\n' > hello.txt`, relative, so it works in any folder) and then, once the
# tool's result comes back, the text "Done.". Per iteration, each in a fresh git repository in a
# temporary folder holding the same one-task plan (no verify commands):
#   A  claude -p PROMPT --output-format stream-json --verbose PERMISSIONS </dev/null >FILE
#      with the prompt planrun writes for that task (taken from a warm-up run of B, its repository
#      path replaced; the folders' names have the same length, so the prompts have the same size)
#      and the permission flags planrun uses (--permission-mode acceptEdits as root without
#      IS_SANDBOX=1, else --dangerously-skip-permissions);
#   B  planrun run plan.md --agent claude --reviews none --yes </dev/null >FILE 2>&1
# in the order A B B A A B B A … (so drift and any advantage of going first or second cancel),
# each timed from a python3 process (time.perf_counter around spawn and wait4; CPU is the child's
# user+sys including its waited-for descendants, i.e. claude's own in both). Both get the same
# environment: PATH with the CLI, a HOME of their own (shared by all runs, warmed up), and the
# variables that point claude at the server (as crates/planrun/tests/agents.rs does).
# Prints wall and CPU per side (min / median / mean / max), the overhead B − A in ms and as a
# share of A's median wall time (the median and mean of the per-pair differences, with a 95%
# interval for the mean, and the difference of the medians), and whether the per-pair median is
# within 5%. Then the same pairs again (twice as many) with a stand-in `claude`, a shell script
# that replays the events the real one printed: C by hand, D through planrun, so D − C is
# planrun's own wall and CPU time without the real CLI's run-to-run noise. See
# docs/benchmarks.md.
# Usage: bench/agent-overhead.sh [RUNS]   (default 15 pairs; PLANRUN=path/to/planrun and
# MODEL_SERVER=path/to/model-server skip the builds; KEEP=1 keeps the temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-${RUNS:-15}}"

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
if [ -n "${PLANRUN:-}" ]; then
  planrun="$PLANRUN"
else
  cargo build --release -p planrun
  planrun="$target/release/planrun"
fi
if [ -n "${MODEL_SERVER:-}" ]; then
  server="$MODEL_SERVER"
else
  cargo build --release -p planrun-testkit --example model-server
  server="$target/release/examples/model-server"
fi
case "$planrun" in /*) ;; *) planrun="$PWD/$planrun" ;; esac
case "$server" in /*) ;; *) server="$PWD/$server" ;; esac
[ -x "$planrun" ] || { echo "no planrun binary at $planrun" >&2; exit 64; }
[ -x "$server" ] || { echo "no model-server binary at $server" >&2; exit 64; }

bash .ci/agent-clis.sh >&2
clis="${PLANRUN_AGENT_CLIS:-${XDG_CACHE_HOME:-$HOME/.cache}/planrun/agent-clis}/node_modules/.bin"
[ -x "$clis/claude" ] || { echo "no claude CLI at $clis/claude" >&2; exit 64; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/planrun-agent-overhead.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# One tool call and one answer per claude run (a turn is used once): the warm-ups and every
# measured run, plus a few spare. The tool call matches only a request holding the task's marker
# (claude's first request); the answer, only one holding a tool result (its second).
python3 - "$tmp/scenario.json" $((2 * runs + 6)) <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
turns = []
for _ in range(n):
    turns.append({"when": "BENCH-HELLO",
                  "reply": {"kind": "tool_use", "name": "Bash",
                            "input": {"command": "printf 'hello\\n' > hello.txt", "description": "Write hello.txt"}},
                  "usage": {"input_tokens": 100, "output_tokens": 20}})
    turns.append({"when": "tool_result", "reply": {"kind": "text", "text": "Done."},
                  "usage": {"input_tokens": 50, "output_tokens": 5}})
json.dump({"turns": turns, "fallback": {"kind": "text", "text": "ok"}}, open(path, "w"))
PY

"$server" "$tmp/scenario.json" >"$tmp/server.url" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$tmp/server.url" ] && break; sleep 0.05; done
url="$(head -n1 "$tmp/server.url")"
[ -n "$url" ] || { echo "the model server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }

python3 - "$planrun" "$clis" "$url" "$tmp" "$runs" "$("$planrun" --version)" <<'PY'
import os, statistics, subprocess, sys, time

planrun, clis, url, tmp, runs, version = sys.argv[1:7]
runs = int(runs)
home = os.path.join(tmp, "home")
os.makedirs(home)
env = {
    "PATH": clis + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": home,
    "ANTHROPIC_BASE_URL": url,
    "ANTHROPIC_API_KEY": "sk-ant-e2e-000000000000000000000000",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",
}
for k in ("LANG", "LC_ALL", "TMPDIR"):
    if k in os.environ:
        env[k] = os.environ[k]
if os.environ.get("IS_SANDBOX"):
    env["IS_SANDBOX"] = os.environ["IS_SANDBOX"]
root = os.geteuid() == 0
perms = ["--permission-mode", "acceptEdits"] if root and env.get("IS_SANDBOX") != "1" else ["--dangerously-skip-permissions"]

PLAN = """# Bench

## Task t: Write hello

Files: `hello.txt`

Create hello.txt holding the word hello (BENCH-HELLO).
"""

def repo(name):
    d = os.path.join(tmp, name)  # every name is 4 characters: the prompts have the same size
    os.makedirs(d)
    subprocess.run(["git", "init", "-q", d], check=True)
    with open(os.path.join(d, "plan.md"), "w") as f:
        f.write(PLAN)
    return d

prompt_template = None

def timed(argv, cwd, out, env=env):
    with open(out, "wb") as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} exited with {p.returncode} in {cwd}; see {out}")
    with open(os.path.join(cwd, "hello.txt")) as h:
        assert h.read() == "hello\n", cwd
    return wall * 1000, (ru.ru_utime + ru.ru_stime) * 1000

def run_b(name, env=env):
    d = repo(name)
    r = timed([planrun, "run", "plan.md", "--agent", "claude", "--reviews", "none", "--yes", "--color", "never"], d, d + ".out", env)
    if prompt_template is not None:  # A sends what planrun sent
        assert open(os.path.join(d, ".planrun/prompts/t.1.md")).read() == prompt_template.replace(TEMPLATE_DIR, d), d
    return d, r

def run_a(name, env=env):
    d = repo(name)
    prompt = prompt_template.replace(TEMPLATE_DIR, d)
    return timed(["claude", "-p", prompt, "--output-format", "stream-json", "--verbose", *perms], d, d + ".jsonl", env)

# Warm-up: one run of each (page cache, claude's first start in this HOME); B's prompt file is
# the prompt A sends.
TEMPLATE_DIR, _ = run_b("wb00")
prompt_template = open(os.path.join(TEMPLATE_DIR, ".planrun/prompts/t.1.md")).read()
assert "BENCH-HELLO" in prompt_template
run_a("wa00")
events = os.path.join(tmp, "wa00.jsonl")

a, b = [], []
for i in range(1, runs + 1):
    order = "AB" if i % 2 else "BA"  # A B, B A, A B, …: each side goes first half the time
    for side in order:
        if side == "A":
            a.append(run_a(f"a{i:03d}"))
        else:
            b.append(run_b(f"b{i:03d}")[1])
    print(f"  pair {i:>3} ({order}): A {a[-1][0]:7.1f} ms  B {b[-1][0]:7.1f} ms  B-A {b[-1][0] - a[-1][0]:+7.1f} ms",
          file=sys.stderr)

def row(name, xs):
    return f"{name:<28} {min(xs):9.1f} {statistics.median(xs):9.1f} {statistics.mean(xs):9.1f} {max(xs):9.1f}"

aw, bw = [x[0] for x in a], [x[0] for x in b]
ac, bc = [x[1] for x in a], [x[1] for x in b]
diff = [y - x for x, y in zip(aw, bw)]
load = open("/proc/loadavg").read().split()[:3]
print(f"{version}; claude {subprocess.run(['claude', '--version'], env=env, capture_output=True, text=True).stdout.strip()}; "
      f"{runs} pairs; {os.cpu_count()} CPUs; load average {' '.join(load)}; permissions {' '.join(perms)}")
print(f"{'ms':<28} {'min':>9} {'median':>9} {'mean':>9} {'max':>9}")
print(row("A wall: claude -p by hand", aw))
print(row("B wall: planrun run", bw))
print(row("B - A wall, per pair", diff))
print(row("A CPU (user+sys)", ac))
print(row("B CPU (user+sys)", bc))
base = statistics.median(aw)
med = statistics.median(bw) - base
pair = statistics.median(diff)
mean = statistics.mean(diff)
# 95% confidence interval of the mean paired difference (Student's t; the two sides of a pair
# run back to back, so the machine's slow drift cancels within a pair).
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23,
       12: 2.18, 14: 2.14, 19: 2.09, 24: 2.06, 29: 2.05, 39: 2.02, 59: 2.00}
dfree = len(diff) - 1
t = T95[max([k for k in T95 if k <= dfree] or [1])]
half = t * statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("inf")
pct = lambda ms: f"{100 * ms / base:+.1f}%"
print(f"overhead B - A (% of A's median wall, {base:.1f} ms): per-pair median {pair:+.1f} ms ({pct(pair)}); "
      f"per-pair mean {mean:+.1f} ms ({pct(mean)}), 95% interval {mean - half:+.1f} to {mean + half:+.1f} ms "
      f"({pct(mean - half)} to {pct(mean + half)}); difference of the medians {med:+.1f} ms ({pct(med)})")
print(f"CPU B - A (planrun's own, with the git it runs): medians {statistics.median(bc) - statistics.median(ac):+.1f} ms, "
      f"per-pair median {statistics.median([y - x for x, y in zip(ac, bc)]):+.1f} ms")
verdict = "met" if pair <= 0.05 * base else "NOT met"
sure = "the whole 95% interval is within it" if mean + half <= 0.05 * base else "the 95% interval reaches past it: run more pairs"
print(f"target (overhead at most 5% of wall time, i.e. {0.05 * base:.1f} ms), on the per-pair median: {verdict}; {sure}")

# planrun's own time without claude's noise: the same pairs with a stand-in `claude` first in
# PATH, a shell script that writes hello.txt and prints the events the real one printed in its
# warm-up run (init, tool call, tool result, answer, result), so planrun reads the same stream.
# C is the stand-in by hand, D planrun with it; D - C is what planrun adds.
standin = os.path.join(tmp, "standin")
os.makedirs(standin)
with open(os.path.join(standin, "claude"), "w") as f:
    f.write(f"#!/bin/sh\nprintf 'hello\\n' > hello.txt\nexec cat '{events}'\n")
os.chmod(os.path.join(standin, "claude"), 0o755)
env2 = dict(env, PATH=standin + ":" + env["PATH"])
shim_runs = 2 * runs
run_b("wd00", env2)
run_a("wc00", env2)
c, d = [], []
for i in range(1, shim_runs + 1):
    for side in ("CD" if i % 2 else "DC"):
        if side == "C":
            c.append(run_a(f"c{i:03d}", env2))
        else:
            d.append(run_b(f"d{i:03d}", env2)[1])
cw, dw, cc, dc = [x[0] for x in c], [x[0] for x in d], [x[1] for x in c], [x[1] for x in d]
print(f"with a stand-in claude (a shell script replaying the real one's events), {shim_runs} pairs:")
print(row("C wall: stand-in by hand", cw))
print(row("D wall: planrun run", dw))
print(row("D - C wall, per pair", [y - x for x, y in zip(cw, dw)]))
print(row("D - C CPU, per pair", [y - x for x, y in zip(cc, dc)]))
own = statistics.median([y - x for x, y in zip(cw, dw)])
print(f"planrun's own wall time: {own:.1f} ms per-pair median = {100 * own / base:.1f}% of the real claude run "
      f"(A's median, {base:.1f} ms)")
PY
scripted="$(grep -c 'turn=Some' "$tmp/server.log" || true)"
fallback="$(grep -c 'turn=None' "$tmp/server.log" || true)"
echo "model server: $scripted scripted answers, $fallback fallback answers" >&2
if [ "$fallback" != 0 ]; then
  echo "warning: $fallback requests were not the scripted ones (see $tmp/server.log with KEEP=1)" >&2
fi
