#!/usr/bin/env bash
# Chaos soak: 500 random interleavings (or CHAOS=N) of `planrun run`, `continue`, `retry` and
# `skip` on generated plans, with settings switched between invocations and SIGINT or SIGKILL at
# random moments, in both workspace modes. After every step: no work an agent wrote is
# unreachable, no task is committed twice, the journal passes SQLite's integrity check; at the
# end every task not skipped is done with its work committed. It is the suite's chaos test
# (crates/planrun/tests/chaos.rs) with more interleavings, in a release build. SEED=S replays a
# run (each failing interleaving prints its own seed: replay it alone with
# PLANRUN_CHAOS_SEED=S PLANRUN_CHAOS=1). Prints the interleavings run and the failures.
set -euo pipefail
cd "$(dirname "$0")/.."
export PLANRUN_CHAOS="${CHAOS:-500}"
if [ -n "${SEED:-}" ]; then export PLANRUN_CHAOS_SEED="$SEED"; fi
cargo build --release -p planrun --tests
log="$(mktemp)"
status=0
cargo test --release -p planrun --test chaos -- --nocapture 2>&1 | tee "$log" || status=$?
echo
grep -E '^chaos: ' "$log" || true
echo "failures:"
grep -E '^PLANRUN_CHAOS_SEED=' "$log" || echo "  none"
rm -f "$log"
exit "$status"
