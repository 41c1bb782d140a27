#!/usr/bin/env python3
"""Writes a realistic planrun plan in the native markdown format, for bench/context-package.sh.

usage: gen-plan.py OUT_FILE [TASKS] [SEED]

The plan (deterministic for a seed): a title; a plan context of about 350 words (background,
conventions, what not to touch); then TASKS tasks (default 100), each with a title, a
description of 300-1500 bytes (the target length drawn uniformly, filled with sentences about the
task's module), 2-4 files of its own, 2-4 acceptance criteria, the verify command `true`, and
0-3 dependencies on earlier tasks (so the graph is a DAG), mostly on recent ones.
"""
import random, sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rng = random.Random(seed)

TITLE = "Add multi-tenant billing to the Ledger service"

CONTEXT = """\
Ledger is a Rust 2024 web service (axum 0.8, tokio, sqlx on PostgreSQL 16) that records usage
events from the product and turns them into invoices. Today it serves a single tenant: every
table lacks a tenant column, prices are hard-coded in `src/pricing/default.rs`, and invoices are
rendered by a nightly cron job. This plan makes it multi-tenant, moves prices into the database,
adds proration and credit notes, and replaces the cron job with an event-driven pipeline. The
public HTTP API keeps its shape: every existing endpoint must answer exactly as before for the
default tenant, and clients that send no tenant header get the default tenant.

## Background

The service is split into crates under `crates/`: `ledger-core` (domain types, no I/O),
`ledger-db` (sqlx queries and migrations), `ledger-http` (axum routers and extractors),
`ledger-jobs` (background workers) and `ledger-cli` (operator commands). Migrations live in
`crates/ledger-db/migrations/` and are applied by `sqlx migrate run`; each migration must be
reversible and must not lock a large table for more than a second (add columns nullable, backfill
in batches, then add the constraint). Money is always `ledger_core::Money` (integer minor units
plus an ISO 4217 currency); never use floating point for amounts, and never add amounts of
different currencies.

## Conventions

- Errors: library crates return `thiserror` enums; only binaries use `anyhow`. HTTP handlers map
  errors to RFC 9457 problem documents through `ledger_http::problem`.
- Every public function has a doc comment and a unit test; database code is tested against a
  throwaway database created by `ledger_db::testing::fresh_db()`.
- Logging goes through `tracing` with the tenant id as a span field; never log card numbers,
  emails or invoice totals at `info` or above.
- Feature flags are read once at startup from `LEDGER_FLAGS`; new behaviour ships behind a flag
  named after the task's module and defaults to off.
- Keep changes inside the files your task lists. If you find a bug elsewhere, describe it in
  your notes for the tasks that follow instead of fixing it.

Do not touch `crates/ledger-http/src/legacy/` (kept byte-for-byte for an audit), the CI
configuration, or `Cargo.lock` beyond what a new dependency needs.
"""

# (crate folder, module names, the nouns the module deals with)
AREAS = [
    ("ledger-db", ["tenants", "prices", "invoices", "usage", "credits", "accounts"],
     ["migration", "table", "index", "query", "backfill"]),
    ("ledger-core", ["money", "proration", "tax", "plans", "discounts", "periods"],
     ["type", "calculation", "rounding rule", "invariant", "conversion"]),
    ("ledger-http", ["tenancy", "prices_api", "invoices_api", "webhooks", "auth", "problem"],
     ["endpoint", "extractor", "middleware", "router", "response"]),
    ("ledger-jobs", ["pipeline", "renderer", "dunning", "exports", "reconcile", "outbox"],
     ["worker", "queue", "retry policy", "schedule", "consumer"]),
    ("ledger-cli", ["admin", "import", "report", "audit"],
     ["command", "subcommand", "flag", "output format", "dry run"]),
]

VERBS = ["Add", "Implement", "Move", "Introduce", "Replace", "Extend", "Split", "Harden", "Backfill",
         "Wire up", "Validate", "Cache", "Document", "Test"]

SENTENCES = [
    "The {noun} in `{path}` currently assumes a single tenant; thread a `TenantId` through it and make every caller pass one explicitly.",
    "Start by reading how `{mod}` is used from `{other}`: the two must agree on the shape of the {noun}, and the tests of `{other}` should keep passing unchanged.",
    "Keep the existing behaviour for the default tenant byte-for-byte; the golden files under `tests/golden/{mod}/` show what it must produce.",
    "Amounts are `Money` values; when a {noun} needs to combine amounts, refuse mismatched currencies with `CurrencyMismatch` instead of converting them.",
    "Put the new {noun} behind the `{mod}_v2` flag, off by default, and make the old path the one taken when the flag is off.",
    "The {noun} must be idempotent: running it twice with the same input (the same event id, the same period) must leave the database exactly as running it once.",
    "Write the {noun} so that it never holds a database transaction open across an `await` on the network; fetch first, then open the transaction and write.",
    "Add a `tracing` span named `{mod}.{verb}` with the tenant id and the period as fields, and log one line at `debug` when the {noun} finishes.",
    "Errors belong in `{mod}::Error`; add a variant for each new failure and map it to a problem document with a stable `type` URI in `ledger_http::problem`.",
    "For large tenants the {noun} may see a million rows: stream them with `fetch` in batches of 1,000 rather than collecting them into a vector.",
    "Prices can change in the middle of a billing period; the {noun} must use the price that was valid at each usage event's timestamp, not the current one.",
    "Rounding happens once, at the end, with banker's rounding to the currency's minor unit; intermediate values keep full precision as `i128` micro-units.",
    "Time zones matter here: periods are defined in the tenant's time zone, stored as UTC instants, and a period boundary on a DST change must not lose or repeat an hour.",
    "The migration must be reversible: the `down` script restores the previous schema and drops nothing that held data before the `up` script ran.",
    "Cover the {noun} with unit tests for the ordinary case, an empty input, a tenant without prices, and a period that crosses a month boundary.",
    "Use `ledger_db::testing::fresh_db()` in the tests; they run in parallel, so never rely on a fixed id or on the order rows come back in without `ORDER BY`.",
    "Document the {noun} in the module's doc comment with one example, and mention the flag and its default there too.",
    "If the {noun} needs a new dependency, prefer one already in the workspace; add a new one only with a comment in `Cargo.toml` saying why.",
    "Webhook deliveries that fail are retried with exponential backoff (1 s, doubling, at most 1 h, at most 12 tries); the {noun} records each try with its status code.",
    "The outbox table is the only way to publish events: write the event in the same transaction as the change it describes, never send it directly.",
    "Authorisation: an operator token may act on any tenant, a tenant token only on its own; the {noun} must check this before reading anything.",
    "Credit notes never change an issued invoice; they reference it and carry negative lines, and the invoice's balance is computed from both.",
    "Make the {noun} report what it would do with `--dry-run` without writing anything, and print a summary table of tenants and amounts at the end.",
    "Exports are CSV with a header row, RFC 4180 quoting, UTF-8 without a BOM, and amounts written as decimal strings in major units (`12.30`).",
    "Benchmark the hot path with the existing `criterion` harness in `benches/{mod}.rs`; it must not get more than 10% slower than before the change.",
]

ACCEPTANCE = [
    "the default tenant's responses are byte-for-byte unchanged (golden tests pass)",
    "a request for another tenant's data answers 404, never 403, so ids do not leak",
    "the migration applies and rolls back cleanly on a copy of the staging schema",
    "amounts in different currencies are never added; the attempt is an error",
    "running the {noun} twice on the same input changes nothing the second time",
    "the new behaviour is off unless `{mod}_v2` is in `LEDGER_FLAGS`",
    "`cargo clippy --workspace -- -D warnings` is clean",
    "every new public function has a doc comment and a test",
    "a period crossing a DST change bills exactly the hours it contains",
    "no log line at `info` or above contains an amount or an email address",
    "the {noun} streams rows; peak memory stays under 200 MB for a million usage events",
    "prorated amounts round once, at the end, with banker's rounding",
]


def sentence(template, ctx):
    return template.format(**ctx)


tasks = []  # (id, title, deps, files, description, acceptance)
counts = {}
for i in range(n):
    crate, mods, nouns = rng.choice(AREAS)
    mod = rng.choice(mods)
    noun = rng.choice(nouns)
    counts[mod] = counts.get(mod, 0) + 1
    tid = f"{mod.replace('_', '-')}-{counts[mod]}"
    verb = rng.choice(VERBS)
    title = f"{verb} the {mod.replace('_', ' ')} {noun}" + (f" (part {counts[mod]})" if counts[mod] > 1 else "")

    # 0-3 dependencies on earlier tasks, mostly recent ones (the last 15).
    deps = []
    if i > 0:
        k = min(i, rng.choice([0, 1, 1, 2, 2, 3]))
        pool = list(range(max(0, i - 15), i)) if rng.random() < 0.8 else list(range(i))
        deps = sorted(set(rng.sample(pool, min(k, len(pool)))))

    # 2-4 files of the task's own: a source file, its test, maybe a migration or a bench.
    stem = f"{mod}_{counts[mod]}"
    files = [f"crates/{crate}/src/{mod}/{stem}.rs", f"crates/{crate}/tests/{stem}.rs"]
    extra = [f"crates/{crate}/benches/{stem}.rs", f"crates/ledger-db/migrations/{i:04}_{stem}/**",
             f"docs/{mod}/{stem}.md"]
    files += rng.sample(extra, rng.randint(0, 2))

    other_crate, other_mods, _ = rng.choice(AREAS)
    ctx = {"noun": noun, "mod": mod, "path": files[0], "verb": verb.lower().replace(" ", "_"),
           "other": f"{other_crate.replace('-', '_')}::{rng.choice(other_mods)}"}
    target = rng.randint(300, 1500)
    pool = SENTENCES[:]
    rng.shuffle(pool)
    lines = [f"{verb} the {noun} of `{mod}` in `{files[0]}`."]
    # Fill sentences until the next one would pass the target; paragraphs of 2-4 sentences.
    desc, in_para, para_len = lines[0], 1, rng.randint(2, 4)
    for tmpl in pool:
        s = sentence(tmpl, ctx)
        if len(desc) >= 300 and len(desc) + 2 + len(s) > target:
            break
        if in_para >= para_len:
            desc += "\n\n" + s
            in_para, para_len = 1, rng.randint(2, 4)
        else:
            desc += " " + s
            in_para += 1
    # Wrap at about 100 columns, as people write markdown.
    wrapped = []
    for block in desc.split("\n\n"):
        line = ""
        for word in block.split(" "):
            if line and len(line) + 1 + len(word) > 100:
                wrapped.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        wrapped.append(line)
        wrapped.append("")
    desc = "\n".join(wrapped).strip()

    acc = [a.format(**ctx) for a in rng.sample(ACCEPTANCE, rng.randint(2, 4))]
    tasks.append((tid, title, deps, files, desc, acc))

with open(out, "w") as f:
    f.write(f"# {TITLE}\n\n{CONTEXT}\n")
    for tid, title, deps, files, desc, acc in tasks:
        f.write(f"## Task {tid}: {title}\n\n")
        if deps:
            f.write("Depends on: " + ", ".join(f"`{tasks[d][0]}`" for d in deps) + "\n")
        f.write("Files: " + ", ".join(f"`{p}`" for p in files) + "\n\n")
        f.write(desc + "\n\n### Acceptance\n\n")
        for a in acc:
            f.write(f"- [ ] {a}\n")
        f.write("\n### Verify\n\n- `true`\n\n")
