#!/usr/bin/env bash
# Soak test: kill -9 of `planrun run` at 1,000 random moments (or KILLS=N), each followed by a
# rerun, on a 30-task plan; then one run to the end. Checks after every kill that the journal
# passes SQLite's integrity check, and at the end that every task is done and that no task
# recorded done before a run started was executed again. It is the suite's kill -9 test
# (crates/planrun/tests/kill9.rs) with more kills; a failure prints the seed to replay it with
# PLANRUN_KILL_SEED=... .
set -euo pipefail
cd "$(dirname "$0")/.."
PLANRUN_KILLS="${KILLS:-1000}" cargo test --release -p planrun --test kill9 -- --nocapture
