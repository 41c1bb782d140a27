//! The task pipeline with real agent CLIs (pinned and installed by `.ci/agent-clis.sh`) against
//! the test kit's scripted model server on 127.0.0.1: Claude Code implements, Codex reviews (the
//! task review and the code review side by side, each held to the verdict's JSON Schema by
//! `codex exec --output-schema`), on a repository with a commit, so each task works in its own
//! git worktree and is merged onto the integration branch. One server answers both CLIs: Claude
//! Code calls its Messages API, Codex its Responses API. A missing CLI fails the test with what
//! to run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use planrun_testkit::ModelServer;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use support::clis::{CLAUDE_KEY, CODEX_KEY, agent_env, turn, verdict, write};
use support::{Repo, events, text};

const PLAN: &str = "# Letters

## Task a: Write alpha

Files: `a.txt`

Create a.txt holding the word alpha (MARK-A).

### Verify

- `grep -qx alpha a.txt`

## Task b: Write beta

Depends on: `a`
Files: `b.txt`

Create b.txt holding the word beta next to a.txt (MARK-B).

### Verify

- `grep -qx beta b.txt && grep -qx alpha a.txt`
";

/// `git ARGS` in `dir`; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(task, files)` of each commit on `branch` that carries a `Planrun-Task` trailer, oldest first.
fn task_commits(dir: &Path, branch: &str) -> Vec<(String, Vec<String>)> {
    let log = git(
        dir,
        &["log", "--reverse", "--format=%x1e%(trailers:key=Planrun-Task,valueonly)%x1f", "--name-only", branch],
    );
    log.split('\x1e')
        .filter_map(|e| {
            let (task, files) = e.split_once('\x1f')?;
            let task = task.trim();
            let files = files.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
            (!task.is_empty()).then(|| (task.to_owned(), files))
        })
        .collect()
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut all = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    all
}

#[test]
fn claude_implements_codex_reviews_and_the_tasks_merge_in_worktrees() {
    let repo = Repo::new(PLAN, "exit 1");
    repo.write("planrun.toml", "[prices.\"gpt-test\"]\ninput = 1.0\noutput = 2.0\n");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "start"]);
    let top = repo.path().canonicalize().unwrap();
    let worktrees = top.join(".planrun/worktrees");
    let home = tempfile::tempdir().unwrap();

    // In the order the requests come; a request takes the first unused turn whose text it holds.
    // A resumed Claude session sends its whole history (so also `tool_result` and MARK-A), which
    // is why each task's turns come after the turns of what runs before it. The two reviews of
    // one attempt run side by side: each prompt names its own review.
    let blocking = "the TODO line must go (FINDING-TODO)";
    let advisory = "a comment could say why alpha (ADVICE-ALPHA)";
    let turns = vec![
        // a, attempt 1: alpha plus a stray TODO line (verify's `grep -qx alpha` still passes).
        turn("MARK-A", write(&worktrees, "a", "a.txt", "alpha\nTODO\n")),
        turn("tool_result", json!({"kind": "text", "text": "Wrote a.txt."})),
        turn("the task review:", verdict("pass", json!([]))),
        turn(
            "the code review:",
            verdict(
                "changes_requested",
                json!([{"severity": "blocking", "file": "a.txt", "line": 2, "message": blocking}]),
            ),
        ),
        // a, attempt 2, in the resumed session: the fix.
        turn("checked your work on task a", write(&worktrees, "a", "a.txt", "alpha\n")),
        turn("tool_result", json!({"kind": "text", "text": "Removed the TODO line."})),
        turn("the task review:", verdict("pass", json!([]))),
        turn(
            "the code review:",
            verdict("pass", json!([{"severity": "advisory", "file": "a.txt", "line": 1, "message": advisory}])),
        ),
        // b, from the integration branch that holds a.
        turn("MARK-B", write(&worktrees, "b", "b.txt", "beta\n")),
        turn("tool_result", json!({"kind": "text", "text": "Wrote b.txt."})),
        turn("the task review:", verdict("pass", json!([]))),
        turn("the code review:", verdict("pass", json!([]))),
    ];
    let scenario = json!({"turns": turns, "fallback": {"kind": "text", "text": "ok"}});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();

    let clis = planrun_testkit::agent_cli("claude").unwrap_or_else(|e| panic!("{e}"));
    planrun_testkit::agent_cli("codex").unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}:{}", clis.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = repo.cmd(&[
        "run",
        "plan.md",
        "--agent",
        "claude",
        "--model",
        "claude-sonnet-4-5",
        "--review-agent",
        "codex",
        "--review-model",
        "gpt-test",
        "--json",
        "--grace",
        "1s",
        "--yes",
    ]);
    cmd.env("PATH", path);
    // The CLIs' configuration, data and cache folders follow these when set: HOME decides.
    for v in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "IS_SANDBOX"] {
        cmd.env_remove(v);
    }
    for (k, v) in agent_env(home.path(), &server.url()) {
        cmd.env(k, v);
    }
    let started = std::time::Instant::now();
    let out: Output = cmd.output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}\n{}", server.unused_turns(), text(&out));

    // One commit per task on the integration branch, in dependency order, holding the files.
    let ev = events(&out);
    let finished = ev.iter().find(|e| e["event"] == "finished").unwrap_or_else(|| panic!("{}", text(&out)));
    let branch = finished["integration"].as_str().unwrap_or_else(|| panic!("{finished}")).to_owned();
    assert!(branch.starts_with("planrun/"), "{branch}");
    let commits = task_commits(&top, &branch);
    assert_eq!(
        commits,
        [("a".to_owned(), vec!["a.txt".to_owned()]), ("b".to_owned(), vec!["b.txt".to_owned()])],
        "{}",
        git(&top, &["log", "--stat", &branch])
    );
    assert_eq!(git(&top, &["show", &format!("{branch}:a.txt")]), "alpha\n");
    assert_eq!(git(&top, &["show", &format!("{branch}:b.txt")]), "beta\n");
    // The tasks worked in their worktrees: the user's working tree and branch are as they were,
    // but for planrun's own `Status: done` written back into the plan.
    assert!(!top.join("a.txt").exists() && !top.join("b.txt").exists());
    assert_eq!(git(&top, &["status", "--porcelain"]), " M plan.md\n");
    let diff = git(&top, &["diff", "-U0", "--no-color", "plan.md"]);
    let changed: Vec<&str> =
        diff.lines().filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---")).collect();
    assert_eq!(changed, ["+Status: done", "+Status: done"], "{diff}");
    assert_eq!(git(&top, &["rev-list", "--count", "HEAD"]).trim(), "1");

    // Every Codex request was a review held to the verdict's schema (`--output-schema`, sent
    // as the Responses API's `text.format`): two reviews per attempt, three attempts.
    let requests = server.requests();
    let reviews: Vec<&Value> =
        requests.iter().filter(|r| r.path.starts_with("/v1/responses")).map(|r| &r.body).collect();
    assert_eq!(reviews.len(), 6, "{reviews:?}");
    for body in &reviews {
        let format = &body["text"]["format"];
        assert_eq!(format["type"], "json_schema", "{}", body["text"]);
        assert_eq!(format["schema"]["properties"]["verdict"]["enum"], json!(["pass", "changes_requested"]));
        assert_eq!(format["strict"], true);
    }
    // Claude Code, the implementer, was not given a schema (its tools hold no StructuredOutput).
    let claude: Vec<&Value> = requests.iter().filter(|r| r.path.starts_with("/v1/messages")).map(|r| &r.body).collect();
    assert!(!claude.is_empty());
    for body in &claude {
        let tools: Vec<&str> = body["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(tools.contains(&"Write") && !tools.contains(&"StructuredOutput"), "{tools:?}");
    }

    // The code review's blocking finding went back to Claude Code, in its resumed session.
    let rework = claude
        .iter()
        .find(|b| b.to_string().contains("checked your work on task a"))
        .unwrap_or_else(|| panic!("no rework request: {claude:?}"));
    let rework = rework.to_string();
    assert!(rework.contains("FINDING-TODO") && rework.contains("a.txt:2"), "{rework}");
    assert!(rework.contains("alpha\\nTODO"), "the resumed request carries the first attempt's history");
    let a_runs: Vec<&Value> =
        ev.iter().filter(|e| e["task"] == "a" && e["step"] == "implement" && e["event"] == "agent_usage").collect();
    assert_eq!(a_runs.len(), 2, "{ev:?}");
    assert!(
        a_runs[0]["agent"]["session"].is_string() && a_runs[0]["agent"]["session"] == a_runs[1]["agent"]["session"]
    );
    let rework_event = ev.iter().find(|e| e["event"] == "rework" && e["task"] == "a").unwrap();
    assert!(rework_event["reason"].as_str().unwrap().contains("FINDING-TODO"), "{rework_event}");
    assert!(!ev.iter().any(|e| e["event"] == "rework" && e["task"] == "b"), "{ev:?}");

    // The reviews' logs are there; the advisory finding is in a's step report.
    for name in ["a.1.task-review", "a.1.code-review", "a.2.task-review", "a.2.code-review", "b.1.code-review"] {
        assert!(!repo.read(&format!(".planrun/logs/{name}.log")).is_empty(), "{name}");
    }
    let reports: Vec<_> = std::fs::read_dir(top.join(".planrun/runs"))
        .unwrap()
        .map(|e| e.unwrap().path().join("tasks/a.md"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    assert!(report.contains("ADVICE-ALPHA") && report.contains("1 advisory"), "{report}");
    assert!(ev.iter().any(|e| e["event"] == "advisory" && e["task"] == "a"), "{ev:?}");

    // The journal has both tasks done.
    assert_eq!(repo.states(), [("a".to_owned(), "done".to_owned()), ("b".to_owned(), "done".to_owned())]);
    // No key reached planrun's files.
    let state = all_text(&top.join(".planrun"));
    assert!(!state.contains(CLAUDE_KEY) && !state.contains(CODEX_KEY));
    assert!(took.as_secs() < 60, "took {took:?}");
}
