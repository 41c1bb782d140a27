//! Helpers shared by the importer tests: where fixtures live and a stable, path-free rendering
//! of a loaded plan for snapshots.
#![allow(dead_code, unreachable_pub, clippy::panic)]

use planrun_plan::{Format, Loaded};
use std::path::{Path, PathBuf};

/// The fixture corpus root: `crates/planrun-plan/tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// A fixture path below the corpus root.
pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// Copies a fixture case (a folder under the corpus) into a fresh temporary folder.
pub fn copy_case(case: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
    let to = dir.path().join(case);
    copy_dir(&fixture(case), &to);
    (dir, to)
}

fn copy_dir(from: &Path, to: &Path) {
    let fail = |e: std::io::Error| -> ! { panic!("copying {}: {e}", from.display()) };
    std::fs::create_dir_all(to).unwrap_or_else(|e| fail(e));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| fail(e)) {
        let entry = entry.unwrap_or_else(|e| fail(e));
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap_or_else(|e| fail(e)).is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| fail(e));
        }
    }
}

/// Loads a fixture with format detection, failing the test on a load error.
pub fn load(rel: &str) -> Loaded {
    match planrun_plan::load(&fixture(rel), None) {
        Ok(l) => l,
        Err(e) => panic!("loading fixture {rel}: {e}"),
    }
}

/// Loads a fixture with a forced format.
pub fn load_as(rel: &str, format: Format) -> Loaded {
    match planrun_plan::load(&fixture(rel), Some(format)) {
        Ok(l) => l,
        Err(e) => panic!("loading fixture {rel} as {format}: {e}"),
    }
}

/// The plan, the detected format, the root and every diagnostic with its location, with paths
/// relative to the fixture corpus so snapshots are stable on every machine.
pub fn snapshot(loaded: &Loaded) -> serde_json::Value {
    let rel = |p: &Path| p.strip_prefix(fixtures()).unwrap_or(p).to_string_lossy().replace('\\', "/");
    let diagnostics: Vec<serde_json::Value> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let loc = d.location(&loaded.sources);
            serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "file": loc.as_ref().map(|l| rel(Path::new(&l.file))),
                "line": loc.as_ref().map(|l| l.line),
                "column": loc.as_ref().map(|l| l.column),
            })
        })
        .collect();
    serde_json::json!({
        "format": loaded.format.name(),
        "root": rel(&loaded.root),
        "plan": loaded.plan,
        "diagnostics": diagnostics,
    })
}

/// The ids of a loaded plan's tasks, in order.
pub fn ids(loaded: &Loaded) -> Vec<&str> {
    loaded.plan.tasks.iter().map(|t| t.id.as_str()).collect()
}

/// The task with this id, failing the test when there is none.
pub fn task<'a>(loaded: &'a Loaded, id: &str) -> &'a planrun_plan::Task {
    match loaded.plan.task(id) {
        Some(t) => t,
        None => panic!("no task {id} in {:?}", ids(loaded)),
    }
}

/// The codes of the reader's diagnostics, in order.
pub fn codes(loaded: &Loaded) -> Vec<&'static str> {
    loaded.diagnostics.iter().map(|d| d.code).collect()
}

/// The codes of every diagnostic `check` reports (the reader's and validation's), in order.
pub fn checked_codes(loaded: &Loaded) -> Vec<&'static str> {
    planrun_plan::check(loaded).diagnostics.iter().map(|d| d.code).collect()
}
