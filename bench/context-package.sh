#!/usr/bin/env bash
# How many bytes each agent gets: the context package (the task's brief, what done means, the
# checks, the plan's context and the notes of the tasks it depends on; never the whole plan)
# against whole-plan prompting (the plan file plus the task's own section, for every task).
# bench/gen-plan.py writes a realistic 100-task plan (seeded); planrun runs it in a fresh git
# repository in a temporary folder with a shell script as the agent, which records the size of
# its prompt file and leaves a note of about 480 bytes for the tasks that depend on it (so the
# dependency notes are part of the measurement), then exits 0; every verify command is `true`.
# Prints the plan's size and prompt bytes per task (min / median / mean / p95 / max / total) for
# both ways, their ratio, tokens estimated as bytes / 4, and where planrun's bytes go (persona,
# the implement role's own text, the task, plan context, dependency notes). See docs/benchmarks.md.
# Usage: bench/context-package.sh [TASKS] [SEED]   (PLANRUN=path/to/planrun skips the build;
# KEEP=1 keeps the temporary folder and prints where it is)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks="${1:-100}"
seed="${2:-1}"

if [ -n "${PLANRUN:-}" ]; then
  planrun="$PLANRUN"
else
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  cargo build --release -p planrun
  planrun="$target/release/planrun"
fi
case "$planrun" in /*) ;; *) planrun="$PWD/$planrun" ;; esac
[ -x "$planrun" ] || { echo "no planrun binary at $planrun" >&2; exit 64; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/planrun-context-package.XXXXXX")"
if [ "${KEEP:-}" = 1 ]; then
  echo "keeping $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi
repo="$tmp/repo"
mkdir -p "$repo"
git -C "$repo" init -q
python3 bench/gen-plan.py "$repo/plan.md" "$tasks" "$seed"

# The agent: one line per attempt (task, attempt, bytes of the prompt file), then a note of about
# 480 bytes in $PLANRUN_NOTES_FILE, which planrun puts into the prompts of the dependent tasks.
# Lines are short and appended, so parallel agents do not interleave them.
cat >"$tmp/agent.sh" <<'EOF'
#!/bin/sh
# usage: agent.sh PROMPT_FILE SIZES_FILE
set -eu
printf '%s %s %s\n' "$PLANRUN_TASK_ID" "$PLANRUN_ATTEMPT" "$(wc -c <"$1")" >>"$2"
{
  printf 'Done: %s. ' "$PLANRUN_TASK_ID"
  cat <<'NOTE'
The new code is behind its module's `_v2` flag, off by default; the old path is unchanged and
the golden tests pass. Public API added: one constructor taking a `TenantId` and a `Period`, and
one `run` method returning `Result<Summary, Error>`; callers in other crates still go through the
old function, which now passes the default tenant. The error enum gained two variants, both
mapped to problem documents. Left for later: the CLI command and the backfill.
NOTE
} >"$PLANRUN_NOTES_FILE"
EOF

start=$(date +%s.%N)
"$planrun" run "$repo/plan.md" --color never \
  --agent-command "sh '$tmp/agent.sh' {prompt_file} '$tmp/sizes'" \
  >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log" >&2; echo "planrun run failed" >&2; exit 1; }
end=$(date +%s.%N)

python3 - "$repo/plan.md" "$tmp/sizes" "$repo/.planrun/prompts" "$start" "$end" \
  "$("$planrun" --version)" <<'PY'
import math, os, re, statistics, sys

plan_path, sizes_path, prompts, start, end, version = sys.argv[1:7]
plan = open(plan_path, "rb").read()
text = plan.decode()

# Each task's own section of the plan file: what whole-plan prompting adds to the plan to say
# which task is this agent's.
heads = [(m.start(), m.group(1)) for m in re.finditer(r"^## Task ([^:\s]+):", text, re.M)]
section = {}
for k, (pos, tid) in enumerate(heads):
    stop = heads[k + 1][0] if k + 1 < len(heads) else len(text)
    section[tid] = len(text[pos:stop].encode())
context_bytes = len(text[:heads[0][0]].encode())

sizes = {}
for line in open(sizes_path):
    tid, attempt, n = line.split()
    if attempt == "1":
        sizes[tid] = int(n)
assert set(sizes) == set(section), f"{len(sizes)} prompts recorded for {len(section)} tasks"
tids = sorted(section)

def stats(xs):
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, math.ceil(0.95 * len(xs)) - 1)]  # nearest rank
    return [xs[0], statistics.median(xs), statistics.mean(xs), p95, xs[-1], sum(xs)]

# Where planrun's bytes go, from the prompt files planrun kept. The implement role's template
# (crates/planrun-runtime/prompts/implement.md) is: the persona paragraph, the role's opening paragraph
# (naming the plan and the attempt), the brief, and a closing note naming the notes file. The
# brief is the task's own part (title, files, what to do, done means, checks), then the plan
# context, then the notes of the tasks it depends on.
parts = {"persona": [], "role's opening": [], "task": [], "plan context": [], "dependency notes": [],
         "closing lines": []}
personas = {}
for tid in tids:
    p = open(os.path.join(prompts, f"{tid}.1.md"), "rb").read().decode()
    assert len(p.encode()) == sizes[tid], tid
    task = p.find("\n# Task ")
    opening = p.find("\nYou are implementing one task of ")
    persona = p[:opening] if opening >= 0 else ""
    ctx = p.find("\n## Plan context\n")
    deps = p.find("\n## Tasks this one builds on\n")
    tail = p.rfind("\n---\n")
    assert 0 <= task < ctx < tail, tid
    personas[persona.split(".")[0]] = personas.get(persona.split(".")[0], 0) + 1
    parts["persona"].append(len(persona.encode()))
    parts["role's opening"].append(len(p[max(opening, 0):task].encode()))
    parts["task"].append(len(p[task:ctx].encode()))
    parts["plan context"].append(len(p[ctx:deps if deps >= 0 else tail].encode()))
    parts["dependency notes"].append(len(p[deps:tail].encode()) if deps >= 0 else 0)
    parts["closing lines"].append(len(p[tail:].encode()))
    assert sum(v[-1] for v in parts.values()) == sizes[tid], tid

planrun = [sizes[t] for t in tids]
whole = [len(plan) + section[t] for t in tids]
edges = len(re.findall(r"`[^`]+`", "\n".join(re.findall(r"^Depends on: (.*)$", text, re.M))))

print(f"{version}; {len(tids)} tasks, {edges} dependency edges, run took {float(end) - float(start):.1f} s")
print(f"plan file: {len(plan):,} bytes (~{len(plan) // 4:,} tokens); context {context_bytes:,} bytes "
      f"before the first task; task sections {min(section.values()):,}-{max(section.values()):,} bytes")
print("prompt bytes per task (tokens ~ bytes / 4):")
print(f"{'':<18} {'min':>9} {'median':>9} {'mean':>9} {'p95':>9} {'max':>9} {'total':>13} {'total tokens':>12}")
for name, xs in [("planrun (package)", planrun), ("whole plan + task", whole)]:
    s = stats(xs)
    print(f"{name:<18} " + " ".join(f"{v:>9,.0f}" for v in s[:5]) + f" {s[5]:>13,} {s[5] // 4:>12,}")
ratios = [w / p for w, p in zip(whole, planrun)]
print(f"whole plan / planrun: {sum(whole) / sum(planrun):.1f}x in total; per task "
      f"min {min(ratios):.1f}x, median {statistics.median(ratios):.1f}x, max {max(ratios):.1f}x")
print("planrun's prompt, mean bytes per part: " + ", ".join(
    f"{k} {statistics.mean(v):,.0f}" for k, v in parts.items())
    + f"; {sum(1 for v in parts['dependency notes'] if v)} tasks got dependency notes")
print("personas (first sentence: tasks): " + "; ".join(f"{k!r}: {n}" for k, n in sorted(personas.items(), key=lambda kv: -kv[1])))
PY
