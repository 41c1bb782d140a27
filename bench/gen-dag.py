#!/usr/bin/env python3
"""Writes the same random DAG twice: as a planrun plan (plan.md, every task owning one file, so
file sets never keep tasks apart) and as a build.ninja whose edges run a no-op command.

usage: gen-dag.py OUT_DIR [TASKS] [SEED]

Tasks come in waves of 50; each depends on 1-3 random tasks of the previous wave, so the graph
has TASKS/50 levels and plenty of parallel work for -j2.
"""
import os, random, sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
WAVE = 50
rng = random.Random(seed)
os.makedirs(out, exist_ok=True)

deps = []
for i in range(n):
    wave = i // WAVE
    if wave == 0:
        deps.append([])
        continue
    lo, hi = (wave - 1) * WAVE, wave * WAVE
    deps.append(sorted(set(rng.randrange(lo, hi) for _ in range(rng.randint(1, 3)))))

with open(os.path.join(out, "plan.md"), "w") as f:
    f.write(f"# Generated DAG of {n} tasks\n\n")
    for i, ds in enumerate(deps):
        f.write(f"## Task t{i}: task {i}\n\n")
        if ds:
            f.write("Depends on: " + ", ".join(f"`t{d}`" for d in ds) + "\n")
        f.write(f"Files: `out/t{i}`\n\n")

with open(os.path.join(out, "build.ninja"), "w") as f:
    f.write("rule noop\n  command = true\n\n")
    for i, ds in enumerate(deps):
        # Phony-free: each edge has a (never written) output; order-only inputs carry the order.
        line = f"build t{i}: noop"
        if ds:
            line += " || " + " ".join(f"t{d}" for d in ds)
        f.write(line + "\n")
    f.write("\ndefault " + " ".join(f"t{i}" for i in range(n)) + "\n")
