#!/usr/bin/env bash
# Reproduces `planrun check` time and peak memory on a superpowers plan whose N tasks all modify
# one shared file (chained in plan order, so no conflict is reported). Shows how the cost grows
# with N. Usage: bench/check-shared-file.sh [N...] (default 500 1000 2000). Needs cargo, python3
# and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(500 1000 2000)
cargo build --release -p planrun >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in "${sizes[@]}"; do
    dir="$work/$n/docs/superpowers/plans"
    mkdir -p "$dir"
    python3 - "$n" "$dir/plan.md" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
parts = ["# Shared file\n\n**Goal:** many tasks on one file.\n"]
for i in range(1, n + 1):
    parts.append(f"""
### Task {i}: Module {i}

**Files:**
- Create: `src/m{i}/mod.rs`
- Modify: `src/lib.rs`

- [ ] **Step 1: Run test to verify it passes**

Run: `cargo test --test m{i}`
Expected: PASS
""")
open(out, "w").write("".join(parts))
PY
    /usr/bin/time -f "$n tasks: %e s wall, %M KB peak RSS" "$target/release/planrun" check "$dir/plan.md" --json >/dev/null
done
