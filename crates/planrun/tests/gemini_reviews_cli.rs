//! Gemini CLI as the reviewer, for real (pinned and installed by `.ci/agent-clis.sh`), against
//! the test kit's scripted model server on 127.0.0.1: the task review and the code review run
//! side by side in the task's worktree, and each one's session must still be there when planrun
//! resumes it with the reminder.
//!
//! Gemini CLI (0.61.0), as it starts, deletes from the project's `chats` folder every session
//! file that holds nothing to resume yet (`general.sessionRetention`, on by default). A session
//! holds nothing to resume from its first line until its prompt is recorded, which comes after
//! the model router's classifier request (model `auto`, the default): the server holds that
//! request of one review, so that the other review's reminder run would start meanwhile and
//! delete it (as it did: the reminder's `--resume` failed with "Invalid session identifier").
//! planrun starts one Gemini CLI at a time per folder, each once the previous one's model has
//! answered: the reminder run waits, and both reminders reach their sessions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use planrun_testkit::ModelServer;
use serde_json::{Value, json};
use support::{committed, events, text};

const PLAN: &str = "# Letters

## Task a: Write alpha

Files: `a.txt`

Create a.txt holding the word alpha.

### Verify

- `grep -qx alpha a.txt`
";

const KEY: &str = "AIzaE2E0000000000000000000000000000000000";
/// Only the model router's classifier request holds this (its answer's schema).
const CLASSIFIER: &str = "complexity_score";
/// Only a reminder run's requests hold this (planrun's reminder).
const REMINDER: &str = "did not end with a verdict planrun can read";

fn classifier_answer() -> Value {
    json!({"kind": "text", "text": json!({"complexity_reasoning": "a small review", "complexity_score": 10}).to_string()})
}

fn no_verdict(mark: &str) -> Value {
    json!({"kind": "text", "text": format!("I read the change; it looks fine ({mark}).")})
}

fn pass() -> Value {
    json!({"kind": "text", "text": json!({"verdict": "pass", "findings": []}).to_string()})
}

#[test]
fn a_gemini_reviews_session_survives_the_other_reviews_start() {
    let repo = committed(PLAN, "printf 'alpha\\n' > a.txt", &[]);
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".gemini")).unwrap();
    // No model: Gemini CLI routes each prompt with its classifier (`auto`). One attempt per
    // request, so an error is heard at once.
    std::fs::write(
        home.path().join(".gemini/settings.json"),
        r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"maxAttempts": 1}}"#,
    )
    .unwrap();

    // The requests of one review hold its prompt ("the task review:", "the code review:"); a
    // request takes the first unused turn that matches it, others get the classifier's answer.
    let turns = vec![
        // The code review's classifier request: answered only once the task review's reminder
        // run has started (at most 20 s), so that start falls while the code review's session
        // holds nothing to resume.
        json!({"when": "the code review:", "hold_until": REMINDER, "hold_ms": 20000, "reply": classifier_answer()}),
        // Each review answers without a verdict: planrun resumes its session with the reminder.
        json!({"when": "the task review:", "unless": CLASSIFIER, "reply": no_verdict("TASK-FIRST")}),
        json!({"when": "the code review:", "unless": CLASSIFIER, "reply": no_verdict("CODE-FIRST")}),
        json!({"when": REMINDER, "unless": CLASSIFIER, "reply": pass()}),
        json!({"when": REMINDER, "unless": CLASSIFIER, "reply": pass()}),
    ];
    let scenario = json!({"turns": turns, "fallback": classifier_answer()});
    let server = ModelServer::start(ModelServer::scenario(&scenario.to_string()).unwrap()).unwrap();

    let gemini = planrun_testkit::agent_cli("gemini").unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}:{}", gemini.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = repo.cmd(&[
        "run",
        "plan.md",
        "--agent-command",
        "./agent.sh",
        "--review-agent",
        "gemini",
        "--max-rework",
        "0",
        "--json",
        "--grace",
        "1s",
        "--yes",
    ]);
    cmd.env("PATH", path)
        .env("HOME", home.path())
        .env("GOOGLE_GEMINI_BASE_URL", server.url())
        .env("GEMINI_API_KEY", KEY);
    // Gemini CLI's folders follow HOME, not these.
    for v in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"] {
        cmd.env_remove(v);
    }
    let out = cmd.output().unwrap();

    let requests = server.requests();
    let held = requests.iter().find(|r| r.turn == Some(0)).map(|r| r.body.to_string()).unwrap_or_default();
    let chats: Vec<String> =
        walk(&home.path().join(".gemini/tmp")).into_iter().filter(|p| p.contains("/chats/")).collect();
    let asked: Vec<String> = requests
        .iter()
        .map(|r| {
            let b = r.body.to_string();
            let has = |t: &'static str| if b.contains(t) { t.split(' ').next().unwrap_or(t) } else { "-" };
            format!(
                "turn {:?} {} [{} {} {} {}]",
                r.turn,
                r.path,
                has(CLASSIFIER),
                has(REMINDER),
                has("the task review:"),
                has("the code review:")
            )
        })
        .collect();
    let logs: Vec<String> = walk(&repo.path().join(".planrun/logs"))
        .into_iter()
        .map(|p| format!("--- {p}\n{}", std::fs::read_to_string(&p).unwrap_or_default()))
        .collect();
    let context = format!("{}\nrequests: {asked:#?}\nchats: {chats:#?}\n{}", text(&out), logs.join("\n"));
    assert!(held.contains(CLASSIFIER), "the held request was not the classifier's: {held}\n{context}");
    assert_eq!(out.status.code(), Some(0), "{context}");
    assert_eq!(repo.states(), [("a".to_owned(), "done".to_owned())], "{context}");
    assert!(server.unused_turns().is_empty(), "unused turns: {:?}\n{context}", server.unused_turns());

    // Both reminders went to the sessions of the first answers: each reminder's request carries
    // its review's first answer.
    let reminded: Vec<String> = requests
        .iter()
        .map(|r| r.body.to_string())
        .filter(|b| b.contains(REMINDER) && !b.contains(CLASSIFIER))
        .collect();
    assert_eq!(reminded.len(), 2, "{context}");
    for mark in ["TASK-FIRST", "CODE-FIRST"] {
        assert!(
            reminded.iter().any(|b| b.contains(mark)),
            "no reminder in the session that answered {mark}\n{context}"
        );
    }
    let ev = events(&out);
    assert!(!ev.iter().any(|e| e["event"] == "rework" || e["event"] == "blocked"), "{context}");
    assert!(!out.stdout.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key reached planrun's output");
}

/// Every file under `dir`, as paths.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out.sort();
    out
}
