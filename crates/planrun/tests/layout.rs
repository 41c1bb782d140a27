//! The layering of the source tree, checked from the files themselves: the runtime (`src/run/`)
//! takes plain options and never reaches into the command line (`cli.rs`) or clap. Also prints
//! the workspace's source files over 800 lines, the ones to split next (a list, not a failure).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

/// Long files are listed from this many lines.
const LONG: usize = 800;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `file:line: text` for each line of the files under `dir` holding one of `needles`.
fn mentions(dir: &Path, needles: &[&str]) -> Vec<String> {
    let root = workspace();
    let mut found = Vec::new();
    for file in rust_files(dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle)) {
                let rel = file.strip_prefix(&root).unwrap_or(&file);
                found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_runtime_does_not_know_the_command_line() {
    let run = workspace().join("crates/planrun/src/run");
    assert!(rust_files(&run).len() > 10, "src/run/ moved? found {:?}", rust_files(&run));
    let found = mentions(&run, &["crate::cli", "use clap", "clap::"]);
    assert!(
        found.is_empty(),
        "src/run/ must take its options from run/options.rs, filled in by cli.rs, and not use \
         cli.rs or clap:\n{}",
        found.join("\n")
    );
}

#[test]
fn long_source_files_are_listed() {
    let root = workspace();
    let mut long: Vec<(usize, String)> = Vec::new();
    let mut seen = 0;
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        for file in rust_files(&src) {
            seen += 1;
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > LONG {
                long.push((lines, file.strip_prefix(&root).unwrap().display().to_string()));
            }
        }
    }
    long.sort_by(|a, b| b.cmp(a));
    println!("source files over {LONG} lines (to split):");
    for (lines, file) in &long {
        println!("{lines:>6}  {file}");
    }
    assert!(seen > 50, "only {seen} source files found under crates/*/src");
}
