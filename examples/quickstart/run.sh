#!/usr/bin/env bash
# The quickstart: builds planrun, copies this example into a fresh git repository in a temporary
# folder (committed, as a real project would be), and runs its plan with the script agent in
# agent.py and the script reviewer in reviewer.py (no API key needed). It shows:
#   1. `planrun check`: the plan, its waves and critical path, before anything runs;
#   2. `planrun run`: each task in its own git worktree, through scope check, verify, task and
#      code review and commit, merged onto the branch planrun/RUN one at a time; a verify
#      failure that rework fixes; interrupted with Ctrl-C (SIGINT) while two tasks run: they
#      finish, nothing new starts, exit 130;
#   3. `planrun run` again: the run resumes, and tasks already done are not run again;
#   4. `planrun status`, `planrun log lib --summary`, and the branch with one commit per task.
# Usage: bash examples/quickstart/run.sh [WORKDIR]   (default: a new temporary folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

echo "quickstart: building planrun (release; the first build takes a few minutes on 2 cores)"
cargo build --release --manifest-path "$root/Cargo.toml" -p planrun
planrun="${CARGO_TARGET_DIR:-$root/target}/release/planrun"
case "$planrun" in /*) ;; *) planrun="$root/$planrun" ;; esac

work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/planrun-quickstart.XXXXXX")}"
mkdir -p "$work"
cp "$here/plan.md" "$here/agent.py" "$here/reviewer.py" "$here/.gitignore" "$work/"
cd "$work"
git init -q
git add -A
git -c user.name=quickstart -c user.email=quickstart@example.invalid commit -q -m "The plan and the stand-in agents"
agent="python3 agent.py {prompt_file}"
reviewer="python3 reviewer.py {prompt_file}"
export NO_COLOR=1

step() { printf '\n== %s\n' "$*"; }
fail() { echo "quickstart: $*" >&2; exit 1; }

step "planrun check plan.md"
"$planrun" check plan.md

step "planrun run plan.md --agent-command '$agent' --review-command '$reviewer'   (Ctrl-C comes while cli and docs run)"
"$planrun" run plan.md --agent-command "$agent" --review-command "$reviewer" &
pid=$!
# Wait until the two tasks after `lib` are running, then interrupt as a user would.
for _ in $(seq 1 300); do
  # Before the run has written its journal, `status` has nothing to say: keep waiting.
  if "$planrun" status --json 2>/dev/null | python3 -c '
import json, sys
try:
    tasks = {t["id"]: t["state"] for t in json.load(sys.stdin)["tasks"]}
except (ValueError, KeyError, TypeError):
    sys.exit(1)
sys.exit(0 if tasks.get("cli") == "in_progress" and tasks.get("docs") == "in_progress" else 1)'; then
    break
  fi
  sleep 0.1
done
kill -INT "$pid"
set +e
wait "$pid"
code=$?
set -e
[ "$code" -eq 130 ] || fail "the interrupted run exited $code, not 130"

step "planrun run plan.md --agent-command '$agent' --review-command '$reviewer'   (resumes: only release is left)"
"$planrun" run plan.md --agent-command "$agent" --review-command "$reviewer"

step "planrun status"
"$planrun" status

step "planrun log lib --summary   (attempt 1 failed its verify command; attempt 2 was told why)"
"$planrun" log lib --summary

branch=$(git for-each-ref --format='%(refname:short)' 'refs/heads/planrun/*')
step "git log --oneline $branch   (one commit per task, merged in dependency order)"
git log --oneline "$branch"

runs=$(grep -c . <(ls .planrun/logs/*.implement.log))
[ "$runs" -eq 5 ] || fail "expected 5 agent runs (lib twice, cli, docs, release), saw $runs"
commits=$(git log --format='%(trailers:key=Planrun-Task,valueonly)' "$branch" | grep -c .)
[ "$commits" -eq 4 ] || fail "expected 4 task commits on $branch, saw $commits"
[ "$(git worktree list | wc -l)" -eq 1 ] || fail "worktrees were left behind: $(git worktree list)"
printf '\nquickstart: done. The project, its journal and logs are in %s\n' "$work"
