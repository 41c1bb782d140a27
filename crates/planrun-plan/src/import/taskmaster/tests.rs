//! Unit tests of the task-master importer.

use super::*;

#[test]
fn statuses() {
    assert_eq!(status("cancelled"), Some(Status::Done));
    assert_eq!(status("In_Progress"), Some(Status::Pending));
    assert_eq!(status("deferred"), Some(Status::Pending));
    assert_eq!(status("wip"), None);
}

#[test]
fn test_strategies() {
    assert_eq!(test_strategy_parts("pytest tests/test_api.py"), (vec!["pytest tests/test_api.py".to_owned()], None));
    assert_eq!(test_strategy_parts("`npm test`"), (vec!["npm test".to_owned()], None));
    let (v, a) = test_strategy_parts("Run `cargo check` and hit `/healthz` to see 200.");
    assert_eq!(v, ["cargo check"]);
    assert_eq!(a.as_deref(), Some("Run `cargo check` and hit `/healthz` to see 200."));
    let (v, a) = test_strategy_parts("Unit tests cover the parser.");
    assert!(v.is_empty() && a.is_some());
    // Prose that happens to start with a program's name is prose.
    let (v, a) = test_strategy_parts("Test the login flow by hand.");
    assert!(v.is_empty() && a.is_some());
    assert_eq!(test_strategy_parts("  "), (Vec::new(), None));
    let (v, _) = test_strategy_parts("make sure the cache is warm");
    assert!(v.is_empty());
    let (v, _) =
        test_strategy_parts("Run `cargo build --release`, start the server and use `curl` on it; `pytest` passes.");
    assert_eq!(v, ["cargo build --release", "pytest"]);
    let (v, _) = test_strategy_parts("Add a `test` and run `make check`.");
    assert_eq!(v, ["make check"]);
    let (v, _) =
        test_strategy_parts("Verify it compiles using 'npm run build'. Confirm the user's 'Save' button works.");
    assert_eq!(v, ["npm run build"]);
    // A dev server never exits: starting it is no check.
    let (v, _) = test_strategy_parts("1. The dev server starts with `npm run dev`\n2. `npm run build` passes");
    assert_eq!(v, ["npm run build"]);
    assert!(never_exits("yarn start") && never_exits("npx vite") && !never_exits("npx vite build"));
    assert!(!never_exits("npm test") && !never_exits("pnpm run build"));
    // Several single-quoted commands on one line, `ls` among them.
    let (v, _) = test_strategy_parts("Execute 'ls -R src' to see the folders; run 'tsc --noEmit' to check types.");
    assert_eq!(v, ["ls -R src", "tsc --noEmit"]);
}

#[test]
fn local_numbers() {
    assert_eq!(local_number("7", "2"), "2");
    assert_eq!(local_number("7", "7.2"), "2");
    assert_eq!(local_number("7", "3.2"), "3.2");
}
