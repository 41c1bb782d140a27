//! Every plan of the fixture corpus, whatever its format, converts to planrun's markdown and JSON
//! and reads back as the same plan: `planrun import` loses nothing an importer read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use planrun_plan::native::{json, markdown};

#[test]
fn every_fixture_converts_to_native_formats_without_loss() {
    let mut converted = 0;
    for format_dir in planrun_plan_dirs(&common::fixtures()) {
        for case in planrun_plan_dirs(&format_dir) {
            // Ambiguous folders and files only readable with --format are skipped here; their own
            // tests cover them.
            let Ok(loaded) = planrun_plan::load(&case, None) else { continue };
            let name = case.strip_prefix(common::fixtures()).unwrap().display().to_string();
            // A plan whose ids are invalid (an error `check` reports) cannot be written as
            // `## Task <id>:` headings; there is nothing to convert until it is fixed.
            if loaded.plan.tasks.iter().any(|t| !planrun_plan::validate::valid_id(&t.id)) {
                continue;
            }
            let md = markdown::write(&loaded.plan);
            let back = markdown::parse(&md, "plan.md");
            assert_eq!(back.plan, loaded.plan, "{name}: markdown changed the plan; written:\n{md}");
            let reader_errors: Vec<_> = back.diagnostics.iter().map(|d| &d.message).collect();
            assert!(reader_errors.is_empty(), "{name}: {reader_errors:?}");
            let js = json::write(&loaded.plan);
            assert_eq!(json::parse(&js, "plan.json").plan, loaded.plan, "{name}: JSON changed the plan");
            converted += 1;
        }
    }
    assert!(converted >= 35, "only {converted} fixtures converted; is the corpus missing?");
}

fn planrun_plan_dirs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}
