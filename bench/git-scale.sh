#!/usr/bin/env bash
# planrun's per-task git cost on a large repository, against the floor: the same tasks done by
# hand in a shell loop with the fewest git commands a careful person would use.
#
# Per size N (files): a repository of N/100 folders × 100 small files in one commit
# (bench/out/git-scale/N/repo, reused when its base commit is there), and a plan of TASKS
# independent tasks, task tI declaring and writing its own new file `new/tI.txt`. The agent is a
# no-op /bin/sh script that writes that file (`--agent-command 'AGENT {workspace} {task_id}'`).
# Reviews are off (`--reviews none`): this measures git, not reviews. No verify commands.
#
# For each mode in MODES (`--workspace shared|worktree`, or `sparse`: worktrees with --sparse,
# against a floor that makes sparse worktrees by hand), each -j in JOBS and each of ROUNDS
# rounds, on the same repository reset to its base commit (`git reset --hard`, `git clean -fd`,
# every ref but main and the base tag deleted, `.planrun` removed) before every run:
#   planrun  `planrun run PLAN --workspace MODE -j J --agent-command … --reviews none --yes
#            --no-status-files --no-detect --color never`, run from the repository;
#   floor    one shell loop over the same tasks (serial, whatever J):
#            worktree: git worktree add -q -b floor/tI DIR floor-int; write the file;
#                      git -C DIR add FILE; git -C DIR commit -q -m …;
#                      git update-ref refs/heads/floor-int floor/tI (a fast-forward: the task
#                      started from floor-int's tip; floor-int, like planrun's integration branch
#                      planrun/RUN, is not checked out); git worktree remove DIR;
#                      git branch -q -D floor/tI
#            shared:   write the file; git add FILE; git commit -q -m …  (onto main, checked
#                      out, where planrun's shared mode commits too)
# Both are timed (wall, python's perf_counter around the process) with the real git first on
# PATH; ms/task = wall / TASKS (so planrun's fixed cost per run, start-up and the integration
# branch, is spread over TASKS). Each side's result is checked: TASKS new files on its branch.
# Then once more each, not timed, with a `git` shim first on PATH (a bash script that appends
# its arguments to a log, one line per invocation, and execs the real git) to count git processes per task, and with the
# agent (or the floor's loop) measuring the task's checkout at the moment the file is written:
# `du -sk` of the worktree plus its administrative folder `.git/worktrees/ID` (its index); 0 in
# shared mode, which checks nothing out. "Left" is what a run leaves behind per task:
# growth of `du -sk .git .planrun` (loose objects, journal, logs, prompts) / TASKS.
# git gc is off in the generated repository (gc.auto=0) so that no run pays for an auto-gc.
# Medians over the rounds are reported; ratio = planrun median / floor median. planrun's peak RSS
# is wait4's ru_maxrss: the largest of planrun and the processes it waited for (git, the agent).
# Prints a table and writes it as Markdown to bench/out/git-scale/results.md, with the
# subcommands planrun ran per task.
#
# Usage: bench/git-scale.sh [SIZES...]   (default 1000 20000 100000)
#   TASKS=10 JOBS="1 2" MODES="shared worktree" ROUNDS=3; PLANRUN=path/to/planrun skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then set -- 1000 20000 100000; fi
tasks="${TASKS:-10}"
jobs="${JOBS:-1 2}"
modes="${MODES:-shared worktree}"
rounds="${ROUNDS:-3}"
for n in "$@" "$tasks" "$rounds" $jobs; do
  case "$n" in '' | *[!0-9]* | 0*) echo "not a positive number: '$n'" >&2; exit 64 ;; esac
done
for m in $modes; do
  case "$m" in shared | worktree | sparse) ;; *) echo "unknown mode '$m' (shared, worktree, sparse)" >&2; exit 64 ;; esac
done

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
if [ -n "${PLANRUN:-}" ]; then
  planrun="$PLANRUN"
else
  cargo build --release -p planrun
  planrun="$target/release/planrun"
fi
case "$planrun" in /*) ;; *) planrun="$PWD/$planrun" ;; esac
[ -x "$planrun" ] || { echo "no planrun binary at $planrun" >&2; exit 64; }
git="$(command -v git)"
out="$PWD/bench/out/git-scale"
mkdir -p "$out"

python3 - "$planrun" "$git" "$out" "$tasks" "$jobs" "$modes" "$rounds" "$@" <<'PY'
import collections, os, shutil, statistics, subprocess, sys, time

planrun, git, out, tasks, jobs, modes, rounds = sys.argv[1:8]
tasks, rounds = int(tasks), int(rounds)
jobs = [int(j) for j in jobs.split()]
modes = modes.split()
sizes = [int(n) for n in sys.argv[8:]]
ENV = dict(os.environ, LC_ALL="C", NO_COLOR="1")
ENV.pop("GIT_DIR", None)
ENV.pop("GIT_WORK_TREE", None)


def sh(*args, cwd=None, env=ENV, check=True):
    """Runs the real git (or anything), not through the shim, not timed."""
    return subprocess.run(args, cwd=cwd, env=env, check=check, capture_output=True, text=True).stdout


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


# --- the scripts both sides run --------------------------------------------------------------
bin_dir = os.path.join(out, "bin")
shim_dir = os.path.join(out, "shim")
os.makedirs(bin_dir, exist_ok=True)
os.makedirs(shim_dir, exist_ok=True)
GIT_LOG = os.path.join(out, "git-calls.log")
DU_LOG = os.path.join(out, "du.log")


def script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


# The agent: writes the task's file in its workspace. With a second argument `du`, it also
# records the size of the task's checkout (worktree + its admin folder; 0 in the shared tree).
AGENT = script(os.path.join(bin_dir, "agent.sh"), f"""#!/bin/sh
set -eu
ws=$1 id=$2
mkdir -p "$ws/new"
printf '%s\\n' "$id" > "$ws/new/$id.txt"
if [ "${{3:-}}" = du ]; then
  if [ -f "$ws/.git" ]; then
    gd=$(sed -n 's/^gitdir: //p' "$ws/.git")
    du -sk "$ws" "$gd" | awk '{{s += $1}} END {{print s}}' >> '{DU_LOG}'
  else
    echo 0 >> '{DU_LOG}'
  fi
fi
""")

def floor_worktree(name, what, checkout):
    """The floor with a worktree per task, made by `checkout` (shell lines; $b, $d are set)."""
    return script(os.path.join(bin_dir, name), f"""#!/usr/bin/env bash
# The floor {what}: each task by hand, one after the other.
set -euo pipefail
tasks=$1 du=${{2:-}}
for i in $(seq 1 "$tasks"); do
  b="floor/t$i" d=".floor/t$i" f="new/t$i.txt"
{checkout}
  mkdir -p "$d/new"
  printf 't%s\\n' "$i" > "$d/$f"
  if [ "$du" = du ]; then
    du -sk "$d" "$(sed -n 's/^gitdir: //p' "$d/.git")" | awk '{{s += $1}} END {{print s}}' >> '{DU_LOG}'
  fi
  git -C "$d" add "$f"
  git -C "$d" commit -q -m "t$i: write $f"
  git update-ref refs/heads/floor-int "refs/heads/$b"
  git worktree remove "$d"
  git branch -q -D "$b"
done
""")


FLOOR = {
    "worktree": floor_worktree("floor-worktree.sh", "in worktree mode", '  git worktree add -q -b "$b" "$d" floor-int'),
    # Checking out only the folder the task writes in.
    "sparse": floor_worktree("floor-sparse.sh", "with sparse worktrees", """  git worktree add -q --no-checkout -b "$b" "$d" floor-int
  git -C "$d" sparse-checkout set --cone new
  git -C "$d" read-tree --reset -u HEAD"""),
    "shared": script(os.path.join(bin_dir, "floor-shared.sh"), f"""#!/usr/bin/env bash
# The floor in a shared tree: each task by hand, one after the other.
set -euo pipefail
tasks=$1 du=${{2:-}}
mkdir -p new
for i in $(seq 1 "$tasks"); do
  f="new/t$i.txt"
  printf 't%s\\n' "$i" > "$f"
  if [ "$du" = du ]; then echo 0 >> '{DU_LOG}'; fi
  git add "$f"
  git commit -q -m "t$i: write $f"
done
"""),
}

# One line per invocation: newlines inside arguments (commit messages) are written as \n.
script(os.path.join(shim_dir, "git"), f"""#!/bin/bash
args="$*"
printf '%s\\n' "${{args//$'\\n'/\\\\n}}" >> '{GIT_LOG}'
exec '{git}' "$@"
""")
SHIM_ENV = dict(ENV, PATH=shim_dir + os.pathsep + ENV.get("PATH", "/usr/bin:/bin"))


# --- the repository --------------------------------------------------------------------------
def repository(n):
    d = os.path.join(out, str(n))
    repo = os.path.join(d, "repo")
    try:
        if sh(git, "rev-list", "--count", "refs/tags/bench-base", cwd=repo).strip() == "1" and \
                sh(git, "ls-tree", "-r", "--name-only", "bench-base", cwd=repo).count("\n") == n:
            return d, repo
    except (subprocess.CalledProcessError, FileNotFoundError, NotADirectoryError):
        pass
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.perf_counter()
    for folder in range(max(1, n // 100)):
        fd = os.path.join(repo, f"d{folder:04d}")
        os.makedirs(fd)
        for i in range(min(100, n - folder * 100)):
            with open(os.path.join(fd, f"f{i:03d}.txt"), "w") as f:
                f.write(f"folder {folder} file {i}\nsome small content\n")
    sh(git, "init", "-q", "-b", "main", cwd=repo)
    for k, v in (("user.name", "bench"), ("user.email", "bench@example.invalid"),
                 ("commit.gpgsign", "false"), ("gc.auto", "0")):
        sh(git, "config", k, v, cwd=repo)
    sh(git, "add", "-A", cwd=repo)
    fixed = dict(ENV, GIT_AUTHOR_DATE="2026-01-01T00:00:00Z", GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    sh(git, "commit", "-q", "-m", f"{n} files", cwd=repo, env=fixed)
    sh(git, "tag", "bench-base", cwd=repo)
    print(f"  generated {n} files in {time.perf_counter() - t0:.1f} s", flush=True)
    return d, repo


def plan(repo):
    # Inside the repository (planrun works at the plan's git top level), in a folder git ignores
    # through .git/info/exclude, so that it is neither committed nor cleaned.
    with open(os.path.join(repo, ".git", "info", "exclude"), "a+") as f:
        f.seek(0)
        if ".bench/" not in f.read().split():
            f.write("\n.bench/\n")
    os.makedirs(os.path.join(repo, ".bench"), exist_ok=True)
    path = os.path.join(repo, ".bench", f"plan-{tasks}.md")
    with open(path, "w") as f:
        f.write(f"# Git at real scale: {tasks} independent tasks\n\n")
        for i in range(1, tasks + 1):
            f.write(f"## Task t{i}: write new/t{i}.txt\n\nFiles: `new/t{i}.txt`\n\n"
                    f"Write the file new/t{i}.txt holding the task's id.\n\n")
    return path


def reset(repo):
    shutil.rmtree(os.path.join(repo, ".planrun"), ignore_errors=True)
    shutil.rmtree(os.path.join(repo, ".floor"), ignore_errors=True)
    sh(git, "worktree", "prune", cwd=repo)
    sh(git, "checkout", "-q", "-f", "main", cwd=repo)
    sh(git, "reset", "-q", "--hard", "bench-base", cwd=repo)
    sh(git, "clean", "-q", "-f", "-d", cwd=repo)
    for ref in sh(git, "for-each-ref", "--format=%(refname)", cwd=repo).split():
        if ref not in ("refs/heads/main", "refs/tags/bench-base"):
            sh(git, "update-ref", "-d", ref, cwd=repo)
    sh(git, "branch", "-q", "floor-int", "bench-base", cwd=repo)


def new_files(repo, ref):
    files = sh(git, "ls-tree", "-r", "--name-only", ref, "--", "new", cwd=repo).split()
    return sorted(files) == sorted(f"new/t{i}.txt" for i in range(1, tasks + 1))


def kib(repo):
    paths = [p for p in (os.path.join(repo, ".git"), os.path.join(repo, ".planrun")) if os.path.exists(p)]
    return sum(int(line.split()[0]) for line in sh("du", "-sk", *paths).splitlines())


def timed(argv, repo, log, env):
    with open(log, "wb") as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{argv[0]} exited with {code} in {repo}; see {log}")
    return wall * 1000 / tasks, ru.ru_maxrss / 1024


def run(side, mode, j, repo, d, plan_path, counted=False):
    """One run of one side on the reset repository: (ms per task, peak RSS MiB)."""
    reset(repo)
    log = os.path.join(d, f"last-{side}-{mode}-j{j}.log")
    if side == "planrun":
        agent = f"{AGENT} {{workspace}} {{task_id}}" + (" du" if counted else "")
        argv = [planrun, "run", plan_path, "--workspace", "shared" if mode == "shared" else "worktree",
                "-j", str(j), "--agent-command", agent,
                "--reviews", "none", "--yes", "--no-status-files", "--no-detect", "--color", "never"]
        if mode == "sparse":
            argv.append("--sparse")
    else:
        argv = [FLOOR[mode], str(tasks)] + (["du"] if counted else [])
    result = timed(argv, repo, log, SHIM_ENV if counted else ENV)
    if side == "planrun" and mode != "shared":
        heads = [r for r in sh(git, "for-each-ref", "--format=%(refname)", "refs/heads/planrun/", cwd=repo).split()
                 if not r.startswith("refs/heads/planrun/task/")]
        ref = heads[0] if len(heads) == 1 else None
    else:
        ref = "main" if mode == "shared" else "floor-int"
    if ref is None or not new_files(repo, ref):
        sys.exit(f"{side} {mode} -j{j}: the {tasks} new files are not on {ref}; see {log}")
    return result


def counted(side, mode, j, repo, d, plan_path):
    """The untimed run through the git shim: (git processes per task, subcommands, checkout KiB, left KiB)."""
    reset(repo)
    for p in (GIT_LOG, DU_LOG):
        if os.path.exists(p):
            os.remove(p)
    before = kib(repo)
    run(side, mode, j, repo, d, plan_path, counted=True)
    left = (kib(repo) - before) / tasks
    calls = open(GIT_LOG).read().splitlines() if os.path.exists(GIT_LOG) else []
    subs = collections.Counter()
    for line in calls:
        words, k = line.split(), 0
        while k < len(words) and words[k].startswith("-"):
            k += 2 if words[k] in ("-C", "-c") else 1
        subs[words[k] if k < len(words) else "?"] += 1
    du = [int(x) for x in open(DU_LOG).read().split()] if os.path.exists(DU_LOG) else []
    return len(calls) / tasks, subs, (max(du) if du else None), left


version = sh(planrun, "--version").strip()
gitv = sh(git, "--version").strip()
started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
load_start = load()
print(f"{version}; {gitv}; {os.cpu_count()} CPUs; {tasks} tasks; JOBS={' '.join(map(str, jobs))}; "
      f"modes {' '.join(modes)}; {rounds} rounds; load average {load_start}", flush=True)

rows, details = [], []
for n in sizes:
    d, repo = repository(n)
    plan_path = plan(repo)
    runs = collections.defaultdict(list)
    configs = [("floor", m, 1) for m in modes] + [("planrun", m, j) for m in modes for j in jobs]
    for r in range(rounds):
        order = configs if r % 2 == 0 else configs[::-1]  # drift and going first cancel
        for side, mode, j in order:
            ms, rss = run(side, mode, j, repo, d, plan_path)
            runs[side, mode, j].append((ms, rss))
            print(f"  [{n} files, round {r + 1}] {side:<7} {mode:<8} -j{j}: {ms:8.1f} ms/task", flush=True)
    count = {c: counted(*c, repo, d, plan_path) for c in configs}
    reset(repo)
    for mode in modes:
        floor_ms = statistics.median(x[0] for x in runs["floor", mode, 1])
        fc = count["floor", mode, 1]
        for j in jobs:
            ms = [x[0] for x in runs["planrun", mode, j]]
            pc = count["planrun", mode, j]
            med = statistics.median(ms)
            rows.append(dict(n=n, mode=mode, j=j, ms=med, lo=min(ms), hi=max(ms), floor=floor_ms,
                             flo=min(x[0] for x in runs["floor", mode, 1]), fhi=max(x[0] for x in runs["floor", mode, 1]),
                             ratio=med / floor_ms, git=pc[0], fgit=fc[0], co=pc[2], fco=fc[2],
                             left=pc[3], fleft=fc[3], rss=max(x[1] for x in runs["planrun", mode, j])))
            details.append((n, mode, j, pc[1]))

def size(v):
    return "—" if v is None else f"{v / 1024:.1f} MiB" if v >= 1024 else f"{v:.0f} KiB"


HEAD = ["files", "mode", "-j", "planrun ms/task", "floor ms/task", "ratio", "git procs/task (planrun, floor)",
        "checkout/task (planrun, floor)", "left/task (planrun, floor)", "planrun peak RSS"]
table = []
for x in rows:
    table.append([f"{x['n']:,}", x["mode"], str(x["j"]),
                  f"{x['ms']:.1f} ({x['lo']:.1f}–{x['hi']:.1f})", f"{x['floor']:.1f} ({x['flo']:.1f}–{x['fhi']:.1f})",
                  f"{x['ratio']:.2f}×", f"{x['git']:.1f}, {x['fgit']:.1f}",
                  f"{size(x['co'])}, {size(x['fco'])}", f"{size(x['left'])}, {size(x['fleft'])}", f"{x['rss']:.1f} MiB"])
widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(HEAD)] if table else [len(h) for h in HEAD]
print()
print("  ".join(h.ljust(w) for h, w in zip(HEAD, widths)))
for t in table:
    print("  ".join(c.ljust(w) for c, w in zip(t, widths)))
subs_lines = []
for n, mode, j, subs in details:
    top = ", ".join(f"{s} {c / tasks:.1f}" for s, c in subs.most_common())
    subs_lines.append(f"- {n:,} files, {mode}, -j{j}: {top}")
print("\ngit subcommands per task, planrun:")
print("\n".join(subs_lines))
load_end = load()
print(f"load average at the end: {load_end}")

with open(os.path.join(out, "results.md"), "w") as f:
    f.write(f"# Git at real scale ({started})\n\n")
    f.write(f"{version}; {gitv}; {os.cpu_count()} CPUs; {tasks} tasks per run; {rounds} rounds; "
            f"load average {load_start} at the start, {load_end} at the end.\n"
            "ms/task: median (min–max) over the rounds; ratio: planrun median ÷ floor median; the floor is "
            "serial whatever -j. git processes, checkout and left: one untimed run through the git shim.\n\n")
    f.write("| " + " | ".join(HEAD) + " |\n|" + "---|" * len(HEAD) + "\n")
    for t in table:
        f.write("| " + " | ".join(t) + " |\n")
    f.write("\ngit subcommands per task, planrun:\n\n" + "\n".join(subs_lines) + "\n")
print(f"wrote {os.path.join(out, 'results.md')}")
PY
