//! Shared by the importer fuzz targets: writes the input where a plan of the format lives,
//! inside a fresh temporary folder, then loads it (from the folder, which exercises detection,
//! and from the file itself) with the format forced, and from the folder with the format
//! detected, and checks it. Nothing may panic.

use planrun_plan::{Format, check, load};
use std::path::Path;

/// Where a plan of `format` lives, relative to the repository root.
fn file_for(format: Format) -> &'static str {
    match format {
        Format::Markdown => "plan.md",
        Format::Json => "plan.json",
        Format::Blueprint => "plans/blueprint/plan.md",
        Format::Uc => "tasks/task-1/task.md",
        Format::Planpipe => "execution-backlog.md",
        Format::Ccw => ".workflow/active/WFS-x/TODO_LIST.md",
        Format::Cm => "cm-tasks.json",
        Format::Openspec => "openspec/changes/x/tasks.md",
        Format::Superpowers => "docs/superpowers/plans/2026-11-21-feature.md",
        Format::Taskmaster => ".taskmaster/tasks/tasks.json",
        Format::Speckit => "specs/001-feature/tasks.md",
    }
}

fn load_and_check(path: &Path, format: Option<Format>) {
    if let Ok(loaded) = load(path, format) {
        let checked = check(&loaded);
        let _ = (checked.errors(), checked.warnings());
    }
}

/// Runs one input through one format's importer.
pub fn run(format: Format, data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(file_for(format));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, data).unwrap();
    load_and_check(dir.path(), Some(format));
    load_and_check(&file, Some(format));
    // Detection too: every format's sniffing, and what is said of a folder no format reads.
    load_and_check(dir.path(), None);
}
