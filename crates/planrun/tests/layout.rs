//! The layering of the source tree, checked from the files themselves: the runtime library
//! (`crates/planrun-runtime`) takes plain options, knows nothing of clap and opens no standard
//! stream; the binary
//! (`crates/planrun/src`) stays commands, argument parsing and output; no source file is over
//! 800 lines without a stated reason.
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
    let runtime = workspace().join("crates/planrun-runtime");
    let src = runtime.join("src");
    assert!(rust_files(&src).len() > 10, "the runtime moved? found {:?}", rust_files(&src));
    let manifest = std::fs::read_to_string(runtime.join("Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest.lines().filter(|l| l.trim_start().starts_with("clap")).collect();
    assert!(deps.is_empty(), "the runtime must not depend on clap: {deps:?}");
    let found = mentions(&src, &["use clap", "clap::", "planrun::"]);
    assert!(
        found.is_empty(),
        "the runtime takes its options from its own `options` module, filled in by the binary's \
         cli.rs, and must not use clap or the binary:\n{}",
        found.join("\n")
    );
}

/// The runtime writes only where it is told: a command's [`Console`] from the binary, a run's
/// progress to its `Progress`. It opens no standard stream and prints nothing by itself.
#[test]
fn the_runtime_prints_nothing_by_itself() {
    let src = workspace().join("crates/planrun-runtime/src");
    let found = mentions(
        &src,
        &["io::stdout", "io::stderr", "io::stdin", "println!", "print!(", "outln!", "errln!", "dbg!(", "IsTerminal"],
    );
    assert!(
        found.is_empty(),
        "the runtime writes a command's output to the `Console` it is given and a run's progress \
         through its `Progress`; the binary chooses the streams:\n{}",
        found.join("\n")
    );
}

/// The binary holds commands, argument parsing and output; what decides a run lives in the
/// libraries. A binary that grows past this is the sign that logic is moving back into it.
#[test]
fn the_binary_stays_small() {
    let src = workspace().join("crates/planrun/src");
    let lines: usize = rust_files(&src).iter().map(|f| std::fs::read_to_string(f).unwrap().lines().count()).sum();
    assert!(
        (500..3_500).contains(&lines),
        "crates/planrun/src has {lines} lines; it must stay under 3,500 (commands, argument parsing \
         and output only: move the logic into a library crate)"
    );
}

/// Source files allowed over `LONG` lines, each with its reason. Empty today: a file that grows
/// past the limit is split along its seams (by input shape for importers), or named here with
/// why it cannot be.
const LONG_ALLOWED: &[(&str, &str)] = &[];

#[test]
fn no_source_file_is_over_800_lines_without_a_stated_reason() {
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
            let rel = file.strip_prefix(&root).unwrap().display().to_string();
            if lines > LONG && !LONG_ALLOWED.iter().any(|(f, _)| *f == rel) {
                long.push((lines, rel));
            }
        }
    }
    long.sort_by(|a, b| b.cmp(a));
    assert!(seen > 50, "only {seen} source files found under crates/*/src");
    let list: Vec<String> = long.iter().map(|(n, f)| format!("{n:>6}  {f}")).collect();
    assert!(
        long.is_empty(),
        "source files over {LONG} lines: split them along their seams, or add them to LONG_ALLOWED \
         with the reason:\n{}",
        list.join("\n")
    );
}

/// The modules at the top of `src` (a file `x.rs` or a folder `x/`) and, for each, the other
/// top-level modules its code names: `crate::y`, `super::y` in a top-level file, and
/// `use crate::{y, …}`. Comments and tests (`tests.rs`, `*_tests.rs`, a trailing
/// `#[cfg(test)] mod tests`) do not count.
fn module_graph(src: &Path) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            files.insert(name, rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main" {
            files.insert(name, vec![path]);
        }
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let word_after = |text: &str, prefix: &str| -> Vec<String> {
        text.match_indices(prefix)
            .filter(|(at, _)| !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
            .map(|(at, _)| text[at + prefix.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
            .collect()
    };
    let mut graph = BTreeMap::new();
    for (module, paths) in &files {
        let mut named = BTreeSet::new();
        for path in paths {
            let file = path.file_name().unwrap().to_string_lossy();
            if file == "tests.rs" || file.ends_with("_tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
            let mut found = word_after(&code, "crate::");
            if path.parent() == Some(src) {
                found.extend(word_after(&code, "super::"));
            }
            for group in code.split("use crate::{").skip(1) {
                let inner = group.split('}').next().unwrap_or("");
                found.extend(inner.split(',').map(|p| p.trim().split("::").next().unwrap_or("").to_owned()));
            }
            named.extend(found.into_iter().filter(|n| n != module && names.contains(n)));
        }
        graph.insert(module.clone(), named);
    }
    graph
}

/// A cycle of `graph`, as the modules along it (the first repeated at the end), if it has one.
fn a_cycle(graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit<'a>(
        at: &'a str,
        graph: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| *m == at) {
            let mut cycle: Vec<String> = path[start..].iter().map(|m| (*m).to_owned()).collect();
            cycle.push(at.to_owned());
            return Some(cycle);
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for next in graph.get(at).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

/// Each crate's top-level modules depend on each other one way: a module that needs another
/// that needs it back is one concern split wrongly (or a helper in the wrong place).
#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
        for (a, b) in edges {
            g.entry((*a).to_owned()).or_default().insert((*b).to_owned());
            g.entry((*b).to_owned()).or_default();
        }
        g
    };
    assert_eq!(a_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(a_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "b")])), Some(vec!["b".into(), "c".into(), "b".into()]));
    let root = workspace();
    let mut cycles = Vec::new();
    let mut crates = 0;
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        crates += 1;
        let g = module_graph(&src);
        assert!(g.values().any(|named| !named.is_empty()) || g.len() < 3, "no edges found in {}", src.display());
        if let Some(cycle) = a_cycle(&g) {
            cycles.push(format!("{}: {}", src.strip_prefix(&root).unwrap().display(), cycle.join(" → ")));
        }
    }
    assert!(crates >= 7, "only {crates} crates found");
    assert!(
        cycles.is_empty(),
        "modules that import each other: move what both need below them, or the command above them:\n{}",
        cycles.join("\n")
    );
}
