//! Fuzz target: every plan format through the public `load` API. The first input byte picks a
//! format from `Format::ALL`; the rest is written, inside a fresh temporary folder, to a file
//! named the way that format is found on disk. The plan is then loaded (from the folder, which
//! exercises detection, and from the file itself) with the format forced, and checked. Nothing
//! may panic; load errors are fine.
#![no_main]

use libfuzzer_sys::fuzz_target;
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

fn load_and_check(path: &Path, format: Format) {
    if let Ok(loaded) = load(path, Some(format)) {
        let checked = check(&loaded);
        let _ = (checked.errors(), checked.warnings());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(pick) % Format::ALL.len()];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(file_for(format));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, rest).unwrap();
    load_and_check(dir.path(), format);
    load_and_check(&file, format);
});
