#!/usr/bin/env bash
# The estimate `planrun run` shows before it starts (a point estimate inside a range, and what it
# is based on), against what the run then used, on these plans:
#   - examples/quickstart/plan.md with its own script agent and reviewer (agent.py, reviewer.py:
#     a `command` agent, as examples/quickstart/run.sh runs it; 4 tasks, the first `lib` attempt
#     fails its verify command, so one task is reworked);
#   - the same plan with the real `claude` CLI;
#   - five one-file tasks (written below) with claude;
#   - a plan from bench/gen-plan.py (12 tasks, seed 1; 2-4 files, 2-4 criteria each) with claude.
#
# The `claude` CLI (pinned by .ci/agent-clis.sh) talks to a stand-in model server (a Python script
# written below), on 127.0.0.1. What the server does:
#   - It scripts the model's turns. An implement session: `ls`, then the command that does the
#     task's work (writer.py below: the quickstart's own agent.py for the quickstart, else a line
#     in each file the task declares, and a note for dependents), then `git status`, then a
#     final answer. A review (its request offers Claude Code's StructuredOutput tool): `git diff
#     --stat`, then the verdict pass through StructuredOutput, then a short answer. A rework
#     resumed in the same session runs the implement script again. Requests without tools
#     (background requests) get "ok".
#   - It reports usage measured from each request, not scripted: the request's tools, system
#     prompt and messages (cache markers removed) as JSON, bytes / 4; the longest prefix it shares
#     with any of the last 64 requests of the same run counts as read from the cache, the rest as
#     written to it (what Anthropic's API reports when Claude Code marks the end of each request
#     as a cache breakpoint; each run starts with an empty cache). Output tokens are the scripted
#     answer's JSON, bytes / 4.
# So the "actual" tokens are the real CLI's real context (its system prompt, 24 tool
# definitions, planrun's prompts, the tools' real output) resent on every turn, with a scripted
# model that takes 2-4 short turns per session and answers at once: what the estimate's default
# point is calibrated on (its low end: the shortest such session). A real model takes more turns,
# writes more and takes longer (the high end).
# The dollars are what claude itself reports (total_cost_usd, for the model it asked for).
#
# Per plan: run 1 in a fresh repository (the estimate from defaults), run 2 in another fresh
# repository holding run 1's history (.planrun/history.jsonl; the estimate from history); each
# estimate is the `estimate` event of that run, each actual its `finished` event's usage and the
# wall time around the run (`planrun report`'s estimate line is kept too). Then the generated and
# the one-file plans are estimated once more with the quickstart's history (another plan's
# history). Prints a markdown table (for each figure: the range and point, the actual, whether
# the actual is inside and point ÷ actual) and a summary; results.json and each plan's
# estimates and per-role figures go to bench/out/estimate-vs-actual/.
#
# Usage: bench/estimate-vs-actual.sh   (PLANRUN=path/to/planrun skips the build; MODEL=… picks the
# model, default claude-sonnet-4-5, whose built-in price is the one claude uses; TASKS=N for the
# generated plan; KEEP=1 keeps the temporary folder). About five minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
if [ -n "${PLANRUN:-}" ]; then
  planrun="$PLANRUN"
else
  cargo build --release -p planrun >&2
  planrun="$target/release/planrun"
fi
case "$planrun" in /*) ;; *) planrun="$PWD/$planrun" ;; esac
[ -x "$planrun" ] || { echo "no planrun binary at $planrun" >&2; exit 64; }

bash .ci/agent-clis.sh >&2
clis="${PLANRUN_AGENT_CLIS:-${XDG_CACHE_HOME:-$HOME/.cache}/planrun/agent-clis}/node_modules/.bin"
[ -x "$clis/claude" ] || { echo "no claude CLI at $clis/claude" >&2; exit 64; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/planrun-estimate.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The task's work, run by claude's Bash tool in the task's worktree (it inherits planrun's
# PLANRUN_* variables through claude).
cat >"$tmp/writer.py" <<'PY'
import os, re, subprocess, sys
from pathlib import Path
task, attempt = os.environ["PLANRUN_TASK_ID"], int(os.environ["PLANRUN_ATTEMPT"])
prompt_file = Path(os.environ["PLANRUN_PROMPT_FILE"])
if Path("agent.py").exists():
    # The quickstart's stand-in agent; a reworked attempt (a resumed session's short prompt) is
    # told it was sent back the way agent.py recognises.
    prompt = prompt_file
    if attempt > 1:
        prompt = prompt_file.with_suffix(".feedback.md")
        prompt.write_text(prompt_file.read_text() + "\n## Why the previous attempt was sent back\n")
    env = dict(os.environ, QUICKSTART_THINK="0")
    sys.exit(subprocess.run([sys.executable, "agent.py", str(prompt)], env=env).returncode)
# Any other plan: a line in each file the task declares (from its first prompt, which lists them).
first = prompt_file.with_name(f"{task}.1.md")
files = re.findall(r"^- `([^`*?\[{]+)`$", first.read_text().split("Change only these files:", 1)[-1].split("\n\n", 1)[0], re.M)
for f in files:
    p = Path(f)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(("# " if f.endswith(".py") else "// ") + f"{task}: attempt {attempt}\n")
    print("wrote", f)
Path(os.environ["PLANRUN_NOTES_FILE"]).write_text(f"{task} wrote {', '.join(files)}; its public items are documented.\n")
PY

cat >"$tmp/server.py" <<'PY'
import json, os, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

writer, log_path = sys.argv[1], sys.argv[2]
lock = threading.Lock()
earlier = []  # the canonical text of the last requests
log = open(log_path, "a")

def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "cache_control"}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x

def shared(a, b):
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # the longest common prefix, by halving (each comparison runs in C)
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo

def prompt_message(m):
    if m.get("role") != "user":
        return False
    c = m.get("content")
    return isinstance(c, str) or not any(isinstance(b, dict) and b.get("type") == "tool_result" for b in c)

def reply(body):
    tools = [t.get("name") for t in body.get("tools") or []]
    messages = body.get("messages") or []
    last = max([i for i, m in enumerate(messages) if prompt_message(m)] or [0])
    k = sum(1 for m in messages[last:] if m.get("role") == "assistant")
    bash = lambda cmd, what: {"type": "tool_use", "name": "Bash", "input": {"command": cmd, "description": what}}
    text = lambda t: {"type": "text", "text": t}
    if not tools:
        return "side", text("ok")
    if "StructuredOutput" in tools:
        script = [bash("git diff --stat HEAD; git status --short", "Show the change"),
                  {"type": "tool_use", "name": "StructuredOutput", "input": {"verdict": "pass", "findings": []}}]
        return "review", script[k] if k < len(script) else text("Reviewed: pass.")
    script = [bash("ls -la", "List the files"), bash(f"python3 {writer}", "Write the task's files"),
              bash("git status --short", "Check the change")]
    return "implement", script[k] if k < len(script) else text("Done: the task's files are written.")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, ctype, data):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send(404, "application/json", b'{"type":"error","error":{"type":"not_found_error","message":"no"}}')

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/reset":  # a new run: the cache has expired since the last one
            with lock:
                earlier.clear()
            return self.send(200, "text/plain", b"ok")
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            return self.do_GET()
        body = json.loads(raw)
        canon = json.dumps(strip([body.get("tools", []), body.get("system", ""), body.get("messages", [])]),
                           separators=(",", ":"), ensure_ascii=False)
        with lock:
            hit = max([shared(canon, e) for e in earlier] or [0])
            earlier.append(canon)
            del earlier[:-64]
        kind, block = reply(body)
        if block["type"] == "tool_use":
            block = dict(block, id=f"toolu_{os.urandom(8).hex()}")
        total, read = len(canon) // 4, hit // 4
        usage = {"input_tokens": 0, "cache_read_input_tokens": read, "cache_creation_input_tokens": total - read,
                 "output_tokens": max(1, len(json.dumps(block)) // 4)}
        with lock:
            log.write(json.dumps({"kind": kind, "model": body.get("model"), "usage": usage, "reply": block.get("name") or "text"}) + "\n")
            log.flush()
        stop = "tool_use" if block["type"] == "tool_use" else "end_turn"
        msg = {"id": f"msg_{os.urandom(8).hex()}", "type": "message", "role": "assistant", "model": body.get("model"),
               "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return self.send(200, "application/json", json.dumps(msg).encode())
        ev = lambda name, data: f"event: {name}\ndata: {json.dumps(data)}\n\n"
        start = dict(msg, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
        if block["type"] == "tool_use":
            cb, delta = dict(block, input={}), {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            cb, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
        out = [ev("message_start", {"type": "message_start", "message": start}),
               ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": cb}),
               ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
               ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": usage["output_tokens"]}}),
               ev("message_stop", {"type": "message_stop"})]
        self.send(200, "text/event-stream", "".join(out).encode())

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
PY

python3 "$tmp/server.py" "$tmp/writer.py" "$tmp/requests.jsonl" >"$tmp/server.url" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$tmp/server.url" ] && break; sleep 0.05; done
url="$(head -n1 "$tmp/server.url")"
[ -n "$url" ] || { echo "the model server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }

python3 "$root/bench/gen-plan.py" "$tmp/generated.md" "${TASKS:-12}" 1
# Five one-file tasks (the size of a first try of planrun).
python3 - "$tmp/one-file.md" <<'PY'
import sys
tasks = [("greet", "a function greet(name) that returns Hello, name!"), ("shout", "shout(text) that upper-cases text"),
         ("count", "count_words(text) that counts the words of a text"), ("slug", "slug(title) that turns a title into a URL slug"),
         ("clamp", "clamp(x, lo, hi) that keeps x between lo and hi")]
out = ["# Five helpers\n\nSmall Python helpers, one module each.\n"]
for name, what in tasks:
    out.append(f"## Task {name}: Write {name}.py\n\nFiles: `{name}.py`\n\nWrite `{name}.py` with {what}.\n\n"
               f"### Acceptance\n\n- [ ] {name}.py defines it, with a docstring\n\n### Verify\n\n- `python3 -c 'import {name}'`\n")
open(sys.argv[1], "w").write("\n".join(out))
PY

python3 - "$planrun" "$clis" "$url" "$tmp" "$root" "${MODEL:-claude-sonnet-4-5}" "$("$planrun" --version)" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time, urllib.request

planrun, clis, url, tmp, root, model, version = sys.argv[1:8]
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
    # A disposable folder: as root, Claude Code runs its Bash tool's `$VAR`s only with this.
    "IS_SANDBOX": "1",
    "NO_COLOR": "1",
}
for k in ("LANG", "LC_ALL", "TMPDIR"):
    if k in os.environ:
        env[k] = os.environ[k]

quick = os.path.join(root, "examples/quickstart")
QUICK_FILES = [os.path.join(quick, f) for f in ("agent.py", "reviewer.py", ".gitignore")]
CLAUDE = ["--agent", "claude", "--model", model]
# The quickstart as examples/quickstart/run.sh runs it: its own script agent and reviewer.
COMMAND = ["--agent-command", "python3 agent.py {prompt_file}", "--review-command", "python3 reviewer.py {prompt_file}"]
PLANS = {
    "quickstart, script agent": (os.path.join(quick, "plan.md"), QUICK_FILES, COMMAND),
    "quickstart": (os.path.join(quick, "plan.md"), QUICK_FILES, CLAUDE),
    "five one-file tasks": (os.path.join(tmp, "one-file.md"), [], CLAUDE),
    "generated": (os.path.join(tmp, "generated.md"), [], CLAUDE),
}

def repo(name, plan, history=None):
    d = os.path.join(tmp, name.replace(" ", "-").replace(",", ""))
    os.makedirs(d)
    src, extra, _ = PLANS[plan]
    shutil.copy(src, os.path.join(d, "plan.md"))
    for f in extra:
        shutil.copy(f, d)
    g = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(g + ["init", "-q"], cwd=d, check=True)
    subprocess.run(g + ["add", "-A"], cwd=d, check=True)
    subprocess.run(g + ["commit", "-qm", "start"], cwd=d, check=True)
    if history:
        os.makedirs(os.path.join(d, ".planrun"))
        shutil.copy(history, os.path.join(d, ".planrun/history.jsonl"))
    return d

def run(name, plan, history=None):
    d = repo(name, plan, history)
    # Runs are minutes or days apart, past a provider cache's lifetime (5 minutes by default at
    # Anthropic): each starts with a cold cache.
    urllib.request.urlopen(urllib.request.Request(url + "/reset", data=b""), timeout=10).read()
    t0 = time.perf_counter()
    p = subprocess.run([planrun, "run", "plan.md", *PLANS[plan][2], "--yes", "--json"], cwd=d, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    events = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    est = next((e for e in events if e.get("event") == "estimate"), None)
    fin = next((e for e in events if e.get("event") == "finished"), None)
    if p.returncode != 0 or est is None or fin is None:
        sys.exit(f"{name}: planrun exited {p.returncode}\n{p.stderr[-3000:]}")
    hist = [json.loads(l) for l in open(os.path.join(d, ".planrun/history.jsonl"))][-1]
    report = subprocess.run([planrun, "report"], cwd=d, env=env, capture_output=True, text=True).stdout
    line = next((l for l in report.splitlines() if l.startswith("estimate: ")), "")
    return d, est, fin["usage"], wall, hist, line

def estimate_only(name, plan, history):
    d = repo(name, plan, history)
    p = subprocess.run([planrun, "estimate", "plan.md", *PLANS[plan][2], "--json"], cwd=d, env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{name}: planrun estimate exited {p.returncode}\n{p.stderr}")
    return json.loads(p.stdout)

def tok(u):
    return u["input"] + u["output"] + u["cache_read"] + u["cache_write"]

def fig(kind, lo, mid, hi, actual):
    """One figure: the estimate's range and point against the actual."""
    if mid is None:
        return {"estimate": None, "actual": actual, "inside": None, "ratio": None}
    inside = actual is not None and lo <= actual <= hi
    ratio = mid / actual if actual else None
    return {"low": lo, "mid": mid, "high": hi, "actual": actual, "inside": inside, "ratio": ratio}

def show(kind, f):
    if kind == "tokens":
        n = lambda x: f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"
    elif kind == "cost":
        n = lambda x: f"${x:.2f}" if x >= 0.1 else f"${x:.3f}"
    else:
        n = lambda x: f"{x:.0f} s" if x >= 10 else f"{x:.1f} s"
    actual = "none reported" if f["actual"] is None else n(f["actual"])
    if f.get("mid") is None:
        return f"unknown | {actual} | "
    verdict = ("**in**" if f["inside"] else "out") + (f", point {f['ratio']:.2f}×" if f["ratio"] else "")
    return f"~{n(f['mid'])} ({n(f['low'])}–{n(f['high'])}) | {actual} | {verdict}"

rows, results = [], []
def compare(plan, label, est, used, wall):
    t = est["tokens"] or {}
    cr = est["cost_usd_range"] or [None, None]
    wr = [x / 1000 for x in est["wall_ms_range"]] if est["wall_ms_range"] else [None, None]
    agents = used["agent_steps"] > 0
    r = {"plan": plan, "estimate": label, "source": est["source"], "basis": est["basis"], "tasks": est["tasks"],
         "attempts": est["attempts_range"],
         "tokens": fig("tokens", t.get("low"), t.get("total"), t.get("high"), tok(used) if agents else None),
         "cost": fig("cost", cr[0], est["cost_usd"], cr[1], used["cost_usd"] if agents else None),
         "wall": fig("wall", wr[0], est["wall_ms"] and est["wall_ms"] / 1000, wr[1], wall)}
    results.append(r)
    rows.append(f"| {plan} | {label} | {show('tokens', r['tokens'])} | {show('cost', r['cost'])} | {show('wall', r['wall'])} |")
    print(f"{plan:<26} {label:<34} " + "  ".join(
        f"{k} {r[k].get('low')}..{r[k].get('high')} vs {r[k]['actual']}" for k in ("tokens", "cost", "wall")), file=sys.stderr)

history, actual = {}, {}
for plan in PLANS:
    d1, e1, u1, w1, h1, l1 = run(f"{plan} 1", plan)
    compare(plan, "run 1: defaults", e1, u1, w1)
    hist = os.path.join(d1, ".planrun/history.jsonl")
    d2, e2, u2, w2, h2, l2 = run(f"{plan} 2", plan, hist)
    compare(plan, "run 2: its own history (1 run)", e2, u2, w2)
    history[plan], actual[plan] = hist, (u2, w2, h2)
    with open(os.path.join(tmp, f"{plan.replace(' ', '-').replace(',', '')}-per-role.json"), "w") as f:
        json.dump({"estimate_1": e1, "estimate_2": e2, "actual_1": h1["roles"], "actual_2": h2["roles"],
                   "report_1": l1, "report_2": l2}, f, indent=1)

# Plans estimated from another plan's history, against their own run 2.
for plan, other in (("generated", "quickstart"), ("five one-file tasks", "quickstart")):
    e3 = estimate_only(f"{plan} from {other}", plan, history[other])
    u2, w2, _ = actual[plan]
    compare(plan, f"the {other}'s history, vs run 2", e3, u2, w2)

claude = subprocess.run(["claude", "--version"], env=env, capture_output=True, text=True).stdout.strip()
load = " ".join(open("/proc/loadavg").read().split()[:3])
print(f"{version}; claude {claude}; model {model}; {os.cpu_count()} CPUs; load average {load}; "
      f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
print("| plan | estimate | tokens: estimate | actual | | dollars: estimate | actual | | wall: estimate | actual | |")
print("|---|---|---|---:|---|---|---:|---|---|---:|---|")
print("\n".join(rows))
print()
for k in ("tokens", "cost", "wall"):
    known = [r[k] for r in results if r[k].get("mid") is not None and r[k]["actual"] is not None]
    for label, pick in (("defaults", lambda r: r["source"] == "defaults"), ("history", lambda r: r["source"] != "defaults")):
        sel = [r[k] for r in results if pick(r) and r[k].get("mid") is not None and r[k]["actual"] is not None]
        if sel:
            ratios = [f["ratio"] for f in sel]
            print(f"- {k}, {label}: actual inside the range {sum(f['inside'] for f in sel)} of {len(sel)}; "
                  f"point ÷ actual median {statistics.median(ratios):.2f} (from {min(ratios):.2f} to {max(ratios):.2f}); "
                  f"point within 2× of the actual: {sum(0.5 <= f['ratio'] <= 2 for f in sel)} of {len(sel)}")
    unknown = [r["plan"] + ": " + r["estimate"] for r in results if r[k].get("mid") is None]
    if unknown:
        print(f"- {k} unknown: " + "; ".join(unknown))
with open(os.path.join(tmp, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
keep = os.path.join(root, "bench/out/estimate-vs-actual")
os.makedirs(keep, exist_ok=True)
for f in os.listdir(tmp):
    if f.endswith(".json"):
        shutil.copy(os.path.join(tmp, f), keep)
print(f"results and per-role figures in {keep}", file=sys.stderr)
PY
