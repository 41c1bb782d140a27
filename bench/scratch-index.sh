#!/usr/bin/env bash
# What a snapshot of a dirty tree costs in git on a large repository, with and without the
# trailing checksum of the scratch index (`index.skipHash`, which planrun gives the git commands
# on its scratch indexes): one file changed, the index copied (with its time, as planrun does),
# then `update-index` of that file and `write-tree` through the copy. Median of RUNS each.
# Usage: bench/scratch-index.sh REPO [RUNS]   (REPO: a git work tree with a commit, e.g.
# bench/out/git-scale/100000/repo after bench/git-scale.sh 100000; it is left as it was)
set -euo pipefail
repo="${1:?usage: bench/scratch-index.sh REPO [RUNS]}"
runs="${2:-7}"
python3 - "$repo" "$runs" <<'PY'
import os, shutil, statistics, subprocess, sys, tempfile, time
repo, runs = sys.argv[1], int(sys.argv[2])
files = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
path = files[0].decode()
full = os.path.join(repo, path)
original = open(full, "rb").read()
index = os.path.join(repo, subprocess.run(["git", "-C", repo, "rev-parse", "--git-path", "index"],
                                          capture_output=True, text=True, check=True).stdout.strip())
scratch = os.path.join(tempfile.mkdtemp(), "scratch.index")

def timed(env, args):
    start = time.perf_counter()
    subprocess.run(["git", "-C", repo, *args], env=env, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000

try:
    open(full, "ab").write(b"x")
    entries = subprocess.run(["git", "-C", repo, "ls-files"], capture_output=True, check=True).stdout.count(b"\n")
    print(f"{entries} files, index {os.path.getsize(index) / 2**20:.1f} MiB, {runs} runs each")
    for name, pre in (("with checksum", []), ("index.skipHash", ["-c", "index.skipHash=true"])):
        upd, tree = [], []
        for _ in range(runs):
            shutil.copy2(index, scratch)
            env = dict(os.environ, GIT_INDEX_FILE=scratch)
            upd.append(timed(env, pre + ["update-index", "--add", "--remove", "--", path]))
            tree.append(timed(env, pre + ["write-tree"]))
        print(f"{name:15} update-index {statistics.median(upd):6.1f} ms, write-tree {statistics.median(tree):6.1f} ms")
finally:
    open(full, "wb").write(original)
PY
