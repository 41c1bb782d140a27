//! Unit tests of the cm importer.

use super::*;

#[test]
fn personas_from_titles() {
    assert_eq!(infer_persona("Design the sync queue"), Some("architect"));
    assert_eq!(infer_persona("Fix OAuth token refresh"), Some("security"));
    assert_eq!(infer_persona("Refactor money helpers"), Some("engineer"));
    assert_eq!(infer_persona("Audit PDF export"), Some("reviewer"));
    assert_eq!(infer_persona("Write user story for refunds"), Some("pm"));
    assert_eq!(infer_persona("Show the author name"), None);
    assert_eq!(infer_persona("Add test fixtures"), None);
    assert_eq!(infer_persona("Weigh storage trade-offs"), Some("architect"));
}

#[test]
fn commands_and_prose() {
    assert_eq!(commands_in("npm test"), vec!["npm test"]);
    assert_eq!(commands_in("`pnpm vitest run`"), vec!["pnpm vitest run"]);
    assert_eq!(commands_in("CI=1 cargo test"), vec!["CI=1 cargo test"]);
    assert_eq!(commands_in("Run `make check` and read the output"), vec!["make check"]);
    assert!(commands_in("All tests pass").is_empty());
    assert!(commands_in("Check that `/health` answers 200").is_empty());
    assert_eq!(commands_in("`./run-e2e --headless`"), vec!["./run-e2e --headless"]);
}

#[test]
fn persona_names() {
    assert_eq!(persona_name("agents/security.md").as_deref(), Some("security"));
    assert_eq!(persona_name(" Engineer ").as_deref(), Some("engineer"));
    assert_eq!(persona_name("  "), None);
}
