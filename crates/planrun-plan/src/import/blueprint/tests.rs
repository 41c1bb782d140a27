//! Unit tests of the blueprint importer: detection, step headings, sections, commands, folders.

use super::*;

#[test]
fn dated_statuses() {
    assert_eq!(status_value("DONE (2026-05-02)"), Some(Status::Done));
    assert_eq!(status_value("DONE — 2026-07-14."), Some(Status::Done));
    assert_eq!(status_value("TODO"), Some(Status::Pending));
    assert_eq!(status_value("PARTIALLY DONE (2026-07-30) — most of it"), None);
    assert_eq!(status_value("DONE for the API"), None);
    assert_eq!(bold_field("**Status: DONE — 2026-07-14.** All ran."), Some(("Status", "DONE — 2026-07-14.")));
    assert_eq!(header_status("DONE — 2026-07-14."), Some(Status::Done));
}

#[test]
fn issue_numbers_are_not_steps() {
    let mut sources = crate::source::Sources::default();
    let id = sources.add("plan.md", String::new());
    let numbers = |v: &str| -> Vec<String> {
        parse_deps(v, Span::new(id, 0, v.len()))
            .unwrap_or_default()
            .into_iter()
            .map(|(DepRef::Step { number, .. }, _)| number)
            .collect()
    };
    assert_eq!(numbers("Step 25a (#52); Step 25b (#53 — probe pass marker)"), ["25a", "25b"]);
    assert_eq!(numbers("Step 26 (#55 — adapter shipped)"), ["26"]);
    assert_eq!(numbers("Step #3, Step 4"), ["3", "4"]);
    assert_eq!(numbers("Steps 1-3"), ["1", "2", "3"]);
    assert_eq!(numbers("Step 2é, Step 4"), ["4"]);
}

#[test]
fn shell_comments_are_cut() {
    assert_eq!(without_comment("go test ./...   # must stay green"), "go test ./...");
    assert!(is_command("cd web && npm run typecheck", &HashSet::new()));
    assert!(!is_command("cd web && the rest", &HashSet::new()));
    let item = "`cargo build` exits 0, and `grep -r Old src` returns no matches.";
    assert!(matches!(
        command_outcome(item, &HashSet::new()),
        Some(Outcome::Passes(c, Some(r))) if c == "cargo build" && r == item
    ));
    assert_eq!(without_comment("grep -c '#' a.txt"), "grep -c '#' a.txt");
    assert_eq!(without_comment("curl localhost#frag"), "curl localhost#frag");
    let lines = [
        Line { start: 0, text: "```bash", in_fence: true },
        Line { start: 8, text: "go test ./...   # baseline", in_fence: true },
        Line { start: 35, text: "```", in_fence: true },
    ];
    assert_eq!(fenced_commands(&lines, &HashSet::new()), [("go test ./...".to_owned(), 8)]);
}
